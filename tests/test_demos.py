"""The Explore demos (playground.demos over trainers.latent / trainers.upscaling) on the shipped
checkpoints: what they draw is judged by the project's MNIST classifier, not just shaped."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from playground import demos
from playground.diagnostics import diagnose
from playground.session import TrainingSession
from trainers import latent, upscaling
from trainers.errors import PlaygroundError
from trainers.metrics.features import domain_network
from trainers.metrics.sample_quality import spread
from trainers.model import GANModel


@pytest.fixture(scope="module")
def shelf() -> demos.ModelShelf:
    return demos.ModelShelf(device="cpu")


def read_digits(pictures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(predicted class, confidence) of uint8 (N, 28, 28, 1) pictures by the shipped MNIST classifier."""
    judge = domain_network("mnist")
    x = torch.from_numpy(pictures).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():
        probs = judge.embed(x)[1].softmax(1)
    return probs.argmax(1).numpy(), probs.max(1).values.numpy()


def test_shelf_lists_by_demo_and_loads_once(shelf):
    assert "dcgan_mnist" in shelf.names("generator") and "dcgan_mnist" not in shelf.names("conditional")
    assert "cgan_mnist" in shelf.names("conditional") and "cgan_mnist" in shelf.names("generator")
    assert "mnist_cnn" not in shelf.names("generator")  # a classifier serves no demo
    assert set(shelf.names("translator")) == {"cyclegan_mnist", "pix2pix_facades"}
    upscalers = shelf.names("upscaler")
    assert upscalers[0] == "srresnet_x4" and set(upscalers) <= {"srresnet_x4", "esrgan_x4"}  # featured first
    assert all(shelf.dataset_of(name) == "sr-natural" for name in upscalers)
    model = shelf.load("dcgan_mnist")
    assert shelf.load("dcgan_mnist") is model  # once per process, shared
    assert not any(p.requires_grad for p in model.networks.parameters()) and not model.networks.training
    for bad in ("../dcgan_mnist", "/etc", "nope", ""):
        with pytest.raises(PlaygroundError, match="No shipped model"):
            shelf.load(bad)
    assert demos.SESSION_MODEL in demos.model_choices(shelf, "translator")


def test_shipped_dcgan_draws_digits_of_every_class(shelf):
    model = shelf.load("dcgan_mnist")
    pictures = latent.decode(model, model.noise(300, seed=5))
    classes, confidence = read_digits(pictures)
    assert confidence.mean() > 0.75, confidence.mean()
    assert len(set(classes.tolist())) == 10
    assert spread(torch.from_numpy(pictures).float()) > 0  # not one picture repeated


def test_interpolation_runs_from_seed_to_seed_smoothly(shelf):
    model = shelf.load("dcgan_mnist")
    result = demos.interpolation(model, 3, 11, frames=9, mode="spherical")
    frames = np.stack(result["frames"]).astype(np.float32)
    ends = latent.decode(model, torch.cat([latent.seed_noise(model, 3), latent.seed_noise(model, 11)]))
    np.testing.assert_array_equal(frames[0], ends[0])
    np.testing.assert_array_equal(frames[-1], ends[1])
    neighbours = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
    assert neighbours.max() < np.abs(frames[-1] - frames[0]).mean()  # every step smaller than the jump
    assert result["strip"].shape == (28 + 4, 9 * 30 + 2, 3)
    # spherical keeps every latent as long as the ends; the straight line's middle is shorter
    a, b = latent.seed_noise(model, 3), latent.seed_noise(model, 11)
    middle = torch.tensor([0.5])
    assert latent.slerp(a, b, middle).norm() > 0.95 * min(a.norm(), b.norm()) > latent.lerp(a, b, middle).norm()


def test_gif_loops_there_and_back():
    frames = [np.full((28, 28, 1), value, np.uint8) for value in (0, 100, 200)]
    gif = Image.open(io.BytesIO(demos.gif_bytes(frames)))
    assert gif.n_frames == 4 and gif.info.get("loop") == 0 and gif.size[0] >= demos.GIF_MIN_SIDE
    with pytest.raises(PlaygroundError, match="at least 2 frames"):
        demos.gif_bytes(frames[:1])


