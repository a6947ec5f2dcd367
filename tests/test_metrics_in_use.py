"""The metrics where people meet them: the engine's live metric while a GAN trains, `python -m
trainers evaluate` and `export`, and the playground session's quality series and figure."""

from __future__ import annotations

import json
import time

import pytest

from playground import figures
from playground.lab import quality_phrase
from playground.session import TrainingSession
from trainers.cli import main
from trainers.engine import RunConfig, Trainer
from trainers.metrics.quality import LiveQuality
from trainers.model import GANModel
from trainers.pretrained import pretrained_path

LIVE_STEPS, BUDGET = 900, 0.1


#: The tests of the trained DCGAN below share one pytest-xdist worker, so it is trained once.
ON_ONE_WORKER = pytest.mark.xdist_group("live_dcgan")


# session scope: xdist may run other modules between the group's tests, which would tear a
# module fixture down and train it again
@pytest.fixture(scope="session")
def live_dcgan(data_dir, tmp_path_factory):
    """A DCGAN trained on MNIST with the live metric on: (its events, its checkpoint folder)."""
    out = tmp_path_factory.mktemp("live") / "dcgan"
    run = RunConfig(model="dcgan", dataset="mnist", preset="cpu-small", steps=LIVE_STEPS, seed=0, out=str(out),
                    data_dir=str(data_dir), log_every=50, sample_every=10**6, metric_every=50,
                    metric_budget=BUDGET, device="cpu")
    events = list(Trainer(run).run())
    assert events[-1]["type"] == "done", events[-1]
    return events, out


@ON_ONE_WORKER
def test_live_metric_falls_as_the_dcgan_learns(live_dcgan):
    events, _ = live_dcgan
    quality = [e for e in events if e["type"] == "quality"]
    for event in quality:
        print(event["step"], {k: round(v, 3) for k, v in event["values"].items()},
              f"cost {event['cost_s']:.2f} s, share {event['share']:.3f}")
    first, last = quality[0], quality[-1]
    assert first["step"] == 0 and last["step"] == LIVE_STEPS and len(quality) >= 4
    assert first["network"] == "mnist_cnn" and first["samples"] == 500
    assert last["values"]["kid_mnist_cnn"] < 0.3 * first["values"]["kid_mnist_cnn"]
    assert last["values"]["fid_mnist_cnn"] < 0.3 * first["values"]["fid_mnist_cnn"]
    assert last["values"]["classes_covered_mnist_cnn"] >= 8
    assert all(e["values"]["kid_se_mnist_cnn"] > 0 for e in quality)
    # the untrained baseline is set-up, not training time: the budget's share counts from after it
    assert first["share"] == 0.0 and all(0 < e["share"] < 1 for e in quality[1:])


@pytest.mark.parametrize("budget", [0.05, 0.1, 0.3])
@pytest.mark.parametrize("costs", ["steady", "growing", "one slow"])
def test_the_live_metric_budget_keeps_its_share_of_the_time(budget, costs):
    # the engine's schedule, on a clock of given step times and measurement costs (wall-clock
    # shares under a loaded machine are the bench's figure 3, not a test's)
    monitor = LiveQuality(None, None, None, samples=500, seed=0, budget=budget)
    monitor.record(0.5)  # the untrained baseline: its cost is the first estimate, its time not counted
    monitor.spent_s = 0.0
    step_s, check_every, training_s, measured_at = 0.01, 50, 0.0, []
    for step in range(1, 20_001):
        training_s += step_s
        if step % check_every == 0 and monitor.due(training_s):
            slow = len(measured_at) == 10  # the eleventh measurement, whatever the budget's spacing
            cost = {"steady": 0.5, "growing": 0.5 + step / 20_000, "one slow": 5.0 if slow else 0.5}[costs]
            monitor.record(cost)
            measured_at.append(step)
            # a measurement keeps the share within the budget, give or take its own cost's surprise
            assert monitor.share(training_s) <= budget + cost / (training_s + monitor.spent_s), (step, costs)
    # it measures as often as the budget allows: the share ends close to the budget, not far under
    assert budget - 0.02 <= monitor.share(training_s) <= budget + 1e-9, monitor.share(training_s)
    assert len(measured_at) >= 5


