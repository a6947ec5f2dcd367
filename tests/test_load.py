"""Many people at once: the app as a Space runs it (`python app.py`, its own process), driven over
loopback by 8 concurrent gradio_client users for a bounded time, 4 training and 4 using the demos.

Every request must be answered (a run beyond the 2 run slots waits in line with its position
shown), each user must only ever see their own run and their own pictures, and the server's
memory must stay bounded. The figures (requests served, p50/p95 latency per endpoint, the
server's peak memory) are printed and written to tests/artifacts/load.json.
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SECONDS = 25.0
#: (dataset, seed) of each training user: two fill the run slots, two wait in line
TRAINERS = [("ring", 1), ("grid", 2), ("spiral", 3), ("two-moons", 4)]
DEMO_USERS = 4
POLL_S = 0.5  # the page's timer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_mb(pid: int) -> tuple[float, float]:
    """(resident, peak resident) MB of a process, from Linux's /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`python app.py` on a free port with 2 run slots, as a Space runs it. Its file cache is its
    own: Gradio rewrites a cached picture in place when it makes it again, and the browser tests'
    app, running beside this one, serves the same pictures (the Explore tab's opening samples)
    from the shared default folder, where a rewrite cut one short mid-download."""
    port = _free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GAN_MAX_RUNS": "2", "GAN_OFFLINE": "1",
           "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1",
           "GRADIO_TEMP_DIR": str(tmp_path_factory.mktemp("gradio-cache"))}
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"app.py exited: {process.stderr.read()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("app.py did not start listening within 120 s")
    try:
        yield f"http://127.0.0.1:{port}/", process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


class Record:
    """Latencies per endpoint and every failure, shared by the user threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {}
        self.failures: list[str] = []

    def timed(self, endpoint: str, call):
        started = time.perf_counter()
        try:
            result = call()
        except Exception as error:  # any failure is a finding: recorded, then asserted empty
            with self.lock:
                self.failures.append(f"{endpoint}: {type(error).__name__}: {error}")
            return None
        with self.lock:
            self.latencies.setdefault(endpoint, []).append(time.perf_counter() - started)
        return result


def _trainer(url: str, dataset: str, seed: int, record: Record, until: float, seen: list[str]) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False)
    record.timed("/on_model", lambda: client.predict("mlp-gan", "digits", api_name="/on_model"))
    record.timed("/on_start", lambda: client.predict("mlp-gan", dataset, "gan-lab", "non-saturating", 1_000_000, 64,
                                                     0.003, 0.003, seed, "", 5, {}, api_name="/on_start"))
    while time.monotonic() < until:
        outputs = record.timed("/on_tick", lambda: client.predict(api_name="/on_tick"))
        if outputs is not None and isinstance(outputs[0], str):
            seen.append(outputs[0])
        time.sleep(POLL_S)
    record.timed("/on_stop", lambda: client.predict(api_name="/on_stop"))


def _demo_user(url: str, index: int, record: Record, until: float, grids: dict[int, bytes]) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False)
    round_ = 0
    while time.monotonic() < until:
        seed = 100 * index + round_ % 3  # seeds of one's own: a grid must be the same each time it is asked for
        path = record.timed("/generate", lambda: client.predict("dcgan_mnist", seed, 16, api_name="/generate"))
        if path is not None:
            data = Path(path).read_bytes()
            with record.lock:
                if grids.setdefault(seed, data) != data:
                    record.failures.append(f"/generate seed {seed} gave a different grid under load")
        record.timed("/interpolate", lambda: client.predict("dcgan_mnist", seed, seed + 1, 6, "linear", 0,
                                                            api_name="/interpolate"))
        round_ += 1


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


@pytest.mark.slow
def test_eight_concurrent_users_are_all_served_and_kept_apart(server):
    url, process = server
    resident_before, _ = _memory_mb(process.pid)
    record, until = Record(), time.monotonic() + SECONDS
    seen: dict[str, list[str]] = {dataset: [] for dataset, _ in TRAINERS}
    grids: dict[int, bytes] = {}
    users = [threading.Thread(target=_trainer, args=(url, dataset, seed, record, until, seen[dataset]))
             for dataset, seed in TRAINERS]
    users += [threading.Thread(target=_demo_user, args=(url, index, record, until, grids))
              for index in range(DEMO_USERS)]
    peak_resident = resident_before
    for user in users:
        user.start()
    while any(user.is_alive() for user in users):
        peak_resident = max(peak_resident, _memory_mb(process.pid)[0])
        time.sleep(0.25)
    for user in users:
        user.join()
    time.sleep(2.0)  # the stopped runs' threads end and free their slots
    resident_after, peak = _memory_mb(process.pid)

    served = {endpoint: len(times) for endpoint, times in record.latencies.items()}
    report = {"users": len(users), "seconds": SECONDS, "requests_served": sum(served.values()), "by_endpoint": {
        endpoint: {"served": len(times), "p50_ms": round(1000 * statistics.median(times)),
                   "p95_ms": round(1000 * _percentile(times, 0.95))} for endpoint, times in record.latencies.items()},
        "server_resident_mb": {"before": round(resident_before), "peak": round(max(peak, peak_resident)),
                               "after": round(resident_after)},
        "failures": record.failures}
    print(json.dumps(report, indent=2))
    artifacts = Path(__file__).parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "load.json").write_text(json.dumps(report, indent=2))

    assert record.failures == []  # every request answered, every repeated grid identical
    assert served["/on_start"] == len(TRAINERS) and served["/on_stop"] == len(TRAINERS)
    assert served["/generate"] >= DEMO_USERS and served["/interpolate"] >= DEMO_USERS
    for dataset, lines in seen.items():
        assert lines, dataset
        # each user sees only their own run: running, or waiting in line with a position
        assert all(f"mlp-gan on {dataset}" in line for line in lines), (dataset, lines[-1])
        assert all(re.match(r"\*\*(running|queued)\*\*", line) for line in lines), (dataset, lines[-1])
        assert not any(other in line for line in lines for other, _ in TRAINERS if other != dataset)
    statuses = [lines[-1] for lines in seen.values()]
    # two run slots: two of the four trained while the others waited, with their place shown
    assert any("queued**: position" in line for lines in seen.values() for line in lines)
    assert sum("running" in line for line in statuses) <= 2
    assert max(peak, peak_resident) - resident_before < 1500  # MB: bounded, whatever the mix


@pytest.mark.slow
def test_the_server_hands_out_no_file_outside_its_own_folders(server, tmp_path):
    """Downloads come only from the app's own temporary folders: asking the file route for the
    server's files (by absolute path, by traversal, or the app's own source) is refused, while a
    file the app made for a visitor is served."""
    import urllib.error
    import urllib.parse
    import urllib.request

    from gradio_client import Client

    url, _ = server
    secret = tmp_path / "secret.txt"
    secret.write_text("server-side")
    for path in (str(secret), "/etc/passwd", str(ROOT / "app.py"), "../../../../etc/passwd"):
        request = url + "gradio_api/file=" + urllib.parse.quote(path)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code in (403, 404), (path, refused.value.code)
    made = Client(url, verbose=False).predict("dcgan_mnist", 1, 4, api_name="/generate")
    assert Path(made).stat().st_size > 0  # the client fetched the app's own file through the same route
