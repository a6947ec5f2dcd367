"""Sample-quality metrics, shared by every family, the CLI's ``evaluate`` and the playground.

- :mod:`.features`: the feature networks (Inception-v3 when its weights are here; the project's
  domain classifiers always) and the disk cache of real images' features
- :mod:`.sample_quality`: FID, KID, IS, precision/recall, density/coverage, class coverage
- :mod:`.quality`: offline reports of a generator and the live monitor the engine runs
- :mod:`.toy`: modes covered and grid divergences of 2-D toys
- :mod:`.image_quality`, :mod:`.image_to_image`: PSNR/SSIM for translation and super-resolution
- :mod:`.representation`: linear probes of encoders
"""

from .toy import grid_divergences, mode_coverage

__all__ = ["grid_divergences", "mode_coverage"]
