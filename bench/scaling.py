"""How throughput scales (figure 8): with batch size, with image size, and how a step slows when
several people train at once in one server process.

Every figure is the library's run (``Trainer.run()``, the lab's default DCGAN preset on MNIST)
as a ratio against a baseline measured in the same invocation: batch 64 for the batch sweep,
28x28 for the image-size sweep, one session for the concurrency sweep.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.streaming import lab_config
from bench.throughput import library_window
from bench.timing import timed_rate
from trainers.engine import Trainer


def _rate(trainer: Trainer, units: int, windows: int) -> float:
    window = library_window(trainer)
    window.run(units)  # warm-up
    return statistics.median(timed_rate(window, units) for _ in range(windows))


def batch_sweep(sizes=(32, 64, 128, 256, 512), units: int = 10, windows: int = 3) -> list[dict[str, Any]]:
    rates = {size: _rate(Trainer(lab_config(batch_size=size, metric_every=0)), max(2, units * 64 // size), windows)
             for size in sizes}
    return [{"batch_size": size, "images_per_s": round(rate, 1), "ratio_vs_64": round(rate / rates[64], 3)}
            for size, rate in rates.items()]


def image_size_sweep(sizes=(28, 32, 64), units: int = 10, windows: int = 3) -> list[dict[str, Any]]:
    rates = {size: _rate(Trainer(lab_config(image_size=None if size == 28 else size, metric_every=0)), units, windows)
             for size in sizes}
    return [{"image_size": size, "images_per_s": round(rate, 1), "ratio_vs_28": round(rate / rates[28], 3)}
            for size, rate in rates.items()]


def concurrent_sessions(counts=(1, 2, 4), seconds: float = 15.0) -> list[dict[str, Any]]:
    """Seconds per step of each of N sessions training at once (their worker threads share the
    process and its cores), against one session alone."""
    from playground.session import RunSlots, TrainingSession

    per_step: dict[int, float] = {}
    for count in counts:
        slots = RunSlots(None)
        sessions = [TrainingSession(slots=slots, name=f"bench{i}") for i in range(count)]
        for session in sessions:
            session.start(lab_config(metric_every=0))
        time.sleep(2.0)  # start-up and first allocations
        begin = [session.trainer.step for session in sessions]
        time.sleep(seconds)
        steps = [session.trainer.step - b for session, b in zip(sessions, begin)]
        for session in sessions:
            session.close()
        per_step[count] = seconds / max(statistics.mean(steps), 1e-9)
    return [{"sessions": count, "seconds_per_step": round(value, 4),
             "ratio_vs_1": round(value / per_step[counts[0]], 2)} for count, value in per_step.items()]