def test_latent_walk_is_centred_on_the_seed(shelf):
    model = shelf.load("dcgan_mnist")
    noise = latent.walk_noise(model, seed=4, side=5, span=2.0)
    torch.testing.assert_close(noise[12], latent.seed_noise(model, 4)[0])  # the middle of a 5x5 grid
    grid = demos.latent_walk(model, 4, 5, 2.0)
    assert grid.shape == (5 * 30 + 2, 5 * 30 + 2, 3)


def test_class_grid_rows_are_read_as_their_class(shelf):
    model = shelf.load("cgan_mnist")
    noise, labels = latent.class_noise(model, list(range(10)), per_class=20, seed=1)
    classes, _ = read_digits(latent.decode(model, noise, labels))
    assert (classes == labels.numpy()).mean() > 0.8
    one = demos.class_grid(model, "7", seed=0, per_class=4)
    assert one["rows"] == [7] and one["grid"].shape == (32, 4 * 30 + 2, 3)
    assert demos.class_names("fashion-mnist", 10)[0] == "T-shirt/top"


def test_samples_of_a_conditional_model_follow_the_class_box(shelf):
    """The Explore tab's Class box steers Samples as it steers Interpolate: all of that class; with
    the box empty, each class in turn; a class the model does not know is refused."""
    model = shelf.load("cgan_mnist")

    def tiles(grid: np.ndarray) -> np.ndarray:  # 16 pictures of 28 px in 8 columns, 2 px apart
        return np.stack([grid[2 + r * 30: 30 + r * 30, 2 + c * 30: 30 + c * 30, :1]
                         for r in range(2) for c in range(8)])

    threes, _ = read_digits(tiles(demos.generate(model, 0, 16, label=3)))
    assert (threes == 3).mean() > 0.8
    cycled, _ = read_digits(tiles(demos.generate(model, 0, 16)))
    assert (cycled == np.arange(16) % 10).mean() > 0.8
    with pytest.raises(PlaygroundError, match="Class must be between 0 and 9, not 99"):
        demos.generate(model, 0, 16, label=99)
    with pytest.raises(PlaygroundError, match="class must be between 0 and 9, not 11$"):  # not "[11]"
        demos.class_grid(model, "11", seed=0)


def test_truncation_trades_variety_for_typicality(shelf):
    model = shelf.load("cgan_mnist")

    def pictures(psi: float) -> np.ndarray:
        noise, labels = latent.class_noise(model, [3], per_class=16, seed=2, truncation=psi)
        return latent.decode(model, noise, labels)

    loose, tight = pictures(1.0), pictures(0.3)
    assert spread(torch.from_numpy(tight).float()) < 0.8 * spread(torch.from_numpy(loose).float())
    assert read_digits(tight)[1].mean() >= read_digits(loose)[1].mean() - 0.02


def test_super_resolution_self_check_scores_against_the_original():
    picture = demos.example_pictures("photo", count=1, max_side=128)[0][1]
    result = demos.super_resolve({}, picture, outscale=2, self_check=True)
    assert result["input"].shape == (64, 64, 3) and result["truth"].shape == (128, 128, 3)
    assert result["outputs"]["bicubic"].shape == (128, 128, 3)
    psnr, ssim = result["scores"]["bicubic"]
    assert 20 < psnr < 40 and 0.5 < ssim < 1  # a real photo, halved and enlarged again
    assert upscaling.scores(result["truth"], result["truth"], 2)[1] == pytest.approx(1.0)
    # without the self-check the upload itself is enlarged, and nothing is scored
    plain = demos.super_resolve({}, picture, outscale=4)
    assert plain["outputs"]["bicubic"].shape == (512, 512, 3) and plain["scores"] == {}


