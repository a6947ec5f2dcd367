"""Model families by name: an explicit dict, no import by string."""

from __future__ import annotations

from .errors import ConfigError
from .family import FamilySpec
from .models import (aae, aae_gan, autoencoder, bigan, cgan, cyclegan, dcgan, dip_inpaint, domain_classifier, egan,
                     esrgan, lsgan, mc_gan, mlp_gan, multiclass_discriminator, pix2pix, progan, srgan, vanilla_gan,
                     wgan, wgan_gp)

MODELS: dict[str, FamilySpec] = {spec.name: spec for spec in (
    mlp_gan.SPEC,
    dcgan.SPEC,
    egan.SPEC,
    progan.SPEC,
    vanilla_gan.SPEC,
    lsgan.SPEC,
    cgan.SPEC,
    wgan.SPEC,
    wgan_gp.SPEC,
    mc_gan.SPEC,
    multiclass_discriminator.SPEC,
    domain_classifier.SPEC,
    autoencoder.SPEC,
    aae.SPEC,
    aae_gan.SPEC,
    bigan.SPEC,
    pix2pix.SPEC,
    cyclegan.SPEC,
    srgan.SPEC,
    esrgan.SPEC,
    dip_inpaint.SPEC,
)}


def get_family(name: str) -> FamilySpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}") from None
