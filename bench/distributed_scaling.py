"""Data-parallel scaling: the same run (global batch, seed, steps) in 1 process and under torchrun in
N processes, one thread each; steps/s of each and the speed-up as a ratio against 1 process in the
same invocation. The steps/s come from the runs' own metrics.jsonl (after the first progress
update, so start-up and the first allocations are left out), the wall times from outside.

On this project's 2-core CPU machine N is at most 2, and gloo's all-reduce goes through shared
memory; on GPUs the same command measures NCCL.

    python bench/distributed_scaling.py [--model dcgan --dataset mnist --preset cpu-small]
        [--steps 300 --batch-size 64 --processes 2] [--json bench/distributed_scaling.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed_run(processes: int, args: argparse.Namespace, out: Path) -> dict:
    launch = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
              if processes > 1 else [sys.executable])
    command = [*launch, "-m", "trainers", "train", "--model", args.model, "--dataset", args.dataset,
               "--preset", args.preset, "--steps", str(args.steps), "--batch-size", str(args.batch_size),
               "--seed", "0", "--log-every", "10", "--sample-every", "1000000", "--out", str(out), "--quiet",
               "--device", args.device]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    rates = [json.loads(line)["steps_per_s"] for line in (out / "metrics.jsonl").read_text().splitlines()][1:]
    return {"processes": processes, "wall_s": round(wall, 1), "steps_per_s": round(statistics.median(rates), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--preset", default="cpu-small")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        one = timed_run(1, args, Path(work) / "one")
        many = timed_run(args.processes, args, Path(work) / "many")
    result = {"config": vars(args), "runs": [one, many],
              "speedup_steps_per_s": round(many["steps_per_s"] / one["steps_per_s"], 2),
              "speedup_wall": round(one["wall_s"] / many["wall_s"], 2)}
    print(f"{args.model} on {args.dataset}, global batch {args.batch_size}, {args.steps} steps:")
    for run in result["runs"]:
        print(f"  {run['processes']} process(es): {run['steps_per_s']} steps/s, {run['wall_s']} s wall")
    print(f"  speed-up vs 1 process: x{result['speedup_steps_per_s']} steps/s, x{result['speedup_wall']} wall")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
