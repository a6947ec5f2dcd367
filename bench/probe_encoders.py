"""The linear-probe table: how good are the features each encoder family learns without labels?

Trains each family on MNIST (seed 0, batch 64, its cpu-small preset unless --preset says
otherwise), then freezes its encoder and fits a linear softmax classifier on its codes
(trainers.metrics.representation.linear_probe: 10,000 training images, the 10,000 MNIST test
images). The baseline is the same probe on a randomly initialised, frozen encoder of the same
architecture. Prints one markdown row per family with the training budget and wall times.

    python bench/probe_encoders.py                                  # autoencoder, aae, bigan
    python bench/probe_encoders.py --latent-dim 32                  # equal code sizes
    python bench/probe_encoders.py --models bigan --steps 4000 --preset paper

Steps default to each family's budget in the learning tests (tests/test_zoo_encoders.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainers.data import load_dataset  # noqa: E402
from trainers.engine import RunConfig, Trainer  # noqa: E402
from trainers.metrics.representation import probe_against_random  # noqa: E402

DEFAULT_STEPS = {"autoencoder": 300, "aae": 600, "aae-gan": 600, "bigan": 1500}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["autoencoder", "aae", "bigan"])
    parser.add_argument("--steps", type=int, default=0, help="steps for every model (0: each its test budget)")
    parser.add_argument("--preset", default="cpu-small")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--latent-dim", type=int, default=0, help="one code size for every model "
                        "(0: each family's own)")
    parser.add_argument("--train-images", type=int, default=10_000)
    parser.add_argument("--test-images", type=int, default=10_000)
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    args = parser.parse_args(argv)

    train_set = load_dataset("mnist", args.data_dir, "train")
    test_set = load_dataset("mnist", args.data_dir, "test")
    print("| family | preset, steps | code size | train time | probe time | random encoder | trained encoder "
          "| margin |")
    print("|---|---|---|---|---|---|---|---|")
    for model in args.models:
        steps = args.steps or DEFAULT_STEPS.get(model, 1000)
        trainer = Trainer(RunConfig(model=model, dataset="mnist", data_dir=args.data_dir, steps=steps,
                                    batch_size=args.batch_size, seed=0, log_every=100, sample_every=10**6,
                                    preset=args.preset,
                                    overrides={"latent_dim": args.latent_dim} if args.latent_dim else {}))
        started = time.perf_counter()
        events = list(trainer.run())
        trained_s = time.perf_counter() - started
        assert events[-1]["type"] == "done", events[-1]
        started = time.perf_counter()
        result = probe_against_random(trainer.model, train_set, test_set, train_images=args.train_images,
                                      test_images=args.test_images)
        probe_s = time.perf_counter() - started
        print(f"| `{model}` | `{args.preset}`, {steps} | {result['code_size']} | {trained_s:.0f} s | {probe_s:.1f} s | "
              f"{100 * result['random_accuracy']:.2f}% | {100 * result['accuracy']:.2f}% | "
              f"{100 * result['margin']:+.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