@pytest.mark.parametrize("outscale, fewest", [(2, 10), (4, 16)])
def test_the_self_check_scores_the_smallest_picture_it_takes_and_refuses_one_less(outscale, fewest):
    """At x2 an 8- or 9-pixel picture passed the old 4-low-resolution-pixels rule, then failed inside
    SSIM (its 11-pixel window's padding on what the shaved borders left)."""
    rng = np.random.default_rng(outscale)
    smallest = (rng.random((fewest, fewest + 3, 3)) * 255).astype(np.uint8)
    psnr, ssim = demos.super_resolve({}, smallest, outscale=outscale, self_check=True)["scores"]["bicubic"]
    assert psnr > 0 and -1 <= ssim <= 1
    for shape in ((fewest - 1, fewest - 1, 3), (fewest - 1, 2000, 3), (2000, fewest - 1, 3)):
        with pytest.raises(PlaygroundError, match=f"the self-check at x{outscale} needs at least {fewest} pixels"):
            demos.super_resolve({}, np.zeros(shape, np.uint8), outscale=outscale, self_check=True)


def test_a_super_resolution_model_serves_x2_from_x4():
    model = GANModel.from_config("srgan", {"g_width": 8, "res_blocks": 1, "channels": 3, "image_size": 32})
    picture = (np.random.default_rng(0).random((24, 40, 3)) * 255).astype(np.uint8)
    result = demos.super_resolve({"mine": model}, picture, outscale=2)
    assert result["outputs"]["mine"].shape == (48, 80, 3)
    two = GANModel.from_config("srgan", {"g_width": 8, "res_blocks": 1, "channels": 3, "image_size": 32, "scale": 2})
    with pytest.raises(PlaygroundError, match="upscales x2; choose x2"):
        demos.super_resolve({"mine": two}, picture, outscale=4)


@pytest.mark.parametrize("call, message", [
    (lambda m: demos.interpolation(m, 0, 1, frames=1), "frames must be between 2"),
    (lambda m: demos.interpolation(m, 0, 1, mode="cubic"), "mode must be one of"),
    (lambda m: demos.interpolation(m, "a", 1), "Seed A must be a whole number"),
    (lambda m: demos.generate(m, -3), "seed must be between 0"),
    (lambda m: demos.generate(m, 0, 1000), "between 1 and 256"),
    (lambda m: demos.latent_walk(m, 0, side=40), "side must be between 2"),
    (lambda m: demos.latent_walk(m, 0, span=0), "span must be above 0"),
    (lambda m: demos.latent_walk(m, 0, span="abc"), "Span must be a number, not 'abc'"),
    (lambda m: demos.latent_walk(m, 0, span=None), "Span is empty"),
    (lambda m: demos.class_grid(m, 1, 0), "not class-conditional"),
    (lambda m: demos.translate(m, None), "Upload a picture"),
    (lambda m: demos.translate(m, np.zeros((1, 1, 3), np.uint8)), "at least 8 pixels"),
    (lambda m: demos.super_resolve({}, np.zeros((3, 900, 3), np.uint8)), "at least 8 pixels"),
    (lambda m: demos.super_resolve({}, np.zeros((20, 20, 3), np.float32)), "not an 8-bit"),
    (lambda m: demos.super_resolve({}, np.zeros((20, 20, 3), np.uint8), outscale=3), "one of 2, 4"),
    (lambda m: demos.super_resolve({"dcgan": m}, np.zeros((20, 20, 3), np.uint8)), "not a super-resolution"),
])
def test_demos_refuse_bad_input_with_a_message(shelf, call, message):
    with pytest.raises(PlaygroundError, match=message):
        call(shelf.load("dcgan_mnist"))


def test_class_grid_refuses_a_truncation_that_is_not_a_number(shelf):
    with pytest.raises(PlaygroundError, match="Truncation must be a number, not 'a'"):
        demos.class_grid(shelf.load("cgan_mnist"), None, 0, "a")


