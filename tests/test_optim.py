"""PackedAdam (trainers/optim.py) is torch.optim.Adam: the same weights after every step, whatever
replaced its parameters, gradients or state in between."""

import copy

import pytest
import torch
from torch import nn

from trainers.checkpoint import flatten_optimizers, unflatten_optimizers
from trainers.models.adversarial import grad_norm
from trainers.models.mlp_gan import _mlp
from trainers.optim import PackedAdam


def _pair(decoupled: bool = False, weight_decay: float = 0.0):
    """An MLP with PackedAdam and its twin with PyTorch's fused Adam (AdamW), same settings."""
    torch.manual_seed(0)
    packed_net = _mlp(2, 16, 2, 1)
    plain_net = copy.deepcopy(packed_net)
    kind = torch.optim.AdamW if decoupled else torch.optim.Adam
    packed = PackedAdam(packed_net.parameters(), 1e-2, betas=(0.5, 0.999), weight_decay=weight_decay,
                        decoupled=decoupled)
    plain = kind(plain_net.parameters(), 1e-2, betas=(0.5, 0.999), weight_decay=weight_decay, fused=True)
    return packed_net, packed, plain_net, plain


def _autograd_step(net: nn.Module, optimizer: torch.optim.Optimizer, step: int, *, skip_first_layer=False):
    x = torch.randn(32, 2, generator=torch.Generator().manual_seed(step))
    optimizer.zero_grad(set_to_none=True)
    out = net[1:](torch.randn(32, 16, generator=torch.Generator().manual_seed(step))) if skip_first_layer else net(x)
    out.square().mean().backward()
    optimizer.step()


def _assert_same_weights(a: nn.Module, b: nn.Module):
    for (name, x), y in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.parametrize("decoupled, weight_decay", [(False, 0.0), (False, 0.1), (True, 0.1)])
def test_packed_adam_steps_as_pytorchs_adam(decoupled, weight_decay):
    packed_net, packed, plain_net, plain = _pair(decoupled, weight_decay)
    start = [p.detach().clone() for p in packed_net.parameters()]
    for step in range(8):
        _autograd_step(packed_net, packed, step)
        _autograd_step(plain_net, plain, step)
    _assert_same_weights(packed_net, plain_net)
    assert all(not torch.equal(p, s) for p, s in zip(packed_net.parameters(), start))
    # and the gradients it copied into its buffer are the ones autograd made
    assert torch.allclose(packed.grad_norm(), grad_norm(plain_net))


def test_packed_adam_skips_a_parameter_without_a_gradient_as_adam_does():
    packed_net, packed, plain_net, plain = _pair()
    for step in range(3):
        _autograd_step(packed_net, packed, step)
        _autograd_step(plain_net, plain, step)
    first = packed_net[0].weight.detach().clone()
    for step in range(3, 6):  # the first layer gets no gradient: Adam leaves it (and its moments) alone
        _autograd_step(packed_net, packed, step, skip_first_layer=True)
        _autograd_step(plain_net, plain, step, skip_first_layer=True)
    assert torch.equal(packed_net[0].weight, first)
    for step in range(6, 9):
        _autograd_step(packed_net, packed, step)
        _autograd_step(plain_net, plain, step)
    _assert_same_weights(packed_net, plain_net)


def test_packed_adam_follows_parameters_that_were_replaced():
    """``.to()`` another device or dtype-preserving copy replaces ``.data``: the step must still
    move the module's parameters, not the stale buffer."""
    packed_net, packed, plain_net, plain = _pair()
    for step in range(2):
        _autograd_step(packed_net, packed, step)
        _autograd_step(plain_net, plain, step)
    for p in packed_net.parameters():
        p.data = p.data.clone()
    for step in range(2, 5):
        _autograd_step(packed_net, packed, step)
        _autograd_step(plain_net, plain, step)
    _assert_same_weights(packed_net, plain_net)


@pytest.mark.parametrize("source", ["packed", "pytorch"])
def test_packed_adam_resumes_from_a_checkpoints_optimizer_state(source):
    """State saved as the engine saves it (safetensors + JSON), from PackedAdam or from a plain Adam
    (checkpoints written before it), loads into a fresh PackedAdam that then steps as if never stopped."""
    packed_net, packed, plain_net, plain = _pair()
    for step in range(3):
        _autograd_step(packed_net, packed, step)
        _autograd_step(plain_net, plain, step)
    saved_net, saved = (packed_net, packed) if source == "packed" else (plain_net, plain)
    tensors, rest = flatten_optimizers({"net": saved})
    resumed_net = _mlp(2, 16, 2, 1)
    resumed_net.load_state_dict(saved_net.state_dict())
    resumed = PackedAdam(resumed_net.parameters(), 1e-2, betas=(0.5, 0.999))
    unflatten_optimizers({"net": resumed}, tensors, rest)
    for step in range(3, 7):
        _autograd_step(resumed_net, resumed, step)
        _autograd_step(plain_net, plain, step)
    _assert_same_weights(resumed_net, plain_net)


def test_packed_adam_runs_registered_step_hooks_once():
    packed_net, packed, _, _ = _pair()
    calls = []
    packed.register_step_post_hook(lambda optimizer, args, kwargs: calls.append(1))
    for p in packed_net.parameters():
        p.grad = torch.ones_like(p)
    with torch.no_grad():
        packed.update()  # hooks registered: update() is step()
    assert calls == [1]
    packed_net[0].weight.grad = None  # Adam's own per-tensor step: hooks still run once, not twice
    packed.step()
    assert calls == [1, 1]


def test_packed_adam_update_outside_no_grad_steps_as_adam():
    packed_net, packed, plain_net, plain = _pair()
    for net in (packed_net, plain_net):
        net(torch.ones(4, 2)).sum().backward()
        net[0].bias.grad = None  # so the step is Adam's own, in place on the parameters themselves
    packed.update()  # in grad mode, as a caller may
    plain.step()
    _assert_same_weights(packed_net, plain_net)


def test_packed_adam_refuses_what_it_cannot_pack():
    net = _mlp(2, 8, 1, 1)
    with pytest.raises(ValueError, match="one parameter group"):
        PackedAdam([{"params": net[0].parameters()}, {"params": net[2].parameters()}], 1e-3)
    with pytest.raises(ValueError, match="one device and dtype"):
        PackedAdam([net[0].weight, nn.Parameter(torch.zeros(3, dtype=torch.float64))], 1e-3)


def test_packed_adam_refuses_a_closure():
    net = _mlp(2, 8, 1, 1)
    packed = PackedAdam(net.parameters(), 1e-3)
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(ValueError, match="no closure"):
        packed.step(lambda: torch.zeros(()))
    assert all(torch.equal(p, b) for p, b in zip(net.parameters(), before))
