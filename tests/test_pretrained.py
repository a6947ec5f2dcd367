"""Shipped checkpoints: each loads, matches the code, makes something and keeps the quality promise
its card states; and the path that makes them: export (inference-only, float16, a quality check),
`python -m trainers reproduce`, and the Hugging Face Hub's folder format."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from trainers.cli import build_parser, main
from trainers.config import to_dict
from trainers.errors import CheckpointError, ConfigError
from trainers.model import GANModel
from trainers.pretrained import EVALUATION_FILE, QualityCheck, list_pretrained, pretrained_path, train_command
from trainers.registry import MODELS

SHIPPED = [entry["name"] for entry in list_pretrained()]


# ----- every shipped checkpoint -------------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoint_loads_matches_the_code_and_makes_something(name):
    folder = pretrained_path(name)
    meta = json.loads((folder / "config.json").read_text())
    model = GANModel.from_pretrained(folder)
    # the stored config is exactly what the code's config class makes of it: no unknown, renamed or
    # re-defaulted field
    assert json.loads(json.dumps(to_dict(model.config))) == meta["config"]
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in model.networks.parameters())
    family = model.family
    with torch.no_grad():
        if family.has_generator and family.preview is None and "image" in family.data_kinds:
            out = model.sample(16, seed=1)
            assert out.abs().max() <= 1.0001 and out.std() > 0.05  # pictures, not one flat colour
        elif family.translate is not None:
            size = getattr(model.config, "image_size", 32)
            picture = (np.random.default_rng(0).random((size, size, 3)) * 255).astype(np.uint8)
            assert model.translate_image(picture).shape[-1] in (1, 3)
        elif "points" in family.data_kinds:
            assert model.sample(64).shape[1] in (1, 2)
        else:  # a domain classifier
            (network,) = model.networks.values()
            assert network(torch.zeros(2, model.config.channels, model.config.image_size,
                                       model.config.image_size)).shape[0] == 2


@pytest.mark.parametrize("name", [n for n in SHIPPED
                                  if "check" in json.loads((pretrained_path(n) / EVALUATION_FILE).read_text())])
def test_shipped_checkpoint_keeps_the_quality_its_card_states(name, data_dir):
    folder = pretrained_path(name)
    stated = json.loads((folder / EVALUATION_FILE).read_text())["check"]
    check = QualityCheck(stated["metric"], stated["op"], stated["value"], stated["samples"])
    assert f"`{check.text()}`" in (folder / "README.md").read_text()  # the card states it
    measured = check.measure_on(folder, str(data_dir))
    assert check.passes(measured), f"{name}: {check.text()} measured {measured:.4g}"
    assert measured == pytest.approx(stated["measured"], rel=0.05, abs=0.02)  # as at export


def test_the_shipped_folder_stays_small():
    total = sum(f.stat().st_size for f in pretrained_path("").rglob("*") if f.is_file())
    assert total < 60e6, f"pretrained/ is {total / 1e6:.1f} MB"


# ----- export, reproduce ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("toy") / "run"
    assert main(["train", "--model", "mlp-gan", "--dataset", "ring", "--steps", "400", "--seed", "3",
                 "--out", str(out), "--quiet"]) == 0
    return out


def test_the_recorded_command_quotes_what_it_names():
    """A folder: dataset with a space (and a card's command pasted into a shell) stays one argument."""
    run = {"model": "dcgan", "dataset": "folder:/home/me/My Photos", "steps": 10, "batch_size": 8, "seed": 0,
           "overrides": {"g_width": 8}}
    args = build_parser().parse_args(shlex.split(train_command(run, "runs/a b; rm -rf x"))[3:])
    assert (args.model, args.dataset, args.out) == ("dcgan", "folder:/home/me/My Photos", "runs/a b; rm -rf x")


@pytest.mark.parametrize("text, message", [("modes_covered>=nan", "finite number"),
                                           ("modes_covered<=inf", "finite number"), (">=3", "a metric name")])
def test_a_check_that_could_never_be_written_is_refused(text, message):
    with pytest.raises(ConfigError, match=message):
        QualityCheck.parse(text)
    with pytest.raises(ConfigError, match="--check-samples: at least 1"):
        QualityCheck.parse("modes_covered>=3", samples=0)


DAMAGED_RECORDS = {
    "check not a mapping": lambda t: t["export"].update(check="x"),
    "check missing its fields": lambda t: t["export"].update(check={"metric": "modes_covered"}),
    "check value a string": lambda t: t["export"]["check"].update(value="0.0"),
    "samples not a number": lambda t: t["export"].update(samples="many"),
    "export a list": lambda t: t.update(export=[1]),
    "run without a model": lambda t: t["run"].pop("model"),
    "overrides a string": lambda t: t["run"].update(overrides="x"),
    "limitations a string": lambda t: t["export"].update(limitations="abc"),
}


@pytest.mark.parametrize("case", list(DAMAGED_RECORDS))
def test_reproduce_refuses_a_damaged_training_record_before_training(case, tmp_path, capsys):
    """Each of these failed with a traceback, several after the minutes of retraining."""
    shipped = tmp_path / "shipped"
    shutil.copytree(pretrained_path("mlp_gan_ring"), shipped)
    meta = json.loads((shipped / "config.json").read_text())
    DAMAGED_RECORDS[case](meta["training"])
    (shipped / "config.json").write_text(json.dumps(meta))
    assert main(["reproduce", str(shipped), "--out", str(tmp_path / "again"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "config.json" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "again").exists()  # nothing trained


def test_export_slim_half_checked_then_reproduce_bit_for_bit(toy_run, tmp_path, capsys, monkeypatch):
    out = tmp_path / "pretrained" / "toy_ring"
    assert main(["export", "--checkpoint", str(toy_run), "--out", str(out), "--samples", "500", "--inference-only",
                 "--half", "--check", "modes_covered>=4", "--check-samples", "500"]) == 0
    meta = json.loads((out / "config.json").read_text())
    assert meta["weights"] == {"networks": ["generator"], "dtype": "float16"}
    assert meta["training"]["run"]["model"] == "mlp-gan" and meta["training"]["export"]["half"] is True
    stored = load_file(str(out / "model.safetensors"))
    assert all(key.startswith("generator.") and value.dtype == torch.float16 for key, value in stored.items())
    full = load_file(str(toy_run / "model.safetensors"))
    assert (out / "model.safetensors").stat().st_size < 0.5 * (toy_run / "model.safetensors").stat().st_size
    assert len(full) > len(stored)
    # loads back as float32; samples as the float32 weights make them, to float16's precision
    slim, source = GANModel.from_pretrained(out), GANModel.from_pretrained(toy_run)
    assert slim.stored_networks == ("generator",) and next(slim.networks.parameters()).dtype == torch.float32
    assert (slim.sample(256, seed=4) - source.sample(256, seed=4)).abs().max() < 5e-3
    report = json.loads((out / EVALUATION_FILE).read_text())
    assert report["check"]["measured"] >= 4 and report["check"]["measured_float32"] >= 4
    card = (out / "README.md").read_text()
    assert "`modes_covered >= 4` on 500 samples (seed 0)" in card and "float16" in card
    # an inference checkpoint still starts a run (its discriminator starts fresh)
    assert main(["train", "--model", "mlp-gan", "--dataset", "ring", "--steps", "5", "--init-from", str(out),
                 "--out", str(tmp_path / "fine"), "--quiet"]) == 0
    # reproduce, by its shipped name as `sample` takes it: the recorded command again, the same
    # export, the same weights
    monkeypatch.setenv("GAN_PRETRAINED_DIR", str(out.parent))
    capsys.readouterr()
    assert main(["reproduce", "toy_ring", "--out", str(tmp_path / "again"), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "python -m trainers train --model mlp-gan --dataset ring" in printed
    again = load_file(str(tmp_path / "again" / "pretrained" / "model.safetensors"))
    assert again.keys() == stored.keys() and all(torch.equal(again[k], stored[k]) for k in stored)
    assert f"modes_covered >= 4: reproduced {report['check']['measured']:.4g}, shipped" in printed
    # exported again from the shipped checkpoint (a new check, no retraining): same weights, same record
    assert main(["export", "--checkpoint", "toy_ring", "--out", str(tmp_path / "rechecked"), "--samples", "500",
                 "--inference-only", "--half", "--check", "modes_covered>=3", "--check-samples", "500"]) == 0
    rechecked = tmp_path / "rechecked"
    assert (rechecked / "model.safetensors").read_bytes() == (out / "model.safetensors").read_bytes()
    record = json.loads((rechecked / "config.json").read_text())["training"]
    assert record["run"] == meta["training"]["run"] and record["train_seconds"] == meta["training"]["train_seconds"]
    assert record["export"]["check"]["value"] == 3
    assert "python -m trainers train --model mlp-gan --dataset ring" in (rechecked / "README.md").read_text()


@pytest.mark.parametrize("family", sorted(MODELS))
def test_an_inference_checkpoint_of_every_family_does_what_the_full_one_does(family, tmp_path):
    spec = MODELS[family]
    preset = next((name for name in spec.presets if name.startswith("cpu")), None)
    torch.manual_seed(0)
    full = GANModel.from_config(family, dict(spec.presets.get(preset, {})))
    slim = GANModel.from_pretrained(full.save_pretrained(tmp_path / "slim", inference_only=True))
    dropped = set(full.networks) - set(slim.stored_networks)
    assert all("discriminator" in name or "critic" in name or "pool" in name for name in dropped)
    assert dropped or family in ("domain-classifier", "multiclass-discriminator", "autoencoder", "dip-inpaint")
    with torch.no_grad():
        if spec.has_generator and spec.preview is None:
            assert torch.equal(slim.sample(4, seed=2), full.sample(4, seed=2))
        if spec.encode is not None:
            size, channels = full.config.image_size, full.config.channels
            x = torch.rand(2, channels, size, size) * 2 - 1
            assert torch.equal(slim.encode(x), full.encode(x))
        if spec.translate is not None and spec.preview is not None and family != "dip-inpaint":
            picture = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
            assert np.array_equal(slim.translate_image(picture), full.translate_image(picture))


@pytest.mark.parametrize("check, message", [
    ("modes_covered>=99", "fails on the exported weights"),
    ("modes_covered=4", "should read METRIC>=VALUE"),
    ("no_such_metric>=1", "no metric 'no_such_metric'"),
])
def test_export_refuses_a_bad_or_failing_check_and_keeps_what_was_there(toy_run, tmp_path, capsys, check, message):
    out = tmp_path / "shipped"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    assert main(["export", "--checkpoint", str(toy_run), "--out", str(out), "--samples", "200", "--check", check,
                 "--check-samples", "200"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shipped"]  # no staging folder left behind


def test_export_replaces_an_exported_folder_only_when_asked(toy_run, tmp_path, capsys):
    """An export over a shipped or exported folder replaced its weights, card and evaluation without a
    word (the README's own `--out pretrained/x` invites it); and a checkpoint exported for inference
    (the generator alone) exported again without --inference-only shipped an untrained discriminator."""
    def files_of(folder: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}

    def one_line_error(*fragments: str) -> None:
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert all(fragment in err for fragment in fragments), err

    shipped = tmp_path / "shipped"
    export = ["export", "--checkpoint", str(toy_run), "--samples", "200", "--out", str(shipped)]
    assert main([*export, "--inference-only"]) == 0
    (shipped / "notes.txt").write_text("mine")
    before = files_of(shipped)
    capsys.readouterr()
    assert main(export) == 2
    one_line_error("holds a checkpoint already", "--overwrite")
    assert files_of(shipped) == before
    assert main(["export", "--checkpoint", str(shipped), "--samples", "200", "--out", str(tmp_path / "again")]) == 2
    one_line_error("stores only generator", "not discriminator", "--inference-only")
    assert not (tmp_path / "again").exists()
    assert main([*export, "--overwrite"]) == 0
    assert any(key.startswith("discriminator.") for key in load_file(str(shipped / "model.safetensors")))
    assert (shipped / "notes.txt").read_text() == "mine"  # a person's own files are kept


def test_reproduce_or_export_without_a_training_record_says_so(tmp_path, capsys):
    model = GANModel.from_config("mlp-gan")
    model.save_pretrained(tmp_path / "bare")
    assert main(["reproduce", str(tmp_path / "bare")]) == 2
    err = capsys.readouterr().err
    assert "records no training run" in err and "Traceback" not in err
    assert main(["export", "--checkpoint", str(tmp_path / "bare"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "nothing says how it was trained" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


# ----- names and the Hub ---------------------------------------------------------------------------


def test_from_pretrained_takes_a_shipped_name_and_refuses_what_is_not_a_checkpoint(tmp_path, monkeypatch):
    model = GANModel.from_pretrained(SHIPPED[0])
    assert model.family.name == json.loads((pretrained_path(SHIPPED[0]) / "config.json").read_text())["family"]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CheckpointError, match="Hugging Face Hub could not give it .HF_HUB_OFFLINE is set"):
        GANModel.from_pretrained("nobody-here/no-such-gan")
    for bad in (str(tmp_path / "missing"), "../pretrained", "a/b/c"):
        with pytest.raises(CheckpointError, match="is not a checkpoint folder"):
            GANModel.from_pretrained(bad)
    for bad in (None, 3, ["dcgan_mnist"]):  # were pathlib's TypeError
        with pytest.raises(CheckpointError, match="a checkpoint is a folder, a shipped name or a Hub repo id"):
            GANModel.from_pretrained(bad)
