"""Statistics of generated vs real samples, from a feature network's features and logits.

- FID (Heusel et al. 2017, https://arxiv.org/abs/1706.08500): torchmetrics' Frechet distance.
- KID (Binkowski et al. 2018, https://arxiv.org/abs/1801.01401): the unbiased MMD^2 with
  torchmetrics' cubic polynomial kernel, averaged over disjoint blocks (at most 1,000 samples a
  block, so memory stays bounded); its standard error is the blocks' spread / sqrt(blocks).
- IS (Salimans et al. 2016, https://arxiv.org/abs/1606.03498): torchmetrics' Inception Score on
  the network's logits; on a domain classifier it is the "classifier score", at most K classes.
- Precision and recall (Kynkaanniemi et al. 2019, https://arxiv.org/abs/1904.06991, k = 3), and
  density and coverage (Naeem et al. 2020, https://arxiv.org/abs/2002.09797, k = 5), from k-NN
  balls around feature vectors (these two are not in torchmetrics).
- Mode coverage for labelled data: the class histogram of samples as the classifier reads them.

Every function takes feature tensors (N, d) and returns plain floats or dicts.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import Tensor, nn

from ..seeding import seeded_global_rng

#: a class is "covered" when it holds at least this share of its fair 1/K part of the samples
COVERED_SHARE_OF_FAIR = 0.25
#: KID's blocks hold at most this many samples (the usual KID subset size)
KID_MAX_BLOCK = 1000


class _Given(nn.Module):
    """Hands torchmetrics features already computed (and cached) instead of images."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


