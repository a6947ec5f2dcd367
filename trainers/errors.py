"""Errors the library raises for bad input.

All subclass ``ValueError`` so callers that only know Python's built-ins still catch them, and
all carry a message meant for a person: front ends show it as it is.
"""


class PlaygroundError(ValueError):
    """Base class: something the user asked for cannot be done as asked."""


class ConfigError(PlaygroundError):
    """An unknown model, an unknown or mistyped config key, or a value out of range."""


class DatasetUnavailable(PlaygroundError):
    """A dataset's files are missing and cannot be downloaded (or the name is unknown)."""


class CheckpointError(PlaygroundError):
    """A checkpoint folder is missing, incomplete, or was written by something else."""
