"""Where the shipped checkpoints live: ``pretrained/<name>/`` (config.json + model.safetensors + README.md).

The folder is the project's own ``pretrained/`` beside this package; ``GAN_PRETRAINED_DIR`` names
another (a Space that mounts its weights elsewhere).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .checkpoint import CARD_FILE, CONFIG_FILE, STATE_FILE, WEIGHTS_FILE, checkpoint_target, read_json
from .config import to_dict
from .errors import CheckpointError, ConfigError


def pretrained_root() -> Path:
    configured = os.environ.get("GAN_PRETRAINED_DIR")
    return Path(configured).expanduser() if configured else Path(__file__).resolve().parent.parent / "pretrained"


def pretrained_path(name: str) -> Path:
    """The folder of a shipped checkpoint (it may not exist: see :func:`is_pretrained`)."""
    return pretrained_root() / name


def is_pretrained(name: str) -> bool:
    return (pretrained_path(name) / CONFIG_FILE).is_file()


#: the evaluation report an exported checkpoint carries beside its card
EVALUATION_FILE = "evaluation.json"


def train_command(run: dict[str, Any], out: str) -> str:
    """The ``python -m trainers train`` command line that repeats a saved run's config."""
    from .engine import RunConfig

    defaults = to_dict(RunConfig())
    # quoted like every value: a folder: dataset may hold spaces, and a card's command is pasted into shells
    parts = ["python -m trainers train", f"--model {shlex.quote(str(run['model']))}",
             f"--dataset {shlex.quote(str(run['dataset']))}"]
    for key in ("preset", "steps", "batch_size", "seed", "image_size", "init_from"):
        if run.get(key) not in (None, "") and (key in ("steps", "batch_size", "seed") or run[key] != defaults[key]):
            parts.append(f"--{key.replace('_', '-')} {shlex.quote(str(run[key]))}")
    for key, value in sorted((run.get("overrides") or {}).items()):
        parts.append(f"--set {shlex.quote(f'{key}={json.dumps(value)}')}")
    parts.append(f"--out {shlex.quote(out)}")
    return " ".join(parts)


@dataclass(frozen=True)
class QualityCheck:
    """A shipped checkpoint's promise, tested in CI: ``metric`` (a name in its evaluation report, or a
    dotted path such as ``Set5.psnr``) compared by ``op`` with ``value``, on ``samples`` samples."""

    metric: str
    op: str
    value: float
    samples: int = 1000

    def __post_init__(self) -> None:
        # also what reproduce reads back from a config.json a person may have edited
        if not isinstance(self.metric, str) or not self.metric or self.op not in (">=", "<="):
            raise ConfigError(f"--check: {self.metric!r} {self.op!r}: a metric name, then >= or <=")
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)) or not math.isfinite(self.value):
            raise ConfigError(f"--check: the value must be a finite number, not {self.value!r}")
        if isinstance(self.samples, bool) or not isinstance(self.samples, int) or self.samples < 1:
            raise ConfigError(f"--check-samples: at least 1, not {self.samples!r}")

    @classmethod
    def parse(cls, text: str, samples: int = 1000) -> "QualityCheck":
        """``"confidence_mnist_cnn>=0.8"`` -> a check (``>=`` or ``<=``)."""
        for op in (">=", "<="):
            if op in text:
                metric, _, value = text.partition(op)
                try:
                    number = float(value)
                except ValueError:
                    break
                return cls(metric.strip(), op, number, int(samples))  # which checks the rest
        raise ConfigError(f"--check: {text!r} should read METRIC>=VALUE or METRIC<=VALUE, e.g. "
                          f"confidence_mnist_cnn>=0.8 or Set5.psnr>=28")

    def measure(self, report: dict[str, Any]) -> float:
        return report_value(report, self.metric)

    def measure_on(self, folder: str | Path, data_dir: str | None = None) -> float:
        """Evaluate ``folder`` as the check does: ``samples`` samples (or test images), seed 0, no
        Inception (the checks read the domain classifiers, which work offline)."""
        from .evaluation import evaluate

        return self.measure(evaluate(folder, samples=self.samples, limit=self.samples, inception=False,
                                     data_dir=data_dir))

    def passes(self, measured: float) -> bool:
        return measured >= self.value if self.op == ">=" else measured <= self.value

    def text(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


def report_value(report: dict[str, Any], metric: str) -> float:
    """One number of an evaluation report: a generator's metric by name, or a dotted path into an
    image-to-image report's metrics (``Set5.psnr``, ``l1``)."""
    metrics = report.get("metrics")
    if isinstance(metrics, list):
        found = [row["value"] for row in metrics if row.get("name") == metric]
        if found:
            return float(found[0])
    elif isinstance(metrics, dict):
        node: Any = metrics
        for part in metric.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, (int, float)):
            return float(node)
    raise ConfigError(f"the evaluation report has no metric {metric!r}")


