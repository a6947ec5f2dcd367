"""The family contract, over the whole registry: every model family, at a tiny size on the CPU.

One step gives finite losses, samples have the right shape and range, save/load round-trips
exactly, and the strict config rejects an unknown key. A new family is covered by registering it.
"""

from __future__ import annotations

import math

import pytest
import torch

from trainers.config import from_dict
from trainers.data import Dataset, inpainting_choices, list_datasets, load_dataset
from trainers.engine import RunConfig, Trainer
from trainers.errors import ConfigError
from trainers.model import GANModel
from trainers.registry import MODELS

#: The smallest sizes the families accept, so the contract runs in seconds; keys a family lacks are
#: ignored. pretrain_steps=1: the super-resolution families' second step is already adversarial.
TINY_KEYS = {"g_width": 8, "d_width": 8, "hidden": 16, "latent_dim": 8, "width": 8, "base_width": 8,
             "growth": 4, "blocks": 1, "res_blocks": 1, "input_depth": 4, "pretrain_steps": 1, "d_layers": 1}
#: An offline dataset of each kind: toys, scikit-learn's digits, and digit pairs made from them.
TINY_DATASETS = {"points": "ring", "image": "digits", "pairs": "digits", "unpaired": "digits",
                 "masked": "inpaint:camera:box"}
DATA_KINDS = set(TINY_DATASETS)


def digit_pairs(pairing: str) -> Dataset:
    """Offline image-to-image data: each 8x8 digit (source; grey, or RGB for two unpaired domains
    of the same channels) and its negative in colour (target)."""
    digits = load_dataset("digits")
    negative = (255 - digits.data).expand(-1, 3, -1, -1).contiguous()
    sources = digits.data if pairing == "paired" else digits.data.expand(-1, 3, -1, -1).contiguous()
    return Dataset("digit-pairs", negative, digits.labels, digits.class_names, sources=sources, pairing=pairing)


def tiny_run(name: str, tmp_path=None, steps: int = 2) -> RunConfig:
    spec = MODELS[name]
    fields = {f for f in spec.config_cls.__dataclass_fields__}
    overrides = {k: v for k, v in TINY_KEYS.items() if k in fields}
    dataset = TINY_DATASETS[spec.data_kinds[0]]
    return RunConfig(model=name, dataset=dataset, steps=steps, batch_size=16, log_every=1,
                     sample_every=1, overrides=overrides, out=str(tmp_path / name) if tmp_path else None,
                     image_size=64 if dataset.startswith("inpaint:") else 24 if spec.tile_scale else None)


def tiny_trainer(name: str, tmp_path=None, steps: int = 2) -> Trainer:
    kind = MODELS[name].data_kinds[0]
    given = digit_pairs("paired" if kind == "pairs" else "unpaired") if kind in ("pairs", "unpaired") else None
    return Trainer(tiny_run(name, tmp_path, steps), dataset=given)


@pytest.mark.parametrize("name", list(MODELS))
def test_one_step_gives_finite_losses_and_well_formed_samples(name):
    trainer = tiny_trainer(name)
    events = list(trainer.run())
    metrics = [e for e in events if e["type"] == "metrics"]
    assert metrics and all(math.isfinite(v) for e in metrics for v in e["losses"].values())
    assert any(k.startswith("loss_") for k in metrics[-1]["losses"])
    samples = [e for e in events if e["type"] == "samples"]
    assert events[-1]["type"] == "done"
    if MODELS[name].preview is not None:  # image-to-image: before/after grids with their figures
        assert samples and all("preview" in e for e in samples)
        assert samples[-1]["grid"].dtype.name == "uint8" and samples[-1]["grid"].shape[2] == 3
        assert all(math.isfinite(v) for v in samples[-1]["preview"]["metrics"].values())
        with pytest.raises(ConfigError, match="no noise"):
            trainer.model.sample(8, seed=0)
        return
    if not MODELS[name].has_generator:  # a classifier: no grids, and sampling says why
        assert not samples
        with pytest.raises(ConfigError, match="no generator"):
            trainer.model.sample(8, seed=0)
        return
    assert samples
    drawn = trainer.model.sample(8, seed=0)
    if trainer.dataset.kind == "image":
        assert drawn.shape[1:] == trainer.dataset.sample_shape
        assert drawn.min() >= -1 and drawn.max() <= 1
        assert samples[-1]["grid"].dtype.name == "uint8" and samples[-1]["grid"].shape[2] == 3
    else:
        assert drawn.shape == (8, trainer.dataset.sample_shape[0])


