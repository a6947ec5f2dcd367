"""Checkpoint folders: ``config.json`` + ``model.safetensors`` (+ ``optimizer.safetensors`` and
``state.json`` to resume). Nothing is ever unpickled: tensors come from safetensors, everything
else from JSON, and the config is re-validated strictly on load.

Writes are atomic: the new folder is written beside the old one and swapped in with renames, so
a crash mid-write leaves the previous checkpoint whole.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

from .errors import CheckpointError

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
STATE_FILE = "state.json"
#: the model card a training run writes beside its weights
CARD_FILE = "README.md"
#: how long a reader that finds only the previous folder (moved aside) waits for the writer to
#: move the new one in before taking it for a killed write
WRITER_GRACE_S = 1.0


def _plain_state_dict(state: dict[str, Tensor]) -> dict[str, Tensor]:
    # safetensors refuses views that share storage; contiguous CPU copies are always accepted
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}


def flatten_optimizers(optimizers: dict[str, torch.optim.Optimizer]) -> tuple[dict[str, Tensor], dict]:
    """Split optimizer state into tensors (for safetensors) and the rest (for JSON)."""
    tensors: dict[str, Tensor] = {}
    rest: dict[str, Any] = {}
    for name, optimizer in optimizers.items():
        state = optimizer.state_dict()
        scalars: dict[str, dict[str, Any]] = {}
        for index, values in state["state"].items():
            for key, value in values.items():
                if isinstance(value, Tensor):
                    tensors[f"{name}/{index}/{key}"] = value
                else:
                    scalars.setdefault(str(index), {})[key] = value
        rest[name] = {"param_groups": state["param_groups"], "scalars": scalars}
    return _plain_state_dict(tensors), rest


def unflatten_optimizers(optimizers: dict[str, torch.optim.Optimizer], tensors: dict[str, Tensor],
                         rest: dict) -> None:
    for key in tensors:
        parts = key.split("/", 2)
        if len(parts) != 3 or parts[0] not in optimizers or not parts[1].isdigit():
            raise CheckpointError(f"the optimizer file holds {key!r}, which is not optimizer state "
                                  f"of {', '.join(optimizers)}")
    for name, optimizer in optimizers.items():
        if name not in rest:
            raise CheckpointError(f"the checkpoint has no optimizer state for {name!r}")
        state: dict[int, dict[str, Any]] = {}
        for key, value in tensors.items():
            owner, index, field = key.split("/", 2)
            if owner == name:
                state.setdefault(int(index), {})[field] = value
        try:
            for index, values in rest[name]["scalars"].items():
                state.setdefault(int(index), {}).update(values)
            groups = rest[name]["param_groups"]
            for group in groups:
                _check_hyperparameters(optimizer, group)
            optimizer.load_state_dict({"state": state, "param_groups": groups})
        except (ValueError, KeyError, TypeError, AttributeError, RuntimeError) as error:
            raise CheckpointError(f"optimizer state for {name!r} does not fit: {error}") from None
        # load_state_dict does not compare shapes: a mismatch would only fail at the next step
        for param, values in optimizer.state.items():
            for field, value in values.items():
                if isinstance(value, Tensor) and value.dim() > 0 and value.shape != param.shape:
                    raise CheckpointError(f"optimizer state for {name!r} does not fit: {field} has shape "
                                          f"{tuple(value.shape)} for a parameter of shape {tuple(param.shape)}")


def finite_number(value: Any) -> bool:
    """A real int or float (not a bool), neither NaN nor infinite: what a JSON field read back must be."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_hyperparameters(optimizer: torch.optim.Optimizer, group: Any) -> None:
    """A saved parameter group must hold every setting the optimizer has, each of the same kind
    (a finite number for a number, a pair for a pair, ...) and in the optimizer's own range:
    ``load_state_dict`` takes whatever it is given, and a string learning rate would only fail
    inside the first step."""
    if not isinstance(group, dict):
        raise ValueError(f"a parameter group should be a mapping, not {group!r}")
    for key, default in optimizer.defaults.items():
        if key not in group:
            raise ValueError(f"a parameter group has no {key!r}")
        value = group[key]
        if isinstance(default, bool) or default is None:
            fits = value is None or isinstance(value, bool)
        elif isinstance(default, (int, float)):
            fits = finite_number(value)
        elif isinstance(default, (tuple, list)):
            fits = isinstance(value, (tuple, list)) and len(value) == len(default) and all(map(finite_number, value))
        else:
            fits = isinstance(value, type(default))
        if not fits:
            raise ValueError(f"{key} is {value!r}, where {type(optimizer).__name__} takes a value like {default!r}")
    # torch's own optimizer class checks the ranges (a negative learning rate, betas past 1)
    torch_class = next(kind for kind in type(optimizer).__mro__ if kind.__module__.startswith("torch.optim."))
    takes = inspect.signature(torch_class).parameters  # AdamW's defaults hold a setting it does not take
    device = optimizer.param_groups[0]["params"][0].device
    torch_class([torch.zeros(1, device=device, requires_grad=True)],
                **{key: group[key] for key in optimizer.defaults if key in takes})


