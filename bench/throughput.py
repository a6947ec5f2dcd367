"""Training throughput: the library's run against the plain reference loop, and its share of peak.

Figures 1 (throughput vs reference), 4 (GFLOP/s as a share of the measured fp32 matmul peak) and
8 (throughput vs batch size and image size). Every library figure is ``Trainer.run()`` as the CLI
and the playground drive it (events, metrics read back every ``log_every`` steps, a sample grid
every window), against :mod:`bench.reference`'s loop on the same networks, optimizer settings and
data, interleaved in windows (:func:`bench.timing.interleaved`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from bench import reference
from bench.timing import Window, interleaved
from playground.lab import TRAIN_FORM_DEFAULTS
from trainers.device import cpu_has_bf16_matrix_units
from trainers.engine import RunConfig, Trainer


@dataclass
class Case:
    """One throughput figure: a library run and the reference loop that mirrors it."""
    name: str
    model: str
    dataset: str
    batch_size: int
    loop: str                    # "dcgan", "wgan-gp" or "toy": which reference loop
    units: int                   # steps per timed window (and the sample-grid interval of both)
    preset: str = ""
    image_size: int | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    goal: float = 1.0            # library / reference at least this
    #: the library with its fast path (bf16 autocast on a GPU, or on an AMX CPU with ``cpu_bf16``);
    #: the reference loops stay float32, so the main rows, float32 on both sides, isolate the
    #: library's own overhead
    fast: bool = False

    def run_config(self, device: str = "cpu", steps: int = 10_000_000) -> RunConfig:
        return RunConfig(model=self.model, dataset=self.dataset, preset=self.preset, batch_size=self.batch_size,
                         image_size=self.image_size, steps=steps, log_every=10, sample_every=self.units,
                         overrides=dict(self.overrides), device=device, fast=self.fast, cpu_bf16=self.fast)


LAB_BATCH_SIZE = TRAIN_FORM_DEFAULTS["batch_size"]

THROUGHPUT_CASES = (
    Case("dcgan 28x28, batch 64", "dcgan", "mnist", 64, "dcgan", 20),
    Case("dcgan 28x28, batch 128", "dcgan", "mnist", 128, "dcgan", 10),
    Case("dcgan 64x64, batch 64", "dcgan", "mnist", 64, "dcgan", 10, image_size=64),
    Case("wgan-gp (n_critic 5), cpu preset, batch 64", "wgan-gp", "mnist", 64, "wgan-gp", 20, preset="cpu"),
    Case("mlp-gan 2-D ring, batch 256", "mlp-gan", "ring", 256, "toy", 200, goal=2.0),
    Case("mlp-gan 2-D ring, batch 512", "mlp-gan", "ring", 512, "toy", 200, goal=2.0),
    # what the 2-D lab trains unless a visitor changes the Train form's batch size: the issue set the
    # 2x goal for it ("the live 2-D lab needs [it] to feel instant")
    Case(f"mlp-gan 2-D ring, batch {LAB_BATCH_SIZE} (the 2-D lab's default)", "mlp-gan", "ring", LAB_BATCH_SIZE,
         "toy", 400, goal=2.0),
)

#: the same DCGAN cases on the device's fast path, where it has one (a GPU, or a CPU with AMX: bf16
#: autocast), against the same float32 reference loop: what a run gains there
FAST_PATH_CASES = (
    Case("dcgan 28x28, batch 64, fast path (bf16 autocast)", "dcgan", "mnist", 64, "dcgan", 20, fast=True),
    Case("dcgan 64x64, batch 64, fast path (bf16 autocast)", "dcgan", "mnist", 64, "dcgan", 10, image_size=64,
         fast=True),
)


def throughput_cases(device: str = "cpu") -> tuple[Case, ...]:
    """Figure 1's cases: every float32 case, and the fast-path ones where ``device`` has a fast path."""
    kind = torch.device(device).type
    has_fast_path = kind == "cuda" or (kind == "cpu" and cpu_has_bf16_matrix_units())
    return THROUGHPUT_CASES + (FAST_PATH_CASES if has_fast_path else ())


