"""Where the shipped checkpoints live: ``pretrained/<name>/`` (config.json + model.safetensors + README.md).

The folder is the project's own ``pretrained/`` beside this package; ``GAN_PRETRAINED_DIR`` names
another (a Space that mounts its weights elsewhere).
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import Any, Sequence

from .checkpoint import CARD_FILE, CONFIG_FILE, STATE_FILE, read_json
from .config import to_dict
from .errors import CheckpointError


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
    parts = ["python -m trainers train", f"--model {run['model']}", f"--dataset {run['dataset']}"]
    for key in ("preset", "steps", "batch_size", "seed", "image_size", "init_from"):
        if run.get(key) not in (None, "") and (key in ("steps", "batch_size", "seed") or run[key] != defaults[key]):
            parts.append(f"--{key.replace('_', '-')} {shlex.quote(str(run[key]))}")
    for key, value in sorted((run.get("overrides") or {}).items()):
        parts.append(f"--set {shlex.quote(f'{key}={json.dumps(value)}')}")
    parts.append(f"--out {shlex.quote(out)}")
    return " ".join(parts)


def export_pretrained(checkpoint: str | Path, out: str | Path, *, samples: int = 10_000,
                      limitations: Sequence[str] = (), data_dir: str | None = None) -> Path:
    """A shippable folder from a training checkpoint: config.json + model.safetensors, the
    ``python -m trainers evaluate`` report (evaluation.json) and a model card (README.md) with
    the family, paper, dataset, the command that reproduces it, its steps, wall time and machine,
    its metrics, and ``limitations``. Optimizer state is left behind."""
    from .evaluation import evaluate, report_lines
    from .model import GANModel
    from .registry import get_family

    source = Path(checkpoint)
    if Path(out).exists() and not Path(out).is_dir():  # refused before the minutes an evaluation takes
        raise CheckpointError(f"--out: {out} is a file; a checkpoint is a folder")
    state = read_json(source / STATE_FILE)
    run = state.get("run")
    if not isinstance(run, dict):
        raise CheckpointError(f"{source / STATE_FILE} has no run config: export needs a training checkpoint")
    model = GANModel.from_pretrained(source)
    report = evaluate(source, samples=samples, data_dir=data_dir)
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
             f"python -m trainers export --checkpoint runs/{name} --out pretrained/{name}", "```", "",
             "## Evaluation (`python -m trainers evaluate`)", "", *report_lines(report)[1:], ""]
    if limitations:
        lines += ["## Limitations", "", *[f"- {text}" for text in limitations], ""]
    lines += ["## Use", "", "```python", "from trainers.model import GANModel",
              f"model = GANModel.from_pretrained(\"pretrained/{name}\")", "```", ""]
    report = {**report, "trained_on": run["dataset"]}  # an SR report's sets are benchmarks, not its data
    return model.save_pretrained(out, {EVALUATION_FILE: report, CARD_FILE: "\n".join(lines)})


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
