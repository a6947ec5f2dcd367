"""Settings read from environment variables, one way everywhere.

An operator's typo must stop the work with a message that names the variable: ``GAN_OFFLINE=on``
read as "not offline", or a raw ``ValueError`` from ``int("x")``, would each hide the mistake.
"""

from __future__ import annotations

import os
from typing import Mapping

from .errors import ConfigError

ON_WORDS = ("1", "true", "yes", "on")
OFF_WORDS = ("0", "false", "no", "off")


def switch_setting(name: str, default: bool = False, environ: Mapping[str, str] | None = None) -> bool:
    """A yes/no variable: 1, true, yes, on (any case) or 0, false, no, off; ``default`` when unset
    or blank; anything else is a :class:`ConfigError`."""
    environ = os.environ if environ is None else environ
    text = environ.get(name, "").strip()
    if not text:
        return default
    if text.lower() in ON_WORDS:
        return True
    if text.lower() in OFF_WORDS:
        return False
    raise ConfigError(f"{name}={text!r}: set it to 1 or 0, or unset it")


def whole_number_setting(name: str, default: int | None, minimum: int = 1, maximum: int | None = None,
                         environ: Mapping[str, str] | None = None) -> int | None:
    """A whole-number variable from ``minimum`` to ``maximum`` (``default`` when unset or blank);
    anything else is a :class:`ConfigError`."""
    environ = os.environ if environ is None else environ
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        number = int(text)
    except ValueError:
        number = None
    if number is None or number < minimum or (maximum is not None and number > maximum):
        wanted = f"of at least {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise ConfigError(f"{name}={text!r}: set it to a whole number {wanted}, or unset it")
    return number