def export_command(name: str, samples: int, inference_only: bool, half: bool, check: QualityCheck | None) -> str:
    """The ``python -m trainers export`` command line of a card (limitations aside)."""
    parts = [f"python -m trainers export --checkpoint runs/{name} --out pretrained/{name}"]
    if samples != 10_000:
        parts.append(f"--samples {samples}")
    parts += ["--inference-only"] * inference_only + ["--half"] * half
    if check:
        parts.append(f"--check {shlex.quote(check.metric + check.op + f'{check.value:g}')} "
                     f"--check-samples {check.samples}")
    return " ".join(parts)


def training_state(folder: Path) -> dict[str, Any]:
    """How ``folder``'s weights were trained: ``{"run", "step", "train_seconds", "machine"}``, from a
    training checkpoint's state.json or, for an exported folder (re-exported with another check or
    storage, no retraining), from the ``"training"`` record in its config.json."""
    if (folder / STATE_FILE).is_file():
        state = read_json(folder / STATE_FILE)
        if not isinstance(state.get("run"), dict):
            raise CheckpointError(f"{folder / STATE_FILE} has no run config: export needs a training checkpoint")
        return state
    record = read_json(folder / CONFIG_FILE).get("training") if (folder / CONFIG_FILE).is_file() else None
    if not isinstance(record, dict) or not isinstance(record.get("run"), dict):
        raise CheckpointError(f"{folder} has neither {STATE_FILE} (a training checkpoint) nor a training record in "
                              f"its {CONFIG_FILE} (an exported checkpoint): nothing says how it was trained")
    return {"run": record["run"], "step": record.get("steps"), "train_seconds": record.get("train_seconds"),
            "machine": record.get("machine")}


