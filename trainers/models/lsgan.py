"""lsgan: Least Squares GAN (Mao et al., 2017) on DCGAN's networks.

Paper: https://arxiv.org/abs/1611.04076. Kept: the least-squares objective with the paper's
0-1 coding, a=0 (fake), b=1 (real), c=1 (what G wants D to say):
D minimises 1/2 E[(D(x)-1)^2] + 1/2 E[D(G(z))^2] and G minimises 1/2 E[(D(G(z))-1)^2]
(trainers/objectives.py), with a linear D output and Adam(beta1=0.5).
Changed: the networks are DCGAN's (trainers/models/dcgan.py, imported, not copied) rather than
the paper's wider 112x112 scene architecture, so MNIST, CIFAR-10 and folders of 8-128 px images
train as with dcgan; the objective is fixed (use dcgan to compare it with the others).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..config import field
from ..family import FamilySpec, image_fields
from .adversarial import adversarial_critic, gan_train_step, gaussian_noise, make_adam_pair, sample_generator
from .dcgan import Discriminator, Generator, init_weights, upsamplings


@dataclass
class LSGANConfig:
    image_size: int = field(28, "image side in pixels (set from the dataset)", range=(8, 256))
    channels: int = field(1, "image channels (set from the dataset)", choices=(1, 3))
    latent_dim: int = field(100, "size of the noise vector z", range=(1, 512))
    g_width: int = field(64, "generator feature maps at its last hidden layer (ngf)", range=(4, 512))
    d_width: int = field(64, "discriminator feature maps at its first layer (ndf)", range=(4, 512))
    objective: str = field("least-squares", "the GAN loss: least squares with a=0, b=c=1 (fixed)",
                           choices=("least-squares",))
    d_norm: str = field("batch", "normalisation in D's hidden layers", choices=("batch", "layer", "none"))
    lr_g: float = field(2e-4, "generator learning rate (Adam)", range=(1e-6, 1.0))
    lr_d: float = field(2e-4, "discriminator learning rate (Adam)", range=(1e-6, 1.0))
    beta1: float = field(0.5, "Adam beta1 for both networks", range=(0.0, 0.999))
    beta2: float = field(0.999, "Adam beta2 for both networks", range=(0.0, 0.9999))

    def check(self) -> None:
        upsamplings(self.image_size)

    @property
    def critic_norm(self) -> str:  # what dcgan.Discriminator reads
        return self.d_norm


def build(config: LSGANConfig) -> nn.ModuleDict:
    # the same stacks as dcgan: G (B, z) -> (B, C, size, size), D (B, C, size, size) -> (B,) raw scores
    networks = nn.ModuleDict({"generator": Generator(config), "discriminator": Discriminator(config)})
    networks.apply(init_weights)
    return networks


SPEC = FamilySpec(
    name="lsgan",
    description="Least-squares GAN on DCGAN's networks: D regresses real to 1 and fake to 0",
    paper="https://arxiv.org/abs/1611.04076",
    config_cls=LSGANConfig,
    data_kinds=("image",),
    build=build,
    make_optimizers=make_adam_pair,
    train_step=gan_train_step,
    sample=sample_generator,
    critic=adversarial_critic,
    noise=gaussian_noise,
    data_fields=image_fields,
    presets={
        "cpu-small": {"g_width": 32, "d_width": 32},
        "paper": {"g_width": 64, "d_width": 64, "lr_g": 2e-4, "lr_d": 2e-4},
    },
)
