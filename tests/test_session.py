"""TrainingSession / SessionRegistry against the real library (no mocks), plus the figures and
form helpers built on their snapshots.

Runs are tiny (mlp-gan on the 2-D "ring"), and every wait polls with a deadline instead of
sleeping a fixed time, so the tests hold on a busy 2-core machine.
"""

from __future__ import annotations

import gc
import json
import math
import threading
import time
import weakref
from typing import Any, Callable

import numpy as np
import torch
import pytest

from playground import figures
from playground.session import DownsampledSeries, RunSlots, SessionRegistry, TrainingSession
from trainers.errors import ConfigError, DatasetUnavailable, PlaygroundError

WAIT_S = 30.0


def ring_config(**changes: Any) -> dict[str, Any]:
    """A long mlp-gan run on the ring: it never finishes by itself during a test."""
    config = {"model": "mlp-gan", "dataset": "ring", "steps": 1_000_000, "batch_size": 32,
              "log_every": 2, "sample_every": 10, "preset": "gan-lab"}
    config.update(changes)
    return config


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def settled_step(session: TrainingSession, quiet_s: float = 0.3) -> int:
    """The step once it has stopped moving for `quiet_s` (a paused run may finish the step it was in)."""
    last = session.snapshot()["step"]
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = session.snapshot()["step"]
        if now == last:
            return now
        last = now
    raise AssertionError("the step never settled")


@pytest.fixture
def session():
    s = TrainingSession(join_timeout_s=20.0)
    yield s
    s.close()


@pytest.fixture
def new_threads() -> Callable[[], list[threading.Thread]]:
    """Threads the playground started since the test began (all are named "gan-...").

    Counting only those, rather than threading.active_count(), keeps the check exact when
    other suites in the same process leave server or thread-pool threads winding down.
    """
    before = set(threading.enumerate())

    def started() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t not in before and t.name.startswith("gan-")]

    return started


# ----- runs ----------------------------------------------------------------------------


def test_history_grows_while_running(session):
    session.start(ring_config())
    wait_for(lambda: len(session.snapshot()["metrics"]["step"]) >= 5, "5 metric points")
    wait_for(lambda: session.snapshot()["sample"] is not None, "a sample")
    snap = session.snapshot()
    assert snap["status"] == "running"
    assert snap["device"] == "cpu" and snap["model"] == "mlp-gan" and snap["data_kind"] == "points"
    assert snap["real"].shape[1] == 2
    metrics = snap["metrics"]
    assert {"loss_d", "loss_g", "d_real", "d_fake"} <= set(metrics)
    assert all(len(v) == len(metrics["step"]) for v in metrics.values())
    assert metrics["step"] == sorted(metrics["step"])
    sample = snap["sample"]
    assert sample["points"].shape[1] == 2
    assert sample["field"]["values"].shape == (len(sample["field"]["y"]), len(sample["field"]["x"]))
    assert snap["steps_per_s"] > 0
    first_version = snap["metrics_version"]
    wait_for(lambda: session.snapshot()["metrics_version"] > first_version + 3, "more metrics")


def test_pause_stops_growth_and_resume_restarts_it(session):
    session.start(ring_config())
    wait_for(lambda: session.snapshot()["step"] > 5, "a few steps")
    assert session.pause()
    assert session.status == "paused"
    step = settled_step(session)
    time.sleep(0.5)
    assert session.snapshot()["step"] == step
    assert session.resume()
    assert session.status == "running"
    wait_for(lambda: session.snapshot()["step"] > step + 5, "steps after resume")


@pytest.mark.parametrize("which", ["both", "d", "g"])
def test_step_advances_exactly_one(session, which):
    session.start(ring_config())
    wait_for(lambda: session.snapshot()["step"] > 2, "a few steps")
    session.pause()
    step = settled_step(session)
    assert session.step(which)
    wait_for(lambda: session.snapshot()["step"] == step + 1, "one step")
    time.sleep(0.4)
    snap = session.snapshot()
    assert snap["step"] == step + 1
    assert snap["status"] == "paused"
    # a single step reports its metrics and samples at once, so the page shows what it did
    wait_for(lambda: session.snapshot()["metrics"]["step"][-1] == step + 1, "the step's metrics")


def test_step_on_a_running_run_pauses_it_first(session):
    session.start(ring_config())
    wait_for(lambda: session.snapshot()["step"] > 2, "a few steps")
    assert session.step("both")
    assert session.status == "paused"
    step = settled_step(session)
    time.sleep(0.3)
    assert session.snapshot()["step"] == step