def library_window(trainer: Trainer) -> Window:
    """``run(n)``: pull the trainer's events until it has trained at least n more steps (events
    come every ``log_every`` steps, so a window ends on one); returns the images of the steps done."""
    events = trainer.run()
    batch = trainer.run_config.batch_size

    def run(steps: int) -> float:
        start = trainer.step
        while trainer.step < start + steps:
            next(events)
        return float((trainer.step - start) * batch)

    return Window("library", run)


def reference_window(case: Case, trainer: Trainer) -> Window:
    """The reference loop on a twin of ``trainer``'s networks (same seed, so the same weights)."""
    config, networks = trainer.model.config, trainer.model.networks
    if case.loop == "toy":
        return reference.toy_loop(config, networks, case.batch_size)
    images = trainer.dataset.to_model_range(trainer.dataset.data)
    loop = reference.dcgan_loop if case.loop == "dcgan" else reference.wgan_gp_loop
    return loop(config, networks, images, case.batch_size)


def compare(case: Case, windows: int, device: str = "cpu") -> dict[str, Any]:
    library = Trainer(case.run_config(device))
    twin = Trainer(case.run_config(device))
    result = interleaved(library_window(library), reference_window(case, twin), units=case.units, windows=windows)
    unit = "points/s" if case.loop == "toy" else "images/s"
    row = {"case": case.name, "unit": unit, "goal": case.goal, "meets_goal": result.ratio >= case.goal,
           "library_steps_per_s": round(result.candidate_rate / case.batch_size, 2),
           "reference_steps_per_s": round(result.baseline_rate / case.batch_size, 2), **result.as_dict()}
    if case.loop == "toy":  # how far the algorithm itself lets any loop get past the reference
        floor_twin, reference_twin = Trainer(case.run_config(device)), Trainer(case.run_config(device))
        floor = interleaved(reference.toy_floor_loop(floor_twin.model.config, floor_twin.model.networks,
                                                     case.batch_size),
                            reference_window(case, reference_twin), units=case.units, windows=windows)
        row["arithmetic_alone_ratio"] = round(floor.ratio, 3)
    return row


def step_flops(case: Case, device: str = "cpu") -> dict[str, int]:
    """Floating-point operations (matmuls and convolutions, counted by PyTorch's FlopCounterMode)
    of one training iteration, forward and backward of both networks: the library's step and the
    reference loop's, which does more work (a second generator pass, D's unused weight gradients)."""
    library = Trainer(case.run_config(device))
    reference_loop = reference_window(case, Trainer(case.run_config(device)))
    counts = {}
    for side, step in (("library", library.train_one), ("reference", lambda: reference_loop.run(1))):
        step()
        with FlopCounterMode(display=False) as counter:
            step()
        counts[side] = counter.get_total_flops()
    return counts


def matmul_peak_gflops(size: int = 2048, seconds: float = 2.0, device: str = "cpu") -> float:
    """This machine's fp32 matmul rate with the current thread count: the best of several timed runs."""
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    torch.mm(a, b)
    best = 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        torch.mm(a, b)
        if device != "cpu":
            torch.cuda.synchronize()
        best = max(best, 2 * size ** 3 / (time.perf_counter() - start) / 1e9)
    return best


def share_of_peak(case: Case, measured: dict[str, Any], peak: float, device: str = "cpu") -> dict[str, Any]:
    """GFLOP/s each side achieved at figure 1's measured steps/s, as a share of the matmul peak."""
    flops = step_flops(case, device)
    library = flops["library"] * measured["library_steps_per_s"] / 1e9
    reference_rate = flops["reference"] * measured["reference_steps_per_s"] / 1e9
    return {"case": case.name, "gflop_per_step": round(flops["library"] / 1e9, 4),
            "reference_gflop_per_step": round(flops["reference"] / 1e9, 4),
            "steps_per_s": measured["library_steps_per_s"], "achieved_gflops": round(library, 1),
            "peak_gflops": round(peak, 1), "share_of_peak": round(library / peak, 3),
            "reference_share_of_peak": round(reference_rate / peak, 3)}
