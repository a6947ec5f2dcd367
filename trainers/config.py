"""Typed, strict configs.

Every family's config is a plain dataclass whose fields carry ``metadata`` with a one-line
``help`` and, where it applies, a ``range`` (inclusive) or ``choices``. The playground builds its
"advanced" form from that metadata, and :func:`apply_overrides` refuses unknown keys and wrong
types by name, so a typo never silently trains the default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

from .errors import ConfigError

T = TypeVar("T")


def field(default: Any, help: str, *, range: tuple[float, float] | None = None,
          choices: tuple[Any, ...] | None = None) -> Any:
    """A dataclass field with the metadata the UI and the validator read."""
    meta: dict[str, Any] = {"help": help}
    if range is not None:
        meta["range"] = range
    if choices is not None:
        meta["choices"] = tuple(choices)
    if isinstance(default, (list, dict, set)):
        raise TypeError("mutable defaults are not allowed; use a tuple")
    return dataclasses.field(default=default, metadata=meta)


def _type_of(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


def _coerce(name: str, value: Any, annotation: Any) -> Any:
    """Check ``value`` against ``annotation``; allow only lossless coercions (int -> float)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(name, value, option)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0] if errors else f"{name}: invalid value {value!r}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name}: expected a list, got {type(value).__name__} {value!r}")
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(name, v, args[0]) for v in value)
        if len(args) != len(value):
            raise ConfigError(f"{name}: expected {len(args)} values, got {len(value)}")
        return tuple(_coerce(name, v, a) for v, a in zip(value, args))
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{name}: expected true or false, got {value!r}")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{name}: expected an integer, got {value!r}")
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{name}: expected a number, got {value!r}")
    if annotation is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{name}: expected text, got {value!r}")
    if annotation is dict or origin is dict:
        if isinstance(value, dict):
            return dict(value)
        raise ConfigError(f"{name}: expected a mapping, got {value!r}")
    return value


def validate(config: Any) -> None:
    """Check every field of a config instance against its type, range and choices."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        value = _coerce(f.name, value, _type_of(type(config), f.name))
        object.__setattr__(config, f.name, value)
        choices = f.metadata.get("choices")
        if choices is not None and value not in choices:
            raise ConfigError(f"{f.name}: {value!r} is not one of {', '.join(map(str, choices))}")
        bounds = f.metadata.get("range")
        if bounds is not None and value is not None:
            low, high = bounds
            if not (low <= value <= high):
                raise ConfigError(f"{f.name}: {value!r} is outside the allowed range [{low}, {high}]")
    check = getattr(config, "check", None)
    if callable(check):
        check()


def apply_overrides(base: T, overrides: dict[str, Any] | None) -> T:
    """Return a validated copy of ``base`` with ``overrides`` applied; unknown keys are errors."""
    overrides = dict(overrides or {})
    names = {f.name for f in dataclasses.fields(base)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ConfigError(
            f"unknown config key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} for "
            f"{type(base).__name__}; valid keys: {', '.join(sorted(names))}")
    updated = dataclasses.replace(base, **overrides)
    validate(updated)
    return updated


def from_dict(cls: type[T], values: dict[str, Any] | None) -> T:
    """Build ``cls`` from a plain dict (defaults for missing keys), strictly."""
    return apply_overrides(cls(), values)


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config (tuples become lists)."""
    return dataclasses.asdict(config)


def describe(cls: type) -> list[dict[str, Any]]:
    """One dict per field (name, type, default, help, range, choices): what a form needs."""
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        rows.append({
            "name": f.name,
            "type": getattr(hints[f.name], "__name__", str(hints[f.name])),
            "default": f.default,
            "help": f.metadata.get("help", ""),
            "range": f.metadata.get("range"),
            "choices": f.metadata.get("choices"),
        })
    return rows


# The run's settings live here, without torch, so the command line can show their defaults without
# importing it.
@dataclasses.dataclass
class RunConfig:
    """One training run. Strict: an unknown key or a wrong type is an error naming the key."""

    model: str = field("dcgan", "model family (python -m trainers list)")
    dataset: str = field("mnist", "dataset name, or folder:PATH for your own images")
    preset: str = field("", "a named preset of the family's config, applied before overrides")
    steps: int = field(2000, "training iterations (one D and one G update each)", range=(1, 10_000_000))
    batch_size: int = field(64, "samples per batch", range=(1, 4096))
    seed: int = field(0, "seed for initial weights, batches and noise", range=(0, 2**63 - 1))
    device: str = field("auto", "auto, cpu, cuda, cuda:N or mps")
    out: str | None = field(None, "checkpoint folder (none: keep nothing on disk)")
    log_every: int = field(10, "steps between metrics events", range=(1, 1_000_000))
    sample_every: int = field(100, "steps between sample events", range=(1, 1_000_000))
    sample_interval_s: float = field(0.0, "also emit samples at most this often in seconds (0: off)",
                                     range=(0.0, 3600.0))
    checkpoint_every: int = field(0, "steps between checkpoints (0: only at the end)", range=(0, 10_000_000))
    image_size: int | None = field(None, "resize images to this side (none: the dataset's own)", range=(8, 256))
    data_dir: str | None = field(None, "data folder (default: $GAN_DATA_DIR or ./data)")
    metric_every: int = field(0, "steps between live sample-quality measurements (KID/FID on a small sample "
                              "in the dataset's domain classifier's features; 0: off)", range=(0, 1_000_000))
    metric_samples: int = field(500, "samples each live measurement draws", range=(20, 10_000))
    metric_budget: float = field(0.05, "most of the training time the live metric may take; a measurement "
                                 "that would exceed it is postponed", range=(0.0, 1.0))
    fast: bool = field(True, "the GPU fast path on CUDA: bf16 autocast where the family is stable in it, "
                       "channels_last, pinned memory (off: plain float32; no effect on a CPU)")
    cpu_bf16: bool = field(False, "on a CPU with AMX bf16 units, bf16 autocast where the family is stable in it "
                           "and faster for it (1.1-2x a run alone; runs sharing the cores step slower)")
    compile: bool = field(False, "torch.compile each trained network (the steps that compile pay for it: "
                          "metrics events report their total as compile_s when it grows)")
    init_from: str | None = field(None, "start from the weights of this checkpoint folder (same family and "
                                  "architecture), e.g. a PSNR-oriented generator for an SR GAN phase")
    overrides: dict = dataclasses.field(default_factory=dict,
                                        metadata={"help": "model config overrides, e.g. {\"lr_g\": 1e-4}"})
