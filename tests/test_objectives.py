"""GAN objectives against hand computations, the WGAN-GP penalty against critics with a known
input gradient, and weight clipping.

Expected numbers are worked out here with math.log / math.exp on plain floats, never with torch's
own loss functions, so a sign slip or a swapped real/fake term shows up as a wrong number.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from trainers.errors import ConfigError
from trainers.objectives import (OBJECTIVES, clip_weights, get_objective, gradient_penalty)
from trainers.registry import MODELS

REAL = [2.0, -0.5, 0.0, 1.5]
FAKE = [-1.0, 0.3, 2.5]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def losses(name: str) -> tuple[float, float]:
    objective = get_objective(name)
    real, fake = torch.tensor(REAL), torch.tensor(FAKE)
    return float(objective.d_loss(real, fake)), float(objective.g_loss(fake))


# ----- the five objectives, by hand ----------------------------------------------------


def expected_logistic_d() -> float:
    # -[E log D(x) + E log(1 - D(G(z)))] with D = sigmoid(logit)
    return -mean(math.log(sigmoid(r)) for r in REAL) - mean(math.log(1 - sigmoid(f)) for f in FAKE)


def test_minimax_matches_hand_computation():
    d, g = losses("minimax")
    assert d == pytest.approx(expected_logistic_d(), rel=1e-6)
    # G minimises E log(1 - D(G(z))): a negative number
    assert g == pytest.approx(mean(math.log(1 - sigmoid(f)) for f in FAKE), rel=1e-6)
    assert g < 0


def test_non_saturating_matches_hand_computation():
    d, g = losses("non-saturating")
    assert d == pytest.approx(expected_logistic_d(), rel=1e-6)
    # G minimises -E log D(G(z))
    assert g == pytest.approx(-mean(math.log(sigmoid(f)) for f in FAKE), rel=1e-6)
    assert g > 0


def test_least_squares_matches_hand_computation():
    d, g = losses("least-squares")
    assert d == pytest.approx(0.5 * mean((r - 1) ** 2 for r in REAL) + 0.5 * mean(f**2 for f in FAKE),
                              rel=1e-6)
    assert g == pytest.approx(0.5 * mean((f - 1) ** 2 for f in FAKE), rel=1e-6)


def test_wasserstein_matches_hand_computation():
    d, g = losses("wasserstein")
    # the critic maximises E D(x) - E D(G(z)), i.e. minimises its negative
    assert d == pytest.approx(mean(FAKE) - mean(REAL), rel=1e-6)
    assert g == pytest.approx(-mean(FAKE), rel=1e-6)


def test_hinge_matches_hand_computation():
    d, g = losses("hinge")
    expected = mean(max(0.0, 1 - r) for r in REAL) + mean(max(0.0, 1 + f) for f in FAKE)
    assert d == pytest.approx(expected, rel=1e-6)
    assert g == pytest.approx(-mean(FAKE), rel=1e-6)


def test_log_losses_stay_finite_for_extreme_logits():
    # the Sigmoid+BCELoss trap: log(sigmoid(-200)) is -inf in float32, softplus is not
    real, fake = torch.tensor([-200.0, 200.0]), torch.tensor([200.0, -200.0])
    for name in ("minimax", "non-saturating"):
        objective = get_objective(name)
        d, g = objective.d_loss(real, fake), objective.g_loss(fake)
        assert math.isfinite(float(d)) and math.isfinite(float(g)), name
        # -log sigmoid(-200) = 200 (to float precision), averaged with the confident ~0 terms
        assert float(d) == pytest.approx(0.5 * 200 + 0.5 * 200, rel=1e-4)


def test_log_loss_gradients_point_the_right_way():
    # d_loss must push real logits up and fake logits down; g_loss must push fake logits up.
    # The logits sit where every objective is active: real < 1, 0 < fake < 1.
    for name in OBJECTIVES:
        objective = get_objective(name)
        real = torch.tensor([0.2, -0.3], requires_grad=True)
        fake = torch.tensor([0.1, 0.4], requires_grad=True)
        objective.d_loss(real, fake).backward()
        assert (real.grad < 0).all(), name
        assert (fake.grad > 0).all(), name
        fake2 = torch.tensor([0.1, 0.4], requires_grad=True)
        objective.g_loss(fake2).backward()
        assert (fake2.grad < 0).all(), name


@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_written_out_loss_gradients_equal_autograds(name):
    """What the MLP GAN's hand-written step starts from: each objective's gradients with respect to
    the logits, for ordinary and extreme logits and at the hinge's kinks (where autograd takes 0)."""
    objective = get_objective(name)
    generator = torch.Generator().manual_seed(0)
    real = torch.cat([torch.randn(29, 1, generator=generator) * 3, torch.tensor([[1.0], [-1.0], [80.0], [-80.0]])])
    fake = torch.cat([torch.randn(17, 1, generator=generator) * 3, torch.tensor([[-1.0], [1.0], [80.0], [-80.0]])])
    leaves = [real.clone().requires_grad_(True), fake.clone().requires_grad_(True)]
    expected_d = torch.autograd.grad(objective.d_loss(*leaves), leaves)
    expected_g = torch.autograd.grad(objective.g_loss(leaves[1]), leaves[1])[0]
    for got, expected in zip(objective.d_loss_grad(real, fake), expected_d):
        torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(objective.g_loss_grad(fake), expected_g, rtol=1e-6, atol=1e-9)
    assert torch.equal(real, leaves[0].detach()) and torch.equal(fake, leaves[1].detach())  # inputs untouched


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_losses_and_scores_are_float32_under_a_cpus_bf16_autocast(name):
    """bf16 autocast on a CPU hands the objectives bf16 logits; their losses come back in float32,
    the value float32 gives for those same logits (a bf16 loss would be rounded to three digits)."""
    objective = get_objective(name)
    gen = torch.Generator().manual_seed(3)
    real, fake = (torch.randn(64, 1, generator=gen).mul_(2).bfloat16() for _ in range(2))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        d_loss, g_loss, score = objective.d_loss(real, fake), objective.g_loss(fake), objective.score(fake)
    assert d_loss.dtype == g_loss.dtype == score.dtype == torch.float32
    assert d_loss.item() == pytest.approx(objective.d_loss(real.float(), fake.float()).item(), rel=1e-6)
    assert g_loss.item() == pytest.approx(objective.g_loss(fake.float()).item(), rel=1e-6)
    assert objective.d_loss(real.double(), fake.double()).dtype == torch.float64  # never narrowed