def test_live_metric_is_off_with_a_note_where_nothing_can_judge_the_samples(data_dir):
    run = RunConfig(model="dcgan", dataset="digits", steps=20, batch_size=16, metric_every=5, data_dir=str(data_dir),
                    overrides={"g_width": 8, "d_width": 8})
    events = list(Trainer(run).run())
    notes = " ".join(events[0]["notes"])
    assert "live metric off" in notes and "no domain classifier for digits" in notes
    assert events[-1]["type"] == "done" and not [e for e in events if e["type"] == "quality"]
    # a translating family has a generator, of pictures from pictures: its note says so
    translating = Trainer(RunConfig(model="pix2pix", dataset="mnist-edges", steps=1, batch_size=4, metric_every=5,
                                    data_dir=str(data_dir), overrides={"g_width": 8, "d_width": 8}))
    assert translating.live_quality() == (None, "live metric off: pix2pix makes pictures from pictures, not from "
                                                "noise; its held-out scores come with each preview")


def test_live_toy_metric_counts_the_ring_modes_as_the_mlp_gan_learns_and_evaluate_agrees(tmp_path, capsys):
    run = RunConfig(model="mlp-gan", dataset="ring", steps=1500, batch_size=256, seed=0, metric_every=100,
                    metric_budget=0.2, log_every=100, sample_every=10**6, out=str(tmp_path / "ring"))
    quality = [e for e in Trainer(run).run() if e["type"] == "quality"]
    first, last = quality[0]["values"], quality[-1]["values"]
    print([(e["step"], e["values"]["modes_covered"], round(e["values"]["js_grid"], 3)) for e in quality])
    assert first["modes_covered"] <= 2 and last["modes_covered"] >= 6
    assert last["js_grid"] < 0.6 * first["js_grid"]
    # offline, on 10,000 samples: GAN Lab's figures
    assert main(["evaluate", "--checkpoint", str(tmp_path / "ring"), "--json", str(tmp_path / "ring.json")]) == 0
    rows = {row["name"]: row for row in json.loads((tmp_path / "ring.json").read_text())["metrics"]}
    assert rows["modes_covered"]["value"] >= 6 and rows["num_modes"]["value"] == 8
    assert rows["high_quality"]["value"] > 0.3 and rows["js_grid"]["value"] < 0.6 * first["js_grid"]
    assert rows["modes_covered"]["samples"] == 10_000 and "| modes_covered |" in capsys.readouterr().out


