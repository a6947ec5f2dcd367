"""What watching costs: training throughput with a playground session and a page polling it at
2 Hz, against the same run headless. Also the live metric's cost (figure 3).

Figure 2. The candidate is the app's own path: a :class:`playground.session.TrainingSession`
trains in its worker thread while a poller thread does, twice a second, what the Gradio page's
timer tick does on the server: ``snapshot()``, then ``gradio_app._render`` (the figures, the sample
picture, diagnostics and histograms, only what changed), then the encoding Gradio applies before
sending (Plotly figures to JSON, pictures to PNG). The browser's own drawing happens on the
visitor's machine and is not counted. The baseline is ``Trainer.run()`` with the same run config
(the lab's: events every 5 steps, samples every 50 steps and every second) in the same process,
with nothing attached. Windows alternate: the session is paused while the headless run takes its
turn, and the poller polls only while the session trains.
"""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import numpy as np

from bench.throughput import library_window
from bench.timing import Window, interleaved
from trainers.engine import RunConfig, Trainer

POLL_SECONDS = 0.5


def encode_outputs(outputs: tuple) -> int:
    """Bytes Gradio would send for one tick's outputs (figures as JSON, pictures as PNG)."""
    import plotly.graph_objects as go
    from PIL import Image

    sent = 0
    for value in outputs:
        value = getattr(value, "value", value)  # a component update carries its new value
        if isinstance(value, go.Figure):
            sent += len(value.to_json())
        elif isinstance(value, np.ndarray) and value.ndim >= 2:
            buffer = io.BytesIO()
            Image.fromarray(value).save(buffer, format="PNG")
            sent += buffer.tell()
    return sent


class PollingPage:
    """A thread doing the Gradio page's server-side work for one viewer every ``POLL_SECONDS``,
    while ``active`` is set."""

    def __init__(self, session: Any) -> None:
        from playground import gradio_app

        self.session, self.render = session, gradio_app._render
        self.active, self.closed = threading.Event(), threading.Event()
        self.seen: dict[str, Any] = {}
        self.ticks, self.tick_seconds, self.bytes_sent = 0, 0.0, 0
        self.thread = threading.Thread(target=self._poll, daemon=True, name="bench-page")
        self.thread.start()

    def _poll(self) -> None:
        while not self.closed.is_set():
            if not self.active.wait(0.1):
                continue
            started = time.perf_counter()
            outputs = self.render(self.session.snapshot(), self.seen)
            self.seen = outputs[0]
            self.bytes_sent += encode_outputs(outputs[1:])
            self.ticks += 1
            self.tick_seconds += time.perf_counter() - started
            self.closed.wait(max(0.0, POLL_SECONDS - (time.perf_counter() - started)))

    def close(self) -> None:
        self.closed.set()
        self.thread.join(5)


def session_window(config: RunConfig, page_attached: bool = True) -> tuple[Window, Any, PollingPage | None]:
    """A window that resumes a session's run for n steps (with the page polling), then pauses it."""
    from playground.session import TrainingSession

    session = TrainingSession(name="bench")
    session.start(config)
    session.pause()
    page = PollingPage(session) if page_attached else None

    def run(steps: int) -> float:
        trainer = session.trainer
        start = trainer.step
        if page is not None:
            page.active.set()
        session.resume()
        while trainer.step < start + steps:
            time.sleep(0.002)
        done = trainer.step - start  # a step in flight when the pause lands is not timed
        session.pause()
        if page is not None:
            page.active.clear()
        return float(done * config.batch_size)

    return Window("session + page at 2 Hz", run), session, page


def lab_config(**changes: Any) -> RunConfig:
    """The Train tab's default run (the lab's live settings) on the CPU."""
    from playground.lab import DEFAULT_MODEL, default_preset, make_run_config

    form = make_run_config(DEFAULT_MODEL, "mnist", None, 10_000_000, 64, None, None, 0,
                           preset=default_preset(DEFAULT_MODEL))
    return RunConfig(**{**form, "device": "cpu", **changes})


def streaming_overhead(units: int = 100, windows: int = 5) -> dict[str, Any]:
    config = lab_config()
    candidate, session, page = session_window(config)
    try:
        result = interleaved(candidate, library_window(Trainer(config)), units=units, windows=windows)
    finally:
        page.close()
        session.close()
    return {"run": f"{config.model} {config.preset} on {config.dataset}, batch {config.batch_size}, "
                   f"log_every {config.log_every}, sample_every {config.sample_every}",
            "slowdown_percent": round(100 * (1 - result.ratio), 2), "goal_percent": 3.0,
            "meets_goal": result.ratio >= 0.97, "page_ticks": page.ticks,
            "mean_tick_ms": round(1000 * page.tick_seconds / max(page.ticks, 1), 1),
            "kb_sent_per_tick": round(page.bytes_sent / max(page.ticks, 1) / 1024, 1), **result.as_dict()}


def live_metric_overhead(units: int = 200, windows: int = 5) -> dict[str, Any]:
    """Figure 3: the lab's run with its live metric (every 25 steps, within its 5% budget) against
    the same run without it, both headless."""
    with_metric = lab_config(sample_every=10**6, sample_interval_s=0.0)
    without = lab_config(sample_every=10**6, sample_interval_s=0.0, metric_every=0)
    on, off = Trainer(with_metric), Trainer(without)
    result = interleaved(Window("live metric on", library_window(on).run),
                         Window("live metric off", library_window(off).run), units=units, windows=windows)
    return {"metric_every": with_metric.metric_every, "budget": with_metric.metric_budget,
            "slowdown_percent": round(100 * (1 - result.ratio), 2), "goal_percent": 10.0,
            "meets_goal": result.ratio >= 0.90, **result.as_dict()}