def test_controls_without_a_run_do_nothing(session):
    assert session.snapshot()["status"] == "idle"
    assert not session.pause()
    assert not session.resume()
    assert not session.step("both")
    assert session.stop()
    with pytest.raises(PlaygroundError):
        session.step("sideways")


def test_a_model_copy_taken_while_training_is_one_steps_weights(session):
    """Explore, Download and the probe copy the weights of a run that keeps training on its own
    thread: each copy is exactly the weights of the step it is labelled with (training replays
    bit for bit from the seed), never half of one step's update and half of the next."""
    import dataclasses

    from trainers.engine import Trainer

    session.start(ring_config(batch_size=256, log_every=1000, sample_every=1000))
    copies = []
    for pause_s in (0.05, 0.11, 0.17, 0.23, 0.31, 0.37):
        time.sleep(pause_s)
        copies.append(session._model_copy(session._run))
    config = session._run.trainer.run_config
    session.stop()
    assert len({step for step, _ in copies}) > 1  # taken while it trained
    for step, model in copies:
        replay = Trainer(dataclasses.replace(config, steps=step, sample_every=10**6, log_every=10**6))
        for _ in replay.run():
            pass
        want = replay.model.networks.state_dict()
        assert all(torch.equal(value, want[key]) for key, value in model.networks.state_dict().items()), step


def test_stop_joins_the_worker_thread(session, new_threads):
    session.start(ring_config())
    thread = session.thread
    wait_for(lambda: session.snapshot()["step"] > 2, "a few steps")
    assert len(new_threads()) == 1
    assert session.stop()
    assert not thread.is_alive()
    assert session.status == "stopped"
    assert new_threads() == []


def test_stop_while_paused_joins_too(session, new_threads):
    session.start(ring_config())
    wait_for(lambda: session.snapshot()["step"] > 2, "a few steps")
    session.pause()
    assert session.stop()
    assert session.status == "stopped"
    assert new_threads() == []


def test_run_completes_and_frees_its_slot(new_threads):
    slots = RunSlots(1)
    session = TrainingSession(slots=slots)
    session.start(ring_config(steps=40))
    wait_for(lambda: session.status == "done", "the run to finish")
    snap = session.snapshot()
    assert snap["step"] == 40
    assert snap["metrics"]["step"][-1] == 40
    wait_for(lambda: not session.thread.is_alive(), "the worker to end")
    assert slots.in_use == 0
    assert new_threads() == []


def test_start_replaces_the_running_run(session, new_threads):
    first_id = session.start(ring_config())
    first_thread = session.thread
    wait_for(lambda: session.snapshot()["step"] > 2, "a few steps")
    second_id = session.start(ring_config(dataset="spiral"))
    assert second_id != first_id
    assert not first_thread.is_alive()
    assert len(new_threads()) == 1
    snap = session.snapshot()
    assert snap["run_id"] == second_id
    wait_for(lambda: session.snapshot()["dataset"] == "spiral", "the new run's start event")
    session.stop()
    assert new_threads() == []


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"dataset": "no-such-data"}, DatasetUnavailable),
        ({"steps": 0}, ConfigError),
        ({"steps": -5}, ConfigError),
        ({"batch_size": 0}, ConfigError),
        ({"model": "no-such-model"}, ConfigError),
        ({"dataset": "digits"}, ConfigError),  # image data for a points model
        ({"overrides": {"no_such_key": 1}}, ConfigError),
        ({"overrides": {"lr_g": "fast"}}, ConfigError),
        ({"unknown_run_key": 1}, ConfigError),
    ],
)
def test_bad_input_raises_before_any_thread(session, new_threads, changes, error):
    with pytest.raises(error) as info:
        session.start(ring_config(**changes))
    assert str(info.value)  # a message a person can read
    assert session.status == "idle"
    assert new_threads() == []


@pytest.mark.parametrize("run", [None, "mlp-gan", 42, ["mlp-gan", "ring"]])
def test_a_run_that_is_neither_a_config_nor_a_mapping_is_refused(session, new_threads, run):
    with pytest.raises(ConfigError, match=f"a run is a RunConfig or a mapping of its fields.*not {type(run).__name__}"):
        session.start(run)
    assert session.status == "idle" and new_threads() == []


def test_missing_dataset_file_raises(session, tmp_path, monkeypatch, new_threads):
    monkeypatch.setenv("GAN_OFFLINE", "1")
    with pytest.raises(DatasetUnavailable, match="mnist"):
        session.start({"model": "dcgan", "dataset": "mnist", "data_dir": str(tmp_path)})
    assert new_threads() == []


def test_bad_input_keeps_the_current_run(session):
    session.start(ring_config())
    wait_for(lambda: session.snapshot()["step"] > 2, "a few steps")
    with pytest.raises(ConfigError):
        session.start(ring_config(steps=0))
    assert session.status == "running"


