"""Checkpoint folders: exact round trips, exact resumes, atomic writes, no pickles, and clear
errors for broken or foreign folders (never a traceback from deep inside)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file, save_file

import trainers.checkpoint as checkpoint_module
from trainers.checkpoint import CARD_FILE, CONFIG_FILE, FORMAT_VERSION, OPTIMIZER_FILE, STATE_FILE, WEIGHTS_FILE
from trainers.engine import RunConfig, Trainer
from trainers.errors import CheckpointError, ConfigError, PlaygroundError
from trainers.model import GANModel

TINY = {
    "dcgan": {"model": "dcgan", "dataset": "digits",
              "overrides": {"g_width": 8, "d_width": 8, "latent_dim": 16}},
    "mlp-gan": {"model": "mlp-gan", "dataset": "ring", "overrides": {"hidden": 32}},
    # families with dropout: its masks must come from the step's own generator too
    "domain-classifier": {"model": "domain-classifier", "dataset": "digits",
                          "overrides": {"width": 8, "feature_dim": 16, "total_steps": 8}},
    "pix2pix": {"model": "pix2pix", "dataset": "mnist-edges", "overrides": {"g_width": 8, "d_width": 8}},
}
CHECKPOINT_FILES = {CONFIG_FILE, WEIGHTS_FILE, OPTIMIZER_FILE, STATE_FILE, CARD_FILE}


def tiny_run(family: str = "dcgan", **changes: Any) -> RunConfig:
    values = {**TINY[family], "steps": 6, "batch_size": 16, "device": "cpu", "log_every": 1,
              "sample_every": 1_000_000, "seed": 5}
    values.update(changes)
    return RunConfig(**values)


def run_to_end(trainer: Trainer) -> list[dict[str, Any]]:
    events = list(trainer.run())
    assert events[-1]["type"] == "done", events[-1]
    return events


def losses(events: list[dict[str, Any]]) -> list[tuple[int, dict[str, float]]]:
    return [(e["step"], e["losses"]) for e in events if e["type"] == "metrics"]


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def state_dicts_equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture
def saved(tmp_path) -> Path:
    """A dcgan run of 4 steps saved with its optimizer state."""
    folder = tmp_path / "ckpt"
    run_to_end(Trainer(tiny_run(steps=4, out=str(folder))))
    assert set(files_of(folder)) == CHECKPOINT_FILES
    return folder


# ----- round trips -----------------------------------------------------------------------


@pytest.mark.parametrize("family, overrides", [
    ("mlp-gan", {"hidden": 32, "latent_dim": 4}),
    ("dcgan", {"image_size": 8, "g_width": 8, "d_width": 8, "latent_dim": 16}),
])
def test_save_then_load_gives_identical_samples(tmp_path, family, overrides):
    torch.manual_seed(123)
    model = GANModel.from_config(family, overrides)
    with torch.no_grad():  # move off the initial weights and batch-norm statistics
        for tensor in model.networks.state_dict().values():
            if tensor.is_floating_point():
                tensor.add_(0.01 * torch.randn_like(tensor))
    path = model.save_pretrained(tmp_path / "m")
    loaded = GANModel.from_pretrained(path)
    assert loaded.family.name == family and loaded.config == model.config
    assert torch.equal(loaded.sample(16, seed=9), model.sample(16, seed=9))
    assert state_dicts_equal(loaded.networks.state_dict(), model.networks.state_dict())
    # a freshly built model of the same config samples something else: the weights did matter
    assert not torch.equal(GANModel.from_config(family, overrides).sample(16, seed=9), model.sample(16, seed=9))
    # and sampling is a pure function of the seed that does not touch the weights
    assert torch.equal(loaded.sample(16, seed=9), loaded.sample(16, seed=9))
    assert not torch.equal(loaded.sample(16, seed=9), loaded.sample(16, seed=10))


def test_number_of_samples_and_seed_are_bounded():
    model = GANModel.from_config("mlp-gan", {"hidden": 8})
    for n in (0, -1, 5000):
        with pytest.raises(ConfigError, match="number of samples"):
            model.sample(n)
    for seed in (-1, 2**63, 10**30):
        with pytest.raises(ConfigError, match="seed must be between"):
            model.sample(4, seed=seed)
    assert model.sample(4, seed=2**63 - 1).shape == (4, 2)


@pytest.mark.parametrize("family", ["dcgan", "mlp-gan", "domain-classifier", "pix2pix"])
def test_resume_repeats_an_unbroken_run_exactly(tmp_path, family, request):
    if family == "pix2pix":
        request.getfixturevalue("data_dir")  # mnist-edges is made from the shared MNIST
    unbroken = Trainer(tiny_run(family, steps=8, out=str(tmp_path / "whole")))
    whole = losses(run_to_end(unbroken))
    assert [step for step, _ in whole] == list(range(1, 9))

    first = Trainer(tiny_run(family, steps=4, out=str(tmp_path / "half")))
    first_half = losses(run_to_end(first))
    resumed = Trainer.from_checkpoint(tmp_path / "half", steps=8)
    assert resumed.step == 4
    second_half = losses(run_to_end(resumed))
    assert first_half + second_half == whole  # exact floats, not approximately

    assert state_dicts_equal(resumed.model.networks.state_dict(), unbroken.model.networks.state_dict())
    for name in unbroken.optimizers:
        a = unbroken.optimizers[name].state_dict()["state"]
        b = resumed.optimizers[name].state_dict()["state"]
        assert a.keys() == b.keys()
        for index in a:
            for key in a[index]:
                assert torch.equal(torch.as_tensor(a[index][key]), torch.as_tensor(b[index][key]))
    # the resumed run saved over its folder at the new step
    assert json.loads((tmp_path / "half" / STATE_FILE).read_text())["step"] == 8


def test_resume_without_saving_optimizer_state_would_differ(tmp_path):
    # guards the test above: resuming weights alone (fresh Adam state) gives other losses
    whole = losses(run_to_end(Trainer(tiny_run(steps=8))))
    run_to_end(Trainer(tiny_run(steps=4, out=str(tmp_path / "half"))))
    fresh = Trainer(tiny_run(steps=8), start_step=4)
    fresh.model.networks.load_state_dict(GANModel.from_pretrained(tmp_path / "half").networks.state_dict())
    assert losses(run_to_end(fresh)) != whole[4:]


def test_resume_can_change_steps_and_cadence_but_not_the_replay(saved):
    trainer = Trainer.from_checkpoint(saved, steps=10, log_every=3, device="cpu")
    assert trainer.run_config.steps == 10 and trainer.run_config.log_every == 3
    before = files_of(saved)
    for key, value in [("dataset", "mnist"), ("seed", 6), ("batch_size", 32), ("model", "mlp-gan"),
                       ("overrides", {"g_width": 16}), ("image_size", 16)]:
        with pytest.raises(ConfigError) as error:
            Trainer.from_checkpoint(saved, steps=10, **{key: value})
        assert str(error.value).startswith(f"{key}: cannot change")
    # unchanged values are fine
    Trainer.from_checkpoint(saved, steps=10, seed=5, batch_size=16, dataset="digits")
    assert files_of(saved) == before


def test_resume_needs_more_steps_than_were_done(saved):
    for steps in (4, 2):
        with pytest.raises(ConfigError, match="already at step 4"):
            Trainer.from_checkpoint(saved, steps=steps)


def test_resume_rejects_unknown_or_bad_changes(saved):
    with pytest.raises(ConfigError, match="unknown config key"):
        Trainer.from_checkpoint(saved, stepz=10)
    with pytest.raises(ConfigError, match="steps"):
        Trainer.from_checkpoint(saved, steps=0)


def test_init_from_starts_a_new_run_from_the_saved_weights(saved, tmp_path):
    start = Trainer(tiny_run(steps=3, init_from=str(saved), out=str(tmp_path / "next")))
    assert start.step == 0
    assert state_dicts_equal(start.model.networks.state_dict(),
                             GANModel.from_pretrained(saved).networks.state_dict())
    assert not state_dicts_equal(Trainer(tiny_run(steps=3)).model.networks.state_dict(),
                                 start.model.networks.state_dict())
    assert run_to_end(start)[0]["notes"][0] == f"initial weights from {saved}"
    card = (tmp_path / "next" / CARD_FILE).read_text()
    assert card.startswith("# dcgan") and "3 steps of batch 16 on `digits`" in card
    assert f"- initial weights from {saved}" in card
    # the new run records where it started, and resuming it reads only its own checkpoint
    resumed = Trainer.from_checkpoint(tmp_path / "next", steps=5)
    assert resumed.run_config.init_from == str(saved) and resumed.step == 3
    with pytest.raises(ConfigError, match="init_from: cannot change"):
        Trainer.from_checkpoint(tmp_path / "next", steps=5, init_from=str(tmp_path))


@pytest.mark.parametrize("changes, text", [
    ({"overrides": {"g_width": 16, "d_width": 8, "latent_dim": 16}}, "different architecture.*g_width 8 vs 16"),
    ({"model": "mlp-gan", "dataset": "ring", "overrides": {"hidden": 32}}, "is a dcgan checkpoint"),
])
def test_init_from_a_checkpoint_that_does_not_fit_is_refused(saved, changes, text):
    with pytest.raises(ConfigError, match=f"init_from: .*{text}"):
        Trainer(tiny_run(init_from=str(saved), **changes))


def test_init_from_a_folder_that_is_not_a_checkpoint(tmp_path):
    with pytest.raises(ConfigError, match="init_from: .* is not a checkpoint folder"):
        Trainer(tiny_run(init_from=str(tmp_path / "missing")))


# ----- atomic writes ----------------------------------------------------------------------


def test_a_save_that_fails_midway_keeps_the_previous_checkpoint(saved, monkeypatch):
    before = files_of(saved)
    trainer = Trainer.from_checkpoint(saved, steps=10, out=str(saved))
    trainer.train_one()
    real_save_file = checkpoint_module.save_file
    written: list[str] = []

    def failing_save_file(tensors, filename, *args, **kwargs):
        written.append(Path(filename).name)
        if Path(filename).name == OPTIMIZER_FILE:
            raise OSError(28, "No space left on device")
        return real_save_file(tensors, filename, *args, **kwargs)

    monkeypatch.setattr(checkpoint_module, "save_file", failing_save_file)
    with pytest.raises(CheckpointError, match="No space left on device; the previous one is kept"):
        trainer.save_pretrained(saved)
    assert written == [WEIGHTS_FILE, OPTIMIZER_FILE]  # it failed after the new weights were written
    monkeypatch.setattr(checkpoint_module, "save_file", real_save_file)

    assert files_of(saved) == before  # byte for byte the step-4 checkpoint
    assert sorted(p.name for p in saved.parent.iterdir()) == ["ckpt"]  # no staging folders left
    assert json.loads((saved / STATE_FILE).read_text())["step"] == 4
    GANModel.from_pretrained(saved)
    assert Trainer.from_checkpoint(saved, steps=10).step == 4


def test_a_reader_between_a_live_writers_two_renames_waits_for_the_new_folder(saved, tmp_path):
    """`sample` or `evaluate` on a run's folder while the run saves into it: a read that lands
    between the save's two renames (the old folder moved aside, the new one not yet in) must not
    put the old folder back, or the writer's own rename fails and the training process dies."""
    import os
    import threading
    import time

    newer = tmp_path / "newer"
    one_more = Trainer.from_checkpoint(saved, steps=5, out=str(newer))
    one_more.train_one()
    one_more.save_pretrained(newer)
    staging, old = saved.with_name(".ckpt.tmp-0000beef"), saved.with_name(".ckpt.old-0000beef")
    os.replace(newer, staging)
    os.replace(saved, old)  # the writer's first rename
    failures = []

    def finish_the_write() -> None:  # the writer, a moment later: its second rename
        time.sleep(0.2)
        try:
            os.replace(staging, saved)
        except OSError as error:
            failures.append(error)

    writer = threading.Thread(target=finish_the_write)
    writer.start()
    model = GANModel.from_pretrained(saved)
    writer.join()
    assert failures == [] and model.networks.state_dict().keys()
    assert json.loads((saved / STATE_FILE).read_text())["step"] == 5  # the new folder is in place
    assert old.is_dir()  # left for the writer to carry over and remove