def test_model_for_checks_the_demo_kind(shelf):
    with pytest.raises(PlaygroundError, match="dcgan model; this demo needs pix2pix or cyclegan"):
        demos.model_for(shelf, None, "dcgan_mnist", "translator")
    with pytest.raises(PlaygroundError, match="Nothing has been trained in this tab"):
        demos.model_for(shelf, None, demos.SESSION_MODEL, "generator")
    with pytest.raises(PlaygroundError, match="Nothing has been trained"):
        demos.model_for(shelf, TrainingSession(), demos.SESSION_MODEL, "generator")


# ----- the lab's session features: reset, comparison, downloads, diagnostics --------------------


def digits_config(**changes) -> dict:
    config = {"model": "dcgan", "dataset": "digits", "steps": 60, "batch_size": 32, "log_every": 5,
              "sample_every": 20, "sample_interval_s": 0, "out": None, "preset": "cpu-small"}
    return {**config, **changes}


def wait_done(session: TrainingSession, timeout: float = 120) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while session.is_active() or session.snapshot()["status"] == "starting":
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.1)
    return session.snapshot()


def test_session_runs_compare_reset_and_download(tmp_path):
    session = TrainingSession()
    try:
        session.start(digits_config(overrides={"objective": "minimax"}))
        wait_done(session)
        session.start(digits_config(overrides={"objective": "least-squares"}, steps=40))
        snap = wait_done(session)
        runs = session.compared_runs()
        assert [r["label"] for r in runs] == ["#1 dcgan minimax on digits", "#2 dcgan least-squares on digits"]
        assert runs[0]["metrics"]["step"][-1] == 60 and runs[1]["metrics"]["step"][-1] == 40

        files = session.export_run(tmp_path)
        with zipfile.ZipFile(files["checkpoint"]) as bundle:
            bundle.extractall(tmp_path / "unzipped")
            assert sorted(n.split("/")[-1] for n in bundle.namelist()) == ["config.json", "model.safetensors"]
        restored = GANModel.from_pretrained(next((tmp_path / "unzipped").iterdir()))
        torch.testing.assert_close(restored.sample(8, seed=3), session.model_copy().sample(8, seed=3))
        header, *rows = files["csv"].read_text().splitlines()
        assert header.startswith("step,loss_d,loss_g") and len(rows) == len(snap["metrics"]["step"])
        assert '"step": 40' in files["json"].read_text()

        assert session.reset() and session.snapshot()["status"] == "idle"
        assert len(session.compared_runs()) == 2  # the curves stay for the comparison
        with pytest.raises(PlaygroundError, match="Nothing to download"):
            session.export_run(tmp_path)
    finally:
        session.close()


def test_diagnosis_sees_a_discriminator_that_has_won():
    """A generator all but frozen (lr 1e-6) against a learning D: D(x) -> 1, D(G(z)) -> 0, and the page says so."""
    session = TrainingSession()
    try:
        session.start(digits_config(steps=150, overrides={"objective": "non-saturating", "lr_g": 1e-6,
                                                          "lr_d": 0.002}))
        snap = wait_done(session)
        texts = [d.text for d in diagnose(snap)]
        assert any("the discriminator has won" in t for t in texts), texts
        assert snap["sample"]["diversity"] > 0  # the engine measures the samples' variety
    finally:
        session.close()


