"""Strict configs: overrides on the real family configs and RunConfig refuse unknown keys, wrong
types, bools for numbers, values out of range or outside the choices, by name; lossless int ->
float coercion is allowed."""

from __future__ import annotations

import dataclasses
import json

import pytest

from trainers.config import apply_overrides, describe, from_dict, to_dict
from trainers.engine import RunConfig
from trainers.errors import ConfigError, PlaygroundError
from trainers.models.dcgan import DCGANConfig, upsamplings
from trainers.models.mlp_gan import MLPGANConfig
from trainers.registry import MODELS, get_family

CONFIGS = [DCGANConfig, MLPGANConfig, RunConfig]


def error_of(cls, overrides) -> str:
    with pytest.raises(ConfigError) as info:
        apply_overrides(cls(), overrides)
    return str(info.value)


# ----- unknown keys --------------------------------------------------------------------


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_unknown_key_names_it_and_lists_the_valid_keys(cls):
    message = error_of(cls, {"lr_gg": 1})
    assert "lr_gg" in message
    assert "valid keys" in message
    for f in dataclasses.fields(cls):
        assert f.name in message


def test_several_unknown_keys_are_all_named():
    message = error_of(DCGANConfig, {"zz_top": 1, "aa_first": 2, "g_width": 8})
    assert "aa_first" in message and "zz_top" in message


def test_an_unknown_key_does_not_touch_the_base():
    base = DCGANConfig()
    with pytest.raises(ConfigError):
        apply_overrides(base, {"g_width": 8, "typo": 1})
    assert base == DCGANConfig()


def test_overrides_return_a_validated_copy():
    base = MLPGANConfig()
    updated = apply_overrides(base, {"hidden": 32, "objective": "minimax"})
    assert updated.hidden == 32 and updated.objective == "minimax"
    assert base.hidden == 128 and base.objective == "non-saturating"  # unchanged
    assert apply_overrides(base, None) == base


# ----- types ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls, key, value", [
    (DCGANConfig, "g_width", "wide"),
    (DCGANConfig, "g_width", 8.5),
    (DCGANConfig, "g_width", [8]),
    (DCGANConfig, "lr_g", "fast"),
    (DCGANConfig, "lr_g", None),
    (DCGANConfig, "objective", 3),
    (MLPGANConfig, "hidden", "32"),
    (RunConfig, "steps", "100"),
    (RunConfig, "model", None),
    (RunConfig, "out", 5),
    (RunConfig, "image_size", "28"),
    (RunConfig, "overrides", [("lr_g", 1)]),
])
def test_wrong_type_is_an_error_naming_the_key(cls, key, value):
    message = error_of(cls, {key: value})
    assert message.startswith(f"{key}:")
    assert repr(value) in message


@pytest.mark.parametrize("cls, key", [
    (DCGANConfig, "g_width"), (DCGANConfig, "latent_dim"), (DCGANConfig, "lr_d"),
    (MLPGANConfig, "hidden"), (MLPGANConfig, "lr_g"), (RunConfig, "steps"), (RunConfig, "batch_size"),
])
def test_a_bool_is_not_a_number(cls, key):
    # True == 1 in Python; a config must not read a checkbox as a width or a learning rate
    message = error_of(cls, {key: True})
    assert message.startswith(f"{key}:") and "True" in message


def test_a_number_is_not_a_bool():
    @dataclasses.dataclass
    class WithFlag:
        flag: bool = False

    with pytest.raises(ConfigError, match="flag: expected true or false"):
        apply_overrides(WithFlag(), {"flag": 1})
    assert apply_overrides(WithFlag(), {"flag": True}).flag is True


def test_int_to_float_and_integral_float_to_int_are_coerced():
    config = apply_overrides(DCGANConfig(), {"lr_g": 1, "beta1": 0, "g_width": 8.0})
    assert config.lr_g == 1.0 and type(config.lr_g) is float
    assert config.beta1 == 0.0 and type(config.beta1) is float
    assert config.g_width == 8 and type(config.g_width) is int
    run = apply_overrides(RunConfig(), {"sample_interval_s": 2, "image_size": 32.0})
    assert type(run.sample_interval_s) is float and run.image_size == 32 and type(run.image_size) is int


def test_optional_fields_accept_none_and_their_type():
    run = apply_overrides(RunConfig(), {"out": "runs/x", "image_size": 32, "data_dir": None})
    assert run.out == "runs/x" and run.image_size == 32 and run.data_dir is None
    run = apply_overrides(run, {"out": None, "image_size": None})
    assert run.out is None and run.image_size is None


# ----- ranges and choices --------------------------------------------------------------