@pytest.mark.parametrize("killed", ["while staging", "between the renames", "while carrying files over"])
def test_every_state_a_killed_save_leaves_reads_and_resumes(saved, killed):
    """A save is staged beside the folder, the folder moved aside, the staged one renamed in, the
    folder's other files carried over. The files a kill leaves at each point, made here exactly:
    loading and resuming find a whole checkpoint, the folder's other files are all there, and the
    next save cleans up."""
    import os

    (saved / "samples").mkdir()
    (saved / "samples" / "grid.png").write_bytes(b"png")
    before = files_of(saved)
    newer = saved.parent / "newer"
    one_more = Trainer.from_checkpoint(saved, steps=5, out=str(newer))
    one_more.train_one()
    one_more.save_pretrained(newer)
    staging, old = saved.with_name(".ckpt.tmp-0000dead"), saved.with_name(".ckpt.old-0000dead")
    os.replace(newer, staging)
    if killed == "while staging":  # half the files written
        (staging / OPTIMIZER_FILE).unlink()
    if killed == "between the renames":
        os.replace(saved, old)
    if killed == "while carrying files over":
        os.replace(saved, old)
        os.replace(staging, saved)
    expected_step = 5 if killed == "while carrying files over" else 4

    GANModel.from_pretrained(saved)
    assert Trainer.from_checkpoint(saved, steps=10).step == expected_step
    if killed != "while carrying files over":
        assert files_of(saved) == before
    trainer = Trainer.from_checkpoint(saved, steps=10, out=str(saved))
    trainer.train_one()
    trainer.save_pretrained(saved)
    assert sorted(p.name for p in saved.parent.iterdir()) == ["ckpt"]  # nothing hidden left
    assert (saved / "samples" / "grid.png").read_bytes() == b"png"
    assert Trainer.from_checkpoint(saved, steps=10).step == expected_step + 1


