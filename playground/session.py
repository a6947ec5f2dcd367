"""Training sessions for the playground: one engine run per browser session, in a worker thread.

Front ends never block on training. They call the control methods (which return at once,
except `stop`, which joins the worker) and poll `snapshot()`, a plain dict of numbers,
lists and numpy arrays. This module imports neither gradio nor streamlit, so every front
end shares it; it imports torch only through `trainers`, and only when a run starts.

The history is bounded so that a poll costs the same at step 100 and at step 100,000:
loss and stat series are bucket-averaged and halved in resolution when full, and only
the last few sample grids are kept.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np

from playground.limits import RunLimits
from trainers.allocator import keep_freed_memory
from trainers.errors import ConfigError, PlaygroundError
from trainers.settings import whole_number_setting

if TYPE_CHECKING:  # pragma: no cover - imports for type checkers only
    from trainers.engine import RunConfig, Trainer

__all__ = [
    "ACTIVE_STATUSES",
    "LIVE_STATUSES",
    "DownsampledSeries",
    "RunSlots",
    "SessionRegistry",
    "TrainingSession",
]

#: the longest GAN_IDLE_TIMEOUT_S an operator may set (30 days)
MAX_IDLE_TIMEOUT_S = 30 * 24 * 3600
#: Statuses in which a worker thread exists and holds a run slot.
ACTIVE_STATUSES = frozenset({"running", "paused"})
#: What a front end should keep polling through: active runs, a run waiting for a free slot, and a
#: Start in progress (the moment between stopping the old run and launching the new one).
LIVE_STATUSES = ACTIVE_STATUSES | {"starting", "queued"}
#: Statuses a snapshot can report, in the order a run usually passes through them.
STATUSES = ("idle", "starting", "queued", "running", "paused", "done", "stopped", "error")


class DownsampledSeries:
    """Several aligned numeric series (one x axis: the step) with a bounded length.

    Incoming points are averaged into buckets of `stride` points. When `max_points`
    buckets are stored, neighbouring pairs are averaged and the stride doubles, so the
    whole run stays visible at a resolution that shrinks as it grows. Averaging (rather
    than dropping points) keeps noisy GAN losses readable. Amortised cost per `add` is
    constant. Not thread-safe on its own: the owner holds a lock.
    """

    def __init__(self, max_points: int = 500) -> None:
        if max_points < 4:
            raise ValueError("max_points must be at least 4")
        self.max_points = max_points - (max_points % 2)
        self.stride = 1
        self.steps: list[int] = []
        self.values: dict[str, list[float]] = {}
        self._pending_n = 0
        self._pending_step = 0
        self._pending_sum: dict[str, float] = {}
        self._pending_count: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.steps)

    def add(self, step: int, values: Mapping[str, float]) -> None:
        """Add one point per named series at `step`; a missing or non-finite value is a gap."""
        for key, value in values.items():
            if key not in self.values:
                self.values[key] = [math.nan] * len(self.steps)
            number = _as_float(value)
            if math.isfinite(number):
                self._pending_sum[key] = self._pending_sum.get(key, 0.0) + number
                self._pending_count[key] = self._pending_count.get(key, 0) + 1
        self._pending_n += 1
        self._pending_step = int(step)
        if self._pending_n >= self.stride:
            self._flush()
            if len(self.steps) >= self.max_points:
                self._halve()

    def export(self) -> dict[str, list]:
        """Copy out `{"step": [...], key: [...]}`, with the partial bucket as a provisional last point.

        Including the unfinished bucket keeps the curve's end live even when the stride is large.
        """
        out: dict[str, list] = {"step": list(self.steps)}
        for key, series in self.values.items():
            out[key] = list(series)
        if self._pending_n:
            out["step"].append(self._pending_step)
            for key in self.values:
                out[key].append(self._pending_mean(key))
        return out

    def _pending_mean(self, key: str) -> float:
        count = self._pending_count.get(key, 0)
        return self._pending_sum[key] / count if count else math.nan

    def _flush(self) -> None:
        self.steps.append(self._pending_step)
        for key, series in self.values.items():
            series.append(self._pending_mean(key))
        self._pending_n = 0
        self._pending_sum.clear()
        self._pending_count.clear()

    def _halve(self) -> None:
        """Average neighbouring buckets: half the points, twice the stride."""
        self.steps = self.steps[1::2]
        for key, series in self.values.items():
            self.values[key] = [_mean_pair(a, b) for a, b in zip(series[0::2], series[1::2])]
        self.stride *= 2


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _mean_pair(a: float, b: float) -> float:
    if math.isnan(a):
        return b
    if math.isnan(b):
        return a
    return (a + b) / 2.0


class RunSlots:
    """A global cap on concurrently active trainings (running or paused), shared by sessions, with
    a first-come-first-served waiting line.

    A slot is held for exactly as long as a worker thread lives, so a paused run still counts: it
    still holds its memory and its thread. When every slot is taken, a Start waits in line (its
    position is visible) and gets the next slot that frees; only a full line is refused.
    `limit=None` means no cap.
    """

    def __init__(self, limit: int | None = None, max_waiting: int = 16) -> None:
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1 (or None for no limit)")
        self.limit = limit
        self.max_waiting = max_waiting
        self._lock = threading.Lock()
        self._in_use = 0
        #: callbacks of the waiting runs, first in line first; each returns False to decline
        self._waiting: list[Callable[[], bool]] = []

    @property
    def in_use(self) -> int:
        return self._in_use

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def acquire_or_wait(self, on_granted: Callable[[], bool]) -> bool:
        """Take a slot now (True), or join the line (False): ``on_granted`` is called with the slot
        when one frees, from the thread that frees it, and returns False to decline it.
        PlaygroundError when the line is full too."""
        with self._lock:
            if self.limit is None or self._in_use < self.limit:
                self._in_use += 1
                return True
            if len(self._waiting) >= self.max_waiting:
                raise PlaygroundError(
                    f"The server is busy: all {self.limit} training slot(s) are in use and "
                    f"{len(self._waiting)} run(s) are waiting. Try again in a few minutes.")
            self._waiting.append(on_granted)
            return False

    def position(self, on_granted: Callable[[], bool]) -> int | None:
        """1 for the next in line; None when not waiting."""
        with self._lock:
            return self._waiting.index(on_granted) + 1 if on_granted in self._waiting else None

    def cancel(self, on_granted: Callable[[], bool]) -> None:
        with self._lock:
            if on_granted in self._waiting:
                self._waiting.remove(on_granted)

    def release(self) -> None:
        """Free a slot: it passes to the first waiting run that takes it, else back to the pool.
        The callbacks run outside the lock (they start threads)."""
        while True:
            with self._lock:
                if not self._waiting:
                    self._in_use = max(0, self._in_use - 1)
                    return
                next_in_line = self._waiting.pop(0)
            if next_in_line():
                return


@dataclass
class _Run:
    """Everything one engine run produces; a new Start gets a new record.

    The worker writes only to its own record, so a slow old worker can never mix its
    events into a newer run's history.
    """

    run_id: int
    trainer: Any
    config: Any
    max_points: int
    max_samples: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None
    status: str = "running"
    error: str | None = None
    #: why it ended in error: the engine's reason ("diverged"), or "crashed" for an exception
    error_reason: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    series: DownsampledSeries = field(init=False)
    #: the live sample-quality metric (KID, FID, classes or modes covered), one point per measurement
    quality: DownsampledSeries = field(init=False)
    #: the last measurement's network, samples, cost_s and share of the run's time
    quality_cost: dict[str, Any] = field(default_factory=dict)
    #: sample events over the whole run: the first, the newest, and thinned between (the time-lapse)
    samples: list = field(default_factory=list)
    latest: dict[str, float] = field(default_factory=dict)
    metrics_version: int = 0
    sample_version: int = 0
    steps_per_s: float = 0.0
    elapsed_s: float = 0.0
    last_event_step: int = 0
    checkpoint: str | None = None
    stop_requested: bool = False
    #: while the run waits for a slot: the callback it waits with (RunSlots.position finds it)
    ticket: Callable[[], bool] | None = None

    def __post_init__(self) -> None:
        self.series = DownsampledSeries(self.max_points)
        self.quality = DownsampledSeries(self.max_points)


def _default_trainer_factory(config: "RunConfig") -> "Trainer":
    """Build the real engine; imported lazily so that importing this module stays cheap."""
    from trainers.engine import Trainer

    return Trainer(config)


def _as_run_config(run_config: Any) -> Any:
    """Accept a RunConfig or a plain mapping of its fields (front ends often hold dicts).

    A mapping goes through the library's strict builder, so an unknown key is a
    ConfigError naming it rather than a bare TypeError.
    """
    from trainers.config import RunConfig, from_dict

    if isinstance(run_config, Mapping):
        return from_dict(RunConfig, dict(run_config))
    if not isinstance(run_config, RunConfig):
        raise ConfigError(f"a run is a RunConfig or a mapping of its fields (model, dataset, steps, ...), "
                          f"not {type(run_config).__name__}")
    return run_config


class TrainingSession:
    """One training run at a time, driven from a daemon worker thread, with a bounded history.

    All public methods are safe to call from any thread (a web server calls them from its
    request threads while the worker thread writes events).
    """

    def __init__(
        self,
        *,
        slots: RunSlots | None = None,
        max_points: int = 500,
        max_samples: int = 32,
        join_timeout_s: float = 15.0,
        trainer_factory: Callable[[Any], Any] | None = None,
        name: str = "session",
        max_compared: int = 8,
        limits: RunLimits | None = None,
    ) -> None:
        self._slots = slots if slots is not None else RunSlots(None)
        self._limits = limits or RunLimits()  # the operator's caps on one run (none by default)
        self._max_points = max_points
        self._max_samples = max_samples
        self._join_timeout_s = join_timeout_s
        self._trainer_factory = trainer_factory or _default_trainer_factory
        self._name = name
        self._control_lock = threading.RLock()  # serialises start/stop/pause/step
        self._run: _Run | None = None
        self._run_counter = 0
        self._starting = False  # a Start is replacing the run: snapshots say "starting"
        self._probes: list[dict[str, Any]] = []  # linear-probe results, oldest first
        #: the curves of this session's earlier runs, newest last, for the Compare view
        self._past_runs: deque = deque(maxlen=max_compared - 1)
        self._upload_dir: tempfile.TemporaryDirectory | None = None

    # ----- controls -------------------------------------------------------------------

    def start(self, run_config: Any) -> int:
        """Start a new run and return its run id.

        The Trainer is built here, in the caller's thread, so that ConfigError and
        DatasetUnavailable reach the caller (and the user) instead of dying in a worker.
        It is built before the old run is stopped: a typo in the form must not kill a
        run that is going well. Then the old run is stopped and joined, a slot is taken
        (PlaygroundError when the server is full) and the worker starts.
        """
        with self._control_lock:
            config = _as_run_config(run_config)
            self._limits.check(config)
            if self._limits.own_files_only:  # (only then: the check makes the upload folder)
                self._limits.check_paths(config.dataset, self.upload_dir)
            trainer = self._trainer_factory(config)
            model = getattr(trainer, "model", None)
            self._limits.check(config, getattr(model, "config", None))  # sizes the data decided
            self._starting = True
            try:
                return self._replace_run(config, trainer)
            finally:
                self._starting = False

    def _replace_run(self, config: Any, trainer: Any) -> int:
        """Stop the old run, then launch the worker for `trainer` in a free slot, or queue the run
        for the next slot that frees (control lock held)."""
        if not self._stop_locked():  # its step outlasted the join: it holds its slot until that step ends
            raise PlaygroundError("The previous run is still finishing a long training step (it stops after "
                                  "it); press Start again in a moment.")
        self._archive_run()
        run = _Run(run_id=self._run_counter + 1, trainer=trainer, config=config, max_points=self._max_points,
                   max_samples=self._max_samples, status="queued")
        run.ticket = lambda: self._launch(run)
        if self._slots.acquire_or_wait(run.ticket):  # PlaygroundError when even the line is full
            run.ticket = None
            try:
                self._launch(run)
            except BaseException:
                self._slots.release()
                raise
        self._run_counter += 1
        self._run = run
        return run.run_id

    def _launch(self, run: _Run) -> bool:
        """Start the worker of a run that holds a slot; False (the slot declined) when the run was
        stopped while it waited. Called by `_replace_run`, or by RunSlots.release from the thread
        that freed the slot: it takes only the run's own lock."""
        with run.lock:
            if run.status != "queued":
                return False
            run.status, run.ticket = "running", None
            run.thread = threading.Thread(target=self._work, args=(run,), name=f"gan-{self._name}-run{run.run_id}",
                                          daemon=True)
            run.thread.start()
            return True

    def pause(self) -> bool:
        """Pause between steps; returns False when there is no running run to pause."""
        with self._control_lock:
            run = self._run
            if run is None or run.status != "running":
                return False
            run.trainer.controls.pause()
            with run.lock:
                if run.status == "running":
                    run.status = "paused"
            return True

    def resume(self) -> bool:
        """Resume a paused run; returns False when nothing is paused."""
        with self._control_lock:
            run = self._run
            if run is None or run.status != "paused":
                return False
            run.trainer.controls.resume()
            with run.lock:
                if run.status == "paused":
                    run.status = "running"
            return True

    def step(self, which: str = "both") -> bool:
        """Do one iteration ("d", "g" or "both"), pausing first if the run is going.

        Like GAN Lab's step buttons: stepping a running model means "stop here, then
        advance one". Returns False when there is no active run.
        """
        if which not in ("d", "g", "both"):
            raise PlaygroundError(f"step must be 'd', 'g' or 'both', not {which!r}")
        with self._control_lock:
            run = self._run
            if run is None or run.status not in ACTIVE_STATUSES:
                return False
            if run.status == "running":
                self.pause()
            run.trainer.controls.step(which)
            return True

    def stop(self) -> bool:
        """Stop the run and join its worker; True when no worker thread is left alive."""
        with self._control_lock:
            return self._stop_locked()

    def reset(self) -> bool:
        """Stop the run and clear it from the page (back to idle); its curves stay in the comparison.
        True when no worker thread is left alive."""
        with self._control_lock:
            joined = self._stop_locked()
            if joined:
                self._archive_run()
                self._run = None
            return joined

    def _archive_run(self) -> None:
        """Keep the current run's curves (not its models) for the comparison (control lock held)."""
        run = self._run
        if run is not None and run.metrics_version:
            with run.lock:
                self._past_runs.append(_curves(run))

    def compared_runs(self) -> list[dict[str, Any]]:
        """This session's runs, oldest first, the current one last: ``{"run_id", "label", "metrics",
        "quality"}`` each, the curves as in `snapshot`."""
        with self._control_lock:
            runs = list(self._past_runs)
            run = self._run
        if run is not None and run.metrics_version:
            with run.lock:
                runs.append(_curves(run))
        return runs

    def close(self) -> bool:
        """Stop and forget the run so its trainer (models, data) can be freed, and delete the
        session's uploads."""
        with self._control_lock:
            joined = self._stop_locked()
            if joined:
                self._run = None
                if self._upload_dir is not None:
                    from trainers.data.folder import forget_cached_folders

                    self._upload_dir.cleanup()
                    self._upload_dir = None
                    forget_cached_folders()  # the pictures read from it must not outlive it in memory
            return joined

    @property
    def upload_dir(self) -> Path:
        """This session's own folder for uploaded pictures (deleted by `close`)."""
        with self._control_lock:
            if self._upload_dir is None:
                self._upload_dir = tempfile.TemporaryDirectory(prefix="gan-upload-")
            return Path(self._upload_dir.name)

    def _stop_locked(self) -> bool:
        run = self._run
        if run is None:
            return True
        with run.lock:  # a waiting run leaves the line; a slot granted meanwhile is declined
            if run.status == "queued":
                run.status, run.stop_requested = "stopped", True
                if run.ticket is not None:
                    self._slots.cancel(run.ticket)
        if run.thread is None:
            return True
        if run.thread.is_alive():
            run.stop_requested = True
            run.trainer.controls.stop()
            run.thread.join(self._join_timeout_s)
        return not run.thread.is_alive()

    # ----- state ----------------------------------------------------------------------

    @property
    def status(self) -> str:
        run = self._run
        return "idle" if run is None else run.status

    @property
    def trainer(self) -> Any:
        """The current run's Trainer (for save_pretrained and tests), or None."""
        run = self._run
        return None if run is None else run.trainer

    @property
    def thread(self) -> threading.Thread | None:
        run = self._run
        return None if run is None else run.thread

    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def snapshot(self) -> dict[str, Any]:
        """A plain dict of what a page shows now; cheap, safe to call from any thread.

        Keys: run_id, status ("starting" while a Start replaces the run), error, step,
        total_steps, steps_per_s, elapsed_s, device, model, dataset, data_kind, real
        (points array or image grid, or None), metrics (dict of lists keyed "step",
        "loss_d", "loss_g", "d_real", ...), latest (last metric values), quality (the live
        metric's series, keyed "step", "kid_mnist_cnn", ...), quality_cost (its last
        measurement's network, samples, cost_s and share of the time), sample (the
        newest sample dict or None), sample_steps, and the counters metrics_version /
        sample_version that let a front end skip re-sending
        unchanged data. Arrays are shared, not copied: treat them as read-only.
        """
        run = self._run
        starting = self._starting
        if run is None:
            snap = _idle_snapshot()
            if starting:
                snap["status"] = "starting"
            return snap
        with run.lock:
            sample = run.samples[-1] if run.samples else None
            snap = {
                "run_id": run.run_id,
                "status": run.status,
                "error": run.error,
                "error_reason": run.error_reason,
                "step": _trainer_step(run),
                "total_steps": run.info.get("total_steps", getattr(run.config, "steps", 0)),
                "steps_per_s": run.steps_per_s,
                "elapsed_s": run.elapsed_s,
                "device": run.info.get("device", ""),
                "model": run.info.get("model", getattr(run.config, "model", "")),
                "dataset": run.info.get("dataset", getattr(run.config, "dataset", "")),
                "data_kind": run.info.get("data_kind", ""),
                "real": run.info.get("real"),
                "notes": list(run.info.get("notes") or ()),
                "config": dict(run.info.get("config") or {}),
                "metrics": run.series.export(),
                "metrics_stride": run.series.stride,
                "latest": dict(run.latest),
                "quality": run.quality.export(),
                "quality_cost": dict(run.quality_cost),
                "sample": sample,
                "sample_steps": [s["step"] for s in run.samples],
                "metrics_version": run.metrics_version,
                "sample_version": run.sample_version,
                "checkpoint": run.checkpoint,
                "queue_position": self._slots.position(run.ticket) if run.ticket is not None else None,
                "slots": self._slots.limit,
            }
        if starting:
            snap["status"] = "starting"
        return snap

    def sample_history(self) -> list[dict[str, Any]]:
        """Sample events over the whole run (oldest first; at most `max_samples`, the older ones
        thinned), for a time-lapse."""
        run = self._run
        if run is None:
            return []
        with run.lock:
            return list(run.samples)

    # ----- evaluation -----------------------------------------------------------------

    def probe(self, train_images: int = 5000, test_images: int = 2000) -> list[dict[str, Any]]:
        """Linear-probe the current run's encoder against a random encoder of the same
        architecture (see trainers.metrics.representation); adds a row to and returns the table.

        Runs on a copy of the weights, so a run in progress keeps training undisturbed.
        PlaygroundError when there is no run, its family has no encoder, or its dataset has no
        labelled test split.
        """
        from trainers.data import load_dataset
        from trainers.metrics.representation import probe_against_random

        run = self._run
        if run is None:
            raise PlaygroundError("Train an encoder family first (autoencoder, aae, aae-gan or bigan), "
                                  "then probe it.")
        live = run.trainer.model
        if live.family.encode is None:
            raise PlaygroundError(f"{live.family.name} has no encoder to probe; train autoencoder, aae, "
                                  f"aae-gan or bigan.")
        config = run.trainer.run_config
        if config.dataset.startswith("folder:"):
            raise PlaygroundError("The linear probe needs a labelled dataset with a test split "
                                  "(mnist, fashion-mnist, cifar10 or digits), not a folder.")
        step, model = self._model_copy(run)
        size = live.config.image_size
        train_set = load_dataset(config.dataset, config.data_dir, "train", size)
        test_set = load_dataset(config.dataset, config.data_dir, "test", size)
        started = time.perf_counter()
        result = probe_against_random(model, train_set, test_set, train_images=train_images,
                                      test_images=test_images)
        row = {"model": live.family.name, "dataset": config.dataset, "step": step, **result,
               "seconds": time.perf_counter() - started}
        with self._control_lock:
            self._probes.append(row)
            return list(self._probes)

    def translate(self, image: Any, **options: Any) -> np.ndarray:
        """The current run's model applied to a person's image (uint8 H x W x C): pix2pix, either
        CycleGAN direction (``direction``), super-resolution tile by tile, ESRGAN's network
        interpolation (``alpha``). Runs on a copy of the weights, so a run in progress keeps
        training undisturbed. PlaygroundError when there is no run or its family does not translate.
        """
        run = self._run
        if run is None:
            raise PlaygroundError("Train an image-to-image family first (pix2pix, cyclegan, srgan or esrgan), "
                                  "then translate an image with it.")
        if run.trainer.model.family.translate is None:
            raise PlaygroundError(f"{run.trainer.model.family.name} does not translate images; train pix2pix, "
                                  f"cyclegan, srgan or esrgan.")
        if image is None:
            raise PlaygroundError("Upload an image first.")
        _, model = self._model_copy(run)
        return model.translate_image(np.asarray(image), **options)

    def export_run(self, folder: Path) -> dict[str, Path]:
        """The current run as files in ``folder`` (the front end's own scratch folder): a
        ``checkpoint`` zip (config.json + model.safetensors: ``GANModel.from_pretrained`` of the
        unzipped folder rebuilds it, no pickles), its curves as ``csv`` (one row per logged step, the
        live metric's columns filled where it was measured) and ``json`` (with the run's config)."""
        import csv
        import json
        import zipfile

        from trainers.config import to_dict

        run = self._run
        if run is None:
            raise PlaygroundError("Nothing to download yet: press Start first.")
        step, model = self._model_copy(run)
        with run.lock:
            metrics, quality = run.series.export(), run.quality.export()
            info = {"model": run.info.get("model", ""), "dataset": run.info.get("dataset", ""), "step": step,
                    "status": run.status, "device": run.info.get("device", "")}
        folder = Path(folder)
        stem = f"{info['model'] or 'run'}-step{step}"
        weights = model.save_pretrained(folder / stem)
        archive = folder / f"{stem}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
            for file in sorted(weights.iterdir()):
                bundle.write(file, f"{stem}/{file.name}")
        rows: dict[int, dict[str, Any]] = {}
        for series in (metrics, quality):
            for index, at in enumerate(series["step"]):
                row = rows.setdefault(int(at), {"step": int(at)})
                row.update({key: values[index] for key, values in series.items() if key != "step"})
        columns = ["step", *dict.fromkeys(k for series in (metrics, quality) for k in series if k != "step")]
        table = folder / f"{stem}-metrics.csv"
        with table.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, restval="")
            writer.writeheader()
            writer.writerows(rows[at] for at in sorted(rows))
        report = folder / f"{stem}-metrics.json"
        finite = {name: {key: [v if not isinstance(v, float) or math.isfinite(v) else None for v in values]
                         for key, values in series.items()}
                  for name, series in (("metrics", metrics), ("quality", quality))}
        report.write_text(json.dumps({**info, "run": to_dict(run.config), **finite}, indent=1))  # gaps: null
        return {"checkpoint": archive, "csv": table, "json": report}

    def model_copy(self) -> Any:
        """A GANModel with a copy of the current run's weights (training goes on undisturbed),
        for the Explore demos; PlaygroundError when nothing has been trained in this session."""
        run = self._run
        if run is None:
            raise PlaygroundError("Nothing has been trained in this session yet: start a run on the Train tab, "
                                  "or choose a shipped model.")
        model = self._model_copy(run)[1]
        model.networks.eval().requires_grad_(False)
        return model

    @staticmethod
    def _model_copy(run: "_Run") -> tuple[int, Any]:
        """(the step, a GANModel with a copy of the run's current weights)."""
        from trainers.model import GANModel

        live = run.trainer.model
        step, weights = run.trainer.weights_copy()  # between two steps, never halfway through one
        model = GANModel(live.family, live.config, device=live.device)
        model.networks.load_state_dict(weights)
        return step, model

    def probe_table(self) -> list[dict[str, Any]]:
        with self._control_lock:
            return list(self._probes)

    # ----- worker ---------------------------------------------------------------------

    def _work(self, run: _Run) -> None:
        """Iterate the engine's event generator until it ends; never raises."""
        try:
            for event in run.trainer.run():
                self._record(run, event)
        except Exception as exc:  # the thread must end cleanly and say why
            with run.lock:
                run.status = "error"
                run.error = f"{type(exc).__name__}: {exc}"
                run.error_reason = "crashed"
        finally:
            with run.lock:
                if run.status in ACTIVE_STATUSES:
                    # The generator ended without a done/error event.
                    run.status = "stopped" if run.stop_requested else "done"
            self._slots.release()

    def _record(self, run: _Run, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        with run.lock:
            run.last_event_step = int(event.get("step", run.last_event_step))
            if kind == "start":
                run.info = {k: v for k, v in event.items() if k != "type"}
            elif kind == "metrics":
                values = dict(event.get("losses") or {})
                values.update(event.get("stats") or {})
                run.series.add(run.last_event_step, values)
                run.latest = {k: _as_float(v) for k, v in values.items()}
                run.steps_per_s = _as_float(event.get("steps_per_s", run.steps_per_s))
                run.elapsed_s = _as_float(event.get("elapsed_s", run.elapsed_s))
                run.metrics_version += 1
            elif kind == "quality":
                run.quality.add(run.last_event_step, event.get("values") or {})
                run.quality_cost = {k: event.get(k) for k in ("network", "samples", "cost_s", "share")}
                run.metrics_version += 1
            elif kind == "samples":
                run.samples.append({k: v for k, v in event.items() if k != "type"})
                if len(run.samples) > run.max_samples:  # every other older grid goes: the run stays covered
                    run.samples = run.samples[:-1][::2] + run.samples[-1:]
                run.sample_version += 1
            elif kind == "checkpoint":
                run.checkpoint = event.get("path")
            elif kind == "done":
                run.status = "stopped" if event.get("reason") == "stopped" else "done"
                run.checkpoint = event.get("path") or run.checkpoint
            elif kind == "error":
                run.status = "error"
                run.error = str(event.get("message", "training failed"))
                run.error_reason = str(event.get("reason", "failed"))
                run.checkpoint = event.get("path") or run.checkpoint


def _curves(run: _Run) -> dict[str, Any]:
    """A run's label and curves, detached from its trainer (run lock held)."""
    config = run.info.get("config") or {}
    what = [run.info.get("model", getattr(run.config, "model", ""))]
    if config.get("objective"):
        what.append(str(config["objective"]))
    label = f"#{run.run_id} {' '.join(what)} on {run.info.get('dataset', getattr(run.config, 'dataset', ''))}"
    return {"run_id": run.run_id, "label": label, "status": run.status, "seed": getattr(run.config, "seed", None),
            "metrics": run.series.export(), "quality": run.quality.export()}


def _trainer_step(run: _Run) -> int:
    """The trainer's live step (it moves between metrics events), else the last event's."""
    try:
        return int(run.trainer.step)
    except (AttributeError, TypeError, ValueError):
        return run.last_event_step


def _idle_snapshot() -> dict[str, Any]:
    return {
        "run_id": 0,
        "status": "idle",
        "error": None,
        "error_reason": None,
        "step": 0,
        "total_steps": 0,
        "steps_per_s": 0.0,
        "elapsed_s": 0.0,
        "device": "",
        "model": "",
        "dataset": "",
        "data_kind": "",
        "config": {},
        "real": None,
        "metrics": {"step": []},
        "metrics_stride": 1,
        "latest": {},
        "quality": {"step": []},
        "quality_cost": {},
        "sample": None,
        "sample_steps": [],
        "metrics_version": 0,
        "sample_version": 0,
        "checkpoint": None,
        "queue_position": None,
        "slots": None,
    }


class SessionRegistry:
    """Sessions keyed by a front end's session id (Gradio's session_hash), with cleanup.

    The app creates one registry and hands it to the page builder; nothing here is a
    module-level global. Sessions unused for `idle_timeout_s` are released by
    `cleanup_idle()` (call it yourself, or let `start_reaper()` run it periodically), so
    a closed tab whose unload event never arrived cannot hold a run slot forever.
    """

    def __init__(
        self,
        *,
        max_running: int | None = 2,
        idle_timeout_s: float = 600.0,
        session_factory: Callable[[str, RunSlots], TrainingSession] | None = None,
        clock: Callable[[], float] = time.monotonic,
        limits: RunLimits | None = None,
    ) -> None:
        keep_freed_memory()  # before any training thread starts, so each shares the main arena
        self.slots = RunSlots(max_running)
        self.idle_timeout_s = idle_timeout_s
        self.limits = limits or RunLimits()
        self._session_factory = session_factory or (
            lambda session_id, slots: TrainingSession(slots=slots, name=session_id[:8], limits=self.limits))
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, TrainingSession] = {}
        self._last_seen: dict[str, float] = {}
        self._reaper: threading.Thread | None = None
        self._reaper_stop = threading.Event()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> "SessionRegistry":
        """The hosted app's registry: its run slots, idle timeout and per-run caps from the
        operator's environment variables (see :mod:`playground.limits`)."""
        environ = os.environ if environ is None else environ
        return cls(max_running=whole_number_setting("GAN_MAX_RUNS", 2, environ=environ),
                   idle_timeout_s=float(whole_number_setting("GAN_IDLE_TIMEOUT_S", 600, maximum=MAX_IDLE_TIMEOUT_S,
                                                             environ=environ)),
                   limits=RunLimits.from_environment(environ))

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._sessions

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._sessions)

    def get(self, session_id: str) -> TrainingSession | None:
        """The session for this id if it exists (marks it as seen)."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None:
                self._last_seen[session_id] = self._clock()
            return session

    def get_or_create(self, session_id: str) -> TrainingSession:
        """The session for this id, created on first use; every call marks it as seen."""
        if not session_id:
            raise PlaygroundError("missing session id")
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                session = self._session_factory(session_id, self.slots)
                self._sessions[session_id] = session
            self._last_seen[session_id] = self._clock()
            return session

    def release(self, session_id: str) -> bool:
        """Stop the session's run, join its thread and forget it; False if unknown."""
        with self._lock:
            session = self._sessions.pop(session_id, None)
            self._last_seen.pop(session_id, None)
        if session is None:
            return False
        session.close()
        return True

    def running_count(self) -> int:
        return self.slots.in_use

    def cleanup_idle(self, now: float | None = None) -> list[str]:
        """Release every session not seen for `idle_timeout_s`; returns the released ids."""
        now = self._clock() if now is None else now
        with self._lock:  # found and taken out at once: a visit in between must not lose its session
            stale = [sid for sid, seen in self._last_seen.items() if now - seen > self.idle_timeout_s]
            sessions = [self._sessions.pop(sid) for sid in stale if sid in self._sessions]
            for sid in stale:
                self._last_seen.pop(sid, None)
        for session in sessions:
            session.close()
        return stale

    def close_all(self) -> None:
        """Release every session and stop the reaper (server shutdown, tests)."""
        self.stop_reaper()
        for sid in self.ids():
            self.release(sid)

    def start_reaper(self, interval_s: float = 30.0) -> None:
        """Run cleanup_idle every `interval_s` seconds in a daemon thread (idempotent)."""
        if self._reaper is not None and self._reaper.is_alive():
            return
        self._reaper_stop.clear()
        self._reaper = threading.Thread(
            target=self._reap_loop, args=(interval_s,), name="gan-session-reaper", daemon=True
        )
        self._reaper.start()

    def stop_reaper(self, timeout_s: float = 5.0) -> None:
        self._reaper_stop.set()
        if self._reaper is not None:
            self._reaper.join(timeout_s)
            self._reaper = None

    def _reap_loop(self, interval_s: float) -> None:
        while not self._reaper_stop.wait(interval_s):
            try:
                self.cleanup_idle()
            except Exception:  # pragma: no cover - keep reaping whatever happened
                continue
