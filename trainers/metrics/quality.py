"""Sample quality of a generator against its dataset: offline reports and the live monitor.

:func:`evaluate_generator` draws N samples with a seed and scores them against real held-out
images with every feature network that is available (the dataset's domain classifier, then
Inception), giving rows ``{"name": "fid_mnist_cnn", "metric": "fid", "value", "std_error",
"feature_network", "samples", "real_samples", "seed"}``. :func:`evaluate_points` does the 2-D
toys' figures. :class:`LiveQuality` is what the engine runs every few steps: KID and FID on a
small sample against cached real features, its cost measured and kept within a share of the
time spent training.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..data import DATASETS, Dataset, load_dataset
from ..errors import ConfigError, DatasetUnavailable
from ..seeding import mix_seed
from ..pretrained import is_pretrained
from . import sample_quality as sq
from .features import (FeatureNetwork, MetricUnavailable, domain_network, domain_network_name, feature_networks,
                       real_features)
from .toy import grid_divergences, mode_coverage

#: samples drawn per generator call when many are asked for
CHUNK = 500
#: bounds on the samples an evaluation draws (KID's 10 blocks and IS's 10 splits need 2 each)
MIN_SAMPLES, MAX_SAMPLES = 20, 50_000


@dataclass
class Reference:
    """A network's features of real held-out images."""

    network: FeatureNetwork
    features: Tensor
    logits: Tensor
    description: str


def held_out_images(dataset: str, data_dir: str | None, count: int | None,
                    image_size: int | None = None) -> tuple[Dataset, str]:
    """(the first ``count`` images of the test split, or of the training data when there is none, its name)."""
    try:
        source, split = load_dataset(dataset, data_dir, "test", image_size), "test"
    except DatasetUnavailable:
        source, split = load_dataset(dataset, data_dir, "train", image_size), "train"
    if len(source) == 0:
        source, split = load_dataset(dataset, data_dir, "train", image_size), "train"
    if count is not None and count < len(source):
        source = source.subset(count)
    return source, f"{dataset} {split}, {len(source)} images"


def reference(network: FeatureNetwork, images: Dataset, description: str) -> Reference:
    features, logits = real_features(network, images.data)
    return Reference(network, features, logits, description)


@torch.no_grad()
def generate(model, count: int, seed: int) -> tuple[Tensor, Tensor | None]:
    """(``count`` samples in [-1, 1] on the CPU, the classes they were asked for or None), drawn
    ``CHUNK`` at a time with per-chunk seeds so any count is reproducible."""
    images, asked = [], []
    conditional = model.family.conditional
    for index, start in enumerate(range(0, count, CHUNK)):
        n = min(CHUNK, count - start)
        labels = ((torch.arange(start, start + n) % model.config.num_classes).to(model.device)
                  if conditional else None)
        images.append(model.sample(n, seed=mix_seed(seed, index, "evaluate"), labels=labels).float().cpu())
        if labels is not None:
            asked.append(labels.cpu())
    return torch.cat(images), (torch.cat(asked) if asked else None)


def score(ref: Reference, fake_features: Tensor, fake_logits: Tensor, asked: Tensor | None, *,
          seed: int = 0, full: bool = True, coverage: dict[str, Any] | None = None) -> dict[str, float]:
    """Metric -> value (and ``<metric>_se`` / ``<metric>_std`` where it has one) for one network.
    ``full`` adds IS, precision/recall and density/coverage to FID and KID; ``coverage`` is the
    samples' :func:`~.sample_quality.class_coverage` when the caller has it already."""
    values: dict[str, float] = {"fid": sq.frechet_distance(ref.features, fake_features)}
    values["kid"], values["kid_se"] = sq.kernel_distance(ref.features, fake_features, seed=seed)
    if full:
        values["is"], values["is_std"] = sq.classifier_score(fake_logits, seed=seed)
        values.update(sq.precision_recall(ref.features, fake_features))
        values.update(sq.density_coverage(ref.features, fake_features))
    if ref.network.input_shape is not None:  # class coverage only means something on the domain's classes
        coverage = coverage or sq.class_coverage(fake_logits, ref.network.confusion)
        values["classes_covered"] = coverage["classes_covered"]
        values["kl_uniform"] = coverage["kl_uniform"]
        values["confidence"] = coverage["confidence"]
        if asked is not None:
            values["conditional_accuracy"] = sq.conditional_accuracy(fake_logits, asked)
    return values