WRITER = """
import sys, torch
from trainers.model import GANModel
from trainers.registry import get_family
from trainers.config import from_dict
spec = get_family("mlp-gan")
model = GANModel(spec, from_dict(spec.config_cls, {"hidden": 256, "g_layers": 4, "d_layers": 4}))
for iteration in range(1, 10**9):
    with torch.no_grad():
        for weight in model.networks.parameters():
            weight.fill_(iteration)
    model.save_pretrained(sys.argv[1], {"README.md": f"iteration {iteration}"})
    print(iteration, flush=True)
"""


def test_killing_the_writing_process_at_random_leaves_a_whole_checkpoint(tmp_path):
    """A real process saving in a loop, killed (SIGKILL) at random moments 12 times: each time the
    folder loads, its weights and its card are from the same save, and its other files survive."""
    import random
    import subprocess
    import sys

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    chance = random.Random(0)
    for kill in range(12):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(folder)], stdout=subprocess.PIPE, text=True,
                                  cwd=Path(__file__).resolve().parents[1])
        assert writer.stdout.readline().strip()  # at least one save finished
        time.sleep(chance.uniform(0.0, 0.3))
        writer.kill()
        writer.wait()
        model = GANModel.from_pretrained(folder)
        values = {float(weight.detach().flatten()[0]) for weight in model.networks.parameters()}
        card = (folder / "README.md").read_text()
        assert len(values) == 1 and card == f"iteration {int(values.pop())}", kill
        # a kill while the other files were being carried over leaves them in `.model.old-*`, where
        # the next save takes them back (a reader must not move them: a live writer may be doing so)
        checkpoint_module.recover_interrupted_write(folder, writer=True)
        assert (folder / "notes.txt").read_text() == "mine"