def test_a_start_while_the_old_run_is_still_in_a_long_step_is_refused_not_given_a_second_slot(new_threads):
    """The old run's worker holds its slot until its step ends: a new run beside it would make one
    session hold two of the server's run slots."""
    from trainers.engine import Trainer

    in_step, step_may_end = threading.Event(), threading.Event()

    def slow_trainer(config):
        trainer = Trainer(config)
        real_train_one = trainer.train_one

        def train_one(update="both"):
            if trainer.step == 5:  # a step that outlasts the session's join timeout
                in_step.set()
                step_may_end.wait(WAIT_S)
            return real_train_one(update)

        trainer.train_one = train_one
        return trainer

    slots = RunSlots(2)
    session = TrainingSession(slots=slots, trainer_factory=slow_trainer, join_timeout_s=0.2)
    try:
        session.start(ring_config())
        assert in_step.wait(WAIT_S)
        with pytest.raises(PlaygroundError, match="still finishing a long training step"):
            session.start(ring_config(dataset="spiral"))
        assert slots.in_use == 1 and session.snapshot()["dataset"] == "ring"
        step_may_end.set()
        wait_for(lambda: slots.in_use == 0, "the old run to end after its step")
        session.start(ring_config(dataset="spiral"))
        wait_for(lambda: session.snapshot()["step"] > 6, "the new run")
        assert slots.in_use == 1 and session.snapshot()["dataset"] == "spiral"
    finally:
        step_may_end.set()
        session.close()
    assert new_threads() == []


def test_a_diverged_run_says_so_in_the_snapshot_and_its_diagnosis(new_threads):
    """A NaN in the data makes the losses NaN: the engine's reason reaches the snapshot, and the
    diagnosis names the divergence from that reason (not from the wording of the message)."""
    from playground.diagnostics import diagnose
    from trainers.data.base import Dataset
    from trainers.engine import Trainer

    points = torch.randn(64, 2, generator=torch.Generator().manual_seed(0)) * 0.3
    points[7] = float("nan")  # every row is drawn in the first epoch of 2 batches
    session = TrainingSession(slots=RunSlots(1),
                              trainer_factory=lambda config: Trainer(config, dataset=Dataset("nan-points", points)))
    session.start(ring_config(log_every=1))
    wait_for(lambda: session.status == "error", "the error status")
    snap = session.snapshot()
    assert snap["error_reason"] == "diverged" and "NaN" in snap["error"] and snap["step"] <= 2
    assert diagnose(snap)[0].text.startswith("Loss is NaN: the run diverged")
    wait_for(lambda: not session.thread.is_alive(), "the worker to end")
    session.close()
    assert new_threads() == []


def test_a_failing_run_reports_error_and_frees_everything(new_threads):
    """A crash inside the engine ends the worker cleanly: status "error", the message kept."""
    from trainers.engine import Trainer

    def failing_trainer(config):
        trainer = Trainer(config)
        real_train_one = trainer.train_one

        def train_one(update="both"):
            if trainer.step >= 5:
                raise RuntimeError("simulated failure in a training step")
            return real_train_one(update)

        trainer.train_one = train_one
        return trainer

    slots = RunSlots(1)
    session = TrainingSession(slots=slots, trainer_factory=failing_trainer)
    session.start(ring_config())
    wait_for(lambda: session.status == "error", "the error status")
    snap = session.snapshot()
    assert "simulated failure" in snap["error"] and snap["error_reason"] == "crashed"
    assert snap["step"] == 5
    wait_for(lambda: not session.thread.is_alive(), "the worker to end")
    assert slots.in_use == 0
    assert new_threads() == []
    session.start(ring_config())  # the session is usable again
    assert session.status == "running"
    session.close()


# ----- registry ------------------------------------------------------------------------


def test_registry_release_frees_the_thread(new_threads):
    registry = SessionRegistry(max_running=2)
    session = registry.get_or_create("tab-1")
    assert registry.get_or_create("tab-1") is session
    session.start(ring_config())
    wait_for(lambda: session.snapshot()["step"] > 2, "a few steps")
    assert registry.running_count() == 1
    assert registry.release("tab-1")
    assert "tab-1" not in registry and len(registry) == 0
    assert registry.running_count() == 0
    assert new_threads() == []
    assert not registry.release("tab-1")