# --------------------------------------------------------------------------- evaluate and export
@ON_ONE_WORKER
def test_evaluate_reports_every_metric_per_feature_network_and_reuses_cached_real_features(
        live_dcgan, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path / "cache"))
    _, checkpoint = live_dcgan
    report_path = tmp_path / "report.json"
    args = ["evaluate", "--checkpoint", str(checkpoint), "--samples", "2000", "--seed", "3", "--json", str(report_path)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    report = json.loads(report_path.read_text())
    rows = {row["name"]: row for row in report["metrics"]}
    for metric in ("fid", "kid", "is", "precision", "recall", "density", "coverage", "classes_covered",
                   "kl_uniform", "confidence"):
        row = rows[f"{metric}_mnist_cnn"]
        assert row["feature_network"] == "mnist_cnn" and row["samples"] == 2000 and row["seed"] == 3
        assert row["real_samples"] == 10_000
    assert rows["kid_mnist_cnn"]["std_error"] > 0 and "inception_v3" in report["unavailable"]
    assert report["real"] == "mnist test, 10000 images"
    assert "| fid_mnist_cnn |" in printed and "inception_v3: unavailable" in printed
    # a trained DCGAN: most classes, samples mostly on the real manifold
    assert rows["classes_covered_mnist_cnn"]["value"] >= 8 and rows["precision_mnist_cnn"]["value"] > 0.3
    assert len(report["class_histograms"]["mnist_cnn"]["histogram"]) == 10
    cached = sorted((tmp_path / "cache").rglob("*.safetensors"))
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    assert main(args) == 0  # the second evaluation reads the cached real features
    assert [p.stat().st_mtime_ns for p in (tmp_path / "cache").rglob("*.safetensors")] == [stamp]
    assert json.loads(report_path.read_text())["metrics"] == report["metrics"]  # same seed, same figures


@ON_ONE_WORKER
@pytest.mark.parametrize("args, message", [
    (["--samples", "5"], "--samples: between 20"),
    (["--samples", "1000000"], "--samples: between 20"),
    (["--real-samples", "3"], "--real-samples: at least 20"),
    (["--dataset", "digits"], "no feature network can judge digits samples here"),
], ids=["too few", "too many", "too few real", "no judge"])
def test_evaluate_bad_input_is_one_error_line(live_dcgan, args, message, capsys):
    _, checkpoint = live_dcgan
    assert main(["evaluate", "--checkpoint", str(checkpoint), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("checkpoint, args, message", [
    ("dcgan_mnist", ["--dataset", "ring"], "--dataset: dcgan works on image data; ring is points data"),
    ("mlp_gan_1d", ["--dataset", "ring"], "--dataset: ring has data_dim 2; the checkpoint was built for 1"),
    ("dcgan_mnist", ["--dataset", "cifar10"], "--dataset: cifar10 has channels 3; the checkpoint was built for 1"),
    ("mnist_cnn", ["--dataset", "cifar10"], "--dataset: cifar10 has channels 3; the checkpoint was built for 1"),
    ("pix2pix_facades", ["--dataset", "mnist-edges"], "--dataset: mnist-edges has "),
    ("mnist_cnn", ["--limit", "0"], "--limit: at least 1 image, not 0"),
    # refused before the evaluation, not after it (a report lost to a typo), as sample refuses them
    ("mlp_gan_1d", ["--seed", "-3"], "--seed must be between 0 and 2**63 - 1, not -3"),
    ("mlp_gan_1d", ["--json", "."], "--json: cannot write .: it is a folder"),
    ("mlp_gan_1d", ["--json", "README.md/report.json"], "not a folder above it"),
    # options that do not apply were ignored without a word
    ("dcgan_mnist", ["--alpha", "0.5"], "--alpha: only esrgan has a network interpolation"),
    ("dcgan_mnist", ["--classifier", "mnist_cnn"], "--classifier: only cyclegan is judged by a classifier"),
    ("mlp_gan_1d", ["--limit", "5"], "--limit counts test images, which mlp-gan's report does not read"),
], ids=["images on points", "1-D on 2-D", "grey generator on colour", "grey classifier on colour",
        "translator on another pairing", "no images", "negative seed", "json into a folder", "json under a file",
        "alpha for dcgan", "classifier for dcgan", "limit for a generator"])
def test_evaluate_refuses_data_the_checkpoint_cannot_read(checkpoint, args, message, capsys):
    """Each of these failed inside a layer (or divided by zero, or scored digits against CIFAR-10)."""
    assert main(["evaluate", "--checkpoint", str(pretrained_path(checkpoint)), "--samples", "50", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_evaluate_limits_a_super_resolution_report_to_the_first_images_of_each_set(tmp_path):
    """--limit was ignored for super-resolution: all 5 + 14 benchmark images, every time."""
    report = tmp_path / "sr.json"
    assert main(["evaluate", "--checkpoint", str(pretrained_path("srresnet_x4")), "--limit", "2",
                 "--json", str(report)]) == 0
    metrics = json.loads(report.read_text())["metrics"]
    assert metrics["Set5"]["images"] == metrics["Set14"]["images"] == 2
    assert all(len(rows) == 2 for rows in metrics["per_image"].values())


def test_evaluate_reads_a_classifier_checkpoint_as_test_accuracy(capsys):
    assert main(["evaluate", "--checkpoint", str(pretrained_path("mnist_cnn")), "--limit", "2000"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| accuracy |"))
    assert float(line.split("|")[2]) > 0.98


@ON_ONE_WORKER
def test_export_writes_a_shippable_folder_with_its_card_and_evaluation(live_dcgan, tmp_path):
    _, checkpoint = live_dcgan
    out = tmp_path / "pretrained" / "dcgan_mnist"
    assert main(["export", "--checkpoint", str(checkpoint), "--out", str(out), "--samples", "500",
                 "--limitation", "trained for a test"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "evaluation.json", "model.safetensors"]
    card = (out / "README.md").read_text()
    assert f"python -m trainers train --model dcgan --dataset mnist --preset cpu-small --steps {LIVE_STEPS}" in card
    assert "python -m trainers export --checkpoint runs/dcgan_mnist --out pretrained/dcgan_mnist" in card
    assert "| fid_mnist_cnn |" in card and "- trained for a test" in card and "min on cpu" in card
    assert json.loads((out / "evaluation.json").read_text())["samples"] == 500
    assert GANModel.from_pretrained(out).sample(4).shape == (4, 1, 28, 28)


@ON_ONE_WORKER
@pytest.mark.parametrize("case", ["out is a file", "too few samples", "not a checkpoint"])
def test_export_bad_input_is_one_error_line_and_writes_nothing(live_dcgan, tmp_path, capsys, case):
    _, checkpoint = live_dcgan
    target = tmp_path / "target"
    target.write_text("mine")
    args = {"out is a file": ["--checkpoint", str(checkpoint), "--out", str(target)],
            "too few samples": ["--checkpoint", str(checkpoint), "--out", str(tmp_path / "new"), "--samples", "3"],
            "not a checkpoint": ["--checkpoint", str(tmp_path / "nowhere"), "--out", str(tmp_path / "new")]}[case]
    assert main(["export", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert target.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["target"]


# --------------------------------------------------------------------------- the playground
def test_session_streams_the_live_metric_beside_the_losses():
    session = TrainingSession()
    session.start({"model": "mlp-gan", "dataset": "ring", "steps": 600, "batch_size": 256, "log_every": 20,
                   "sample_every": 200, "metric_every": 50, "metric_budget": 0.5})
    deadline = time.monotonic() + 120
    while session.is_active() and time.monotonic() < deadline:
        time.sleep(0.2)
    snap = session.snapshot()
    assert snap["status"] == "done", snap["error"]
    quality = snap["quality"]
    assert quality["step"][0] == 0 and quality["step"][-1] == 600 and len(quality["step"]) >= 5
    assert snap["quality_cost"]["network"] == "toy" and snap["quality_cost"]["samples"] == 500
    figure = figures.loss_figure(snap["metrics"], quality=quality)
    names = [trace.name for trace in figure.data]
    assert "modes_covered" in names and "js_grid" in names
    phrase = quality_phrase(snap)
    assert "/8 modes covered" in phrase and "step 600" in phrase and "% of the time" in phrase
    session.close()


def test_the_loss_figure_draws_kid_with_its_standard_error():
    quality = {"step": [0, 100], "kid_mnist_cnn": [40.0, 5.0], "kid_se_mnist_cnn": [2.0, 0.5],
               "fid_mnist_cnn": [500.0, 60.0]}
    figure = figures.loss_figure({"step": [10, 20], "loss_d": [1.0, 0.9], "loss_g": [0.7, 0.8]}, quality=quality)
    kid = next(trace for trace in figure.data if trace.name == "kid_mnist_cnn")
    assert list(kid.error_y.array) == [2.0, 0.5] and list(kid.x) == [0, 100]
    assert any(trace.name == "fid_mnist_cnn" for trace in figure.data)
    assert not any(trace.name == "kid_se_mnist_cnn" for trace in figure.data)
