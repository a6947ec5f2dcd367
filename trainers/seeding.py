"""Deterministic seeds derived from a run's seed, so any step can be replayed after a resume."""

from __future__ import annotations

import hashlib


def mix_seed(*parts: int | str) -> int:
    """A 63-bit seed from any parts; stable across processes (unlike ``hash`` of a str)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & 0x7FFF_FFFF_FFFF_FFFF