def test_registry_limits_concurrent_runs_and_queues_the_rest(new_threads):
    registry = SessionRegistry(max_running=1)
    registry.slots.max_waiting = 2
    first, second, third, fourth = (registry.get_or_create(sid) for sid in "abcd")
    first.start(ring_config())
    second.start(ring_config())  # every slot taken: it waits in line, visibly
    snap = second.snapshot()
    assert snap["status"] == "queued" and snap["queue_position"] == 1 and second.thread is None
    third.start(ring_config(dataset="grid"))
    assert third.snapshot()["queue_position"] == 2
    with pytest.raises(PlaygroundError, match="busy"):  # the line is full too
        fourth.start(ring_config())
    assert fourth.status == "idle"
    first.start(ring_config(dataset="grid"))  # restarting your own run goes to the back of the line
    assert first.snapshot()["queue_position"] == 2 and second.status == "running"
    assert third.snapshot()["queue_position"] == 1
    second.pause()  # a paused run still holds its slot
    assert third.status == "queued"
    third.stop()  # leaving the line
    assert third.status == "stopped" and first.snapshot()["queue_position"] == 1
    second.stop()  # its slot goes to the next in line
    wait_for(lambda: first.status == "running", "the queued run to start")
    assert registry.running_count() == 1 and registry.slots.waiting == 0
    registry.close_all()
    assert len(registry) == 0 and registry.running_count() == 0
    assert new_threads() == []


HOSTED = {"GAN_MAX_STEPS": "500", "GAN_MAX_BATCH": "64", "GAN_MAX_IMAGE_SIZE": "64", "GAN_MAX_WIDTH": "64",
          "GAN_MAX_RUNS": "3", "GAN_IDLE_TIMEOUT_S": "120"}


@pytest.mark.parametrize("changes,named", [
    ({"steps": 501}, "steps 501 (at most 500, GAN_MAX_STEPS)"),
    ({"batch_size": 65}, "batch size 65 (at most 64, GAN_MAX_BATCH)"),
    ({"overrides": {"hidden": 65}}, "hidden 65 (at most 64, GAN_MAX_WIDTH)"),
    ({"model": "dcgan", "dataset": "mnist", "preset": "paper", "overrides": {"g_width": 128}},
     "g_width 128 (at most 64, GAN_MAX_WIDTH)"),
    ({"model": "dcgan", "dataset": "mnist", "preset": "", "image_size": 128},
     "image size 128 (at most 64, GAN_MAX_IMAGE_SIZE)"),
    # the size the data decides: facades are 128-pixel pictures, refused once the trainer knows it
    ({"model": "pix2pix", "dataset": "facades", "preset": "", "overrides": {}},
     "image_size 128 (at most 64, GAN_MAX_IMAGE_SIZE)"),
])
def test_operator_caps_refuse_a_bigger_run_before_anything_is_built(changes, named, new_threads):
    """A hosted app's caps (environment variables) refuse a run that asks for more, naming the
    cap and its variable, before a dataset or network exists; the run already going keeps going."""
    registry = SessionRegistry.from_environment(HOSTED)
    assert (registry.slots.limit, registry.idle_timeout_s) == (3, 120.0)
    session = registry.get_or_create("visitor")
    session.start(ring_config(steps=500, batch_size=64, overrides={"hidden": 64}))  # at the caps: fine
    wait_for(lambda: session.snapshot()["step"] > 2, "a few steps")
    with pytest.raises(PlaygroundError) as info:
        session.start(ring_config(**{"steps": 500, "batch_size": 64, **changes}))
    assert named in str(info.value) and "your own machine" in str(info.value)
    # the run already going keeps going: running still, or done with all its 500 steps (a 2-D run
    # that fast may finish while the facades are read), never stopped by the refusal
    snapshot = session.snapshot()
    assert (snapshot["status"], snapshot["step"] > 2) == ("running", True) or \
        (snapshot["status"], snapshot["step"]) == ("done", 500), snapshot["status"]
    registry.close_all()
    assert new_threads() == []


def test_every_exceeded_cap_is_named_at_once():
    from playground.limits import RunLimits
    from trainers.engine import RunConfig

    limits = RunLimits.from_environment(HOSTED)
    with pytest.raises(PlaygroundError) as info:
        limits.check(RunConfig(model="dcgan", steps=501, batch_size=65, overrides={"d_width": 65}))
    assert all(part in str(info.value) for part in ("GAN_MAX_STEPS", "GAN_MAX_BATCH", "d_width 65"))
    RunLimits().check(RunConfig(steps=10_000_000, batch_size=4096))  # no caps: a local app


@pytest.mark.parametrize("variable,value", [("GAN_MAX_STEPS", "lots"), ("GAN_MAX_BATCH", "0"),
                                            ("GAN_MAX_RUNS", "-1"), ("GAN_IDLE_TIMEOUT_S", "1.5")])
