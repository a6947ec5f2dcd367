"""The metrics' calibration table: real vs real, shuffled pixels, noise and a trained DCGAN, per
feature network.

For each dataset the reference is a random half of its test split (5,000 images); the
candidates are the other half (real vs real), those images with their pixels shuffled,
uniform noise, and 5,000 samples of a DCGAN checkpoint (``--dcgan DATASET=FOLDER``). Inception
rows appear when its weights are available here; otherwise the table says why not.

    GAN_DATA_DIR=../shared/data python bench/metrics_table.py \
        --dcgan mnist=runs/metrics/dcgan-mnist --dcgan fashion-mnist=runs/metrics/dcgan-fashion-mnist \
        --dcgan cifar10=runs/metrics/dcgan-cifar10 --json runs/metrics/table.json
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from trainers.data import load_dataset
from trainers.metrics import features as feats
from trainers.metrics.quality import Reference, generate, score
from trainers.model import GANModel

SHOWN = ("fid", "kid", "is", "precision", "recall", "density", "coverage", "classes_covered")


def shuffled_pixels(images: torch.Tensor, seed: int = 4) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    flat = images.flatten(2)
    order = torch.argsort(torch.rand(flat.shape[0], 1, flat.shape[2], generator=generator), dim=2)
    return flat.gather(2, order.expand_as(flat)).view_as(images)


def halves(dataset: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Two random halves of the test split (the CIFAR-10 file cycles through the classes, so
    even/odd indices would split the classes)."""
    test = load_dataset(dataset, split="test")
    order = torch.randperm(len(test), generator=torch.Generator().manual_seed(0))
    return test.data[order[: len(test) // 2]], test.data[order[len(test) // 2:]]


def candidates(dataset: str, dcgan: str | None) -> dict[str, torch.Tensor]:
    other = halves(dataset)[1].float() / 127.5 - 1
    noise = torch.rand(other.shape, generator=torch.Generator().manual_seed(3)) * 2 - 1
    found = {"real (other half)": other, "shuffled pixels": shuffled_pixels(other), "uniform noise": noise}
    if dcgan:
        model = GANModel.from_pretrained(dcgan)
        found[f"DCGAN ({dcgan})"] = generate(model, len(other), seed=0)[0]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["mnist", "fashion-mnist", "cifar10"])
    parser.add_argument("--dcgan", action="append", default=[], metavar="DATASET=FOLDER")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    dcgans = dict(item.split("=", 1) for item in args.dcgan)
    unavailable: dict[str, str] = {}
    rows, lines = [], ["| dataset | feature network | samples | " + " | ".join(SHOWN) + " |",
                       "|---|---|---|" + "---|" * len(SHOWN)]
    for dataset in args.datasets:
        networks, missing = feats.feature_networks(dataset)
        reference_images = halves(dataset)[0]
        for network in networks:
            features, logits = feats.real_features(network, reference_images)
            ref = Reference(network, features, logits, f"{dataset} test, a random half")
            for label, images in candidates(dataset, dcgans.get(dataset)).items():
                started = time.perf_counter()
                f, lg = network(images)
                values = score(ref, f, lg, None)
                values["seconds"] = time.perf_counter() - started
                rows.append({"dataset": dataset, "network": network.name, "samples": label, **values})
                cells = [f"{values['kid']:.3g} ± {values['kid_se']:.1g}" if key == "kid" else
                         f"{values[key]:.0f}" if key == "classes_covered" else f"{values[key]:.3g}" for key in SHOWN]
                lines.append(f"| {dataset} | {network.name} | {label} | " + " | ".join(cells) + " |")
                print(lines[-1], flush=True)
        for name, why in missing.items():
            lines.append(f"| {dataset} | {name} | unavailable (below) |" + " |" * len(SHOWN))
            unavailable[name] = why
    lines += [f"\n{why}" for why in unavailable.values()]
    print("\n".join(lines))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"rows": rows, "table": lines}, handle, indent=2)


if __name__ == "__main__":
    main()
