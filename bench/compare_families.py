"""Image families side by side at equal size: sample quality and class coverage, measured.

Trains the given families on MNIST with the same widths (g_width, d_width), batch, steps and
seed (and latent size, with --latent-dim), then lets the shared MNIST judge (tests/judges.py, a
small CNN trained on MNIST's train split) read 1,000 samples of each and prints:

- confidence: the judge's mean top-class probability (how recognisable the digits are)
- covered: how many of the 10 digits make up at least 2% of the samples
- kl_uniform: KL(judge's class histogram || uniform) in nats; 0 is perfectly even, log 10 = 2.30
  is a single digit
- frechet: the Frechet distance between the judge's features of the samples and of 1,000 real
  test digits (FID's formula on the judge's last hidden layer; real vs real is about 25)
- head_accuracy (conditional families): the share of samples asked for class k read as k
- recon_error (families with an encoder): mean squared error of G(E(x)) on 1,000 test digits

Does mc-gan reduce mode collapse compared with DCGAN of the same size?

    python bench/compare_families.py --models dcgan mc-gan --steps 600 --width 32 --seeds 0 1

Does the AAE-regularised GAN beat DCGAN and the AAE at equal size?

    python bench/compare_families.py --models dcgan aae aae-gan --steps 1000 --width 32 --latent-dim 32

mc-gan is told which class to draw (one head per class, samples cycle through the heads), so even
coverage is close to built in once each head draws its digit; DCGAN has to find all ten modes on
its own. The comparison answers "does the multiclass set-up give even coverage at this budget",
not "is the unconditional generator less collapsed".
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from judges import frechet_distance, judge_features, mnist_judge, read_digits, real_digits  # noqa: E402
from trainers.engine import RunConfig, Trainer  # noqa: E402


def coverage(histogram: torch.Tensor, minimum: float = 0.02) -> tuple[int, float]:
    """(classes with at least ``minimum`` of the samples, KL from uniform in nats)."""
    p = histogram.float() / histogram.sum()
    kl = float((p[p > 0] * (p[p > 0] * len(p)).log()).sum())
    return int((p >= minimum).sum()), kl


def measure(judge, trainer: Trainer, real: torch.Tensor, test_digits: torch.Tensor,
            n: int = 1000) -> dict[str, float]:
    samples = trainer.model.sample(n, seed=5)
    confidence, histogram, digit = read_digits(judge, samples)
    covered, kl = coverage(histogram)
    row = {"confidence": confidence, "covered": covered, "kl_uniform": kl, "histogram": histogram.tolist(),
           "frechet": frechet_distance(judge_features(judge, samples), real)}
    if trainer.family.conditional:  # GANModel.sample cycles through the heads: sample i is class i % K
        row["head_accuracy"] = float((digit == torch.arange(n) % trainer.model.config.num_classes).float().mean())
    if trainer.family.reconstruct is not None:
        rebuilt = trainer.model.reconstruct(test_digits)
        row["recon_error"] = float(torch.nn.functional.mse_loss(rebuilt, test_digits))
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--width", type=int, default=32, help="g_width and d_width of both models")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--models", nargs="+", default=["dcgan", "mc-gan"])
    parser.add_argument("--latent-dim", type=int, default=0, help="the same latent size for every model "
                        "(0: each family's own default)")
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    judge, accuracy = mnist_judge(args.data_dir)
    print(f"judge: MNIST test accuracy {accuracy:.4f}")
    test_digits = real_digits(args.data_dir)
    real = judge_features(judge, test_digits)
    sizes = {"g_width": args.width, "d_width": args.width}
    if args.latent_dim:
        sizes["latent_dim"] = args.latent_dim
    for seed in args.seeds:
        for model in args.models:
            trainer = Trainer(RunConfig(model=model, dataset="mnist", data_dir=args.data_dir, steps=args.steps,
                                        batch_size=args.batch_size, seed=seed, device=args.device,
                                        log_every=100, sample_every=10**6,
                                        overrides=sizes))
            parameters = sum(p.numel() for p in trainer.model.networks.parameters())
            before = measure(judge, trainer, real, test_digits)
            started = time.perf_counter()
            events = list(trainer.run())
            seconds = time.perf_counter() - started
            assert events[-1]["type"] == "done", events[-1]
            after = measure(judge, trainer, real, test_digits)
            head = f", head_accuracy {after['head_accuracy']:.3f}" if "head_accuracy" in after else ""
            if "recon_error" in after:
                head += f", recon_error {after['recon_error']:.4f} (untrained {before['recon_error']:.4f})"
            print(f"{model:7s} seed {seed} width {args.width} steps {args.steps} ({seconds:.0f} s, "
                  f"{parameters / 1e6:.2f} M parameters): "
                  f"confidence {after['confidence']:.3f} (untrained {before['confidence']:.3f}), "
                  f"covered {after['covered']}/10 (untrained {before['covered']}), "
                  f"kl_uniform {after['kl_uniform']:.3f} (untrained {before['kl_uniform']:.3f}, "
                  f"one digit {math.log(10):.3f}), frechet {after['frechet']:.1f} "
                  f"(untrained {before['frechet']:.1f}){head}; histogram {after['histogram']}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