def test_a_mistyped_cap_stops_the_app_at_start_naming_the_variable(variable, value):
    with pytest.raises(ValueError, match=f"{variable}={value!r}: set it to a whole number"):
        SessionRegistry.from_environment({**HOSTED, variable: value})


def test_a_served_app_reads_only_the_visitors_own_uploads(tmp_path, new_threads):
    """Typed paths (folder:PATH, inpaint:FILE:MASK) may not reach the server's own files unless the
    operator allows it; the visitor's uploads, in their session's folder, train as usual."""
    from PIL import Image

    from playground.uploads import training_images

    outside = tmp_path / "server-pictures"
    outside.mkdir()
    pictures = []
    for index in range(8):
        pictures.append(outside / f"{index}.png")
        Image.fromarray(np.full((16, 16, 3), index * 30, np.uint8)).save(pictures[-1])
    served = SessionRegistry.from_environment({})
    session = served.get_or_create("visitor")
    run = {"model": "dcgan", "preset": "cpu-small", "steps": 3, "batch_size": 4, "image_size": 16}
    for dataset in (f"folder:{outside}", f"folder:{session.upload_dir}/../{outside.name}",
                    f"folder:{session.upload_dir}/../../../{outside.relative_to(outside.anchor)}",
                    f"inpaint:{pictures[0]}:box", "inpaint:astronaut:" + str(pictures[1])):
        with pytest.raises(PlaygroundError, match="only trains on pictures uploaded here"):
            session.start({**run, "dataset": dataset})
        assert session.status == "idle"
    own = training_images(pictures, session.upload_dir)["dataset"]  # the upload flow: into its own folder
    session.start({**run, "dataset": own})
    wait_for(lambda: session.status == "done", "the run on the visitor's own pictures")
    uploaded = weakref.ref(session.trainer.dataset)
    session.start({"model": "dip-inpaint", "dataset": "inpaint:astronaut:box", "steps": 3, "batch_size": 1})
    served.close_all()
    gc.collect()
    assert uploaded() is None  # the pictures read from the deleted uploads are not kept in memory
    local = SessionRegistry.from_environment({"GAN_ALLOW_SERVER_PATHS": "1"}).get_or_create("me")
    local.start({**run, "dataset": f"folder:{outside}"})  # an app one runs for oneself
    wait_for(lambda: local.status == "done", "the run on a folder of this machine")
    local.close()
    with pytest.raises(ValueError, match="GAN_ALLOW_SERVER_PATHS='maybe'"):
        SessionRegistry.from_environment({"GAN_ALLOW_SERVER_PATHS": "maybe"})
    assert new_threads() == []


def _heap_in_use_mb() -> float:
    """What the C heap has handed out and not had back (glibc's ``mallinfo2``), torch's tensors
    included. Not the resident size: the allocator keeps freed memory for reuse
    (``trainers/allocator.py``), so the resident size shows where the heap stood, not what leaked."""
    import ctypes

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
            "keepcost")]

    try:
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        pytest.skip("needs glibc 2.33 or later, whose mallinfo2 counts the heap's bytes in use")
    mallinfo2.restype = MallInfo2
    info = mallinfo2()
    return (info.uordblks + info.hblkhd) / 2**20  # small blocks in use + mapped big blocks


def test_a_finished_run_and_a_closed_session_free_their_memory(new_threads):
    """What a run holds (networks, optimizer state, data) is freed when the next run replaces it and
    when the session closes: nothing keeps the trainer alive, and ten runs in a row of a 4 MB model
    on MNIST-sized data leave no more of the heap in use than after the first two."""
    import gc
    import weakref

    registry = SessionRegistry(max_running=1)
    session = registry.get_or_create("visitor")
    run = {"model": "dcgan", "dataset": "digits", "preset": "paper", "steps": 3, "batch_size": 32, "image_size": 32}
    trainers, in_use = [], []
    for seed in range(10):
        session.start({**run, "seed": seed})
        wait_for(lambda: session.status == "done", "the run to finish")
        trainers.append(weakref.ref(session.trainer))
        gc.collect()
        in_use.append(_heap_in_use_mb())
    assert [alive() is not None for alive in trainers] == [False] * 9 + [True]  # only the current one
    assert len(session.compared_runs()) == 8  # the earlier runs' curves, not their models
    assert in_use[-1] - in_use[1] < 20, in_use  # MB; a run kept alive holds 28 MB (measured)
    registry.release("visitor")
    gc.collect()
    assert trainers[-1]() is None and registry.running_count() == 0
    assert new_threads() == []