def test_a_save_replaces_the_checkpoint_files_and_keeps_everything_else(saved):
    # the CLI writes sample grids into OUT/samples: a checkpoint swap must not delete them
    (saved / "samples").mkdir()
    (saved / "samples" / "step0000004.png").write_bytes(b"a picture")
    (saved / "notes.txt").write_text("mine")
    old_weights = (saved / WEIGHTS_FILE).read_bytes()
    trainer = Trainer.from_checkpoint(saved, steps=6)
    run_to_end(trainer)
    files = files_of(saved)
    assert set(files) == CHECKPOINT_FILES | {"samples/step0000004.png", "notes.txt"}
    assert files["samples/step0000004.png"] == b"a picture" and files["notes.txt"] == b"mine"
    assert files[WEIGHTS_FILE] != old_weights
    assert json.loads(files[STATE_FILE])["step"] == 6
    assert sorted(p.name for p in saved.parent.iterdir()) == ["ckpt"]  # no staging or old folders


def test_saving_into_a_folder_of_other_files_loses_none_of_them(tmp_path):
    folder = tmp_path / "pictures"
    (folder / "holiday").mkdir(parents=True)
    (folder / "holiday" / "beach.jpg").write_bytes(b"jpeg bytes")
    (folder / "todo.txt").write_text("buy milk")
    run_to_end(Trainer(tiny_run(steps=2, out=str(folder))))
    files = files_of(folder)
    assert files["holiday/beach.jpg"] == b"jpeg bytes" and files["todo.txt"] == b"buy milk"
    assert CHECKPOINT_FILES <= set(files)


