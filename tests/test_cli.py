"""`python -m trainers` as a person runs it, offline, with the shared data folder. Bad input exits
2 with one `error:` line, no traceback, and leaves an existing checkpoint in --out as it was.

Most calls run `trainers.cli.main` in this process with its output captured (a subprocess each
would import torch again, seconds per call); the list test and the train/resume/sample test run
the real `python -m trainers` from the repository root."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from unittest.mock import patch

import pytest
from PIL import Image

from trainers.cli import build_parser, main
from trainers.data import DATASETS
from trainers.engine import RunConfig, Trainer
from trainers.registry import MODELS

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY = ["--set", "g_width=8", "--set", "d_width=8"]
CHECKPOINT_FILES = {"config.json", "model.safetensors", "optimizer.safetensors", "state.json"}


@pytest.fixture(scope="module")
def cli_env(data_dir) -> dict[str, str]:
    env = dict(os.environ)
    env.update(GAN_DATA_DIR=str(data_dir), GAN_OFFLINE="1", PYTHONUNBUFFERED="1")
    return env


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`python -m trainers ARGS` in this process, with env as the environment."""
    out, err = io.StringIO(), io.StringIO()
    with patch.dict(os.environ, env), redirect_stdout(out), redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit_:  # argparse: --help, usage errors
            code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def cli_subprocess(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m trainers ARGS` as its own process, from the repository root."""
    return subprocess.run([sys.executable, "-m", "trainers", *map(str, args)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def saved_checkpoint(tmp_path_factory) -> Path:
    """A finished 4-step dcgan/digits run, built in-process (quicker than another subprocess)."""
    folder = tmp_path_factory.mktemp("cli") / "existing"
    run = RunConfig(model="dcgan", dataset="digits", steps=4, batch_size=16, device="cpu",
                    overrides={"g_width": 8, "d_width": 8}, out=str(folder))
    assert list(Trainer(run).run())[-1]["type"] == "done"
    return folder


@pytest.fixture
def existing_out(saved_checkpoint, tmp_path) -> Path:
    """A copy of the saved checkpoint to point --out at; the test checks it is left alone."""
    folder = tmp_path / "out"
    shutil.copytree(saved_checkpoint, folder)
    return folder


# ----- list and help ---------------------------------------------------------------------


def test_list_names_the_models_and_the_datasets(cli_env):
    result = cli_subprocess(cli_env, "list")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for name in MODELS:
        assert name in out
    for spec in MODELS.values():
        for objective in spec.objectives:
            assert objective in out
        for preset in spec.presets:
            assert preset in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ") and line.split()}
    for name in DATASETS:
        assert name in lines, f"{name} not listed"
    assert "ready" in lines["mnist"] and "mnist.npz" in lines["mnist"]
    assert "missing" in lines["celeba"] and "CelebA" in lines["celeba"]
    assert "folder:PATH" in out


def test_train_help_documents_every_option(cli_env):
    result = cli(cli_env, "train", "--help")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    expected = ["--model", "--dataset", "--steps", "--batch-size", "--seed", "--device", "--preset", "--set",
                "--out", "--resume", "--image-size", "--data-dir", "--log-every", "--sample-every",
                "--checkpoint-every", "--quiet"]
    for option in expected:
        assert option in text, f"{option} missing from train --help"
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    for action in train._actions:
        for option in action.option_strings:
            assert option in text
        assert action.help and action.help.strip(), f"{action.option_strings} has no help"
    assert "folder:PATH" in text and "KEY=VALUE" in text


def test_train_starts_at_the_library_run_defaults():
    """A command-line run and a playground run with nothing typed train alike (the Train form starts at
    RunConfig's defaults too, tests/test_streamlit.py); only the sample cadence differs, on purpose."""
    parsed = vars(build_parser().parse_args(["train"]))
    library = dataclasses.asdict(RunConfig())
    shared = set(parsed) & set(library) - {"sample_every", "overrides"}
    assert {"model", "dataset", "steps", "batch_size", "seed", "device", "preset", "log_every",
            "checkpoint_every", "metric_every", "metric_samples", "fast", "compile"} <= shared
    assert {name: parsed[name] for name in shared} == {name: library[name] for name in shared}


def test_sample_help_documents_its_options(cli_env):
    result = cli(cli_env, "sample", "--help")
    assert result.returncode == 0
    for option in ("--checkpoint", "--out", "--num", "--seed", "--device"):
        assert option in result.stdout


# ----- train, resume, sample ------------------------------------------------------------------


@pytest.mark.slow  # three subprocesses that each import torch
def test_train_resume_and_sample(cli_env, tmp_path):
    out = tmp_path / "run"
    result = cli_subprocess(cli_env, "train", "--model", "dcgan", "--dataset", "digits", "--steps", 20, *TINY,
                 "--set", "objective=least-squares", "--out", out, "--sample-every", 10, "--batch-size", 16)
    assert result.returncode == 0, result.stderr
    assert "completed at step 20" in result.stdout and str(out) in result.stdout
    assert CHECKPOINT_FILES <= {p.name for p in out.iterdir()}
    meta = json.loads((out / "config.json").read_text())
    assert meta["family"] == "dcgan"
    assert (meta["config"]["g_width"], meta["config"]["objective"], meta["config"]["image_size"]) == (
        8, "least-squares", 8)
    assert json.loads((out / "state.json").read_text())["step"] == 20
    grids = sorted(p.name for p in (out / "samples").glob("*.png"))
    assert {"step0000010.png", "step0000020.png"} <= set(grids)
    with Image.open(out / "samples" / "step0000020.png") as image:
        assert image.size == (82, 82) and image.mode == "RGB"

    result = cli_subprocess(cli_env, "train", "--resume", out, "--steps", 30, "--sample-every", 10)
    assert result.returncode == 0, result.stderr
    assert "steps 20..30" in result.stdout and "completed at step 30" in result.stdout
    assert json.loads((out / "state.json").read_text())["step"] == 30
    assert (out / "samples" / "step0000030.png").is_file()
    # the resumed run kept its settings
    assert json.loads((out / "config.json").read_text())["config"]["objective"] == "least-squares"

    png = tmp_path / "grid" / "x.png"
    result = cli_subprocess(cli_env, "sample", "--checkpoint", out, "--out", png, "-n", 16, "--seed", 3)
    assert result.returncode == 0, result.stderr
    assert "wrote 16 samples" in result.stdout
    with Image.open(png) as image:
        # 16 samples of 8x8, eight to a row with 2 px padding: (8 * 10 + 2) x (2 * 10 + 2)
        assert image.format == "PNG" and image.mode == "RGB" and image.size == (82, 22)


def test_a_run_killed_mid_training_resumes_from_its_last_checkpoint(cli_env, tmp_path):
    """Fault injection: the training process is killed (SIGKILL, no clean-up) while it trains and
    writes a checkpoint every 5 steps; `--resume` continues from the last whole checkpoint and
    finishes the run."""
    import time

    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "trainers", "train", "--model", "dcgan", "--dataset", "digits",
                                "--steps", "100000", *TINY, "--batch-size", "16", "--out", str(out),
                                "--checkpoint-every", "5", "--sample-every", "1000"],
                               cwd=REPO_ROOT, env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not (out / "state.json").is_file():
        time.sleep(0.1)
    time.sleep(1.5)  # many checkpoints later, mid-step or mid-write
    process.kill()
    process.wait()
    # (a kill between the save's two renames leaves the folder aside: loading puts it back)
    saved = Trainer.from_checkpoint(out, steps=10**6).step
    assert saved >= 5 and saved % 5 == 0
    result = cli_subprocess(cli_env, "train", "--resume", out, "--steps", saved + 10)
    assert result.returncode == 0, result.stderr
    assert f"steps {saved}..{saved + 10}" in result.stdout and f"completed at step {saved + 10}" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no half-written copies left beside it


def test_ctrl_c_stops_after_the_step_saves_and_resumes(cli_env, tmp_path):
    """A first Ctrl-C (SIGINT) ends a run as the app's Stop does: the checkpoint of the step it
    reached is saved (with no --checkpoint-every, nothing had been), and --resume continues it."""
    import signal
    import time

    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "trainers", "train", "--model", "mlp-gan", "--dataset", "ring",
                                "--steps", "10000000", "--log-every", "20", "--out", str(out)],
                               cwd=REPO_ROOT, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not (out / "metrics.jsonl").is_file():
        time.sleep(0.1)
    time.sleep(0.5)
    assert not (out / "state.json").exists()  # no checkpoint yet: only the stop saves one
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr
    saved = json.loads((out / "state.json").read_text())["step"]
    assert saved > 0 and f"stopped at step {saved}; checkpoint in {out}" in stdout
    assert "interrupted: stopping after this step and saving" in stdout
    result = cli_subprocess(cli_env, "train", "--resume", out, "--steps", saved + 10)
    assert result.returncode == 0 and f"completed at step {saved + 10}" in result.stdout, result.stderr


def test_ctrl_c_before_the_first_step_leaves_no_half_made_folder(cli_env, tmp_path):
    """Ctrl-C while the run starts (here during its first live measurement, of the untrained model)
    said "stopping ... and saving", then left an empty metrics log and samples folder that --resume
    took for a broken checkpoint."""
    import signal

    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "trainers", "train", "--model", "dcgan", "--dataset", "mnist",
                                "--preset", "cpu-small", "--steps", "100", "--metric-every", "50",
                                "--metric-samples", "2000", "--out", str(out)],
                               cwd=REPO_ROOT, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:  # "training dcgan on mnist (cpu), steps 0..100": the step-0 measurement follows
        if line.startswith("training "):
            process.send_signal(signal.SIGINT)
            break
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr
    assert "stopped at step 0; nothing was trained, so nothing was saved" in stdout, stdout
    assert not out.exists()


# ----- bad input --------------------------------------------------------------------------------


BAD_TRAIN = {
    "unknown model": (["--model", "stylegan9"], ["unknown model 'stylegan9'", "dcgan", "mlp-gan"]),
    "unknown dataset": (["--dataset", "imagenet"], ["unknown dataset 'imagenet'", "mnist", "folder:PATH"]),
    "unknown config key": (["--set", "lr_gg=1"], ["lr_gg", "valid keys", "lr_g"]),
    "zero steps": (["--steps", "0"], ["steps", "outside the allowed range"]),
    "bad objective": (["--set", "objective=wgan"], ["objective", "'wgan'"]),
    "wrong data kind": (["--model", "mlp-gan"], ["mlp-gan trains on points data"]),
    "missing folder": (["--dataset", "folder:/nonexistent/pictures"], ["/nonexistent/pictures", "does not exist"]),
    "negative metric cadence": (["--metric-every", "-1"], ["metric_every", "outside the allowed range"]),
    "too few metric samples": (["--metric-samples", "5"], ["metric_samples", "outside the allowed range"]),
    "init from nowhere": (["--init-from", "/nonexistent/run"], ["init_from: /nonexistent/run is not a checkpoint"]),
    "init from another shape": (["--init-from", "{existing}", "--set", "g_width=16"],
                                ["init_from:", "different architecture", "g_width 8 vs 16"]),
    # each save swaps the whole folder: refused before training, not after it, at the first save
    "out is the working folder": (["--out", "."], [".: a checkpoint needs a folder of its own"]),
    "out is the parent folder": (["--out", ".."], ["..: a checkpoint needs a folder of its own"]),
    "batch too small for batch norm": (["--model", "vanilla-gan", "--batch-size", "1"],
                                       ["batch_size: vanilla-gan needs at least 2 samples a step, not 1"]),
}


@pytest.mark.parametrize("case", list(BAD_TRAIN))
def test_bad_train_input_is_one_error_line_and_keeps_the_checkpoint(cli_env, existing_out, case):
    args, fragments = BAD_TRAIN[case]
    before = files_of(existing_out)
    base = ["--dataset", "digits", "--steps", "5", *TINY, "--out", existing_out, "--quiet"]
    result = cli(cli_env, "train", *base, *[str(existing_out) if a == "{existing}" else a for a in args])
    assert_one_line_error(result, *fragments)
    assert files_of(existing_out) == before
    assert sorted(p.name for p in existing_out.parent.iterdir()) == ["out"]  # no staging folder left


def test_cpu_bf16_says_what_the_run_took(cli_env, tmp_path):
    """--cpu-bf16 is a request: the run's first lines say whether it trains in bf16 (a CPU with
    AMX) or why it stays in float32, and it trains either way."""
    from trainers.device import cpu_has_bf16_matrix_units

    for model, extra in (("dcgan", TINY), ("wgan-gp", ["--preset", "cpu"])):
        result = cli(cli_env, "train", "--model", model, "--dataset", "digits", "--steps", 2, "--batch-size", 8,
                     *extra, "--cpu-bf16", "--quiet", "--out", tmp_path / model)
        assert result.returncode == 0, result.stderr
        output = result.stdout + result.stderr
        if model == "dcgan" and cpu_has_bf16_matrix_units():
            assert "note: bf16 autocast on the CPU's AMX matrix units (cpu_bf16)" in output, output
        else:
            assert "note: cpu_bf16 asked for, float32 kept: " in output, output
        assert (tmp_path / model / "model.safetensors").is_file()


def test_a_linked_out_folder_is_written_through_and_stays_a_link(cli_env, tmp_path):
    """--out a link to a folder elsewhere (a bigger disk): the checkpoint lands there, beside what
    the folder held, and the link is still a link (the write used to replace it by a folder)."""
    elsewhere = tmp_path / "big-disk" / "run"
    elsewhere.mkdir(parents=True)
    (elsewhere / "notes.txt").write_text("mine")
    link = tmp_path / "run"
    link.symlink_to(elsewhere)
    result = cli(cli_env, "train", "--dataset", "digits", "--steps", 2, "--batch-size", 8, *TINY, "--out", link,
                 "--quiet")
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and (elsewhere / "model.safetensors").is_file()
    assert (elsewhere / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big-disk", "run"]  # no .old- or .tmp- left


def test_a_new_run_over_a_saved_one_is_refused_and_the_saved_one_kept(cli_env, existing_out):
    """It emptied the saved run's metrics log at once and replaced its checkpoint at the first save."""
    (existing_out / "metrics.jsonl").write_text('{"step": 4}\n')
    before = files_of(existing_out)
    result = cli(cli_env, "train", "--dataset", "digits", "--steps", 5, *TINY, "--out", existing_out, "--quiet")
    assert_one_line_error(result, "holds a training run", f"--resume {existing_out}")
    assert files_of(existing_out) == before


def test_export_refuses_a_folder_holding_a_training_run(cli_env, saved_checkpoint, existing_out):
    """Exporting over a run (its own folder included) kept its optimizer state beside other weights:
    a resume then went on from a mix. Refused before the evaluation, the run untouched."""
    before = files_of(existing_out)
    for source in (saved_checkpoint, existing_out):
        result = cli(cli_env, "export", "--checkpoint", source, "--out", existing_out, "--samples", 20)
        assert_one_line_error(result, "holds a training run (state.json)", "export to a folder of its own")
    assert files_of(existing_out) == before


def test_messages_say_what_a_person_can_act_on(cli_env, tmp_path):
    """A missing folder was "not a checkpoint: state.json is missing", a misspelled built-in picture
    did not list the built-in ones, and an unreadable picture named PIL's in-memory file."""
    result = cli(cli_env, "train", "--resume", tmp_path / "nowhere", "--steps", 5)
    assert_one_line_error(result, f"{tmp_path / 'nowhere'} does not exist: give a checkpoint folder")
    result = cli(cli_env, "train", "--model", "dip-inpaint", "--dataset", "inpaint:astronot:text", "--steps", 2)
    assert_one_line_error(result, "image astronot does not exist", "built-in image: astronaut, chelsea")
    (tmp_path / "notes.png").write_text("text, renamed")
    result = cli(cli_env, "translate", "--checkpoint", "srresnet_x4", "--input", tmp_path / "notes.png",
                 "--out", tmp_path / "out.png")
    line = assert_one_line_error(result, "is not an image PIL can read", "cannot identify image file)")
    assert "BytesIO" not in line and "0x" not in line


def test_out_that_is_a_file_is_refused(cli_env, tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"precious")
    result = cli(cli_env, "train", "--dataset", "digits", "--steps", 5, *TINY, "--out", path)
    assert_one_line_error(result, str(path), "is a file")
    # a folder that cannot be made (a file on the way) was a NotADirectoryError traceback
    result = cli(cli_env, "train", "--dataset", "digits", "--steps", 5, *TINY, "--out", path / "run")
    assert_one_line_error(result, "--out: cannot write", "Not a directory")
    assert path.read_bytes() == b"precious"


@pytest.mark.parametrize("offline", ["1", "on", " Yes "])
def test_missing_dataset_offline_says_where_it_looked(cli_env, existing_out, tmp_path, offline):
    empty = tmp_path / "empty-data"
    empty.mkdir()
    before = files_of(existing_out)
    result = cli({**cli_env, "GAN_OFFLINE": offline}, "train", "--dataset", "mnist", "--data-dir", empty,
                 "--steps", 5, *TINY, "--out", existing_out)
    assert_one_line_error(result, str(empty / "mnist.npz"), "downloads are switched off (GAN_OFFLINE is set)")
    assert files_of(existing_out) == before
    assert list(empty.iterdir()) == []  # nothing downloaded


def test_an_offline_switch_that_is_neither_on_nor_off_is_refused(cli_env, existing_out, tmp_path):
    empty = tmp_path / "empty-data"
    empty.mkdir()
    before = files_of(existing_out)
    result = cli({**cli_env, "GAN_OFFLINE": "maybe"}, "train", "--dataset", "mnist", "--data-dir", empty,
                 "--steps", 5, *TINY, "--out", existing_out)
    assert_one_line_error(result, "GAN_OFFLINE='maybe': set it to 1 or 0, or unset it")
    assert files_of(existing_out) == before and list(empty.iterdir()) == []


def test_resume_of_a_folder_that_is_not_a_checkpoint(cli_env, existing_out, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.png").write_bytes(b"not a checkpoint")
    before = files_of(existing_out)
    result = cli(cli_env, "train", "--resume", folder, "--steps", 10, "--out", existing_out)
    assert_one_line_error(result, str(folder), "state.json is missing")
    assert files_of(existing_out) == before
    assert files_of(folder) == {"cat.png": b"not a checkpoint"}


def test_resume_to_fewer_steps_than_done_keeps_the_checkpoint(cli_env, existing_out):
    before = files_of(existing_out)
    result = cli(cli_env, "train", "--resume", existing_out, "--steps", 3)
    assert_one_line_error(result, "already at step 4")
    assert files_of(existing_out) == before


@pytest.mark.parametrize("args, fragment", [
    (["--batch-size", "32"], "batch_size: cannot change from 16"),
    (["--dataset", "fashion-mnist"], "dataset: cannot change from 'digits'"),
    (["--seed", "9"], "seed: cannot change"),
    (["--set", "g_width=16"], "overrides: cannot change"),
    (["--init-from", "{tmp}"], "init_from: cannot change"),
], ids=["batch-size", "dataset", "seed", "set", "init-from"])
def test_resume_refuses_options_that_change_the_run(cli_env, existing_out, tmp_path, args, fragment):
    # silently training with the saved values instead would ignore what was typed
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    before = files_of(existing_out)
    result = cli(cli_env, "train", "--resume", existing_out, "--steps", 8, *args)
    assert_one_line_error(result, fragment)
    assert files_of(existing_out) == before


def test_sample_from_a_missing_folder(cli_env, tmp_path):
    png = tmp_path / "x.png"
    result = cli(cli_env, "sample", "--checkpoint", tmp_path / "nowhere", "--out", png)
    assert_one_line_error(result, str(tmp_path / "nowhere"), "not a checkpoint folder")
    assert not png.exists()


def test_sample_with_a_bad_count_keeps_an_existing_png(cli_env, saved_checkpoint, tmp_path):
    png = tmp_path / "x.png"
    png.write_bytes(b"previous picture")
    result = cli(cli_env, "sample", "--checkpoint", saved_checkpoint, "--out", png, "-n", 0)
    assert_one_line_error(result, "number of samples")
    assert png.read_bytes() == b"previous picture"


@pytest.mark.parametrize("args, fragment", [
    (["--seed", "100000000000000000000000"], "seed must be between 0 and 2**63 - 1"),
    (["--seed", "-1"], "seed must be between"),
    (["--device", "cuda:x"], "device"),
    (["--out", "{tmp}/grid.notanimage"], "cannot write"),
    (["--out", "{tmp}"], "cannot write"),
    (["--out", "{tmp}/keep.txt/grid.png"], "cannot write"),
], ids=["huge-seed", "negative-seed", "bad-device", "unknown-extension", "out-is-a-folder", "out-under-a-file"])
def test_sample_bad_input_is_one_error_line(cli_env, saved_checkpoint, tmp_path, args, fragment):
    (tmp_path / "keep.txt").write_text("mine")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--out" not in args:  # never the default samples.png in the repository
        args += ["--out", str(tmp_path / "x.png")]
    result = cli(cli_env, "sample", "--checkpoint", saved_checkpoint, *args)
    assert_one_line_error(result, fragment)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_sample_of_a_points_model_is_refused(cli_env, tmp_path):
    folder = tmp_path / "toy"
    run = RunConfig(model="mlp-gan", dataset="ring", steps=2, batch_size=16, device="cpu",
                    overrides={"hidden": 8}, out=str(folder))
    list(Trainer(run).run())
    result = cli(cli_env, "sample", "--checkpoint", folder, "--out", tmp_path / "x.png")
    assert_one_line_error(result, "mlp-gan makes points, not images")
    assert not (tmp_path / "x.png").exists()


def test_a_malformed_set_is_a_usage_error(cli_env):
    result = cli(cli_env, "train", "--set", "lr_g", "--steps", 5)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "expected KEY=VALUE" in result.stderr


# ----- probe -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def encoder_checkpoint(tmp_path_factory) -> Path:
    """A 30-step autoencoder on digits (8x8), built in-process."""
    folder = tmp_path_factory.mktemp("cli") / "autoencoder"
    run = RunConfig(model="autoencoder", dataset="digits", steps=30, batch_size=32, device="cpu",
                    overrides={"g_width": 8, "d_width": 8, "latent_dim": 8}, out=str(folder))
    assert list(Trainer(run).run())[-1]["type"] == "done"
    return folder


def test_probe_reports_the_encoder_against_a_random_one(cli_env, encoder_checkpoint):
    result = cli(cli_env, "probe", "--checkpoint", encoder_checkpoint, "--dataset", "digits")
    assert result.returncode == 0, result.stderr
    match = re.search(r"linear probe, autoencoder on digits \(8-number codes, 1500 training / 297 test images, "
                      r"[\d.]+ s\): test accuracy (0\.\d+); random encoder (0\.\d+); margin ([+-]0\.\d+)",
                      result.stdout)
    assert match, result.stdout
    accuracy, random_accuracy, margin = map(float, match.groups())
    assert accuracy > 0.5 and abs(accuracy - random_accuracy - margin) < 1e-3  # 10 classes: chance is 0.1


@pytest.mark.parametrize("args, fragment", [
    (["--checkpoint", "{dcgan}"], "dcgan has no encoder"),
    (["--dataset", "ring"], "ring has no labels"),
    (["--dataset", "cifar10"], "holds (3, 8, 8) samples; this autoencoder encodes (1, 8, 8) images"),
    (["--dataset", "no-such-set"], "unknown dataset 'no-such-set'"),
    (["--train-images", "1"], "at least 2 training"),
    (["--checkpoint", "{tmp}/nowhere"], "not a checkpoint folder"),
], ids=["no-encoder", "points-data", "colour-data", "unknown-dataset", "too-few-images", "missing-folder"])
def test_probe_bad_input_is_one_error_line(cli_env, encoder_checkpoint, saved_checkpoint, tmp_path, args, fragment):
    args = [a.replace("{dcgan}", str(saved_checkpoint)).replace("{tmp}", str(tmp_path)) for a in args]
    if "--checkpoint" not in args:
        args += ["--checkpoint", str(encoder_checkpoint)]
    if "--dataset" not in args:
        args += ["--dataset", "digits"]
    assert_one_line_error(cli(cli_env, "probe", *args), fragment)