def export_pretrained(checkpoint: str | Path, out: str | Path, *, samples: int = 10_000,
                      limitations: Sequence[str] = (), data_dir: str | None = None, inference_only: bool = False,
                      half: bool = False, check: QualityCheck | None = None, overwrite: bool = False) -> Path:
    """A shippable folder from a training checkpoint: config.json + model.safetensors, the
    ``python -m trainers evaluate`` report (evaluation.json) and a model card (README.md) with
    the family, paper, dataset, the command that reproduces it, its steps, wall time and machine,
    its metrics, and ``limitations``. Optimizer state is left behind.

    ``inference_only`` drops the discriminators, ``half`` stores float16 weights. ``check`` is
    measured on the exported weights (and, for comparison, on the float32 ones) and must pass, or
    nothing is shipped: it is what the test suite holds the checkpoint to. config.json records how
    it was made (``"training"``), which is what ``python -m trainers reproduce`` repeats. A folder
    that holds a checkpoint already is replaced only with ``overwrite``.
    """
    from .evaluation import evaluate, report_lines
    from .model import GANModel, checkpoint_folder, inference_networks
    from .registry import get_family

    source = checkpoint_folder(checkpoint)  # a folder, or a shipped checkpoint's name
    # refused before the minutes an evaluation takes
    if Path(out).exists() and not Path(out).is_dir():
        raise CheckpointError(f"--out: {out} is a file; a checkpoint is a folder")
    target = checkpoint_target(out)
    if (target / STATE_FILE).is_file():  # its optimizer state would be kept beside other weights
        raise CheckpointError(f"--out: {out} holds a training run ({STATE_FILE}); export to a folder of its own, "
                              f"so the run stays resumable")
    if not overwrite and any((target / name).exists() for name in (CONFIG_FILE, WEIGHTS_FILE)):
        raise CheckpointError(f"--out: {out} holds a checkpoint already; pass --overwrite to replace it (its "
                              f"weights, config, evaluation and card), or choose another folder")
    state = training_state(source)
    run = state["run"]
    model = GANModel.from_pretrained(source)
    exported = inference_networks(model.networks) if inference_only else list(model.networks)
    untrained = [name for name in exported if name not in model.stored_networks]
    if untrained:  # they would ship with the initial weights they were built with
        stored = ", ".join(model.stored_networks)
        raise CheckpointError(f"{checkpoint} stores only {stored} (exported for inference), not "
                              f"{', '.join(untrained)}: export it with --inference-only, or export the training "
                              f"run it came from")
    report = evaluate(source, samples=samples, data_dir=data_dir)
    measured_float32 = check.measure_on(source, data_dir) if check else None
    spec = get_family(model.family.name)
    seconds = float(state.get("train_seconds") or 0.0)
    name = Path(out).name
    lines = [f"# {name}: {spec.name} on {run['dataset']}", "", spec.description + ".", "",
             f"- Family: `{spec.name}` (paper: {spec.paper})",
             f"- Dataset: `{run['dataset']}`, training split" + (f", resized to {run['image_size']} px"
                                                                  if run.get("image_size") else ""),
             f"- Trained for {state.get('step')} steps of batch {run['batch_size']} in {seconds / 60:.1f} min on "
             f"{state.get('machine', 'an unrecorded machine')}",
             f"- Files: `config.json` (family and config), `model.safetensors` (weights, no pickles), "
             f"`{EVALUATION_FILE}` (the report below)", "",
             "## Reproduce", "", "```bash",
             train_command(run, f"runs/{name}"),
             export_command(name, samples, inference_only, half, check), "```", "",
             f"or both at once: `python -m trainers reproduce pretrained/{name}`.", "",
             "## Evaluation (`python -m trainers evaluate`)", "", *report_lines(report)[1:], ""]
    kept = (f"{', '.join(exported)} (the discriminators are left out: this checkpoint samples and translates, it "
            f"does not resume training)" if len(exported) < len(model.networks) else "every network")
    lines += ["## Storage", "", f"- Weights: {kept}, stored in {'float16' if half else 'float32'}; "
              f"`from_pretrained` loads them as float32.", ""]
    if check:
        lines += ["## Quality check (run by the test suite)", "",
                  f"`{check.text()}` on {check.samples} samples (seed 0) or at most {check.samples} test images; "
                  f"measured at export: CHECK_MEASURED", ""]
    if limitations:
        lines += ["## Limitations", "", *[f"- {text}" for text in limitations], ""]
    lines += ["## Use", "", "```python", "from trainers.model import GANModel",
              f"model = GANModel.from_pretrained(\"pretrained/{name}\")", "```", ""]
    report = {**report, "trained_on": run["dataset"]}  # an SR report's sets are benchmarks, not its data
    training = {"run": run, "steps": state.get("step"), "train_seconds": seconds, "machine": state.get("machine"),
                "export": {"samples": samples, "limitations": list(limitations), "inference_only": inference_only,
                           "half": half, "check": dataclasses.asdict(check) if check else None}}
    extra = {EVALUATION_FILE: report, CARD_FILE: "\n".join(lines), CONFIG_FILE: {"training": training}}
    if check:  # the promise, measured on what ships, before anything at ``out`` is replaced
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f".{name}-export-", dir=Path(out).parent) as staging:
            trial = model.save_pretrained(Path(staging) / name, extra, inference_only=inference_only, half=half)
            measured = check.measure_on(trial, data_dir)
        if not check.passes(measured):
            raise CheckpointError(f"--check: {check.text()} fails on the exported weights ({measured:.4g}; "
                                  f"{measured_float32:.4g} in float32): nothing written to {out}")
        report["check"] = {**dataclasses.asdict(check), "measured": measured, "measured_float32": measured_float32}
        in_float32 = f" ({measured_float32:.4g} with the float32 weights)" if half else ""
        extra[CARD_FILE] = extra[CARD_FILE].replace("CHECK_MEASURED", f"{measured:.4g}{in_float32}")
    return model.save_pretrained(out, extra, inference_only=inference_only, half=half)


def list_pretrained() -> list[dict[str, str]]:
    """The shipped checkpoints, by name: ``{"name", "family", "dataset"}`` each (the dataset it was
    trained on), read from their config.json and evaluation.json alone (no weights are loaded);
    folders that are not checkpoints are skipped."""
    root = pretrained_root()
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else ():
        if not (folder / CONFIG_FILE).is_file():
            continue
        try:
            family = str(read_json(folder / CONFIG_FILE).get("family", ""))
            report = read_json(folder / EVALUATION_FILE) if (folder / EVALUATION_FILE).is_file() else {}
        except CheckpointError:
            continue
        trained_on = report.get("trained_on") or report.get("dataset") or ""
        found.append({"name": folder.name, "family": family, "dataset": str(trained_on)})
    return found