def _siblings(target: Path, kind: str) -> list[Path]:
    """The hidden ``.NAME.tmp-*`` (kind "tmp") or ``.NAME.old-*`` ("old") folders a write of
    ``target`` makes beside it."""
    prefix = f".{target.name}.{kind}-"
    if not target.parent.is_dir():
        return []
    return sorted(entry for entry in target.parent.iterdir() if entry.name.startswith(prefix) and entry.is_dir())


def recover_interrupted_write(folder: str | Path, *, writer: bool = False) -> None:
    """Finish what a killed :func:`write_folder_atomically` left: the folder is moved aside just
    before the new one takes its name, so a kill between the two renames leaves no folder, only
    ``.NAME.old-*``: that previous checkpoint (complete: it was readable) takes the name back.
    A kill while the folder's other files were being carried over leaves some in ``.old-*``:
    they are moved in. The writer (``writer=True``, about to write the folder itself) also
    removes unfinished ``.tmp-*`` copies; a reader leaves those alone, since a live writer may
    be filling one."""
    target = Path(folder)
    if not writer and not target.exists() and _siblings(target, "old"):
        # a live writer is between its two renames for a moment (moving the new folder in would
        # fail if a reader had put the old one back); a killed writer never finishes
        deadline = time.monotonic() + WRITER_GRACE_S
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    for old in _siblings(target, "old"):
        if not target.exists():
            os.replace(old, target)
            continue
        if writer:
            for entry in old.iterdir():
                if not (target / entry.name).exists():
                    os.replace(entry, target / entry.name)
            shutil.rmtree(old, ignore_errors=True)
    if writer:
        for staging in _siblings(target, "tmp"):
            shutil.rmtree(staging, ignore_errors=True)


def checkpoint_target(folder: str | Path) -> Path:
    """Where a checkpoint written to ``folder`` goes: through a link (to a bigger disk, say) rather
    than replacing it; refused for a path with no folder name of its own (".", "..", "/"), since the
    write swaps the whole folder. Checked before a run starts too, not only at its first save."""
    target = Path(folder).resolve() if Path(folder).is_symlink() else Path(folder)
    if target.name in ("", ".", "..") or target.resolve() == target.resolve().parent:
        raise CheckpointError(f"{str(folder) or 'an empty path'}: a checkpoint needs a folder of its own "
                              f"(e.g. runs/mine), since each save replaces the whole folder")
    return target


def write_folder_atomically(folder: str | Path, files: dict[str, Any]) -> Path:
    """Write ``{file name: dict of tensors | markdown text (.md) | JSON-able value}`` as a folder, replacing those files
    all at once. Anything else already in the folder (the CLI's ``samples/`` grids, a person's
    own files) is moved into the new folder, never deleted. A process killed at any point leaves
    the previous folder or the new one readable (see :func:`recover_interrupted_write`)."""
    target = checkpoint_target(folder)
    recover_interrupted_write(target, writer=True)
    if target.exists() and not target.is_dir():
        raise CheckpointError(f"{target} is a file, not a checkpoint folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CheckpointError(f"cannot make the folder {target.parent}: {error.strerror}") from None
    staging = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        staging.mkdir()
    except OSError as error:
        raise CheckpointError(f"cannot write a checkpoint into {target.parent}: {error.strerror}") from None
    try:
        for name, content in files.items():
            path = staging / name
            try:
                if name.endswith(".safetensors"):
                    save_file(content, str(path))
                elif name.endswith(".md"):
                    path.write_text(content)
                else:
                    path.write_text(json.dumps(content, indent=2, allow_nan=False))
                with open(path, "rb") as handle:
                    os.fsync(handle.fileno())
            except (OSError, SafetensorError) as error:  # a full disk, say: the previous checkpoint stays
                reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
                kept = "the previous one is kept" if target.exists() else "nothing was written"
                raise CheckpointError(f"cannot write {name} into {target}: {reason}; {kept}") from None
            os.chmod(path, 0o644)  # safetensors creates 0600 files; a checkpoint is meant to be shared
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(target, old)
        os.replace(staging, target)
        if old is not None:
            # carry over what is not ours; if that fails the rest stays in `old`, never lost
            for entry in old.iterdir():
                if entry.name not in files:
                    os.replace(entry, target / entry.name)
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        if not path.parent.exists():
            raise CheckpointError(f"{path.parent} does not exist: give a checkpoint folder") from None
        raise CheckpointError(f"{path.parent} is not a checkpoint: {path.name} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path} is not valid JSON ({error})") from None
    except OSError as error:  # a folder named config.json, a link loop, no permission
        raise CheckpointError(f"{path} cannot be read: {error.strerror}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} should hold a JSON object")
    return data


#: torch.save's and pickle's usual file endings: never loaded, since unpickling a file runs any code in it
PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".pkl", ".pickle")
PICKLE_REFUSAL = ("pickle-based files are never loaded (unpickling runs whatever code the file holds); "
                  "save the model as a folder of config.json + model.safetensors (save_pretrained) instead")


def read_tensors(path: Path, device: str | torch.device = "cpu") -> dict[str, Tensor]:
    if not path.is_file():
        pickles = sorted(p.name for p in path.parent.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES) \
            if path.parent.is_dir() else []
        found = f" (it holds {', '.join(pickles)}: {PICKLE_REFUSAL})" if pickles else ""
        raise CheckpointError(f"{path.parent} is not a complete checkpoint: {path.name} is missing{found}")
    try:
        return load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{path} is not a readable safetensors file ({error})") from None
