"""GAN Playground's trainer library: data, model families, objectives, engine, checkpoints.

Torch only: nothing here imports a UI package.
"""

__version__ = "0.1.0"
