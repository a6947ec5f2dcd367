"""Deterministic seeds derived from a run's seed, so any step can be replayed after a resume, and
the one way to draw from torch's global generator with a seed of one's own."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from typing import Iterator

import torch

#: torch's global generator is one per process, and sessions train on threads of one process:
#: whatever seeds it and draws from it, or builds networks (their initial weights come from it),
#: holds this, so two threads' draws never interleave and a seed always gives the same weights.
#: Re-entrant: a seeded draw builds networks inside it.
global_rng_lock = threading.RLock()


def mix_seed(*parts: int | str) -> int:
    """A 63-bit seed from any parts; stable across processes (unlike ``hash`` of a str)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & 0x7FFF_FFFF_FFFF_FFFF


@contextlib.contextmanager
def seeded_global_rng(seed: int) -> Iterator[None]:
    """Draw from torch's global generator seeded with ``seed``, no other thread drawing meanwhile,
    and leave it as it was for the caller."""
    with global_rng_lock, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
