"""What one run may ask of a hosted app: the operator's caps, read from environment variables.

A public Space is open to anyone, and one visitor's 10-million-step run of a 512-wide model at
256 pixels would take the machine from everybody else. The caps are checked before anything is
built (no dataset loaded, no network allocated), so a refused run costs nothing and the run
already going in that session keeps going. Unset variables mean no cap beyond the library's own
field ranges, which is what a local app wants.

    GAN_MAX_STEPS        training steps of one run
    GAN_MAX_BATCH        batch size
    GAN_MAX_IMAGE_SIZE   image side in pixels (the run's resize and any image-size field)
    GAN_MAX_WIDTH        any network-width field: g_width, d_width, width, hidden, ...
    GAN_MAX_RUNS         runs training at once over all visitors (the rest wait in line; default 2)
    GAN_IDLE_TIMEOUT_S   seconds after a tab last answered before its session is closed and its run
                         stopped (default 600, at most 30 days); an open tab answers every minute,
                         so this only reaps tabs gone without closing (a crashed browser)
    GAN_ALLOW_SERVER_PATHS  1: a dataset typed as folder:PATH or inpaint:FILE:MASK may read any path
                         on this machine (for an app you run for yourself). Unset, a served app
                         only reads what the visitor uploaded into their own session folder.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from trainers.errors import PlaygroundError
from trainers.settings import switch_setting, whole_number_setting

CAP_VARIABLES = {"max_steps": "GAN_MAX_STEPS", "max_batch_size": "GAN_MAX_BATCH",
                 "max_image_size": "GAN_MAX_IMAGE_SIZE", "max_width": "GAN_MAX_WIDTH"}
IMAGE_SIZE_FIELDS = ("image_size", "image_width", "image_height")


def is_width_field(name: str) -> bool:
    """A config field that sets how many features a layer has (its cost grows with the square)."""
    return name in ("width", "hidden") or name.endswith("_width")


@dataclass(frozen=True)
class RunLimits:
    """Caps on one run (None: no cap). :meth:`check` refuses a run that asks for more."""

    max_steps: int | None = None
    max_batch_size: int | None = None
    max_image_size: int | None = None
    max_width: int | None = None
    #: datasets may only read paths inside the session's own upload folder (a served app)
    own_files_only: bool = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "RunLimits":
        """The served app's limits: the caps that are set, and paths confined to each visitor's own
        uploads unless GAN_ALLOW_SERVER_PATHS=1."""
        caps = {name: whole_number_setting(variable, None, environ=environ) for name, variable in CAP_VARIABLES.items()}
        return cls(**caps, own_files_only=not switch_setting("GAN_ALLOW_SERVER_PATHS", environ=environ))

    def check_paths(self, dataset: str, own_folder: Path) -> None:
        """Refuse a dataset name that reads a path outside ``own_folder`` (the session's uploads),
        when paths are confined: a visitor must not browse the server's disk by typing a path."""
        from trainers.data import dataset_paths

        if not self.own_files_only:
            return
        own = own_folder.resolve()
        for path in dataset_paths(dataset):
            if not path.resolve().is_relative_to(own):
                raise PlaygroundError(f"{dataset}: this server only trains on pictures uploaded here (use "
                                      f"\"Train on your own pictures\" or the Inpaint tab's upload), not on "
                                      f"its own files; GAN_ALLOW_SERVER_PATHS=1 lifts this for an app you "
                                      f"run for yourself.")

    def describe(self) -> str:
        """The caps in a sentence for the page ("" when there are none)."""
        parts = [text.format(value) for text, value in (
            ("{} steps", self.max_steps), ("batch size {}", self.max_batch_size),
            ("{}-pixel images", self.max_image_size), ("width {}", self.max_width)) if value is not None]
        return f"This server caps each run at {', '.join(parts)}." if parts else ""

    def check(self, run: Any, built_config: Any = None) -> None:
        """Refuse ``run`` (a RunConfig) with one PlaygroundError listing every cap it exceeds.

        Before anything is built, the widths are what the family's defaults, the run's preset and
        its overrides make of them, and the image size is what the run asks for. Sizes a family
        takes from the data (a dataset's own 128-pixel pictures) are known once the trainer is
        built: pass its model config as ``built_config`` to check those before training starts."""
        if all(getattr(self, cap) is None for cap in CAP_VARIABLES):
            return  # no caps: a local app
        asked = [("steps", run.steps, "max_steps"), ("batch size", run.batch_size, "max_batch_size")]
        if run.image_size is not None:
            asked.append(("image size", run.image_size, "max_image_size"))
        for name, value in _model_values(run).items():
            if is_width_field(name) and _is_int(value):
                asked.append((name, value, "max_width"))
        sized = dataclasses.asdict(built_config) if built_config is not None else dict(run.overrides or {})
        asked += [(name, sized[name], "max_image_size") for name in IMAGE_SIZE_FIELDS
                  if _is_int(sized.get(name))]
        over = [f"{what} {value} (at most {getattr(self, cap)}, {CAP_VARIABLES[cap]})"
                for what, value, cap in asked if getattr(self, cap) is not None and value > getattr(self, cap)]
        if over:
            raise PlaygroundError(f"This server caps what one run may use: {'; '.join(dict.fromkeys(over))}. "
                                  f"Ask for less, or run the playground on your own machine for bigger runs.")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _model_values(run: Any) -> dict[str, Any]:
    """The family config's fields as the run would set them (defaults, preset, overrides); {} for
    an unknown family or preset, which the library refuses with its own message."""
    from trainers.registry import get_family

    try:
        family = get_family(run.model)
    except PlaygroundError:
        return {}
    values = {f.name: f.default for f in dataclasses.fields(family.config_cls)
              if f.default is not dataclasses.MISSING}
    values.update(family.presets.get(run.preset, {}))
    values.update(run.overrides or {})
    return values
