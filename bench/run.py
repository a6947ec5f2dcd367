"""The benchmark suite: `python -m bench` (or `python bench/run.py`).

Runs the figures below, prints one table per figure and writes them all, with the machine they
ran on, to ``bench/results.json``. Every figure is a ratio against a baseline measured in the
same invocation (interleaved windows, medians: :mod:`bench.timing`), so a slower or busier
machine changes the absolute numbers but not the comparison.

    throughput     1. library vs plain reference loops (dcgan 28/64, wgan-gp, 2-D mlp-gan)
    streaming      2. a playground session with its page polling at 2 Hz vs headless
    live_metric    3. the live KID/FID metric on vs off
    flops          4. each case's GFLOP/s as a share of the measured fp32 matmul peak
    demos          5. demo latencies vs the bare model call; tiled x4 SR memory of 2048x2048
    cold_start     6. app start to first page vs a minimal Gradio app
    time_to_quality 7. seconds until MNIST samples are confident and cover every digit
    scaling        8. batch size, image size, concurrent sessions
    allocator      9. freed memory kept for reuse vs glibc's default (two worker processes)

    python -m bench                          # everything (about 30 minutes on 2 CPU cores)
    python -m bench --only throughput demos  # some figures
    python -m bench --quick                  # short windows: a smoke run of the whole suite
    python -m bench --markdown               # bench/results.json as the README's table

Where CUDA is present the training figures run there (``--device``), and the record says so;
absolute GPU figures are only ever quoted from such a run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import torch  # noqa: E402

FIGURES = ("throughput", "streaming", "live_metric", "flops", "demos", "cold_start", "time_to_quality", "scaling",
           "allocator")


def machine(device: str) -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    record = {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
              "torch": torch.__version__, "python": platform.python_version(), "device": device}
    if device.startswith("cuda"):
        record["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return record


def figure_throughput(quick: bool, device: str, earlier: dict[str, Any]) -> list[dict[str, Any]]:
    from bench.throughput import compare, throughput_cases

    return [compare(case, windows=2 if quick else 5, device=device) for case in throughput_cases(device)]


def figure_flops(quick: bool, device: str, earlier: dict[str, Any]) -> dict[str, Any]:
    from bench.throughput import THROUGHPUT_CASES, compare, matmul_peak_gflops, share_of_peak

    peak = matmul_peak_gflops(seconds=1.0 if quick else 3.0, device=device)
    measured_before = {row["case"]: row for row in earlier.get("throughput", {}).get("result", [])}
    rows = []
    # at the rates figure 1 measured (measured again if it did not run); not wgan-gp: FlopCounterMode's
    # module hooks fail inside the gradient penalty's autograd.grad (torch 2.14)
    for case in (case for case in THROUGHPUT_CASES if case.loop != "wgan-gp"):
        measured = measured_before.get(case.name) or compare(case, windows=1 if quick else 3, device=device)
        rows.append(share_of_peak(case, measured, peak, device))
    return {"matmul_peak_gflops": round(peak, 1), "rows": rows}


def figure_streaming(quick: bool, device: str, earlier: dict[str, Any]) -> dict[str, Any]:
    from bench.streaming import streaming_overhead

    # 5 windows of 100 steps (3 s each) spread over +-8%, more than the 3% to be resolved
    return streaming_overhead(units=20 if quick else 300, windows=2 if quick else 9)


def figure_live_metric(quick: bool, device: str, earlier: dict[str, Any]) -> dict[str, Any]:
    from bench.streaming import live_metric_overhead

    return live_metric_overhead(units=50 if quick else 300, windows=2 if quick else 6)


def figure_demos(quick: bool, device: str, earlier: dict[str, Any]) -> dict[str, Any]:
    from bench.demos_latency import demo_latencies, tiled_sr_peak_memory

    return {"latencies": demo_latencies(repeats=2 if quick else 5),
            "tiled_sr_memory": tiled_sr_peak_memory(256 if quick else 2048)}


def figure_cold_start(quick: bool, device: str, earlier: dict[str, Any]) -> dict[str, Any]:
    from bench.cold_start import MINIMAL_GRADIO_APP, first_page_seconds

    trials = 1 if quick else 3
    app = [first_page_seconds() for _ in range(trials)]
    minimal = [first_page_seconds(script=MINIMAL_GRADIO_APP) for _ in range(trials)]
    return {"app_first_page_s": round(statistics.median(app), 2),
            "minimal_gradio_first_page_s": round(statistics.median(minimal), 2),
            "ratio": round(statistics.median(app) / statistics.median(minimal), 2),
            "app_trials_s": [round(t, 2) for t in app], "minimal_trials_s": [round(t, 2) for t in minimal]}


def figure_time_to_quality(quick: bool, device: str, earlier: dict[str, Any]) -> dict[str, Any]:
    from bench import reference
    from bench.streaming import lab_config
    from bench.throughput import library_window
    from bench.time_to_quality import CALIBRATION_CONFIDENCE, generator_samples, race, seconds_to
    from trainers.engine import RunConfig, Trainer
    from trainers.models.adversarial import sampling_generator

    limit, every = (20.0, 10.0) if quick else (180.0, 10.0)
    library = Trainer(lab_config(device=device))
    generator = sampling_generator(library.model.networks)  # G's weight average when the preset keeps one
    ours = race(library_window(library), lambda: generator_samples(generator, library.model.config.latent_dim),
                limit_s=limit, check_every_s=every, chunk_steps=5)
    plain = Trainer(RunConfig(model="dcgan", dataset="mnist", preset="cpu-small", batch_size=64, device=device,
                              steps=10_000_000))
    window = reference.dcgan_loop(plain.model.config, plain.model.networks,
                                  plain.dataset.to_model_range(plain.dataset.data), 64)
    theirs = race(window, lambda: generator_samples(plain.model.networks["generator"], plain.model.config.latent_dim),
                  limit_s=limit, check_every_s=every, chunk_steps=5)
    config = library.run_config
    for side in (ours, theirs):
        side["seconds_to_calibration"] = seconds_to(side["checks"], CALIBRATION_CONFIDENCE)
    return {"calibration_confidence": CALIBRATION_CONFIDENCE,
            "library_run": f"{config.model} preset {config.preset or 'default'}, batch {config.batch_size}, "
                           f"overrides {config.overrides}",
            "baseline_run": "pytorch/examples DCGAN loop, 32 base filters, batch 64, Adam 2e-4",
            "goal_s": 60.0, "library": ours, "baseline": theirs,
            "ratio_baseline_over_library": (round(theirs["seconds_to_quality"] / ours["seconds_to_quality"], 2)
                                            if ours["seconds_to_quality"] and theirs["seconds_to_quality"] else None)}


def figure_scaling(quick: bool, device: str, earlier: dict[str, Any]) -> dict[str, Any]:
    from bench.scaling import batch_sweep, concurrent_sessions, image_size_sweep

    windows = 1 if quick else 3
    return {"batch_size": batch_sweep(units=4 if quick else 10, windows=windows),
            "image_size": image_size_sweep(units=4 if quick else 10, windows=windows),
            "concurrent_sessions": concurrent_sessions(seconds=4.0 if quick else 15.0)}


def figure_allocator(quick: bool, device: str, earlier: dict[str, Any]) -> list[dict[str, Any]]:
    from bench.allocator import allocator_figure

    return allocator_figure(windows=2 if quick else 5, quick=quick)


RUNNERS: dict[str, Callable[[bool, str, dict[str, Any]], Any]] = {name: globals()[f"figure_{name}"] for name in FIGURES}


def table(name: str, result: Any) -> str:
    """A short plain-text view of one figure's result for the terminal: its scalars, then each
    list of rows as a table."""
    lines = [f"== {name}"]
    tables = {name: result} if isinstance(result, list) else {}
    if isinstance(result, dict):
        for key, value in result.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                tables[key] = value
            elif isinstance(value, dict):
                lines.append(f"  {key}: {json.dumps(value)}")
            elif not isinstance(value, list):
                lines.append(f"  {key}: {value}")
    for title, rows in tables.items():
        keys = [k for k in rows[0] if not isinstance(rows[0][k], (list, dict))]
        lines += [f"  -- {title}", "  " + " | ".join(keys)]
        lines += ["  " + " | ".join(str(row.get(k)) for k in keys) for row in rows]
    return "\n".join(lines)


def markdown(record: dict[str, Any]) -> str:
    """The README's summary table of a results file: one row per figure (and per case)."""
    figures, rows = record.get("figures", {}), []

    def result(name: str) -> Any:
        return figures.get(name, {}).get("result")

    for row in result("throughput") or []:
        rows.append((f"1. {row['case']}: library vs reference loop",
                     f"{row['candidate_rate']:.0f} vs {row['baseline_rate']:.0f} {row['unit']}",
                     f"**{row['ratio']:.2f}x** (goal {row['goal']:g}x)"))
        if "arithmetic_alone_ratio" in row:
            rows.append((f"1. {row['case']}: the step's arithmetic alone, through autograd, vs reference loop",
                         "the ceiling for an autograd loop of this algorithm", f"{row['arithmetic_alone_ratio']:.2f}x"))
    if result("streaming"):
        r = result("streaming")
        rows.append(("2. session + page polling at 2 Hz vs headless", f"{r['candidate_rate']:.0f} vs "
                     f"{r['baseline_rate']:.0f} images/s; a tick {r['mean_tick_ms']} ms, {r['kb_sent_per_tick']} KB",
                     f"**{r['ratio']:.3f}x** (goal at most 3% slower)"))
    if result("live_metric"):
        r = result("live_metric")
        rows.append(("3. live KID/FID every 25 steps vs off", f"{r['candidate_rate']:.0f} vs {r['baseline_rate']:.0f} "
                     f"images/s", f"**{r['ratio']:.3f}x** (goal at most 10% slower)"))
    if result("flops"):
        r = result("flops")
        for row in r["rows"]:
            work = (f"; {row['gflop_per_step'] * 1000:.0f} vs {row['reference_gflop_per_step'] * 1000:.0f} MFLOP a step"
                    if "reference_gflop_per_step" in row else "")
            rows.append((f"4. {row['case']}: GFLOP/s of a training step", f"{row['achieved_gflops']} of a "
                         f"{row['peak_gflops']} GFLOP/s fp32 matmul peak (reference loop "
                         f"{row['reference_share_of_peak']:.0%}{work})", f"**{row['share_of_peak']:.0%}** of peak"))
    if result("demos"):
        r = result("demos")
        for row in r["latencies"]:
            bare_ms = row["bare_model_seconds"] * 1000
            rows.append((f"5. {row['demo']}", f"{row['seconds'] * 1000:.0f} ms (bare model {bare_ms:.0f} ms)",
                         f"**{row['ratio']:.2f}x** the bare call"))
        m = r["tiled_sr_memory"]
        rows.append((f"5. tiled x4 super-resolution of {m['picture'].split(' ')[0]}",
                     f"{m['seconds']:.0f} s; resident memory +{m['growth_mb']:.0f} MB for a "
                     f"{m['output_mb']:.0f} MB result",
                     f"**{m['growth_over_output']:.1f}x** the result's size"))
    if result("cold_start"):
        r = result("cold_start")
        rows.append(("6. app start to first page vs a minimal Gradio app", f"{r['app_first_page_s']} s vs "
                     f"{r['minimal_gradio_first_page_s']} s", f"**{r['ratio']:.2f}x**"))
    if result("time_to_quality"):
        r = result("time_to_quality")
        for side, label in (("library", r["library_run"]), ("baseline", r["baseline_run"])):
            checks = r[side]["checks"]
            at_60 = next((c for c in checks if c["training_s"] >= 59), checks[-1] if checks else None)
            reached = r[side]["seconds_to_quality"]
            rows.append((f"7. time to quality: {label}",
                         f"at {at_60['training_s']:.0f} s: confidence {at_60['confidence']:.3f}, "
                         f"{at_60['classes_at_5pct']} digits at 5%+" if at_60 else "-",
                         (f"**{reached} s** (goal {r['goal_s']:.0f} s{'' if reached <= r['goal_s'] else ': not met'})"
                          if reached else f"not within {r[side]['limit_s']:.0f} s (goal {r['goal_s']:.0f} s)")))
        if "calibration_confidence" in r:
            ours, theirs = r["library"]["seconds_to_calibration"], r["baseline"]["seconds_to_calibration"]
            limit_s = r["baseline"]["limit_s"]
            if ours and theirs:
                measured, ratio = f"{ours} s vs {theirs} s", f"**{theirs / ours:.1f}x** sooner"
            elif ours:  # the plain loop never got there
                measured = f"{ours} s vs not within {limit_s:.0f} s"
                ratio = f"**more than {limit_s / ours:.0f}x** sooner"
            else:
                measured, ratio = f"{ours or 'not reached'} vs {theirs or 'not reached'}", "-"
            rows.append((f"7. time to the plain loop's level ({r['calibration_confidence']} confidence, every "
                         f"digit at 5%+): library vs plain loop", measured, ratio))
    if result("scaling"):
        r = result("scaling")
        rows.append(("8. images/s by batch size (32, 64, 128, 256, 512)",
                     ", ".join(f"{row['images_per_s']:.0f}" for row in r["batch_size"]),
                     ", ".join(f"{row['ratio_vs_64']:.2f}" for row in r["batch_size"]) + " x batch 64"))
        rows.append(("8. images/s by image size (28, 32, 64)",
                     ", ".join(f"{row['images_per_s']:.0f}" for row in r["image_size"]),
                     ", ".join(f"{row['ratio_vs_28']:.2f}" for row in r["image_size"]) + " x 28 px"))
        rows.append(("8. seconds a step, 1, 2, 4 sessions at once",
                     ", ".join(f"{row['seconds_per_step']:.3f}" for row in r["concurrent_sessions"]),
                     ", ".join(f"{row['ratio_vs_1']:.2f}" for row in r["concurrent_sessions"]) + " x one session"))
    for row in result("allocator") or []:
        rows.append((f"9. {row['case']}: freed memory kept for reuse vs glibc's default",
                     f"{row['candidate_rate']:.0f} vs {row['baseline_rate']:.0f} {row['unit']}; page faults a step "
                     f"{row['page_faults_per_step']:.0f} vs {row['default_page_faults_per_step']:.0f}",
                     f"**{row['ratio']:.2f}x**"))
    lines = ["| figure | measured | ratio |", "|---|---|---|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines + ["", machines_line(record)])


def machines_line(record: dict[str, Any]) -> str:
    """Which machine each figure ran on (absolute numbers compare only within one machine)."""
    ran_on: dict[str, list[str]] = {}
    for number, name in enumerate(FIGURES, start=1):
        figure = record.get("figures", {}).get(name)
        if figure:
            where = figure.get("machine") or record.get("machine") or {}
            label = (f"{where.get('cpu', 'unknown CPU')} ({where.get('cores', '?')} cores"
                     f"{', ' + where['gpu'] if where.get('gpu') else ''}, torch {where.get('torch', '?')})")
            ran_on.setdefault(label, []).append(f"{number} ({figure.get('when', '?')[:10]})")
    if len(ran_on) == 1:
        (label, numbers), = ran_on.items()
        return f"Machine: {label}, every figure ({', '.join(sorted({n.split(' ')[1][1:-1] for n in numbers}))})."
    return "Machines: " + "; ".join(f"figures {', '.join(numbers)} on {label}"
                                    for label, numbers in ran_on.items()) + "."


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--only", nargs="+", choices=FIGURES, help="run only these figures")
    parser.add_argument("--quick", action="store_true", help="short windows: a smoke run, not figures to quote")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results.json"),
                        help="where to write the results (merged into what is there for figures not run)")
    parser.add_argument("--markdown", action="store_true", help="print the results file as a table; run nothing")
    args = parser.parse_args(argv)
    if args.markdown:
        if not Path(args.json).is_file():
            parser.error(f"--markdown: {args.json} does not exist; run `python -m bench` first")
        print(markdown(json.loads(Path(args.json).read_text())))
        return {}
    os.environ.setdefault("GAN_OFFLINE", "1")
    out = Path(args.json)
    record: dict[str, Any] = json.loads(out.read_text()) if out.is_file() else {}
    record.setdefault("figures", {})
    record["machine"] = machine(args.device)
    record["command"] = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    record["quick"] = args.quick
    this_run: dict[str, Any] = {}  # figures may reuse only what this invocation measured
    for name in args.only or FIGURES:
        started = time.perf_counter()
        result = RUNNERS[name](args.quick, args.device, this_run)
        this_run[name] = {"result": result}
        # each figure keeps its machine: figures not rerun keep the one they ran on
        record["figures"][name] = {"result": result, "seconds": round(time.perf_counter() - started, 1),
                                   "when": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": record["machine"],
                                   "command": record["command"]}
        print(table(name, result), flush=True)
        out.write_text(json.dumps(record, indent=1, default=str))
    return record


if __name__ == "__main__":
    main()