def test_registry_releases_idle_sessions(new_threads):
    now = [1000.0]
    registry = SessionRegistry(idle_timeout_s=60.0, clock=lambda: now[0])
    busy = registry.get_or_create("busy")
    registry.get_or_create("quiet")
    busy.start(ring_config())
    now[0] += 45
    registry.get("quiet")  # seen again: not idle
    now[0] += 30
    assert registry.cleanup_idle() == ["busy"]
    assert registry.ids() == ["quiet"]
    assert new_threads() == []


def test_registry_reaper_runs_cleanup(new_threads):
    registry = SessionRegistry(idle_timeout_s=0.1)
    registry.get_or_create("gone").start(ring_config())
    registry.start_reaper(interval_s=0.05)
    wait_for(lambda: len(registry) == 0, "the reaper to release the idle session", timeout=10)
    registry.stop_reaper()
    assert new_threads() == []


def test_registry_needs_a_session_id():
    with pytest.raises(PlaygroundError):
        SessionRegistry().get_or_create("")


# ----- bounded history -------------------------------------------------------------------


def test_series_stays_bounded_and_keeps_the_whole_run():
    series = DownsampledSeries(max_points=100)
    for step in range(1, 10_001):
        series.add(step, {"loss_d": 1.0, "loss_g": float(step)})
    assert 50 <= len(series) <= 100
    out = series.export()
    assert len(out["step"]) == len(out["loss_d"]) == len(out["loss_g"])
    assert out["step"][0] < 300 and out["step"][-1] == 10_000
    assert out["step"] == sorted(out["step"])
    assert all(v == 1.0 for v in out["loss_d"])
    # bucket means of a linear ramp stay on the ramp (within half a bucket)
    for step, value in zip(out["step"], out["loss_g"]):
        assert abs(value - step) <= series.stride


def test_series_storage_does_not_grow_with_the_run():
    # what an add and an export cost is bounded by what is stored: at most max_points buckets
    # per series, however long the run (timed, this is a bench figure, not a test)
    series = DownsampledSeries(max_points=500)
    for step in range(200_000):
        series.add(step, {"loss_d": 0.5, "loss_g": 0.5})
        if step % 997 == 0:
            assert len(series.steps) <= 500 and all(len(v) <= 500 for v in series.values.values())
    exported = series.export()
    assert 250 <= len(exported["step"]) <= 500 and exported["step"][-1] <= 199_999
    assert series.stride >= 200_000 // 500


def test_series_gaps_and_late_keys():
    series = DownsampledSeries(max_points=8)
    series.add(1, {"loss_d": 1.0})
    series.add(2, {"loss_d": float("nan"), "grad_norm_d": 2.0})
    out = series.export()
    assert out["step"] == [1, 2]
    assert out["loss_d"][0] == 1.0 and math.isnan(out["loss_d"][1])
    assert math.isnan(out["grad_norm_d"][0]) and out["grad_norm_d"][1] == 2.0


def test_sample_history_is_bounded():
    session = TrainingSession(max_samples=3)
    session.start(ring_config(sample_every=2))
    wait_for(lambda: session.snapshot()["sample_version"] >= 6, "6 samples")
    session.pause()
    history = session.sample_history()
    assert len(history) == 3
    assert [h["step"] for h in history] == session.snapshot()["sample_steps"]
    session.close()


# ----- figures from real snapshots -----------------------------------------------------------


def test_figures_from_a_real_2d_snapshot(session):
    session.start(ring_config())
    wait_for(lambda: session.snapshot()["sample"] is not None and session.snapshot()["metrics_version"] > 2,
             "metrics and a sample")
    snap = session.snapshot()
    loss = figures.loss_figure(snap["metrics"])
    names = {trace.name for trace in loss.data}
    assert {"D loss", "G loss", "D(x) real", "D(G(z)) fake"} <= names
    field = snap["sample"]["field"]
    fig = figures.points_figure(snap["real"], snap["sample"]["points"], field)
    kinds = [trace.type for trace in fig.data]
    assert kinds == ["heatmap", "scattergl", "scattergl"]
    heat = fig.data[0]
    assert np.asarray(heat.z).shape == (len(field["y"]), len(field["x"]))
    assert fig.to_json()  # serialisable, as gr.Plot needs


def test_figures_from_a_real_1d_snapshot(session):
    session.start(ring_config(dataset="gaussian-1d"))
    wait_for(lambda: session.snapshot()["sample"] is not None, "a sample")
    snap = session.snapshot()
    fig = figures.points_figure(snap["real"], snap["sample"]["points"], snap["sample"]["field"])
    kinds = [trace.type for trace in fig.data]
    assert kinds == ["bar", "bar", "scatter"]
    assert fig.to_json()