def test_out_that_is_a_file_is_refused_before_training(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"something precious")
    with pytest.raises(ConfigError, match="is a file"):
        Trainer(tiny_run(steps=2, out=str(path)))
    model = GANModel.from_config("mlp-gan", {"hidden": 8})
    with pytest.raises(CheckpointError, match="is a file"):
        model.save_pretrained(path)
    assert path.read_bytes() == b"something precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]


def test_no_file_in_a_checkpoint_is_a_pickle(saved):
    for name, data in files_of(saved).items():
        assert not data.startswith(b"\x80"), f"{name} looks like a pickle"
        assert not data.startswith(b"PK"), f"{name} looks like torch.save's zip"
        if name.endswith(".json"):
            json.loads(data)
        elif name.endswith(".md"):  # the model card: plain text
            assert data.decode("utf-8").startswith("# dcgan")
        else:
            assert name.endswith(".safetensors")
            assert all(isinstance(t, torch.Tensor) for t in load_file(str(saved / name)).values())
    meta = json.loads((saved / CONFIG_FILE).read_text())
    assert meta["family"] == "dcgan" and meta["format_version"] == FORMAT_VERSION
    assert meta["config"]["g_width"] == 8 and meta["config"]["image_size"] == 8
    state = json.loads((saved / STATE_FILE).read_text())
    assert state["step"] == 4 and state["run"]["dataset"] == "digits"


# ----- broken and foreign folders -----------------------------------------------------------


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


