"""Sample-quality metrics. Toy-data metrics for now; FID/KID/IS arrive with the metrics issue."""

from .toy import mode_coverage

__all__ = ["mode_coverage"]