@pytest.mark.parametrize("cls, key, value", [
    (DCGANConfig, "g_width", 3),
    (DCGANConfig, "d_width", 513),
    (DCGANConfig, "lr_g", 0.0),
    (DCGANConfig, "lr_d", 2.0),
    (DCGANConfig, "beta1", 1.0),
    (MLPGANConfig, "hidden", 2),
    (MLPGANConfig, "data_dim", 3),
    (MLPGANConfig, "g_layers", 0),
    (RunConfig, "steps", 0),
    (RunConfig, "steps", -5),
    (RunConfig, "batch_size", 0),
    (RunConfig, "batch_size", 5000),
    (RunConfig, "log_every", 0),
    (RunConfig, "image_size", 4),
    (RunConfig, "sample_interval_s", -1.0),
])
def test_out_of_range_is_an_error_naming_the_key_and_the_range(cls, key, value):
    message = error_of(cls, {key: value})
    assert message.startswith(f"{key}:")
    assert "outside the allowed range" in message
    low, high = next(f.metadata["range"] for f in dataclasses.fields(cls) if f.name == key)
    assert str(low) in message and str(high) in message


def test_range_bounds_are_inclusive():
    config = apply_overrides(DCGANConfig(), {"g_width": 4, "d_width": 512, "lr_g": 1.0})
    assert (config.g_width, config.d_width, config.lr_g) == (4, 512, 1.0)


@pytest.mark.parametrize("cls, key, value", [
    (DCGANConfig, "objective", "wgan"),  # not an objective name (wasserstein or wgan-gp)
    (DCGANConfig, "objective", "Minimax"),
    (DCGANConfig, "channels", 2),
    (MLPGANConfig, "objective", "hinge"),
])
def test_value_outside_the_choices_is_an_error_listing_them(cls, key, value):
    message = error_of(cls, {key: value})
    assert message.startswith(f"{key}:") and repr(value) in message
    choices = next(f.metadata["choices"] for f in dataclasses.fields(cls) if f.name == key)
    for choice in choices:
        assert str(choice) in message


def test_every_objective_choice_of_each_family_is_accepted():
    for spec in MODELS.values():
        for name in spec.objectives:
            assert apply_overrides(spec.config_cls(), {"objective": name}).objective == name


# ----- dcgan's image size ---------------------------------------------------------------


@pytest.mark.parametrize("size, expected", [
    (8, (4, 1)), (14, (7, 1)), (16, (4, 2)), (28, (7, 2)), (32, (4, 3)), (56, (7, 3)),
    (64, (4, 4)), (128, (4, 5)), (224, (7, 5)), (256, (4, 6)),
])
def test_dcgan_image_sizes_of_4_or_7_times_a_power_of_two(size, expected):
    assert upsamplings(size) == expected
    assert apply_overrides(DCGANConfig(), {"image_size": size}).image_size == size


@pytest.mark.parametrize("size", [9, 12, 20, 24, 48, 100, 96, 255])
def test_dcgan_other_image_sizes_are_config_errors(size):
    message = error_of(DCGANConfig, {"image_size": size})
    assert message.startswith("image_size:") and str(size) in message


def test_dcgan_builds_for_each_valid_size_with_matching_shapes():
    import torch

    spec = get_family("dcgan")
    for size, channels in ((8, 1), (28, 1), (32, 3)):
        config = from_dict(DCGANConfig, {"image_size": size, "channels": channels, "g_width": 4,
                                         "d_width": 4, "latent_dim": 4})
        networks = spec.build(config)
        fake = networks["generator"](torch.randn(2, 4))
        assert fake.shape == (2, channels, size, size)
        assert networks["discriminator"](fake).shape == (2,)


# ----- plumbing: round trip, describe, error class ---------------------------------------


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_to_dict_is_json_and_from_dict_round_trips(cls):
    config = cls()
    text = json.dumps(to_dict(config))
    assert from_dict(cls, json.loads(text)) == config


def test_from_dict_fills_defaults_and_stays_strict():
    assert from_dict(MLPGANConfig, {"hidden": 32}) == dataclasses.replace(MLPGANConfig(), hidden=32)
    assert from_dict(MLPGANConfig, None) == MLPGANConfig()
    with pytest.raises(ConfigError, match="unknown config key"):
        from_dict(MLPGANConfig, {"hiden": 32})


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_describe_documents_every_field(cls):
    rows = {row["name"]: row for row in describe(cls)}
    assert set(rows) == {f.name for f in dataclasses.fields(cls)}
    for name, row in rows.items():
        assert row["help"].strip(), f"{cls.__name__}.{name} has no help"
    if cls is DCGANConfig:
        assert rows["g_width"]["range"] == (4, 512) and rows["g_width"]["type"] == "int"
        assert "least-squares" in rows["objective"]["choices"]


def test_config_errors_are_value_errors_for_callers_that_only_know_builtins():
    with pytest.raises(ValueError):
        apply_overrides(DCGANConfig(), {"nope": 1})
    assert issubclass(ConfigError, PlaygroundError)


def test_unknown_family_is_a_config_error_naming_the_choices():
    with pytest.raises(ConfigError) as info:
        get_family("stylegan9")
    assert "stylegan9" in str(info.value)
    for name in MODELS:
        assert name in str(info.value)


def test_presets_are_valid_configs():
    for spec in MODELS.values():
        for name, values in spec.presets.items():
            apply_overrides(spec.config_cls(), values)  # raises if a preset names a bad key
