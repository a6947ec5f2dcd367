"""Multi-process training on CPUs with gloo, started by the real torchrun: a 2-process DCGAN learns
MNIST and its losses track one process's; a 2-process run resumes exactly; every family's replicas
stay equal; one process sets nothing up; bad launches get a clear error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
from safetensors.torch import load_file

from judges import mnist_judge, read_digits
from trainers.distributed import connect
from trainers.engine import RunConfig, Trainer
from trainers.model import GANModel

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.xdist_group("distributed")  # each test runs two processes: one at a time
#: a 50-step window's mean loss, 2 processes vs 1, may differ by this much (measured over the first
#: 300 steps: at most 0.03 for D and 0.09 for G, while D's loss itself falls from 0.64 to 0.22)
TRACKING_TOLERANCE = {"loss_d": 0.1, "loss_g": 0.3}
TRACKED_EVENTS = 30  # progress events every 10 steps: the first 300 steps


def torchrun(*args: str, processes: int = 2, timeout: int = 600) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc_per_node=N ARGS`` (a free port of its own), one thread each."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           f"--nproc_per_node={processes}", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def train(*args: str, processes: int = 2) -> subprocess.CompletedProcess:
    done = torchrun("-m", "trainers", "train", "--quiet", *args, processes=processes)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def window_means(values: list[float], per_window: int) -> np.ndarray:
    usable = len(values) // per_window * per_window
    return np.asarray(values[:usable]).reshape(-1, per_window).mean(axis=1)


@pytest.mark.slow
def test_dcgan_learns_mnist_in_one_process_and_in_two_alike(tmp_path, data_dir):
    """DCGAN's MNIST learning test, in one process and under torchrun in two: both draw digits a
    classifier reads, of most classes, and their loss curves follow the same course."""
    judge, _ = mnist_judge(str(data_dir))
    out = tmp_path / "ddp"
    done = train("--model", "dcgan", "--dataset", "mnist", "--preset", "cpu-small", "--steps", "600",
                 "--batch-size", "64", "--seed", "0", "--log-every", "10", "--sample-every", "300",
                 "--data-dir", str(data_dir), "--out", str(out))
    # rank 0 alone reports and writes
    assert done.stdout.count("completed at step 600") == 1 and done.stdout.count("training dcgan") == 1
    assert sorted(p.name for p in (out / "samples").iterdir()) == [
        "step0000000.png", "step0000300.png", "step0000600.png"]
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in logged] == list(range(10, 601, 10))

    # one process, the same global batch and seed
    single = Trainer(RunConfig(model="dcgan", dataset="mnist", preset="cpu-small", steps=600, batch_size=64,
                               seed=0, log_every=10, sample_every=10**6, data_dir=str(data_dir)))
    untrained_confidence, _, _ = read_digits(judge, single.model.sample(1000, seed=5))
    alone = [event for event in single.run() if event["type"] == "metrics"]

    # both learned: recognisable digits (the rank-0 checkpoint loads), of most classes
    for name, model in (("1 process", single.model), ("2 processes", GANModel.from_pretrained(out))):
        confidence, histogram, _ = read_digits(judge, model.sample(1000, seed=5))
        print(f"dcgan/mnist, {name}: confidence {confidence:.3f} (untrained {untrained_confidence:.3f}), "
              f"histogram {histogram.tolist()}")
        assert confidence >= 0.5 and confidence >= untrained_confidence + 0.25, (name, confidence)
        assert int((histogram >= 20).sum()) >= 8, (name, histogram.tolist())

    # and their losses followed the same course: 50-step means over the first 300 steps within the
    # tolerance (later the D losses of any two runs oscillate out of step, one process or two)
    for loss, tolerance in TRACKING_TOLERANCE.items():
        ours = window_means([event["losses"][loss] for event in alone[:TRACKED_EVENTS]], 5)
        theirs = window_means([row["losses"][loss] for row in logged[:TRACKED_EVENTS]], 5)
        print(f"{loss}: 1 process {np.round(ours, 3).tolist()}, 2 processes {np.round(theirs, 3).tolist()}")
        assert np.abs(ours - theirs).max() <= tolerance, (loss, ours, theirs)
    d_means = window_means([event["losses"]["loss_d"] for event in alone], 5)
    assert d_means[0] - d_means.min() > 2 * TRACKING_TOLERANCE["loss_d"]  # the curve moves more than that


def test_two_processes_resume_from_the_same_checkpoint_exactly(tmp_path, data_dir):
    common = ["--model", "dcgan", "--dataset", "digits", "--preset", "cpu-small", "--batch-size", "16",
              "--seed", "3", "--log-every", "5", "--sample-every", "1000"]
    broken, unbroken = tmp_path / "broken", tmp_path / "unbroken"
    train(*common, "--steps", "20", "--out", str(broken))
    done = train("--resume", str(broken), "--steps", "40", "--log-every", "5")
    assert "completed at step 40" in done.stdout
    train(*common, "--steps", "40", "--out", str(unbroken))
    resumed, straight = load_file(str(broken / "model.safetensors")), load_file(str(unbroken / "model.safetensors"))
    assert resumed.keys() == straight.keys()
    assert all(torch.equal(resumed[key], straight[key]) for key in straight)
    steps = [json.loads(line)["step"] for line in (broken / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(5, 41, 5))  # the resumed run's log continues the first one's


def test_every_family_keeps_its_replicas_equal(tmp_path, data_dir):
    """Each family's update is averaged or decided alike on both ranks: after a few steps both hold
    the same weights, to the bit (E-GAN's child, ProGAN's growth, ESRGAN's phase switch, CycleGAN's
    pools, the gradient penalty's double backward, conditional and encoder families)."""
    cases = ["dcgan:mnist:cpu-small:4", "wgan-gp:mnist:cpu:10", "wgan:mnist:cpu-small:6", "cgan:mnist:cpu-small:3",
             "e-gan:mnist:cpu-small:4", "progan:mnist:cpu-small:12:phase_steps=2", "mc-gan:mnist:cpu-small:3",
             "bigan:mnist:cpu-small:3", "aae:mnist:cpu-small:3", "aae-gan:mnist:cpu-small:3",
             "autoencoder:mnist:cpu-small:3", "pix2pix:mnist-edges:cpu-small:3",
             "cyclegan:mnist-colorized:cpu-small:3", "srgan:cifar10:cpu-small:4:pretrain_steps=2",
             "esrgan:cifar10:cpu-small:4:pretrain_steps=2", "domain-classifier:mnist:cpu-small:3"]
    report = tmp_path / "replicas.json"
    done = torchrun(str(ROOT / "tests" / "distributed_check.py"), str(report), *cases)
    assert done.returncode == 0, done.stderr[-3000:]
    differences = json.loads(report.read_text())
    assert set(differences) == {case.split(":")[0] for case in cases}
    assert all(value == 0.0 for value in differences.values()), differences


def test_one_process_sets_nothing_up(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert connect("cpu") == (None, "cpu") and not dist.is_initialized()
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert connect("auto") == (None, "auto") and not dist.is_initialized()
    trainer = Trainer(RunConfig(model="dcgan", dataset="digits", preset="cpu-small", steps=2, batch_size=8))
    assert trainer.step_networks is trainer.model.networks and trainer.is_main
    list(trainer.run())
    assert not dist.is_initialized()


def test_bad_launches_are_refused_with_a_clear_error(tmp_path, monkeypatch, capsys):
    out = tmp_path / "never"
    done = torchrun("-m", "trainers", "train", "--model", "dcgan", "--dataset", "digits", "--preset", "cpu-small",
                    "--steps", "5", "--batch-size", "15", "--out", str(out))
    assert done.returncode != 0
    assert "batch_size: 15 is the global batch and must split evenly over 2 processes" in done.stderr
    assert not out.exists()

    from trainers.cli import main

    for name in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WORLD_SIZE", "2")  # torchrun's variables half set, by hand
    assert main(["train", "--model", "dcgan", "--dataset", "digits", "--steps", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "start several processes with torchrun" in err and "Traceback" not in err
    monkeypatch.setenv("WORLD_SIZE", "two")
    assert main(["train", "--model", "dcgan", "--dataset", "digits", "--steps", "2", "--out", str(out)]) == 2
    assert "WORLD_SIZE='two': set it to a whole number of at least 1" in capsys.readouterr().err
    for name, value in (("WORLD_SIZE", "2"), ("RANK", "0"), ("LOCAL_RANK", "0"), ("MASTER_ADDR", "127.0.0.1"),
                        ("MASTER_PORT", "29999")):
        monkeypatch.setenv(name, value)
    # a rank that is not one of the job's, set by hand
    for name, value in (("RANK", "x"), ("RANK", "2"), ("LOCAL_RANK", "-1")):
        monkeypatch.setenv(name, value)
        assert main(["train", "--model", "dcgan", "--dataset", "digits", "--steps", "2", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"{name}={value!r}: set it to a whole number from 0 to 1" in err and "Traceback" not in err
        monkeypatch.setenv(name, "0")
    # a device the process group cannot use, refused before any process group is made
    no_mps = "mps (Apple's GPU) was asked for but is not available"  # checked first, on a machine without it
    for device, message in (("mps", "runs on cuda (NCCL) or cpu (gloo), not mps" if torch.backends.mps.is_available()
                             else no_mps),
                            ("cuda", "CUDA was asked for but no CUDA GPU is available")):
        if device == "cuda" and torch.cuda.is_available():
            continue
        assert main(["train", "--model", "dcgan", "--dataset", "digits", "--device", device, "--out", str(out)]) == 2
        assert message in capsys.readouterr().err
    assert not out.exists() and not dist.is_initialized()
