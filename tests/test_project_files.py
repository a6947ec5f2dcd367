"""Checks on the project's own set-up files: pins, README front matter, test environment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _requirements(name: str) -> list[Requirement]:
    reqs = []
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            reqs.append(Requirement(line))
    return reqs


def _front_matter() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md must start with Hugging Face Spaces front matter between --- lines"
    fields = {}
    for line in match.group(1).splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip().strip("\"'")
    return fields


def test_torch_pair_is_pinned_exactly():
    specs = {r.name: str(r.specifier) for r in _requirements("requirements.txt")}
    assert specs["torch"] == "==2.14.1"
    assert specs["torchvision"] == "==0.29.1"


@pytest.mark.parametrize("req", _requirements("requirements.txt") + _requirements("requirements-dev.txt"),
                         ids=lambda r: r.name)
def test_installed_versions_satisfy_requirements(req):
    try:
        version = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        pytest.fail(f"{req.name} is not installed: run `bash scripts/test.sh` (it installs requirements-dev.txt)")
    assert req.specifier.contains(version.split("+")[0], prereleases=True), (
        f"installed {req.name} {version} does not satisfy {req}"
    )


def test_readme_front_matter_matches_requirements():
    fields = _front_matter()
    assert fields["sdk"] == "gradio"
    assert fields["app_file"] == "app.py"
    assert fields["python_version"] == "3.11"
    gradio = next(r for r in _requirements("requirements.txt") if r.name == "gradio")
    assert gradio.specifier.contains(fields["sdk_version"]), (
        f"README sdk_version {fields['sdk_version']} is outside requirements.txt's {gradio}"
    )


def test_readme_quick_start_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install -r requirements.txt && python app.py" in text
    assert "pip install -r requirements.txt && streamlit run playground/streamlit_app.py" in text
    assert "bash scripts/test.sh" in text
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()


def test_offline_environment_defaults():
    # conftest.py sets these unless the caller already did.
    for key in ("GRADIO_ANALYTICS_ENABLED", "HF_HUB_OFFLINE", "GAN_OFFLINE"):
        assert key in os.environ, key


def test_data_dir_fixture_finds_mnist(data_dir):
    assert (data_dir / "mnist.npz").is_file()


def test_free_port_is_bindable(free_port):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", free_port))


def _imported_packages(path: Path) -> set[str]:
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_front_ends_only_lay_out_and_the_playground_layer_imports_no_ui():
    """Both front ends sit on the same UI-agnostic layer: its modules import no UI toolkit, and no
    front-end file touches torch (the library does, behind playground/)."""
    playground = ROOT / "playground"
    front_ends = {path for path in playground.rglob("*.py")
                  if path.name.startswith(("gradio_", "streamlit_")) or path.parent.name == "streamlit_pages"}
    assert len(front_ends) >= 9, sorted(p.name for p in front_ends)
    for path in sorted(set(playground.rglob("*.py")) - front_ends):
        assert not _imported_packages(path) & {"gradio", "streamlit"}, f"{path.name} imports a UI toolkit"
    for path in sorted(front_ends | {ROOT / "app.py"}):
        assert "torch" not in _imported_packages(path), f"{path.name} imports torch"
    for path in (ROOT / "trainers").rglob("*.py"):
        assert not _imported_packages(path) & {"gradio", "streamlit", "playground"}, f"{path} imports a UI layer"


def test_xdist_groups_keep_their_tests_on_one_worker(tmp_path):
    """The suite relies on ``--dist loadgroup`` (tests/test_browser.py, test_distributed.py,
    test_streamlit.py, a shared trained model); pytest 9.2 broke it silently (xdist#1386)."""
    import subprocess
    import sys

    pytest.importorskip("xdist")
    for name in ("a", "b"):
        (tmp_path / f"test_{name}.py").write_text(
            "import os, pytest\n"
            "@pytest.mark.xdist_group('together')\n"
            "@pytest.mark.parametrize('i', range(4))\n"
            f"def test_{name}(i):\n"
            f"    open('{tmp_path}/worker_{name}_' + str(i), 'w').write(os.environ['PYTEST_XDIST_WORKER'])\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist",
                          "loadgroup", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    workers = {path.read_text() for path in tmp_path.glob("worker_*")}
    assert len(list(tmp_path.glob("worker_*"))) == 8 and len(workers) == 1, workers


@pytest.mark.parametrize("value, port", [(None, 7860), ("", 7860), (" ", 7860), ("7861", 7861)])
def test_the_app_reads_its_port_unset_or_empty_as_the_default(value, port, monkeypatch):
    import app

    if value is None:
        monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    else:
        monkeypatch.setenv("GRADIO_SERVER_PORT", value)
    assert app.server_port() == port
    assert os.environ["GRADIO_SERVER_PORT"] == str(port)  # an empty one would fail gradio's import


@pytest.mark.parametrize("variable, value, message", [
    ("GRADIO_SERVER_PORT", "abc", "a whole number from 1 to 65535"),
    ("GRADIO_SERVER_PORT", "99999", "a whole number from 1 to 65535"),
    ("GRADIO_SERVER_PORT", "0", "a whole number from 1 to 65535"),
    ("GRADIO_SERVER_PORT", "80.5", "a whole number from 1 to 65535"),
    ("GAN_IDLE_TIMEOUT_S", "9" * 400, "a whole number from 1 to 2592000"),
    ("GAN_MAX_RUNS", "two", "a whole number of at least 1"),
    ("GAN_MAX_STEPS", "-1", "a whole number of at least 1"),
    ("GAN_ALLOW_SERVER_PATHS", "maybe", "1 or 0"),
    ("GAN_KEEP_FREED_MEMORY", "maybe", "1 or 0"),
])
def test_the_app_stops_at_once_on_a_bad_setting_naming_the_variable(variable, value, message, free_port):
    # on a free port: a setting let through would start the app, and the run would time out
    env = {**os.environ, "GRADIO_SERVER_PORT": str(free_port), variable: value}
    done = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == "", (done.returncode, done.stdout)
    assert done.stderr.strip() == f"error: {variable}={value!r}: set it to {message}, or unset it", done.stderr
