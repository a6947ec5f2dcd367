"""Shared test set-up: offline environment defaults and common fixtures.

The environment defaults are set at import time, before any test module imports
the library or gradio, so they apply to everything the tests start.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO_ROOT.parent / "shared" / "data").resolve()

# Make `import trainers` / `import playground` work however pytest is started.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

if not os.environ.get("GAN_DATA_DIR") and SHARED_DATA.is_dir():
    os.environ["GAN_DATA_DIR"] = str(SHARED_DATA)
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The library must never try to download datasets or weights during tests.
os.environ.setdefault("GAN_OFFLINE", "1")

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder holding the shared .npz datasets (GAN_DATA_DIR); skips when absent."""
    value = os.environ.get("GAN_DATA_DIR", "")
    path = Path(value) if value else SHARED_DATA
    if not path.is_dir() or not any(path.glob("*.npz")):
        pytest.skip(
            f"shared datasets not found at {path}: set GAN_DATA_DIR to the folder holding "
            "mnist.npz etc., or put the project's shared/ folder beside the repository"
        )
    return path


@pytest.fixture(scope="session", autouse=True)
def shared_test_folder(tmp_path_factory) -> Path:
    """A folder this test run's pytest-xdist workers share (one process: its own temp folder),
    where the first worker to need an expensive fixture leaves it for the others."""
    from judges import SHARED_DIR

    base = tmp_path_factory.getbasetemp()
    folder = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    SHARED_DIR[:] = [folder]
    return folder


@pytest.fixture(scope="session")
def judge(data_dir):
    """The independent MNIST classifier of tests/judges.py, trained once per test run."""
    from judges import mnist_judge

    net, accuracy = mnist_judge(str(data_dir))
    assert accuracy > 0.95, f"the judge itself is too weak: {accuracy:.3f}"
    return net


class _Planted:
    """A pickle that would create a file if anything unpickled it."""

    def __init__(self, sentinel: str):
        self.sentinel = sentinel

    def __reduce__(self):
        return (open, (self.sentinel, "w"))


@pytest.fixture
def planted_pickle(tmp_path) -> tuple[bytes, Path]:
    """(a hostile pickle's bytes, the file that appears if anything ever unpickles them)."""
    import pickle

    sentinel = tmp_path / "pwned"
    return pickle.dumps(_Planted(str(sentinel))), sentinel


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium for Playwright (`executable_path=`); skips when it is not installed."""
    path = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if not path:
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (bash scripts/test.sh does)")
    return path