def frechet_distance(real: Tensor, fake: Tensor) -> float:
    """||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)) in float64 (torchmetrics' FID)."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    _check_pair(real, fake, minimum=2)
    metric = FrechetInceptionDistance(feature=_Given(real.shape[1]), normalize=False)
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    return float(metric.compute())


def kernel_distance(real: Tensor, fake: Tensor, *, blocks: int = 10, seed: int = 0) -> tuple[float, float]:
    """(KID, its standard error): the mean and spread / sqrt(B) of unbiased MMD^2 estimates on B
    disjoint random blocks of equal size (B >= ``blocks``, at most KID_MAX_BLOCK samples of each
    set a block; the larger set is subsampled to the smaller one's size, as the estimator needs)."""
    from torchmetrics.image.kid import poly_mmd

    _check_pair(real, fake, minimum=2 * blocks)
    smaller = min(len(real), len(fake))
    count = max(blocks, math.ceil(smaller / KID_MAX_BLOCK))
    used = smaller // count * count
    generator = torch.Generator().manual_seed(seed)
    real_blocks = real.double()[torch.randperm(len(real), generator=generator)[:used]].chunk(count)
    fake_blocks = fake.double()[torch.randperm(len(fake), generator=generator)[:used]].chunk(count)
    estimates = torch.stack([poly_mmd(a, b, degree=3, gamma=None, coef=1.0)
                             for a, b in zip(real_blocks, fake_blocks)])
    return float(estimates.mean()), float(estimates.std(unbiased=True) / math.sqrt(count))


def classifier_score(logits: Tensor, *, splits: int = 10, seed: int = 0) -> tuple[float, float]:
    """(IS, std over splits): exp(E_x KL(p(y|x) || p(y))) with torchmetrics' Inception Score on
    these logits. 1 when every sample reads alike; at most the number of classes."""
    from torchmetrics.image.inception import InceptionScore

    if len(logits) < 2 * splits:
        raise ValueError(f"the classifier score needs at least {2 * splits} samples, got {len(logits)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # its "keeps every feature in memory" notice
        metric = InceptionScore(feature=_Given(logits.shape[1]), splits=splits)
    metric.update(logits.double())
    with seeded_global_rng(seed):  # it shuffles with the global generator
        mean, std = metric.compute()
    return float(mean), float(std)


def _pairwise_within(a: Tensor, b: Tensor, radii: Tensor, chunk: int = 1000) -> Tensor:
    """(len(a), len(b)) boolean: is a_i inside the ball of radius radii[j] around b_j, in chunks."""
    rows = [torch.cdist(a[i:i + chunk], b) <= radii[None, :] for i in range(0, len(a), chunk)]
    return torch.cat(rows)


def _kth_neighbour_radius(points: Tensor, k: int, chunk: int = 1000) -> Tensor:
    """Distance from each point to its k-th nearest other point of the same set."""
    radii = []
    for i in range(0, len(points), chunk):
        distances = torch.cdist(points[i:i + chunk], points)
        radii.append(distances.topk(k + 1, dim=1, largest=False).values[:, k])  # index 0 is itself
    return torch.cat(radii)


def precision_recall(real: Tensor, fake: Tensor, *, k: int = 3) -> dict[str, float]:
    """Precision: the share of fake samples inside the real manifold (the union of each real
    feature's ball out to its k-th real neighbour); recall: the share of real samples inside the
    fake manifold."""
    _check_pair(real, fake, minimum=k + 1)
    real, fake = real.float(), fake.float()
    real_radii, fake_radii = _kth_neighbour_radius(real, k), _kth_neighbour_radius(fake, k)
    precision = _pairwise_within(fake, real, real_radii).any(dim=1).float().mean()
    recall = _pairwise_within(real, fake, fake_radii).any(dim=1).float().mean()
    return {"precision": float(precision), "recall": float(recall)}


def density_coverage(real: Tensor, fake: Tensor, *, k: int = 5) -> dict[str, float]:
    """Density: how many real balls (k-th real neighbour) hold each fake sample, / k (about 1 for
    samples like the real ones, above 1 when they crowd the dense regions); coverage: the share of
    real balls that hold at least one fake sample."""
    _check_pair(real, fake, minimum=k + 1)
    real, fake = real.float(), fake.float()
    radii = _kth_neighbour_radius(real, k)
    inside = _pairwise_within(fake, real, radii)
    return {"density": float(inside.float().sum() / (k * len(fake))),
            "coverage": float(inside.any(dim=0).float().mean())}


def class_coverage(logits: Tensor, confusion: Tensor | None = None) -> dict[str, object]:
    """How samples spread over the classes: the histogram of what the classifier reads; the class
    shares behind it (with the classifier's measured ``confusion``, row = true class, the shares q
    that best explain the histogram as q @ confusion, q >= 0 summing to 1: Lipton et al.'s
    black-box correction, https://arxiv.org/abs/1802.03916; else the read shares); the classes
    covered (each at least a quarter of a fair share); KL(shares || uniform) in nats (0 when
    balanced, log K when all are one class); and the mean top-class confidence."""
    classes = logits.shape[1]
    probabilities = logits.float().softmax(dim=1)
    confidence, predicted = probabilities.max(dim=1)
    histogram = torch.bincount(predicted, minlength=classes)
    shares = histogram.double() / len(logits)
    if confusion is not None:
        shares = _unconfused(shares, confusion.double())
    kl = float((shares[shares > 0] * (shares[shares > 0] * classes).log()).sum())
    covered = int((shares >= COVERED_SHARE_OF_FAIR / classes).sum())
    return {"histogram": histogram.tolist(), "shares": shares.tolist(), "classes_covered": covered,
            "num_classes": classes, "kl_uniform": kl, "confidence": float(confidence.mean())}


def _unconfused(read: Tensor, confusion: Tensor) -> Tensor:
    """argmin_q ||q @ confusion - read|| with q >= 0 and sum(q) = 1 (the sum as a heavily weighted row)."""
    from scipy.optimize import nnls

    weight = 100.0
    system = torch.cat([confusion.T, torch.full((1, len(read)), weight, dtype=torch.float64)])
    target = torch.cat([read, torch.tensor([weight], dtype=torch.float64)])
    solution, _ = nnls(system.numpy(), target.numpy())
    shares = torch.from_numpy(solution).clamp(min=0)
    return shares / shares.sum()


def conditional_accuracy(logits: Tensor, asked: Tensor) -> float:
    """The rate at which samples asked for class k are read as k."""
    return float((logits.argmax(dim=1) == asked.to(logits.device)).float().mean())


def _check_pair(real: Tensor, fake: Tensor, minimum: int) -> None:
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"features must be (N, d) with one d, got {tuple(real.shape)} and {tuple(fake.shape)}")
    if len(real) < minimum or len(fake) < minimum:
        raise ValueError(f"this metric needs at least {minimum} samples of each kind, got {len(real)} real "
                         f"and {len(fake)} generated")


def spread(images: Tensor) -> float:
    """Mean pairwise Euclidean distance of a batch (flattened): how unalike the pictures are. Over a
    real batch's, it reads near 1 for a varied generator and near 0 for a collapsed one."""
    flat = images.detach().float().flatten(1)
    if len(flat) < 2:
        return 0.0
    return float(torch.pdist(flat).mean())
