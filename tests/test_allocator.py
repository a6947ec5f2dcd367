"""Freed memory kept for reuse (trainers/allocator.py): a training thread stops faulting in fresh
pages for every step's activations, and ``GAN_KEEP_FREED_MEMORY=0`` leaves glibc as it was.

The setting is the process's, so each case trains in a fresh interpreter."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# As the playground trains: the setting made first (the app's session registry), then a run in a
# thread of its own. Page faults over 20 steps of DCGAN on MNIST, after 10 steps of warm-up; then, in
# the same thread, an 80 MB block from malloc, written and freed four times. By default glibc maps
# each such block afresh (it is above the largest mmap threshold glibc's default rises to, 32 MB,
# and above the 64 MB a thread's own heap holds) and faults in its 20,480 pages; kept, it comes from
# the main heap that the last one went back to. Each of the three settings alone is needed for that
# (tried: without any one of them, 20,448-20,481 faults). Training's own blocks are smaller, and how
# many of them glibc's default maps depends on what came before (measured: 77 to 5,859 faults a step
# from one run to the next), so the contrast is drawn on the block.
TRAIN_IN_A_THREAD = """
import ctypes, json, resource, threading
from playground.session import SessionRegistry
from trainers.allocator import keep_freed_memory
from trainers.engine import RunConfig, Trainer

SessionRegistry()
found = {}
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_void_p]

def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

def train():
    trainer = Trainer(RunConfig(model="dcgan", dataset="mnist", preset="cpu-small", steps=30, batch_size=64,
                                seed=0, log_every=10, sample_every=10**6))
    events = trainer.run()
    while trainer.step < 10:
        next(events)
    before = faults()
    for _ in events:
        pass
    found["faults_per_step"] = (faults() - before) / 20
    block_faults = []
    for _ in range(4):
        before = faults()
        block = libc.malloc(80 << 20)
        ctypes.memset(block, 1, 80 << 20)
        libc.free(block)
        block_faults.append(faults() - before)
    found["faults_per_block_again"] = max(block_faults[1:])  # the first may grow the heap

thread = threading.Thread(target=train)
thread.start()
thread.join()
print(json.dumps({"in_effect": keep_freed_memory(), **found}))
"""


def _train(data_dir: Path, keep: str) -> dict:
    env = {**os.environ, "GAN_DATA_DIR": str(data_dir), "GAN_KEEP_FREED_MEMORY": keep}
    done = subprocess.run([sys.executable, "-c", TRAIN_IN_A_THREAD], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the setting is glibc's; other C libraries keep theirs")
def test_a_training_thread_reuses_freed_memory_instead_of_faulting_in_fresh_pages(data_dir):
    kept, default = _train(data_dir, "1"), _train(data_dir, "0")
    assert kept["in_effect"] and not default["in_effect"]
    assert kept["faults_per_step"] < 50, kept  # measured 0.05 to 20
    # the block again: kept, it comes from what the last one freed; by default, fresh pages each time
    assert kept["faults_per_block_again"] < 100, kept  # measured 0
    assert default["faults_per_block_again"] > 20_000, default  # measured 20,481


def test_a_bad_setting_is_a_clear_error_in_the_library_the_cli_and_the_app(monkeypatch, tmp_path):
    from trainers.allocator import keep_freed_memory
    from trainers.errors import ConfigError

    monkeypatch.setenv("GAN_KEEP_FREED_MEMORY", "maybe")
    keep_freed_memory.cache_clear()  # this process has made its choice already: ask afresh
    try:
        with pytest.raises(ConfigError, match="GAN_KEEP_FREED_MEMORY='maybe': set it to 1 or 0, or unset it"):
            keep_freed_memory()
    finally:
        monkeypatch.delenv("GAN_KEEP_FREED_MEMORY")
        keep_freed_memory.cache_clear()
    # the command line: one line, no traceback, nothing written
    env = {**os.environ, "GAN_KEEP_FREED_MEMORY": "maybe"}
    done = subprocess.run([sys.executable, "-m", "trainers", "train", "--model", "mlp-gan", "--dataset", "ring",
                           "--steps", "2", "--out", str(tmp_path / "run")], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "GAN_KEEP_FREED_MEMORY='maybe'" in done.stderr and not (tmp_path / "run").exists()
    # the app refuses to start, saying which setting is wrong
    done = subprocess.run([sys.executable, "-c", "from playground.session import SessionRegistry; "
                           "SessionRegistry.from_environment()"], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0 and "GAN_KEEP_FREED_MEMORY='maybe'" in done.stderr
