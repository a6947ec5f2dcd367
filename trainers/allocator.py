"""The C allocator's settings for training: without torch, so the app can set them before a run
imports it."""

from __future__ import annotations

import ctypes
import functools
import platform

from .settings import switch_setting

#: glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
#: blocks from this size on are mapped (and unmapped when freed). Not glibc's largest default, 32 MB:
#: x4 super-resolution of a 256x256 picture (256 MB activations) takes 515 ms with its blocks from the
#: heap, 708 ms at 32 MB and 790 ms by default. Older glibc refuses more than 32 MB: then 32 MB.
_MMAP_THRESHOLDS = (512 << 20, 32 << 20)


@functools.cache
def keep_freed_memory() -> bool:
    """Have glibc keep the memory a training step frees for the next step, rather than hand it back
    to the kernel and fault in fresh zeroed pages for the next step's activations. Once per process;
    returns whether it is in effect.

    By default glibc maps big blocks afresh (from 128 KB, a threshold it raises up to 32 MB as it
    goes) and trims its heaps, a thread's arena included, as soon as they have room at the top: on
    the 2-core CPU DCGAN's step on MNIST faulted in 8,000-10,000 pages (about 40 MB), and none with
    these settings. Measured in two processes, interleaved (bench/allocator.py): DCGAN 28x28
    1.17x, WGAN-GP 1.10x, DCGAN 64x64 0.99-1.04x (its step is mostly arithmetic) and the 2-D MLP
    GAN 0.99-1.01x (arrays too small to be mapped). Blocks under 512 MB come from the heap, which
    keeps up to 1 GB free, and threads started later (the playground's training threads) share the
    main arena, whose heap grows where a thread's 64 MB heaps would be mapped and unmapped. The
    cost: the process holds on to memory it freed (80-130 MB more after a tiled x4 super-resolution
    of 1024x1024, whose peak is unchanged), and more where big blocks of one size come and go:
    torch's blocks are aligned (posix_memalign), and the small piece glibc trims off one stays
    between the freed block and the heap's top, so the next block of that size does not fit in the
    hole. A loop of 100 MB tensors grew the process by 901 MB, and no further (nine blocks). Off with
    ``GAN_KEEP_FREED_MEMORY=0``, and where the C library is not glibc (macOS, Windows, musl), whose
    allocators are left as they are."""
    if not switch_setting("GAN_KEEP_FREED_MEMORY", default=True) or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mapped_from = any(mallopt(_M_MMAP_THRESHOLD, size) == 1 for size in _MMAP_THRESHOLDS)
    return mapped_from and mallopt(_M_TRIM_THRESHOLD, 1 << 30) == 1 and mallopt(_M_ARENA_MAX, 1) == 1