BROKEN_MODEL = {
    "missing config": (lambda f: (f / CONFIG_FILE).unlink(), CheckpointError, "config.json is missing"),
    "config not json": (lambda f: (f / CONFIG_FILE).write_text("{nope"), CheckpointError, "not valid JSON"),
    "config a list": (lambda f: (f / CONFIG_FILE).write_text("[1, 2]"), CheckpointError, "JSON object"),
    "config not text": (lambda f: (f / CONFIG_FILE).write_bytes(b"\xff\xfe\x00garbage"), CheckpointError,
                        "config.json"),
    "wrong format": (lambda f: edit_json(f / CONFIG_FILE, lambda d: d.update(format_version=99)),
                     CheckpointError, "format 99"),
    "no format": (lambda f: edit_json(f / CONFIG_FILE, lambda d: d.pop("format_version")),
                  CheckpointError, "not written by this library"),
    "unknown family": (lambda f: edit_json(f / CONFIG_FILE, lambda d: d.update(family="stylegan9")),
                       ConfigError, "unknown model 'stylegan9'"),
    "unknown key": (lambda f: edit_json(f / CONFIG_FILE, lambda d: d["config"].update(g_wdith=8)),
                    ConfigError, "g_wdith"),
    "bad value": (lambda f: edit_json(f / CONFIG_FILE, lambda d: d["config"].update(objective="magic")),
                  ConfigError, "objective"),
    "config not a mapping": (lambda f: edit_json(f / CONFIG_FILE, lambda d: d.update(config="dcgan")),
                             PlaygroundError, "config"),
    "config disagrees with weights": (lambda f: edit_json(f / CONFIG_FILE, lambda d: d["config"].update(g_width=16)),
                                      CheckpointError, "does not match its config"),
    "weights list an unknown network": (lambda f: edit_json(f / CONFIG_FILE, lambda d: d.update(
        weights={"networks": ["generator", "critic9"], "dtype": "float16"})), CheckpointError, "lists networks"),
    "weights list a list": (lambda f: edit_json(f / CONFIG_FILE, lambda d: d.update(
        weights={"networks": [["generator"]]})), CheckpointError, "lists networks"),
    "config a folder": (lambda f: ((f / CONFIG_FILE).unlink(), (f / CONFIG_FILE).mkdir()), CheckpointError,
                        "config.json cannot be read: Is a directory"),
    "config a link loop": (lambda f: ((f / CONFIG_FILE).unlink(), (f / CONFIG_FILE).symlink_to(f / CONFIG_FILE)),
                           CheckpointError, "config.json cannot be read: Too many levels of symbolic links"),
    "missing weights": (lambda f: (f / WEIGHTS_FILE).unlink(), CheckpointError, "model.safetensors is missing"),
    "garbage weights": (lambda f: (f / WEIGHTS_FILE).write_bytes(b"\x00" * 100), CheckpointError,
                        "not a readable safetensors"),
    "truncated weights": (lambda f: (f / WEIGHTS_FILE).write_bytes((f / WEIGHTS_FILE).read_bytes()[:300]),
                          CheckpointError, "not a readable safetensors"),
    "weights missing a tensor": (lambda f: save_file({k: v for k, v in load_file(str(f / WEIGHTS_FILE)).items()
                                                      if "discriminator" not in k}, str(f / WEIGHTS_FILE)),
                                 CheckpointError, "does not match its config"),
    # it loaded, and sample wrote a picture of noise with exit 0
    "NaN weights": (lambda f: save_file({k: v.fill_(float("nan")) if v.is_floating_point() else v
                                         for k, v in load_file(str(f / WEIGHTS_FILE)).items()}, str(f / WEIGHTS_FILE)),
                    CheckpointError, "holds NaN or infinite weights"),
}


@pytest.mark.parametrize("case", list(BROKEN_MODEL))
def test_a_broken_model_folder_is_a_clear_error(saved, case):
    damage, error_type, text = BROKEN_MODEL[case]
    damage(saved)
    before = files_of(saved)
    with pytest.raises(error_type) as error:
        GANModel.from_pretrained(saved)
    assert text in str(error.value)
    # resuming from it fails the same way, and neither touches the folder
    with pytest.raises(PlaygroundError):
        Trainer.from_checkpoint(saved, steps=10)
    assert files_of(saved) == before


