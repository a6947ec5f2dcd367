"""Every image family's training step in bf16 autocast against float32, on this machine.

    python bench/fast_path_families.py [--models dcgan cgan ...] [--windows 3] [--seconds 1.5]

Each family trains its ``cpu-small`` preset (``cpu`` for wgan-gp) at batch 64 on its usual dataset
(MNIST and its edge / colorized pairs, CIFAR-10 for super-resolution), twice from the same seed: one
run plain float32, one with bf16 autocast forced on (what the fast path would choose where the
family allows it). Steps/s are timed in alternating windows, medians printed with their ratio.
On a CPU this answers whether the CPU fast path (AMX) pays for each family; without bf16 matrix
units the ratio is far below 1. Families the CPU's fast path keeps in float32 (wgan-gp, e-gan,
dip-inpaint, which need it; vanilla-gan, which measured slower in bf16) are measured too and marked.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from trainers.device import FastPath, cpu_has_bf16_matrix_units  # noqa: E402
from trainers.engine import RunConfig, Trainer  # noqa: E402

#: a small run of every family: model -> (dataset, preset, image size, overrides); the bench times
#: the image families, and tests/test_fast_path.py rehearses the GPU's fast path on all of them
EVERY_FAMILY = {
    "mlp-gan": ("ring", "default", None, {}), "dcgan": ("mnist", "cpu-small", None, {}),
    "e-gan": ("mnist", "cpu-small", None, {}), "progan": ("mnist", "cpu-small", None, {}),
    "vanilla-gan": ("mnist", "cpu-small", None, {}), "lsgan": ("mnist", "cpu-small", None, {}),
    "cgan": ("mnist", "cpu-small", None, {}), "wgan": ("mnist", "cpu-small", None, {}),
    "wgan-gp": ("mnist", "cpu", None, {}), "mc-gan": ("mnist", "cpu-small", None, {}),
    "multiclass-discriminator": ("mnist", "cpu-small", None, {}),
    "domain-classifier": ("mnist", "cpu-small", None, {}), "autoencoder": ("mnist", "cpu-small", None, {}),
    "aae": ("mnist", "cpu-small", None, {}), "aae-gan": ("mnist", "cpu-small", None, {}),
    "bigan": ("mnist", "cpu-small", None, {}), "pix2pix": ("mnist-edges", "cpu-small", None, {}),
    "cyclegan": ("mnist-colorized", "cpu-small", None, {}),
    "srgan": ("cifar10", "cpu-small", None, {"pretrain_steps": 2}),
    "esrgan": ("cifar10", "cpu-small", None, {"pretrain_steps": 2}),
    "dip-inpaint": ("inpaint:camera:box", "cpu-small", 64, {}),
}

#: the image families this bench times (the toy MLP on points has its own written-out step)
IMAGE_FAMILIES = sorted(name for name, (dataset, *_rest) in EVERY_FAMILY.items() if dataset != "ring")


def compare(model: str, windows: int, seconds: float, data_dir: str | None) -> dict:
    dataset, preset, image_size, overrides = EVERY_FAMILY[model]

    def trainer() -> Trainer:
        return Trainer(RunConfig(model=model, dataset=dataset, preset=preset, image_size=image_size, batch_size=64,
                                 seed=0, steps=10**7, data_dir=data_dir, overrides=dict(overrides), fast=False))

    plain, bf16 = trainer(), trainer()
    bf16.take_fast_path(FastPath(bf16=True))
    for run in (plain, bf16):
        for _ in range(3):
            run.train_one()
    start = time.perf_counter()
    plain.train_one()
    steps = max(2, int(seconds / (time.perf_counter() - start)))
    rates: dict[str, list[float]] = {"float32": [], "bf16": []}
    for _ in range(windows):
        for name, run in (("float32", plain), ("bf16", bf16)):
            start = time.perf_counter()
            for _ in range(steps):
                run.train_one()
            rates[name].append(steps / (time.perf_counter() - start))
    float32, bf16_rate = statistics.median(rates["float32"]), statistics.median(rates["bf16"])
    stable = plain.bf16_safe and plain.family.bf16_on_cpu
    return {"model": model, "float32_steps_per_s": round(float32, 2), "bf16_steps_per_s": round(bf16_rate, 2),
            "ratio": round(bf16_rate / float32, 2), "fast_path_uses_bf16": stable}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=IMAGE_FAMILIES, choices=IMAGE_FAMILIES)
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.5, help="length of a window")
    parser.add_argument("--data-dir", default=None, help="datasets folder (default: GAN_DATA_DIR)")
    args = parser.parse_args(argv)
    print(f"bf16 matrix units (AMX) on this CPU: {cpu_has_bf16_matrix_units()}")
    rows = []
    for model in args.models:
        row = compare(model, args.windows, args.seconds, args.data_dir)
        rows.append(row)
        note = "" if row["fast_path_uses_bf16"] else "  (the fast path keeps it in float32)"
        print(f"{model:26s} float32 {row['float32_steps_per_s']:8.2f}  bf16 {row['bf16_steps_per_s']:8.2f} "
              f"steps/s  bf16/float32 {row['ratio']:.2f}x{note}", flush=True)
    return rows


if __name__ == "__main__":
    main()