def test_heatmap_orientation_follows_the_axes():
    x = np.linspace(-1, 1, 4)
    y = np.linspace(-1, 1, 3)
    values = np.tile(y[:, None], (1, 4)) * 0.5 + 0.5  # depends on y only: rows are y
    fig = figures.field_2d_figure(None, None, {"x": x, "y": y, "values": values})
    z = np.asarray(fig.data[0].z)
    assert z.shape == (3, 4)
    assert np.allclose(z[:, 0], values[:, 0])
    transposed = figures.field_2d_figure(None, None, {"x": x, "y": y, "values": values.T})
    assert np.asarray(transposed.data[0].z).shape == (3, 4)


def finished_snapshot(session: TrainingSession, config: dict[str, Any]) -> dict[str, Any]:
    session.start(config)
    wait_for(lambda: session.snapshot()["status"] == "done", "the run to finish", timeout=120)
    return session.snapshot()


def panel_titles(fig) -> list[str]:
    layout = fig.layout.to_plotly_json()
    return [axis.get("title", {}).get("text") for name, axis in layout.items() if name.startswith("yaxis")]


def test_progan_live_view_shows_resolution_and_fade_in(session):
    from playground.lab import status_text

    config = {"model": "progan", "dataset": "digits", "steps": 12, "batch_size": 16, "log_every": 1,
              "sample_every": 100, "overrides": {"width": 8, "latent_dim": 8, "phase_steps": 4}}
    snap = finished_snapshot(session, config)  # 4x4 for 4 steps, fade to 8x8 over 4, stable 4
    fig = figures.loss_figure(snap["metrics"])
    assert {"resolution (px)", "fade-in alpha"} <= set(panel_titles(fig))
    traces = {t.name: np.asarray(t.y, dtype=float) for t in fig.data}
    assert traces["resolution"][0] == 4 and traces["resolution"][-1] == 8
    assert traces["alpha"].min() < 0.5 and traces["alpha"][-1] == 1.0
    assert "resolution 8×8" in status_text(snap) and "fading in" not in status_text(snap)
    fading = dict(snap, latest={**snap["latest"], "resolution": 8.0, "alpha": 0.25})
    assert "resolution 8×8, fading in (alpha 0.25)" in status_text(fading)


def test_egan_live_view_shows_which_mutation_won(session):
    from playground.lab import status_text

    # two mutations and windows of 5 steps: no window can end in a tie
    config = {"model": "e-gan", "dataset": "digits", "steps": 10, "batch_size": 16, "log_every": 5,
              "sample_every": 100, "overrides": {"g_width": 8, "d_width": 8, "latent_dim": 8,
                                                 "mutations": "heuristic,least-squares"}}
    snap = finished_snapshot(session, config)
    fig = figures.loss_figure(snap["metrics"])
    assert "mutation wins (share)" in panel_titles(fig)
    wins = {t.name: np.asarray(t.y, dtype=float) for t in fig.data
            if t.name in ("minimax", "heuristic", "least squares")}
    assert sorted(wins) == ["heuristic", "least squares"]
    assert np.allclose(sum(wins.values()), 1.0)  # each window's wins are shared among the mutations
    best = max(wins, key=lambda name: wins[name][-1])
    assert f"mutation winning: {best}" in status_text(snap)


def test_signals_without_a_panel_are_not_drawn():
    fig = figures.loss_figure({"step": [1, 2], "loss_d": [0.7, 0.6], "loss_g": [0.8, 0.9],
                               "grad_norm_d": [1.0, 2.0], "something_new": [3.0, 4.0]})
    assert [t.name for t in fig.data] == ["D loss", "G loss"]


def test_empty_inputs_give_placeholder_figures():
    assert figures.loss_figure({"step": []}).layout.annotations
    assert figures.points_figure(None, None).layout.annotations
    fig = figures.loss_figure({"step": [1, 2], "loss_d": [0.7, 0.6], "loss_g": [0.8, 0.9]})
    assert [t.name for t in fig.data] == ["D loss", "G loss"]


# ----- the linear probe ----------------------------------------------------------------