@pytest.mark.parametrize("name", list(MODELS))
def test_save_then_load_gives_identical_samples(name, tmp_path):
    trainer = tiny_trainer(name, tmp_path)
    list(trainer.run())
    loaded = GANModel.from_pretrained(tmp_path / name)
    spec = MODELS[name]
    if spec.preview is not None:  # image-to-image: the same before/after rows from the loaded folder
        target, source = trainer.preview_target, trainer.preview_source
        before = spec.preview(trainer.model.config, trainer.model.networks, target, source)
        after = spec.preview(loaded.config, loaded.networks, target, source)
        assert all(torch.equal(a, b) for a, b in zip(before.rows, after.rows))
        return
    if not spec.has_generator:  # nothing to sample: the weights themselves round-trip
        saved, back = trainer.model.networks.state_dict(), loaded.networks.state_dict()
        assert saved.keys() == back.keys() and all(torch.equal(saved[k], back[k]) for k in saved)
        return
    assert torch.equal(trainer.model.sample(8, seed=3), loaded.sample(8, seed=3))


@pytest.mark.parametrize("name", list(MODELS))
def test_strict_config_rejects_an_unknown_key(name):
    with pytest.raises(ConfigError, match="no_such_key"):
        from_dict(MODELS[name].config_cls, {"no_such_key": 1})


@pytest.mark.parametrize("name", list(MODELS))
def test_registration_is_complete(name):
    spec = MODELS[name]
    assert spec.description and spec.paper.startswith("http")
    assert set(spec.data_kinds) <= DATA_KINDS
    assert list_datasets(spec.data_kinds[0]) or (spec.data_kinds == ("masked",) and inpainting_choices())
    if set(spec.data_kinds) - {"points", "image"}:  # image-to-image data: before/after previews
        assert spec.preview is not None
    assert all(name in list_datasets() for name in spec.suggested_datasets)
    for preset in spec.presets.values():
        from_dict(spec.config_cls, preset)  # every preset is a valid config


ENCODER_FAMILIES = [name for name, spec in MODELS.items() if spec.encode is not None]


@pytest.mark.parametrize("name", ENCODER_FAMILIES)
def test_encoder_families_encode_and_rebuild_images(name):
    trainer = Trainer(tiny_run(name))
    list(trainer.run())
    x = trainer.dataset.to_model_range(trainer.dataset.data[:5])
    codes = trainer.model.encode(x)
    assert codes.shape == (5, trainer.model.config.latent_dim) and torch.isfinite(codes).all()
    rebuilt = trainer.model.reconstruct(x)
    assert rebuilt.shape == x.shape and rebuilt.min() >= -1 and rebuilt.max() <= 1
    assert torch.equal(trainer.model.encode(x), codes)  # encoding is read-only (eval-mode batch norm)


def _state(networks, which) -> dict[str, torch.Tensor]:
    return {f"{n}.{k}": v.clone() for n in which for k, v in networks[n].state_dict().items()}


#: families with a discriminator beside encoders or image-to-image generators
SIDED_FAMILIES = [n for n in ENCODER_FAMILIES if n != "autoencoder"] + ["pix2pix", "cyclegan", "srgan", "esrgan"]


@pytest.mark.parametrize("name", SIDED_FAMILIES)
@pytest.mark.parametrize("update", ["d", "g"])
def test_single_steps_move_only_their_side(name, update):
    """Step D changes only the discriminators (weights and batch-norm statistics); Step G only
    the encoder and generator/decoder: the lab's single steps. (CycleGAN's image histories and
    ESRGAN's PSNR-model snapshot are neither side.)"""
    trainer = tiny_trainer(name)
    networks = trainer.model.networks
    judges = [n for n in networks if "discriminator" in n]
    players = [n for n in networks if n not in judges and not n.startswith("pool") and n != "generator_psnr"]
    still = players if update == "d" else judges
    moving = judges if update == "d" else players
    before_still, before_moving = _state(networks, still), _state(networks, moving)
    real, labels = trainer.dataset.batch(torch.arange(16))
    step = 1  # past the super-resolution families' one pre-training step (tiny_run sets pretrain_steps=1)
    trainer.family.train_step(trainer.model.config, networks, trainer.optimizers, real, labels, step,
                              torch.Generator().manual_seed(0), update)
    after_still, after_moving = _state(networks, still), _state(networks, moving)
    assert all(torch.equal(before_still[k], after_still[k]) for k in before_still)
    assert any(not torch.equal(before_moving[k], after_moving[k]) for k in before_moving)
