"""Demo latencies on the CPU, and the memory of tiled super-resolution (figure 5).

Each demo is timed as the app runs it (``playground.demos``: input checks, the model, the
picture conversions, a GIF for the interpolation) against the bare model call on the same input
(``torch.inference_mode``, no conversions) in the same process: the ratio is what the playground
layer adds. Models are the shipped checkpoints, loaded once before timing, and freed memory is kept
for reuse as in the app (:func:`trainers.allocator.keep_freed_memory`): without it, the default
allocator maps x4 super-resolution's big blocks afresh each call (674 ms against 486 ms).

Peak memory of x4 super-resolution of a 2048x2048 picture is measured in a fresh process (its
peak resident set, ``ru_maxrss``), next to the same process's resident set just before the call
with the model, the input and the 8192x8192 output's worth of memory already counted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.timing import median_seconds

ROOT = Path(__file__).resolve().parents[1]


def _picture(side: int, seed: int = 0) -> np.ndarray:
    """A natural photograph (scikit-image's astronaut), resized: SR cost does not depend on content,
    but a real picture keeps the bicubic comparison meaningful."""
    from PIL import Image
    from skimage import data

    return np.asarray(Image.fromarray(data.astronaut()).resize((side, side), Image.BICUBIC))


def demo_latencies(repeats: int = 5) -> list[dict[str, Any]]:
    from playground import demos
    from trainers.allocator import keep_freed_memory
    from trainers.model import GANModel

    keep_freed_memory()  # as the app's session registry does at start
    dcgan = GANModel.from_pretrained(str(ROOT / "pretrained" / "dcgan_mnist"))
    srresnet = GANModel.from_pretrained(str(ROOT / "pretrained" / "srresnet_x4"))
    pix2pix = GANModel.from_pretrained(str(ROOT / "pretrained" / "pix2pix_facades"))
    small, facade = _picture(256), _picture(pix2pix.config.image_size)
    generator = dcgan.networks["generator"].eval()

    def bare(network_call, tensor):
        def call():
            with torch.inference_mode():
                network_call(tensor)
        return call

    def picture_tensor(picture: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(picture.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1

    cases = [
        ("64-image grid (dcgan_mnist)", lambda: demos.generate(dcgan, 0, 64),
         bare(generator, dcgan.noise(64, seed=0))),
        ("16-frame interpolation + GIF (dcgan_mnist)",
         lambda: demos.gif_bytes(demos.interpolation(dcgan, 0, 1, 16)["frames"]),
         bare(generator, dcgan.noise(16, seed=0))),
        ("x4 super-resolution of 256x256 (srresnet_x4, with bicubic beside it)",
         lambda: demos.super_resolve({"srresnet_x4": srresnet}, small, 4),
         bare(lambda x: srresnet.translate(x), picture_tensor(small))),
        (f"pix2pix translation of {pix2pix.config.image_size}x{pix2pix.config.image_size} (pix2pix_facades)",
         lambda: demos.translate(pix2pix, facade), bare(lambda x: pix2pix.translate(x), picture_tensor(facade))),
    ]
    rows = []
    for name, demo, baseline in cases:
        demo_s, _ = median_seconds(demo, repeats)
        bare_s, _ = median_seconds(baseline, repeats)
        rows.append({"demo": name, "seconds": round(demo_s, 4), "bare_model_seconds": round(bare_s, 4),
                     "ratio": round(demo_s / bare_s, 3)})
    return rows


_PEAK_SCRIPT = """
import json, os, sys, threading, time
sys.path.insert(0, {root!r})
from bench.demos_latency import _picture
from trainers import upscaling
from trainers.allocator import keep_freed_memory
from trainers.model import GANModel

keep_freed_memory()  # as the app does at start

def resident_mb():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

model = GANModel.from_pretrained({folder!r})
picture = _picture({side})
upscaling.upscale(model, picture[:64, :64], 4)  # first-call allocations out of the way
before, peak, done = resident_mb(), [0.0], threading.Event()

def sample():  # the resident set every 5 ms while the call runs
    while not done.is_set():
        peak[0] = max(peak[0], resident_mb())
        time.sleep(0.005)

watcher = threading.Thread(target=sample)
watcher.start()
started = time.perf_counter()
output = upscaling.upscale(model, picture, 4, tile={tile})
seconds = time.perf_counter() - started
done.set()
watcher.join()
print(json.dumps({{"before_mb": before, "peak_mb": max(peak[0], resident_mb()), "output_mb": output.nbytes / 2**20,
                  "seconds": seconds, "tile": {tile}}}))
"""


def tiled_sr_peak_memory(side: int = 2048, folder: str = "pretrained/srresnet_x4",
                         tile: int | None = None) -> dict[str, Any]:
    """Resident memory of one x4 enlargement of a ``side`` x ``side`` picture (sampled every 5 ms in
    a fresh process), with the app's tile size unless ``tile`` is given."""
    script = _PEAK_SCRIPT.format(root=str(ROOT), folder=str(ROOT / folder), side=side, tile=tile)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # what tiling keeps the work to: the process's growth during the call against the output's own size
    grown = result["peak_mb"] - result["before_mb"]
    return {"picture": f"{side}x{side} -> x4", **{k: round(v, 1) if isinstance(v, float) else v
                                                  for k, v in result.items()},
            "growth_mb": round(grown, 1), "growth_over_output": round(grown / result["output_mb"], 2)}