def test_relativistic_losses_are_float32_under_a_cpus_bf16_autocast():
    from trainers.models.esrgan import relativistic_losses

    gen = torch.Generator().manual_seed(4)
    real, fake = (torch.randn(32, 1, generator=gen).bfloat16() for _ in range(2))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        sides = relativistic_losses(real, fake)
    expected = relativistic_losses(real.float(), fake.float())
    for side, want in zip(sides, expected):
        assert side.dtype == torch.float32 and side.item() == pytest.approx(want.item(), rel=1e-6)


def test_score_is_a_probability_only_for_log_losses():
    logits = torch.tensor([-2.0, 0.0, 3.0])
    for name in ("minimax", "non-saturating"):
        scores = get_objective(name).score(logits).tolist()
        assert scores == pytest.approx([sigmoid(v) for v in (-2.0, 0.0, 3.0)])
    for name in ("least-squares", "wasserstein", "hinge"):
        assert get_objective(name).score(logits).tolist() == [-2.0, 0.0, 3.0]


def test_every_family_objective_choice_is_registered():
    for spec in MODELS.values():
        for name in spec.objectives:
            assert get_objective(name).name == name


def test_unknown_objective_is_a_config_error_naming_the_choices():
    with pytest.raises(ConfigError) as info:
        get_objective("nope")
    message = str(info.value)
    assert "'nope'" in message
    for name in ("minimax", "non-saturating", "least-squares", "wasserstein", "hinge"):
        assert name in message