def test_a_folder_that_does_not_exist_or_is_a_file(tmp_path):
    with pytest.raises(CheckpointError, match="not a checkpoint folder"):
        GANModel.from_pretrained(tmp_path / "nowhere")
    (tmp_path / "file.txt").write_text("hi")
    with pytest.raises(CheckpointError, match="not a checkpoint folder"):
        GANModel.from_pretrained(tmp_path / "file.txt")
    with pytest.raises(CheckpointError, match="nowhere does not exist: give a checkpoint folder"):
        Trainer.from_checkpoint(tmp_path / "nowhere", steps=10)


BROKEN_RESUME = {
    "missing state": (lambda f: (f / STATE_FILE).unlink(), "state.json is missing"),
    "state not json": (lambda f: (f / STATE_FILE).write_text("step=4"), "not valid JSON"),
    "state without run": (lambda f: edit_json(f / STATE_FILE, lambda d: d.pop("run")), "no usable run config"),
    "run not a mapping": (lambda f: edit_json(f / STATE_FILE, lambda d: d.update(run=[1, 2])), "run"),
    "run with unknown key": (lambda f: edit_json(f / STATE_FILE, lambda d: d["run"].update(lr=1)), "lr"),
    "state without step": (lambda f: edit_json(f / STATE_FILE, lambda d: d.pop("step")), "step"),
    "step not a number": (lambda f: edit_json(f / STATE_FILE, lambda d: d.update(step="four")), "step"),
    "negative step": (lambda f: edit_json(f / STATE_FILE, lambda d: d.update(step=-3)), "step"),
    "state without optimizers": (lambda f: edit_json(f / STATE_FILE, lambda d: d.pop("optimizers")),
                                 "optimizer"),
    "optimizer state for another model": (
        lambda f: edit_json(f / STATE_FILE, lambda d: d["optimizers"].pop("generator")), "generator"),
    "missing optimizer file": (lambda f: (f / OPTIMIZER_FILE).unlink(), "optimizer.safetensors is missing"),
    "garbage optimizer file": (lambda f: (f / OPTIMIZER_FILE).write_bytes(b"garbage"),
                               "not a readable safetensors"),
    "optimizer tensors of the wrong shape": (
        lambda f: save_file({k: torch.zeros(3) for k in load_file(str(f / OPTIMIZER_FILE))},
                            str(f / OPTIMIZER_FILE)), "optimizer"),
    "optimizer tensor with a foreign name": (
        lambda f: save_file({"nonsense": torch.zeros(3)}, str(f / OPTIMIZER_FILE)), "optimizer"),
    "model-only folder": (lambda f: [(f / n).unlink() for n in (STATE_FILE, OPTIMIZER_FILE)],
                          "state.json is missing"),
    "learning rate as text": (lambda f: edit_param_group(f, lr="fast"), "lr is 'fast'"),
    "learning rate missing": (lambda f: edit_param_group(f, lr=None, drop="lr"), "has no 'lr'"),
    "betas of the wrong kind": (lambda f: edit_param_group(f, betas=[0.5]), "betas is [0.5]"),
    "betas past 1": (lambda f: edit_param_group(f, betas=[0.5, 1.5]), "beta parameter"),
    "negative learning rate": (lambda f: edit_param_group(f, lr=-0.1), "learning rate"),
    "weight decay of null": (lambda f: edit_param_group(f, weight_decay=None), "weight_decay is None"),
    "infinite train_seconds": (lambda f: edit_json(f / STATE_FILE, lambda d: d.update(train_seconds=1e999)),
                               "train_seconds"),
    "negative train_seconds": (lambda f: edit_json(f / STATE_FILE, lambda d: d.update(train_seconds=-5)),
                               "train_seconds"),
    "another family's weights": (lambda f: GANModel.from_config("mlp-gan").save_pretrained(f),
                                 "holds a mlp-gan model but state.json's run trains dcgan"),
    "another config's weights": (
        lambda f: GANModel.from_config("dcgan", {**TINY["dcgan"]["overrides"], "d_width": 16}).save_pretrained(f),
        "d_width 16 against 8"),
    "weights without the discriminator": (
        lambda f: GANModel.from_pretrained(f).save_pretrained(f, inference_only=True), "stores only generator"),
}


