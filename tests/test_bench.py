"""The benchmark harness itself: its comparisons must be right before its figures mean anything.
(Timings of the library are never asserted here; bench/ reports them.)"""

from __future__ import annotations

import time

import pytest
import torch

from bench import reference
from bench.throughput import FAST_PATH_CASES, THROUGHPUT_CASES, library_window, reference_window, throughput_cases
from bench.timing import Window, interleaved
from trainers.device import FastPath, cpu_has_bf16_matrix_units
from trainers.engine import Trainer


def test_interleaved_windows_measure_a_known_ratio():
    """A side that takes twice as long per unit reads as half the rate, and the windows alternate."""
    order: list[str] = []

    def sleeper(name: str, seconds_per_unit: float) -> Window:
        def run(units: int) -> float:
            order.append(name)
            time.sleep(units * seconds_per_unit)
            return float(units)
        return Window(name, run)

    result = interleaved(sleeper("slow", 0.004), sleeper("fast", 0.002), units=5, windows=4)
    assert result.ratio == pytest.approx(0.5, rel=0.15)
    timed = order[2:]  # after one warm-up window each
    assert sorted(timed[:2]) == ["fast", "slow"] and timed[:2] != timed[2:4]  # the order alternates


def test_library_and_reference_windows_train_the_same_networks_on_the_same_data(data_dir):
    """The DCGAN comparison is fair: both sides start from the same weights and consume batches of
    the same size, and a window of n steps moves the trainer by exactly n."""
    case = next(c for c in THROUGHPUT_CASES if c.loop == "dcgan")
    library, twin = Trainer(case.run_config()), Trainer(case.run_config())
    for a, b in zip(library.model.networks.parameters(), twin.model.networks.parameters()):
        assert torch.equal(a, b)
    before = [p.detach().clone() for p in twin.model.networks["generator"].parameters()]
    assert reference_window(case, twin).run(3) == 3 * case.batch_size
    # the library's window ends on an event (every log_every steps) and counts what it trained
    assert library_window(library).run(3) == library.step * case.batch_size == 10 * case.batch_size
    moved = [not torch.equal(a, b) for a, b in zip(before, twin.model.networks["generator"].parameters())]
    assert all(moved)  # the reference loop trained G too


def test_figure_one_compares_float32_with_float32_and_adds_the_fast_path_where_there_is_one(data_dir):
    """The reference loops train in float32, so the main rows do too (on a GPU as well, where a
    default run takes bf16); the fast path gets rows of its own, only where the device has one."""
    amx = cpu_has_bf16_matrix_units()
    assert throughput_cases("cpu") == THROUGHPUT_CASES + (FAST_PATH_CASES if amx else ())
    assert throughput_cases("cuda") == THROUGHPUT_CASES + FAST_PATH_CASES
    plain = Trainer(THROUGHPUT_CASES[0].run_config())
    fast = Trainer(FAST_PATH_CASES[0].run_config())
    assert plain.fast == FastPath() and fast.fast == FastPath(bf16=amx)


def test_the_toy_reference_draws_the_libraries_ring():
    """The 2-D reference samples the same 8-Gaussian ring the library trains on."""
    from trainers.data import load_dataset

    drawn = reference.ring_sampler(4000)()
    ring = load_dataset("ring").data
    for points in (drawn, ring):
        radius = points.norm(dim=1)
        assert radius.mean().item() == pytest.approx(0.8, abs=0.02)
        angles = torch.atan2(points[:, 1], points[:, 0])
        modes = torch.round(angles / (torch.pi / 4)) % 8
        assert torch.bincount(modes.long(), minlength=8).min() > len(points) / 8 * 0.8


def test_the_markdown_report_of_a_missing_results_file_is_a_clear_error(tmp_path, capsys):
    from bench.run import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--markdown", "--json", str(tmp_path / "none.json")])
    assert exit_info.value.code == 2
    assert "none.json does not exist; run `python -m bench` first" in capsys.readouterr().err


def test_the_markdown_report_names_the_machine_of_each_figure():
    from bench.run import markdown

    amd = {"cpu": "AMD EPYC", "cores": 2, "torch": "2.14.1"}
    gpu = {"cpu": "Intel Xeon", "cores": 16, "torch": "2.14.1", "gpu": "NVIDIA H100"}
    streaming = {"candidate_rate": 98.0, "baseline_rate": 100.0, "mean_tick_ms": 14.0, "kb_sent_per_tick": 36.0,
                 "ratio": 0.98}
    live = {"candidate_rate": 95.0, "baseline_rate": 100.0, "ratio": 0.95}
    record = {"machine": gpu, "figures": {
        "streaming": {"result": streaming, "when": "2026-11-30 06:00:00", "machine": amd},
        "live_metric": {"result": live, "when": "2026-12-06 22:00:00", "machine": gpu}}}
    text = markdown(record)
    assert "| 2. session + page polling at 2 Hz vs headless | 98 vs 100 images/s" in text
    assert text.splitlines()[-1] == ("Machines: figures 2 (2026-11-30) on AMD EPYC (2 cores, torch 2.14.1); "
                                     "figures 3 (2026-12-06) on Intel Xeon (16 cores, NVIDIA H100, torch 2.14.1).")
    record["figures"]["live_metric"]["machine"] = amd
    assert markdown(record).splitlines()[-1] == ("Machine: AMD EPYC (2 cores, torch 2.14.1), every figure "
                                                 "(2026-11-30, 2026-12-06).")


def test_the_toy_ceiling_loop_is_a_working_gan():
    """The 2-D 'arithmetic alone' loop that bounds figure 1's toy ratio must be a real GAN
    update, not a shortcut: 1,500 steps put the generator's points on the ring's modes."""
    case = next(c for c in THROUGHPUT_CASES if c.loop == "toy")
    trainer = Trainer(case.run_config())
    reference.toy_floor_loop(trainer.model.config, trainer.model.networks, case.batch_size).run(1500)
    with torch.no_grad():
        points = trainer.model.networks["generator"](torch.randn(2000, trainer.model.config.latent_dim))
    assert points.norm(dim=1).median().item() == pytest.approx(0.8, abs=0.1)
    angles = torch.atan2(points[:, 1], points[:, 0])
    modes = torch.bincount((torch.round(angles / (torch.pi / 4)) % 8).long(), minlength=8)
    assert (modes > 2000 / 8 * 0.25).sum() >= 6
