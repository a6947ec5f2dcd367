"""DCGAN's moving average of G's weights (``ema_decay``): it follows G by the stated rule, it is
what samples come from, and it survives saving, resuming and starting from other weights."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from trainers.engine import RunConfig, Trainer
from trainers.errors import ConfigError
from trainers.model import GANModel
from trainers.models.adversarial import AVERAGED_GENERATOR, average_decay, evaluating, gan_train_step

TINY = {"g_width": 8, "d_width": 8, "latent_dim": 16, "image_size": 8}


def tiny_run(ema_decay: float, **changes: Any) -> RunConfig:
    values = {"model": "dcgan", "dataset": "digits", "overrides": {**TINY, "ema_decay": ema_decay}, "steps": 6,
              "batch_size": 16, "device": "cpu", "log_every": 1, "sample_every": 1_000_000, "seed": 5}
    values.update(changes)
    return RunConfig(**values)


def weights(network: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in network.parameters()]


def test_the_average_follows_g_by_the_warmed_up_rule_and_never_trains():
    torch.manual_seed(0)
    model = GANModel.from_config("dcgan", {**TINY, "ema_decay": 0.9})
    networks = model.networks
    optimizers = model.family.make_optimizers(model.config, networks)
    trained = {id(p) for o in optimizers.values() for group in o.param_groups for p in group["params"]}
    assert not any(id(p) in trained or p.requires_grad for p in networks[AVERAGED_GENERATOR].parameters())
    # it starts as G
    assert all(torch.equal(a, b) for a, b in zip(weights(networks[AVERAGED_GENERATOR]), weights(networks["generator"])))

    expected = weights(networks["generator"])
    real = torch.rand(16, 1, 8, 8) * 2 - 1
    rng = torch.Generator().manual_seed(1)
    for step in range(12):
        gan_train_step(model.config, networks, optimizers, real, None, step=step, rng=rng)
        decay = average_decay(0.9, step)
        expected = [e * decay + g * (1 - decay) for e, g in zip(expected, weights(networks["generator"]))]
    kept = weights(networks[AVERAGED_GENERATOR])
    assert all(torch.allclose(k, e, atol=1e-6) for k, e in zip(kept, expected))
    assert not all(torch.allclose(k, g, atol=1e-4) for k, g in zip(kept, weights(networks["generator"])))
    # early steps follow G closely (warm-up), the decay reaches the configured value later
    assert average_decay(0.9, 0) == pytest.approx(0.1) and average_decay(0.9, 1000) == 0.9
    # batch-norm statistics are G's current ones
    for a, b in zip(networks[AVERAGED_GENERATOR].buffers(), networks["generator"].buffers()):
        assert torch.equal(a, b)

    # samples come from the average, not from G
    z = model.noise(8, seed=3)
    with evaluating(networks[AVERAGED_GENERATOR]):
        from_average = networks[AVERAGED_GENERATOR](z)
    assert torch.equal(model.sample(8, seed=3), from_average)
    with evaluating(networks["generator"]):
        assert not torch.allclose(networks["generator"](z), from_average, atol=1e-4)


def test_without_ema_decay_there_is_no_average():
    assert AVERAGED_GENERATOR not in GANModel.from_config("dcgan", TINY).networks


@pytest.mark.parametrize("decay", [-0.1, 1.0, 2.0])
def test_an_ema_decay_out_of_range_is_refused_by_name(decay):
    with pytest.raises(ConfigError, match="ema_decay"):
        GANModel.from_config("dcgan", {**TINY, "ema_decay": decay})


def test_a_saved_average_loads_and_a_resumed_run_repeats_an_unbroken_one(tmp_path):
    unbroken = Trainer(tiny_run(0.8, steps=8))
    list(unbroken.run())
    first = Trainer(tiny_run(0.8, steps=4, out=str(tmp_path / "half")))
    list(first.run())
    loaded = GANModel.from_pretrained(tmp_path / "half")
    assert AVERAGED_GENERATOR in loaded.stored_networks
    assert torch.equal(loaded.sample(8, seed=2), first.model.sample(8, seed=2))
    resumed = Trainer.from_checkpoint(tmp_path / "half", steps=8)
    list(resumed.run())
    ours, theirs = resumed.model.networks.state_dict(), unbroken.model.networks.state_dict()
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_starting_from_weights_with_or_without_an_average(tmp_path):
    list(Trainer(tiny_run(0.0, steps=3, out=str(tmp_path / "plain"))).run())
    list(Trainer(tiny_run(0.9, steps=3, out=str(tmp_path / "averaged"))).run())
    plain = GANModel.from_pretrained(tmp_path / "plain").networks
    averaged = GANModel.from_pretrained(tmp_path / "averaged").networks

    # an averaging run from plain weights: the average starts as the loaded G
    start = Trainer(tiny_run(0.9, init_from=str(tmp_path / "plain"))).model.networks
    for name in ("generator", AVERAGED_GENERATOR):
        assert all(torch.equal(a, b) for a, b in zip(weights(start[name]), weights(plain["generator"])))
    # a plain run from averaged weights: G is the trained G (the average is dropped)
    start = Trainer(tiny_run(0.0, init_from=str(tmp_path / "averaged"))).model.networks
    assert AVERAGED_GENERATOR not in start
    assert all(torch.equal(a, b) for a, b in zip(weights(start["generator"]), weights(averaged["generator"])))
    # an averaging run from averaged weights keeps their average
    start = Trainer(tiny_run(0.5, init_from=str(tmp_path / "averaged"))).model.networks
    assert all(torch.equal(a, b) for a, b in zip(weights(start[AVERAGED_GENERATOR]),
                                                  weights(averaged[AVERAGED_GENERATOR])))