def edit_param_group(folder: Path, drop: str | None = None, **values: Any) -> None:
    """Change (or ``drop``) settings of the generator's saved optimizer parameter group."""
    def change(state: dict[str, Any]) -> None:
        group = state["optimizers"]["generator"]["param_groups"][0]
        group.update(values)
        if drop:
            group.pop(drop)
    edit_json(folder / STATE_FILE, change)


@pytest.mark.parametrize("case", list(BROKEN_RESUME))
def test_a_broken_resume_folder_is_a_clear_error(saved, case):
    damage, text = BROKEN_RESUME[case]
    damage(saved)
    before = files_of(saved)
    with pytest.raises(PlaygroundError) as error:
        Trainer.from_checkpoint(saved, steps=10)
    assert text in str(error.value)
    assert files_of(saved) == before


def test_a_planted_pickle_is_refused_and_never_runs(saved, tmp_path, planted_pickle):
    """Hostile files where a user may point the library: a .pt file, a folder holding one instead of
    safetensors weights, and a pickle renamed model.safetensors. Each is refused with a message
    saying why; the pickle's code never runs (it would create the sentinel file)."""
    payload, sentinel = planted_pickle
    single = tmp_path / "generator.pt"
    single.write_bytes(payload)
    with pytest.raises(CheckpointError, match="pickle-based PyTorch file, not a checkpoint folder: pickle-based "
                                              r"files are never loaded \(unpickling runs"):
        GANModel.from_pretrained(single)
    with pytest.raises(PlaygroundError, match="pickle-based"):
        Trainer(tiny_run(steps=2, init_from=str(single)))

    (saved / WEIGHTS_FILE).rename(saved / "model.pt")
    (saved / "model.pt").write_bytes(payload)
    with pytest.raises(CheckpointError, match=r"model.safetensors is missing \(it holds model.pt: pickle-based"):
        GANModel.from_pretrained(saved)
    (saved / WEIGHTS_FILE).write_bytes(payload)  # a pickle under the safetensors name
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        GANModel.from_pretrained(saved)
    with pytest.raises(PlaygroundError):
        Trainer.from_checkpoint(saved, steps=10)
    assert not sentinel.exists()


def test_a_save_that_runs_out_of_room_says_so_and_keeps_the_last_checkpoint(tmp_path):
    """A full disk made the CLI end in a SafetensorError traceback. Files are capped at 4 kB here
    (RLIMIT_FSIZE, as a full disk would stop them) for a resumed run's save: one line, exit 2, and
    the step-4 checkpoint as it was."""
    import subprocess
    import sys

    out = tmp_path / "run"
    assert list(Trainer(RunConfig(model="mlp-gan", dataset="ring", steps=4, batch_size=16, out=str(out),
                                  overrides={"hidden": 32})).run())[-1]["type"] == "done"
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    capped = ("import resource, signal, sys\n"
              "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"  # a write past the cap fails instead
              "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
              "from trainers.cli import main\n"
              f"sys.exit(main(['train', '--resume', {str(out)!r}, '--steps', '8', '--quiet']))\n")
    result = subprocess.run([sys.executable, "-c", capped], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1], timeout=120)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("error: cannot write") and "the previous one is kept" in lines[0], lines[0]
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != "metrics.jsonl"}
    assert after == before  # the CLI's own log of steps 5-8 aside
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left
