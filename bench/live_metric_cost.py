"""What the live sample-quality metric costs a training run: throughput with it on vs off.

Two identical DCGAN runs on MNIST (same seed, preset and data), one with ``metric_every`` set,
advance in alternating windows of training steps (A B A B ...) after a warm-up window each, in
one process, so both see the same machine state. The metric is budgeted (it postpones a
measurement that would take it past ``metric_budget`` of the run's time), so its cost lands in
some windows and not others: the figure is total steps / total time over all windows of each.

    GAN_DATA_DIR=../shared/data python bench/live_metric_cost.py [--windows 4 --window-steps 300]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from trainers.engine import RunConfig, Trainer


def advance(events, trainer: Trainer, steps: int) -> tuple[float, int]:
    """Run the generator until ``steps`` more training steps are done: (seconds, measurements)."""
    target, measured = trainer.step + steps, []
    started = time.perf_counter()
    while trainer.step < target:
        event = next(events)
        if event["type"] == "quality":
            measured.append(event)
    return time.perf_counter() - started, measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=4)
    parser.add_argument("--window-steps", type=int, default=300)
    parser.add_argument("--metric-every", type=int, default=25)
    parser.add_argument("--budget", type=float, default=0.05)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    total = (args.windows + 1) * args.window_steps + 1
    base = dict(model="dcgan", dataset="mnist", preset="cpu-small", steps=total, seed=0, log_every=25,
                sample_every=10**6, device="cpu")
    runs = {"off": Trainer(RunConfig(**base)),
            "on": Trainer(RunConfig(**base, metric_every=args.metric_every, metric_budget=args.budget))}
    streams = {name: trainer.run() for name, trainer in runs.items()}
    for name in runs:  # warm-up: start events, the baseline measurement, one window
        advance(streams[name], runs[name], args.window_steps)
    seconds = {name: 0.0 for name in runs}
    measurements: dict[str, list] = {name: [] for name in runs}
    for _ in range(args.windows):
        for name in ("off", "on"):
            spent, measured = advance(streams[name], runs[name], args.window_steps)
            seconds[name] += spent
            measurements[name] += measured
    steps = args.windows * args.window_steps
    rate = {name: steps / seconds[name] for name in runs}
    result = {"machine": f"{torch.get_num_threads()} threads, torch {torch.__version__}",
              "steps_per_window": args.window_steps, "windows": args.windows, "metric_every": args.metric_every,
              "budget": args.budget, "steps_per_s_off": round(rate["off"], 2), "steps_per_s_on": round(rate["on"], 2),
              "ratio_on_vs_off": round(rate["on"] / rate["off"], 3), "measurements": len(measurements["on"]),
              "measurement_s": [round(e["cost_s"], 3) for e in measurements["on"]],
              "share_reported": round(measurements["on"][-1]["share"], 4) if measurements["on"] else 0.0,
              "slowdown_percent": round(100 * (1 - rate["on"] / rate["off"]), 1)}
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
