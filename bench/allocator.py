"""Freed memory kept for reuse (figure 9): the library's run with :func:`trainers.allocator.keep_freed_memory`
in effect against the same run on glibc's default settings.

The setting is the process's, so each side trains in its own worker process (``python -m
bench.allocator --worker N`` with ``GAN_KEEP_FREED_MEMORY`` 1 or 0), and this process drives them
window by window, interleaved (:func:`bench.timing.interleaved`). Each window also counts the
worker's page faults: what the setting removes.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.timing import Window, interleaved

ROOT = Path(__file__).resolve().parents[1]
#: figure 1's cases (bench/throughput.py) measured here: the convolutional GANs, and the 2-D MLP,
#: whose arrays are too small for the allocator to map afresh
CASE_INDICES = (0, 2, 3, 5)
#: each worker's answer to a window starts with this, so nothing else it prints is mistaken for one
ANSWER = "window: "


def worker(case_index: int) -> None:
    """Train the case's library run; for each line ``n`` on stdin run n steps and answer with the
    items covered, the seconds and the page faults."""
    from bench.throughput import THROUGHPUT_CASES, library_window
    from trainers.engine import Trainer

    window = library_window(Trainer(THROUGHPUT_CASES[case_index].run_config()))
    for line in sys.stdin:
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        start = time.perf_counter()
        items = window.run(int(line))
        answer = {"items": items, "seconds": time.perf_counter() - start,
                  "page_faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults}
        print(ANSWER + json.dumps(answer), flush=True)


class _Worker:
    def __init__(self, case_index: int, keep_freed_memory: bool):
        env = {**os.environ, "GAN_KEEP_FREED_MEMORY": "1" if keep_freed_memory else "0"}
        self.process = subprocess.Popen([sys.executable, "-m", "bench.allocator", "--worker", str(case_index)],
                                        cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.faults_per_step: list[float] = []

    def run(self, steps: int) -> float:
        self.process.stdin.write(f"{steps}\n")
        self.process.stdin.flush()
        for line in self.process.stdout:
            if line.startswith(ANSWER):
                answer = json.loads(line[len(ANSWER):])
                self.faults_per_step.append(answer["page_faults"] / steps)
                return answer["items"]
        raise RuntimeError(f"the benchmark worker ended (exit status {self.process.wait()})")

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def compare(case_index: int, windows: int = 5, units: int | None = None) -> dict[str, Any]:
    from bench.throughput import THROUGHPUT_CASES

    case = THROUGHPUT_CASES[case_index]
    kept, default = _Worker(case_index, True), _Worker(case_index, False)
    try:
        result = interleaved(Window("freed memory kept", kept.run), Window("glibc's default", default.run),
                             units=units or case.units, windows=windows)
    finally:
        kept.close()
        default.close()
    return {"case": case.name, "unit": "points/s" if case.loop == "toy" else "images/s", **result.as_dict(),
            # the timed windows' (the warm-up's are first)
            "page_faults_per_step": round(statistics.median(kept.faults_per_step[1:]), 1),
            "default_page_faults_per_step": round(statistics.median(default.faults_per_step[1:]), 1)}


def allocator_figure(windows: int = 5, quick: bool = False) -> list[dict[str, Any]]:
    return [compare(index, windows, units=2 if quick else None) for index in CASE_INDICES]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(int(sys.argv[2]))
    else:
        for row in allocator_figure():
            print(row, flush=True)
