"""Cold start: seconds from `python app.py` to the first page served, and what the time goes to.

Each trial starts a fresh interpreter on a free port and polls http://127.0.0.1:PORT/ until it
answers 200 (the first page a visitor would get); the median of the trials is reported, next to
the import time of the page module alone (`import playground.gradio_app`, also in a fresh
interpreter), so a slow start can be told apart from slow imports. No model is loaded at start:
shipped checkpoints load on a demo's first use.

    python bench/cold_start.py [--trials 3] [--json bench/cold_start.json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_page_seconds(timeout_s: float = 120.0) -> float:
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1"}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - started < timeout_s:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"no page within {timeout_s} s")
    finally:
        process.terminate()
        process.wait(10)


def import_seconds() -> float:
    code = "import time; t = time.perf_counter(); import playground.gradio_app; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    pages = [first_page_seconds() for _ in range(args.trials)]
    imports = [import_seconds() for _ in range(args.trials)]
    result = {"first_page_s": round(statistics.median(pages), 2), "trials_s": [round(p, 2) for p in pages],
              "import_page_module_s": round(statistics.median(imports), 2), "cpus": os.cpu_count(),
              "python": sys.version.split()[0]}
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