def test_probe_reads_a_copy_of_the_encoder_and_keeps_a_table(session):
    with pytest.raises(PlaygroundError, match="Train an encoder family first"):
        session.probe()
    config = {"model": "aae", "dataset": "digits", "steps": 40, "batch_size": 32, "log_every": 10,
              "sample_every": 20, "overrides": {"g_width": 8, "d_width": 8, "latent_dim": 2, "prior": "mixture"}}
    snap = finished_snapshot(session, config)
    codes = snap["sample"]["codes"]
    assert codes["points"].shape == (1000, 2) and sorted(set(codes["labels"].tolist())) == list(range(10))
    radius = np.linalg.norm(codes["prior"], axis=1)  # the mixture prior: 10 Gaussians at radius 4
    assert codes["prior"].shape == (1000, 2) and abs(np.median(radius) - 4) < 0.5
    assert snap["sample"]["reconstruction_error"]["split"] == "test"
    weights = {k: v.clone() for k, v in session.trainer.model.networks.state_dict().items()}
    first = session.probe(train_images=1000, test_images=297)
    second = session.probe(train_images=1000, test_images=297)
    assert len(first) == 1 and len(second) == 2 and session.probe_table() == second
    row = second[-1]
    assert (row["model"], row["dataset"], row["step"], row["code_size"]) == ("aae", "digits", 40, 2)
    assert row["train_images"] == 1000 and row["test_images"] == 297
    assert 0.1 < row["accuracy"] <= 1 and 0 < row["random_accuracy"] <= 1
    assert row["accuracy"] == first[0]["accuracy"]  # deterministic: the same weights, the same answer
    after = session.trainer.model.networks.state_dict()
    assert all(torch.equal(weights[k], after[k]) for k in weights)  # the run's own model is untouched


def test_probe_refuses_families_without_an_encoder_and_unlabelled_folders(session, tmp_path):
    from PIL import Image

    session.start(ring_config(steps=5))
    with pytest.raises(PlaygroundError, match="mlp-gan has no encoder to probe"):
        session.probe()
    for index in range(4):
        Image.new("L", (8, 8), color=index * 60).save(tmp_path / f"{index}.png")
    session.start({"model": "autoencoder", "dataset": f"folder:{tmp_path}", "steps": 2, "batch_size": 4,
                   "image_size": 8, "overrides": {"g_width": 8, "d_width": 8, "latent_dim": 4}})
    with pytest.raises(PlaygroundError, match="labelled dataset with a test split"):
        session.probe()
    assert session.probe_table() == []


def _figure_json(build) -> dict:
    fig = json.loads(build().to_json())
    fig["layout"].pop("title", None)  # a validated figure writes an unset title as {}
    return fig


def test_every_figure_passes_plotlys_validation_unchanged(monkeypatch):
    """The figures skip Plotly's schema checks for speed (a live redraw twice a second); built with
    the checks on, each must come out the same, so a misspelt property still fails here."""
    rng = np.random.default_rng(0)
    steps = list(range(0, 500, 5))
    metrics = {"step": steps, **{key: list(rng.random(len(steps))) for key in
                                 ("loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "wasserstein_estimate",
                                  "alpha", "win_minimax", "lr_g", "code_std")}}
    quality = {"step": [0, 250, 500], "kid_mnist_cnn": [0.3, 0.1, 0.05], "kid_se_mnist_cnn": [0.01] * 3,
               "fid_mnist_cnn": [90.0, 40.0, 20.0], "classes_covered_mnist_cnn": [2, 8, 10]}
    points, field = rng.normal(size=(200, 2)), {"x": np.linspace(-1, 1, 5), "y": np.linspace(-1, 1, 4),
                                                 "values": rng.random((4, 5))}
    line, grid, labels = rng.normal(size=(200, 1)), rng.normal(size=(15, 15, 2)), rng.integers(0, 3, 200)
    canvas, scores = rng.normal(size=(100, 2)), {"real": rng.random(64), "fake": rng.random(64)}
    curve = {"x": np.linspace(-2, 2, 50), "values": rng.random(50)}
    runs = [{"run_id": i, "label": f"run {i}", "metrics": metrics, "quality": quality if i else {"step": []}}
            for i in range(2)]
    builders = {
        "empty": lambda: figures.empty_figure(),
        "losses": lambda: figures.loss_figure(metrics, quality=quality, title="a run"),
        "2-D points": lambda: figures.points_figure(points, points + 0.1, field, gradients=points * 0.01,
                                                    noise_grid=grid),
        "1-D points": lambda: figures.points_figure(line, line + 0.1, curve),
        "codes": lambda: figures.codes_figure(points, labels, ("a", "b", "c"), prior=points),
        "compare": lambda: figures.compare_figure(runs),
        "histogram": lambda: figures.score_histogram_figure(scores),
        "histogram of critic scores": lambda: figures.score_histogram_figure(
            {"real": line[:64, 0], "fake": line[64:128, 0] - 1}, title="critic"),
        "drawing": lambda: figures.drawing_figure([[0.1, 0.2]], canvas, 1.5),
    }
    for name, build in builders.items():
        unchecked = _figure_json(build)
        monkeypatch.setattr(figures, "_VALIDATE", True)
        checked = _figure_json(build)
        monkeypatch.setattr(figures, "_VALIDATE", False)
        assert checked == unchecked, name
        assert unchecked["data"] or unchecked["layout"].get("annotations"), name
