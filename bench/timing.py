"""Fair timing: a candidate against its baseline in the same process, interleaved.

Each side is a :class:`Window` source: ``run(n)`` does n units of work (training steps) and
returns how many items they covered (images, points). :func:`interleaved` warms both up, then
alternates windows A B A B ... so both see the same machine state (frequency, cache, other
load), and reports the median rate of each side and their ratio. The median ignores the odd
window that a background hiccup slowed down.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable


@dataclass
class Window:
    """Something to time in windows: ``run(n)`` does n units and returns the items they covered."""
    name: str
    run: Callable[[int], float]


@dataclass
class Comparison:
    candidate: str
    baseline: str
    candidate_rate: float   # items/s, median of the windows
    baseline_rate: float
    candidate_rates: list[float]
    baseline_rates: list[float]

    @property
    def ratio(self) -> float:
        """candidate / baseline: above 1 the candidate is faster."""
        return self.candidate_rate / self.baseline_rate

    def as_dict(self) -> dict:
        return {"candidate": self.candidate, "baseline": self.baseline,
                "candidate_rate": round(self.candidate_rate, 3), "baseline_rate": round(self.baseline_rate, 3),
                "ratio": round(self.ratio, 3),
                "candidate_windows": [round(r, 3) for r in self.candidate_rates],
                "baseline_windows": [round(r, 3) for r in self.baseline_rates]}


def timed_rate(window: Window, units: int) -> float:
    start = time.perf_counter()
    items = window.run(units)
    return items / (time.perf_counter() - start)


def interleaved(candidate: Window, baseline: Window, *, units: int, windows: int = 5,
                warmup_units: int | None = None) -> Comparison:
    """Median items/s of each over ``windows`` alternating windows of ``units`` units, after one
    warm-up window each (allocator, kernel selection, first-touch of the data)."""
    warm = units if warmup_units is None else warmup_units
    baseline.run(warm)
    candidate.run(warm)
    rates: dict[str, list[float]] = {"candidate": [], "baseline": []}
    for i in range(windows):
        # alternate which goes first, so neither always follows the other
        order = (("baseline", baseline), ("candidate", candidate)) if i % 2 == 0 else \
                (("candidate", candidate), ("baseline", baseline))
        for side, window in order:
            rates[side].append(timed_rate(window, units))
    return Comparison(candidate.name, baseline.name, statistics.median(rates["candidate"]),
                      statistics.median(rates["baseline"]), rates["candidate"], rates["baseline"])


def median_seconds(action: Callable[[], object], repeats: int = 5, warmup: int = 1) -> tuple[float, list[float]]:
    """(median wall seconds of ``action()``, every trial's) after ``warmup`` untimed calls."""
    for _ in range(warmup):
        action()
    trials = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        trials.append(time.perf_counter() - start)
    return statistics.median(trials), trials
