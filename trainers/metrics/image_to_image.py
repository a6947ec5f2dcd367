"""Held-out evaluation of the image-to-image families, always next to a naive baseline.

- Paired translation (pix2pix): L1 and PSNR of G(source) against the target on the test split;
  baselines: the input itself (identity) and the mean training target (the best constant image).
- Unpaired translation (CycleGAN): the cycle reconstruction error (L1, PSNR) both ways on the
  test split; for MNIST, with a digit classifier, the share of digits it reads the same after
  A -> B -> A as in the original (digit preserved rate), next to its accuracy on the originals.
- Super-resolution (SRGAN, ESRGAN): PSNR/SSIM on the Y channel of Set5 and Set14 at the model's
  scale, against bicubic computed in the same pass (:func:`super_resolution.evaluate_benchmark`).
- Inpainting (deep image prior): PSNR inside the hole against the original, against the mean
  colour fill and an iterative diffusion fill from the hole's border.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..data import Dataset, load_dataset
from ..data.images import default_data_dir
from ..errors import DatasetUnavailable
from .image_quality import l1, psnr

SR_BENCHMARK_FILE = "sr_set5_set14.npz"
SR_BENCHMARKS = ("Set5", "Set14")


def _batches(dataset: Dataset, limit: int | None, batch_size: int, device):
    count = len(dataset) if limit is None else min(limit, len(dataset))
    for start in range(0, count, batch_size):
        yield dataset.batch(torch.arange(start, min(start + batch_size, count)), device)


def _mean(values: list[tuple[float, int]]) -> float:
    return sum(v * n for v, n in values) / max(1, sum(n for _, n in values))


@torch.no_grad()
def paired_translation(model, train: Dataset, test: Dataset, limit: int | None = None,
                       batch_size: int = 32) -> dict[str, float]:
    """pix2pix on the test split: L1 (on [-1, 1]) and PSNR (dB) of the model and of two baselines."""
    from ..models.pix2pix import identity_baseline

    mean_target = train.to_model_range(train.data).mean(0, keepdim=True).to(model.device)
    rows: dict[str, list[tuple[float, int]]] = {k: [] for k in ("l1", "psnr", "l1_identity", "psnr_identity",
                                                                "l1_mean", "psnr_mean")}
    for target, source in _batches(test, limit, batch_size, model.device):
        n = len(target)
        output = model.translate(source)
        for name, guess in (("", output), ("_identity", identity_baseline(source, target)),
                            ("_mean", mean_target.expand_as(target))):
            rows[f"l1{name}"].append((l1(guess, target), n))
            rows[f"psnr{name}"].append((psnr(guess, target), n))
    result = {k: _mean(v) for k, v in rows.items()}
    result["images"] = float(sum(n for _, n in rows["l1"]))
    return result


@torch.no_grad()
def cycle_consistency(model, test: Dataset, classify: Callable[[Tensor], Tensor] | None = None,
                      limit: int | None = None, batch_size: int = 64) -> dict[str, float]:
    """CycleGAN on the test split: cycle L1/PSNR both ways; with ``classify`` (grey 28x28 digits in
    [-1, 1] -> logits) and a labelled domain A, the digit preserved rate of A -> B -> A."""
    from ..models.cyclegan import round_trip

    rows: dict[str, list[tuple[float, int]]] = {k: [] for k in ("cycle_l1_a", "cycle_psnr_a", "cycle_l1_b",
                                                                "cycle_psnr_b")}
    kept = read_original = total = 0
    count = len(test) if limit is None else min(limit, len(test))
    for start in range(0, count, batch_size):
        index = torch.arange(start, min(start + batch_size, count))
        real_b, real_a = test.batch(index, model.device)
        _, back_a = round_trip(model.config, model.networks, real_a, "a_to_b")
        _, back_b = round_trip(model.config, model.networks, real_b, "b_to_a")
        n = len(index)
        rows["cycle_l1_a"].append((l1(back_a, real_a), n))
        rows["cycle_psnr_a"].append((psnr(back_a, real_a), n))
        rows["cycle_l1_b"].append((l1(back_b, real_b), n))
        rows["cycle_psnr_b"].append((psnr(back_b, real_b), n))
        if classify is not None and test.labels is not None:
            labels = test.labels[index].to(model.device)
            original = classify(as_mnist(real_a)).argmax(1)
            after = classify(as_mnist(back_a)).argmax(1)
            kept += int((after == original).sum())
            read_original += int((original == labels).sum())
            total += n
    result = {k: _mean(v) for k, v in rows.items()}
    result["images"] = float(sum(n for _, n in rows["cycle_l1_a"]))
    if total:
        result["digit_preserved_rate"] = kept / total
        result["classifier_accuracy_on_originals"] = read_original / total
    return result


def as_mnist(x: Tensor) -> Tensor:
    """32x32 (padded) digits, grey or RGB, -> MNIST's own 28x28 grey, for a classifier trained on MNIST."""
    grey = x.mean(1, keepdim=True) if x.shape[1] == 3 else x
    if grey.shape[-1] == 32:
        grey = grey[..., 2:-2, 2:-2]
    return grey