def test_diagnosis_rules_on_described_signals():
    def snap(**values):
        base = {"step": 500, "metrics": {}, "quality": {}, "sample": None, "config": {"objective": "minimax"}}
        return {**base, **values}

    def texts(s):
        return " | ".join(d.text for d in diagnose(s))

    assert texts(snap(metrics={"d_real": [0.95] * 5, "d_fake": [0.9] * 5})).count("both near 1") == 1
    assert "balance" in texts(snap(metrics={"d_real": [0.52] * 5, "d_fake": [0.47] * 5}))
    assert texts(snap(metrics={"d_real": [0.52] * 5, "d_fake": [0.47] * 5}, step=100)) == ""  # trivially 0.5 early
    # Wasserstein critics are not probabilities: no verdict from the same numbers
    assert texts(snap(metrics={"d_real": [0.95] * 5, "d_fake": [0.05] * 5}, config={"objective": "wasserstein"})) == ""
    assert "mode collapse" in texts(snap(sample={"diversity": 0.05}))
    assert texts(snap(sample={"diversity": 0.05}, step=10)) == ""  # an untrained G is not collapsed
    assert "covers 2 of 8 modes" in texts(snap(quality={"step": [300], "modes_covered": [2], "num_modes": [8]}))
    kid = {"step": [100, 200, 300, 400], "kid_mnist_cnn": [0.5, 0.1, 0.2, 0.4]}
    assert "KID has risen from 0.1 at step 200" in texts(snap(quality=kid))
    nan = texts(snap(error="loss_d became NaN or infinite at step 12: ...", error_reason="diverged",
                     checkpoint="runs/x"))
    assert nan.startswith("Loss is NaN") and "last good checkpoint is kept" in nan
    # a crash whose message happens to name NaN is not a divergence: the verdict follows the reason
    assert "Loss is NaN" not in texts(snap(error="ValueError: NaN or infinite input", error_reason="crashed"))


# ----- GAN Lab's toy view: G's gradient arrows and the mapped noise grid -------------------------


def test_gan_lab_arrows_climb_d_and_minimax_saturates():
    """After D has learnt to reject G's first samples, each arrow points where D finds points more
    real; minimax's arrows almost vanish there (its gradient scales with D(G(z))), the
    non-saturating loss's do not: the reason it exists."""
    import dataclasses

    from trainers.config import from_dict
    from trainers.engine import RunConfig, Trainer
    from trainers.models.mlp_gan import generator_gradient

    trainer = Trainer(from_dict(RunConfig, {"model": "mlp-gan", "dataset": "ring", "preset": "gan-lab",
                                            "steps": 400, "batch_size": 64, "out": None}))
    for _ in range(300):
        trainer.train_one("d")
    model, networks = trainer.model, trainer.model.networks
    fake = model.sample(200, seed=1)
    d_fake = model.family.critic(model.config, networks, fake)
    assert d_fake.mean() < 0.2  # D rejects them
    saturating = generator_gradient(dataclasses.replace(model.config, objective="minimax"), networks, fake)
    strong = generator_gradient(dataclasses.replace(model.config, objective="non-saturating"), networks, fake)
    assert saturating.norm(dim=1).mean() < 0.5 * strong.norm(dim=1).mean()
    moved = fake + 0.02 * strong / strong.norm(dim=1, keepdim=True).clamp(min=1e-12)
    assert (model.family.critic(model.config, networks, moved) > d_fake).float().mean() > 0.9

    event = trainer.sample_event()
    assert event["gradients"].shape == (200, 2) and event["noise_grid"].shape == (15, 15, 2)
    # the grid is G's own output: its centre is where G sends z = 0
    centre = trainer.model.family.sample(model.config, networks, torch.zeros(1, model.config.latent_dim))
    np.testing.assert_allclose(event["noise_grid"][7, 7], centre[0].detach().numpy(), atol=1e-5)


def test_shipped_super_resolution_beats_bicubic_on_a_held_out_photo(shelf, data_dir):
    """The Super-resolve tab's self-check on Set5's butterfly (a benchmark picture, never trained
    on): the shipped SRResNet x4 scores above bicubic, as its card says."""
    with np.load(data_dir / "sr_set5_set14.npz") as archive:
        butterfly = archive["Set5/butterfly"]
    result = demos.super_resolve({"srresnet_x4": shelf.load("srresnet_x4")}, butterfly, outscale=4, self_check=True)
    model_psnr, model_ssim = result["scores"]["srresnet_x4"]
    bicubic_psnr, bicubic_ssim = result["scores"]["bicubic"]
    assert model_psnr > bicubic_psnr + 0.3 and model_ssim > bicubic_ssim, result["scores"]
    assert result["outputs"]["srresnet_x4"].shape == result["truth"].shape == (256, 256, 3)