# ----- gradient penalty ----------------------------------------------------------------


class LinearCritic(nn.Module):
    """D(x) = <w, x> per sample: its input gradient is w everywhere."""

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(w.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.w).flatten(1).sum(1)


def test_gradient_penalty_of_a_linear_critic_uses_the_whole_input_norm():
    torch.manual_seed(0)
    w = torch.randn(3, 4, 5)  # (C, H, W)
    critic = LinearCritic(w)
    real, fake = torch.randn(6, 3, 4, 5), torch.randn(6, 3, 4, 5)
    norm = math.sqrt(sum(v * v for v in w.flatten().tolist()))
    penalty = gradient_penalty(critic, real, fake)
    assert penalty.item() == pytest.approx((norm - 1) ** 2, rel=1e-5)
    # a critic with a unit-norm gradient is not penalised at all
    unit = LinearCritic(w / w.norm())
    assert gradient_penalty(unit, real, fake).item() == pytest.approx(0.0, abs=1e-8)


def test_gradient_penalty_takes_the_norm_per_sample():
    # D(x) = 1/2 ||x||^2 has input gradient x. With real == fake the interpolate is the real batch,
    # whatever eps is drawn, so sample i's gradient norm is ||x_i||: all different.
    scales = [0.1, 0.5, 2.0, 3.0]
    x = torch.stack([torch.full((2, 3, 3), s) for s in scales])  # (4, 2, 3, 3)
    critic = lambda t: 0.5 * (t**2).flatten(1).sum(1)  # noqa: E731
    per_sample_norms = [s * math.sqrt(2 * 3 * 3) for s in scales]
    expected = mean((n - 1) ** 2 for n in per_sample_norms)
    assert gradient_penalty(critic, x, x.clone()).item() == pytest.approx(expected, rel=1e-5)
    # a norm over the whole batch or over one axis would give a different number
    whole_batch = (math.sqrt(sum(n * n for n in per_sample_norms)) - 1) ** 2
    assert abs(expected - whole_batch) > 1.0


def test_gradient_penalty_interpolates_between_real_and_fake():
    # with the same seeded generator the eps it draws can be replayed here
    real = torch.ones(5, 1, 2, 2)
    fake = -torch.ones(5, 1, 2, 2)
    critic = lambda t: 0.5 * (t**2).flatten(1).sum(1)  # noqa: E731
    penalty = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(7))
    eps = torch.rand((5, 1, 1, 1), generator=torch.Generator().manual_seed(7)).flatten().tolist()
    # x_hat = eps * 1 + (1 - eps) * (-1) = 2 eps - 1 in each of 4 pixels: norm 2 |2 eps - 1|
    expected = mean((2 * abs(2 * e - 1) - 1) ** 2 for e in eps)
    assert penalty.item() == pytest.approx(expected, rel=1e-5)


def test_gradient_penalty_backpropagates_into_the_critic_weights():
    torch.manual_seed(1)
    w = torch.randn(2, 3, 3)
    critic = LinearCritic(w)
    real, fake = torch.randn(4, 2, 3, 3), torch.randn(4, 2, 3, 3)
    gradient_penalty(critic, real, fake).backward()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    norm = w.norm()
    expected = 2 * (norm - 1) * w / norm
    assert critic.w.grad is not None
    assert torch.allclose(critic.w.grad, expected, rtol=1e-4, atol=1e-6)
    # and one optimiser step on the penalty alone moves ||w|| towards 1
    before = critic.w.detach().norm().item()
    torch.optim.SGD(critic.parameters(), lr=0.05).step()
    assert abs(critic.w.detach().norm().item() - 1) < abs(before - 1)