def sr_benchmark_images(data_dir: str | Path | None = None) -> dict[str, dict[str, np.ndarray]]:
    """{"Set5": {name: uint8 HxWx3}, "Set14": {...}} from sr_set5_set14.npz (benchmarks only: never train on them)."""
    root = Path(data_dir).expanduser() if data_dir else default_data_dir()
    path = root / SR_BENCHMARK_FILE
    if not path.is_file():
        raise DatasetUnavailable(f"{SR_BENCHMARK_FILE} is not in {root}: put it there, or set GAN_DATA_DIR to "
                                 f"the folder that holds it")
    sets: dict[str, dict[str, np.ndarray]] = {name: {} for name in SR_BENCHMARKS}
    with np.load(path, allow_pickle=False) as archive:
        for key in sorted(archive.files):
            group, _, name = key.partition("/")
            if group in sets:
                sets[group][name] = archive[key]
    return sets


@torch.no_grad()
def super_resolution(model, data_dir: str | Path | None = None, limit: int | None = None,
                     **options) -> dict[str, dict]:
    """{"Set5": {"psnr", "ssim", "psnr_bicubic", "ssim_bicubic", "images"}, "Set14": {...}, plus
    "per_image"} at the model's scale (whole images, no tiling needed at these sizes); with
    ``limit``, the first that many images of each set."""
    from ..models.super_resolution import evaluate_benchmark

    sets = sr_benchmark_images(data_dir)
    report: dict[str, dict] = {"per_image": {}}
    for name, images in sets.items():
        images = dict(list(images.items())[:limit]) if limit else images
        rows = evaluate_benchmark(lambda lr: model.translate(lr, **options), images, model.config.scale,
                                  model.device)
        report["per_image"][name] = rows
        report[name] = {key: float(np.mean([r[key] for r in rows.values()]))
                        for key in ("psnr", "ssim", "psnr_bicubic", "ssim_bicubic")}
        report[name]["images"] = len(rows)
    return report


def mean_fill(image: Tensor, hole: Tensor) -> Tensor:
    """Every missing pixel set to the mean colour of the known ones."""
    known = (~hole).float()
    colour = (image * known).sum((-2, -1), keepdim=True) / known.sum((-2, -1), keepdim=True).clamp(min=1)
    return torch.where(hole, colour.expand_as(image), image)


def diffusion_fill(image: Tensor, hole: Tensor, iterations: int = 200) -> Tensor:
    """Missing pixels relaxed to the average of their 4 neighbours (heat diffusion from the hole's
    border: the classic smooth inpainting baseline). Solved coarse to fine, ``iterations`` Jacobi
    sweeps per level of an image pyramid, so a wide hole fills as well as a thin one."""
    h, w = image.shape[-2:]
    if min(h, w) > 16 and bool(hole.any()):
        # a coarse pixel is the mean of its known children (hidden pixels never leak into the fill)
        known = (~hole).float()
        count = F.avg_pool2d(known, 2, ceil_mode=True)
        coarse_image = F.avg_pool2d(image * known, 2, ceil_mode=True) / count.clamp(min=1e-6)
        coarse_hole = count == 0
        start = F.interpolate(diffusion_fill(coarse_image, coarse_hole, iterations), size=(h, w), mode="nearest")
    else:
        start = mean_fill(image, hole)
    x = torch.where(hole, start, image)
    kernel = torch.tensor([[0.0, 0.25, 0.0], [0.25, 0.0, 0.25], [0.0, 0.25, 0.0]], device=image.device)
    kernel = kernel.view(1, 1, 3, 3).repeat(image.shape[1], 1, 1, 1)
    for _ in range(iterations):
        smoothed = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=image.shape[1])
        x = torch.where(hole, smoothed, image)
    return x


def inpainting_scores(restored: Tensor, original: Tensor, hole_mask: Tensor) -> dict[str, float]:
    """PSNR inside the hole of the restoration and of the two baseline fills (all on [0, 1])."""
    hole = hole_mask.bool()
    return {"psnr_hole": psnr(restored, original, hole),
            "psnr_hole_mean_fill": psnr(mean_fill(original, hole.expand_as(original)), original, hole),
            "psnr_hole_diffusion": psnr(diffusion_fill(original, hole.expand_as(original)), original, hole)}


def train_and_test(name: str, data_dir: str | Path | None, image_size: int | None = None) -> tuple[Dataset, Dataset]:
    return load_dataset(name, data_dir, "train", image_size), load_dataset(name, data_dir, "test", image_size)