def evaluate_generator(model, dataset: str, *, samples: int = 10_000, seed: int = 0, real_samples: int | None = None,
                       data_dir: str | None = None, include_inception: bool = True,
                       networks: list[FeatureNetwork] | None = None) -> dict[str, Any]:
    """Every available network's metrics of ``samples`` generated images vs real held-out ones."""
    if not MIN_SAMPLES <= samples <= MAX_SAMPLES:
        raise ConfigError(f"--samples: between {MIN_SAMPLES} (KID's blocks and IS's splits) and {MAX_SAMPLES}, "
                          f"not {samples}")
    if real_samples is not None and real_samples < MIN_SAMPLES:
        raise ConfigError(f"--real-samples: at least {MIN_SAMPLES}, not {real_samples}")
    unavailable: dict[str, str] = {}
    if networks is None:
        networks, unavailable = feature_networks(dataset, model.device, include_inception)
        if not networks:
            raise MetricUnavailable(f"no feature network can judge {dataset} samples here: "
                                    + "; ".join(unavailable.values()))
    real, described = held_out_images(dataset, data_dir, real_samples)
    started = time.perf_counter()
    fake, asked = generate(model, samples, seed)
    rows, histograms = [], {}
    for network in networks:
        ref = reference(network, real, described)
        features, logits = network(fake)
        coverage = sq.class_coverage(logits, network.confusion) if network.input_shape is not None else None
        values = score(ref, features, logits, asked, seed=seed, coverage=coverage)
        for metric, value in values.items():
            if metric.endswith(("_se", "_std")):
                continue
            row = {"name": f"{metric}_{network.name}", "metric": metric, "value": value,
                   "feature_network": network.name, "samples": samples, "real_samples": len(real), "seed": seed}
            for suffix in ("_se", "_std"):
                if metric + suffix in values:
                    row["std_error" if suffix == "_se" else "std"] = values[metric + suffix]
            rows.append(row)
        if coverage is not None:
            histograms[network.name] = {"classes": list(network.class_names), "histogram": coverage["histogram"],
                                        "shares": coverage["shares"]}
    return {"dataset": dataset, "real": described, "samples": samples, "seed": seed, "metrics": rows,
            "class_histograms": histograms, "unavailable": unavailable,
            "seconds": round(time.perf_counter() - started, 1)}


def points_figures(dataset: Dataset, fake: Tensor) -> dict[str, float]:
    """A toy generator's KL/JS divergences from the real density on a grid and, for a mixture,
    its modes covered and high-quality share, as GAN Lab reports them."""
    values: dict[str, float] = dict(grid_divergences(dataset.data, fake))
    if "modes" in dataset.extra:
        values.update(mode_coverage(fake, dataset.extra["modes"], dataset.extra["mode_std"]))
    return values


def evaluate_points(model, dataset: Dataset, *, samples: int = 10_000, seed: int = 0) -> dict[str, Any]:
    """:func:`points_figures` of ``samples`` samples, as report rows."""
    values = points_figures(dataset, generate(model, samples, seed)[0])
    rows = [{"name": key, "metric": key, "value": value, "feature_network": "none", "samples": samples,
             "real_samples": len(dataset), "seed": seed} for key, value in values.items()]
    return {"dataset": dataset.name, "real": f"{dataset.name}, {len(dataset)} points", "samples": samples,
            "seed": seed, "metrics": rows, "class_histograms": {}, "unavailable": {}}


class LiveQuality:
    """The cheap metric the engine emits while training, its cost kept under ``budget`` of the
    time spent training.

    Images: KID and FID of ``samples`` fixed-noise samples against ``real_samples`` held-out
    images in the dataset's domain classifier's features (real features cached on disk), and
    the samples' class coverage. Points: modes covered and grid JS. :meth:`due` says whether
    running it now keeps the time spent on it within the budget.
    """

    def __init__(self, network: FeatureNetwork | None, ref: Reference | None, points: Dataset | None,
                 samples: int, seed: int, budget: float):
        self.network, self.ref, self.points = network, ref, points
        self.samples, self.seed, self.budget = samples, seed, budget
        self.spent_s = 0.0
        self.last_cost_s = 0.0

    @classmethod
    def for_run(cls, dataset: Dataset, dataset_name: str, data_dir: str | None, samples: int, seed: int,
                budget: float, device: torch.device) -> "LiveQuality":
        """For a run on ``dataset``; :class:`MetricUnavailable` says why when nothing can judge it."""
        if dataset.kind == "points":
            return cls(None, None, dataset, samples, seed, budget)
        if dataset.kind != "image":
            raise MetricUnavailable(f"the live metric judges generated images or points; {dataset_name} "
                                    f"is {dataset.kind} data (image-to-image families show PSNR in their previews)")
        # said briefly: it shows in the lab's status line
        if dataset_name not in DATASETS or not is_pretrained(domain_network_name(dataset_name)):
            raise MetricUnavailable(f"no domain classifier for {dataset_name} (the shipped ones read mnist, "
                                    f"fashion-mnist and cifar10)")
        network = domain_network(dataset_name, device)
        real, described = held_out_images(dataset_name, data_dir, max(samples, 1000))
        return cls(network, reference(network, real, described), None, samples, seed, budget)

    @property
    def name(self) -> str:
        return self.network.name if self.network is not None else "toy"

    def due(self, training_s: float) -> bool:
        """True when spending about the last measurement's cost again keeps the metric within
        ``budget`` of the time spent training and measuring."""
        spent = self.spent_s + self.last_cost_s
        return spent <= self.budget * (training_s + spent)

    def share(self, training_s: float) -> float:
        """The metric's part of the time spent training and measuring so far."""
        return self.spent_s / max(training_s + self.spent_s, 1e-9)

    def measure(self, model) -> dict[str, float]:
        """The metric now (a fixed noise batch, so the curve shows the model, not the draw)."""
        started = time.perf_counter()
        fake, asked = generate(model, self.samples, self.seed)
        if self.points is not None:
            values = points_figures(self.points, fake)
        else:
            features, logits = self.network(fake)
            scored = score(self.ref, features, logits, asked, seed=self.seed, full=False)
            values = {f"{key}_{self.network.name}": value for key, value in scored.items()}
        self.record(time.perf_counter() - started)
        return values

    def record(self, cost_s: float) -> None:
        """Count one measurement's cost: the time spent so far, and the estimate of the next one's."""
        self.last_cost_s = cost_s
        self.spent_s += cost_s