def test_gradient_penalty_does_not_backpropagate_into_the_inputs():
    w = torch.randn(1, 2, 2)
    real = torch.randn(3, 1, 2, 2, requires_grad=True)
    fake = torch.randn(3, 1, 2, 2, requires_grad=True)
    gradient_penalty(LinearCritic(w), real, fake).backward()
    assert real.grad is None and fake.grad is None


# ----- weight clipping -----------------------------------------------------------------


def test_clip_weights_clamps_every_parameter_and_keeps_the_rest():
    module = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1))
    with torch.no_grad():
        module[0].weight.copy_(torch.linspace(-1, 1, 12).reshape(4, 3))
        module[0].bias.copy_(torch.tensor([0.5, -0.005, 0.0, -3.0]))
        module[1].weight.fill_(0.2)
        module[1].bias.fill_(-0.001)
    before = [p.detach().clone() for p in module.parameters()]
    clip_weights(module, 0.01)
    for old, p in zip(before, module.parameters()):
        assert p.detach().abs().max().item() <= 0.01 + 1e-9
        inside = old.abs() <= 0.01
        assert torch.equal(p[inside], old[inside])  # values already inside are untouched
        assert torch.equal(p[~inside], old[~inside].sign() * 0.01)
    assert module[0].bias.tolist() == pytest.approx([0.01, -0.005, 0.0, -0.01])


@pytest.mark.parametrize("objective", ["non-saturating", "hinge", "wgan-gp"])
def test_one_pass_over_real_and_fake_updates_d_and_g_as_two_passes_do(objective):
    """A discriminator without batch norm judges real and fake in one batch (fewer calls per step);
    the update must be the one two separate passes give. The twin ends in an identity batch norm
    (eval mode, unit variance), which sends it down the two-pass path with the same function."""
    from trainers.models.adversarial import adversarial_step, per_sample

    def pair(with_norm: bool):
        torch.manual_seed(0)
        generator = nn.Sequential(nn.Linear(4, 32), nn.LeakyReLU(0.2), nn.Linear(32, 2))
        discriminator = nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))
        if with_norm:
            norm = nn.BatchNorm1d(1, eps=1e-5, affine=False).eval()
            norm.running_var.fill_(1 - 1e-5)  # (x - 0) / sqrt(var + eps) == x
            discriminator = nn.Sequential(discriminator, norm)
        # SGD: Adam's first step is about lr * sign(gradient), which float rounding can flip
        return (generator, discriminator, torch.optim.SGD(generator.parameters(), 0.1),
                torch.optim.SGD(discriminator.parameters(), 0.1))

    real, noise = torch.randn(16, 2) + 3, torch.randn(16, 4)
    one_pass, two_passes = pair(False), pair(True)
    assert per_sample(one_pass[1]) and not per_sample(two_passes[1])
    outs = [adversarial_step(*nets, real, noise, get_objective(objective), rng=torch.Generator().manual_seed(1))
            for nets in (one_pass, two_passes)]
    for key in ("loss_d", "loss_g", "d_real", "d_fake"):
        assert torch.allclose(outs[0][key], outs[1][key], atol=1e-6), key
    for a, b in zip([*one_pass[0].parameters(), *one_pass[1].parameters()],
                    [*two_passes[0].parameters(), *two_passes[1][0].parameters()]):
        assert torch.allclose(a, b, atol=1e-6)
    assert not torch.equal(one_pass[1][0].weight, pair(False)[1][0].weight)  # D did move


def test_discriminators_that_read_the_whole_batch_judge_real_and_fake_apart():
    """Batch norm, and ProGAN's minibatch standard deviation, see every sample of a batch: a batch
    of real and fake together would hide a collapsed generator's low spread."""
    from trainers.models.adversarial import per_sample
    from trainers.model import GANModel

    judged_apart = {name: not per_sample(GANModel.from_config(name, {}).networks["discriminator"])
                    for name in ("progan", "dcgan", "mlp-gan", "wgan-gp")}
    assert judged_apart == {"progan": True, "dcgan": True, "mlp-gan": False, "wgan-gp": False}
