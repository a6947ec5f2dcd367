"""Image-to-image plumbing: the datasets, PSNR/SSIM, tiled inference, the CLI's translate and
evaluate, and the bad inputs of every entry point (CLI, session, uploads).

The families' learning tests are in test_zoo_image_to_image.py; the contract (one step, save and
load, single steps) is in test_families.py.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from playground.lab import inpaint_run_config
from playground.session import TrainingSession
from playground.uploads import inpainting_dataset
from trainers.cli import main
from trainers.data import load_dataset
from trainers.data.pairs import (CLASS_COLOURS, INPAINT_IMAGES, colorize_digits, inpaint_image, inpaint_mask,
                                 skimage_photo)
from trainers.engine import RunConfig, Trainer
from trainers.errors import ConfigError, DatasetUnavailable, PlaygroundError
from trainers.metrics.image_quality import downscale, luma, psnr, sr_psnr_ssim, upscale_bicubic
from trainers.metrics.image_to_image import diffusion_fill, mean_fill
from trainers.model import GANModel
from trainers.tiling import apply_tiled, check_size

ROOT = Path(__file__).resolve().parents[1]


# ----- datasets -----------------------------------------------------------------------

def test_facades_keep_the_standard_split_and_the_unpaired_set_breaks_every_pair(data_dir):
    paired, test = load_dataset("facades", data_dir), load_dataset("facades", data_dir, "test")
    assert (len(paired), len(test)) == (400, 106) and paired.kind == "pairs"
    assert paired.sample_shape == (3, 128, 128) and paired.sources.shape == paired.data.shape
    unpaired = load_dataset("facades-unpaired", data_dir)
    assert unpaired.kind == "unpaired" and torch.equal(unpaired.sources, paired.sources)
    # the same photos, in another order: hardly any label map still sits beside its own photo
    assert sorted(unpaired.data.flatten(1).sum(1).tolist()) == sorted(paired.data.flatten(1).sum(1).tolist())
    still_paired = (unpaired.data == paired.data).flatten(1).all(1).float().mean().item()
    assert still_paired < 0.02


def test_mnist_edges_colours_each_digit_by_its_class_and_starts_from_its_outline(data_dir):
    edges = load_dataset("mnist-edges", data_dir, "test")
    assert edges.sample_shape == (3, 32, 32) and edges.sources.shape[1:] == (1, 32, 32)
    for i in range(20):
        target, label = edges.data[i].float(), int(edges.labels[i])
        stroke = target.max(0).values > 60  # faint edge pixels round to a slightly different hue
        direction = target[:, stroke] / target[:, stroke].norm(dim=0, keepdim=True)
        colour = torch.tensor(CLASS_COLOURS[label]) / np.linalg.norm(CLASS_COLOURS[label])
        assert (direction * colour[:, None]).sum(0).min() > 0.99  # every stroke pixel has the class colour
    # the outline lies on and just around the strokes, and is not the digit itself
    near_digit = torch.nn.functional.max_pool2d((edges.data.sum(1, keepdim=True) > 0).float(), 5, 1, 2) > 0
    outline = edges.sources > 0
    assert bool((outline <= near_digit).all()) and 0.05 < outline.float().mean().item() < 0.5
    assert not torch.equal(outline, edges.data.sum(1, keepdim=True) > 0)


def test_colorized_mnist_is_deterministic_and_keeps_digits_legible():
    digits = torch.zeros(200, 1, 32, 32, dtype=torch.uint8)
    digits[:, :, 8:24, 14:18] = 255  # a "1"
    first, again = colorize_digits(digits, seed=3), colorize_digits(digits, seed=3)
    assert torch.equal(first, again) and not torch.equal(first, colorize_digits(digits, seed=4))
    stroke = first[:, :, 16, 16].float().mean(1)
    background = first[:, :, 2, 2].float().mean(1)
    assert (stroke - background).abs().min() >= 0.29 * 255  # brightness gap: the digit never vanishes
    assert first.float().std(1).mean() > 10  # colours, not grey


def test_sr_natural_crops_hold_out_their_test_images(data_dir):
    train, test = load_dataset("sr-natural", data_dir), load_dataset("sr-natural", data_dir, "test")
    assert train.sample_shape == test.sample_shape == (3, 96, 96) and train.kind == "image"
    assert len(train) > 3000 and len(test) == 360
    train_sums = set(train.data.flatten(1).sum(1).tolist())
    assert not any(s in train_sums for s in test.data.flatten(1).sum(1).tolist())


def test_the_shipped_photos_read_with_pillow_are_scikit_images_own_arrays():
    """The app's example pictures come from scikit-image's folder through Pillow (skimage.io would
    import SciPy at the app's start): the same arrays skimage.data returns."""
    import skimage.data

    for name in INPAINT_IMAGES:
        ours, theirs = skimage_photo(name), getattr(skimage.data, name)()
        assert ours.dtype == theirs.dtype == np.uint8 and np.array_equal(ours, theirs), name
    # and read without scikit-image's reader, in a process that has not imported it yet
    script = ("import sys; sys.path.insert(0, sys.argv[1]); from trainers.data.pairs import INPAINT_IMAGES, "
              "skimage_photo; [skimage_photo(n) for n in INPAINT_IMAGES]; "
              "print(sorted(m for m in ('skimage.io', 'scipy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script, str(ROOT)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", (done.stdout, done.stderr[-1000:])


def test_inpainting_datasets_mask_some_pixels_and_refuse_bad_specs(tmp_path):
    dataset = load_dataset("inpaint:astronaut:box", image_size=128)
    assert dataset.kind == "masked" and dataset.data.shape == (1, 3, 128, 128)
    assert (dataset.sources > 0).float().mean().item() == pytest.approx(0.25, abs=0.01)
    for mask in ("text", "holes"):
        share = inpaint_mask(mask, 256, 256).mean()
        assert 0.05 < share < 0.5, (mask, share)
    with pytest.raises(DatasetUnavailable, match="inpaint:IMAGE:MASK"):
        load_dataset("inpaint:astronaut")
    with pytest.raises(DatasetUnavailable, match="does not exist"):
        load_dataset(f"inpaint:{tmp_path / 'missing.png'}:box")
    fake = tmp_path / "notes.png"
    fake.write_text("not a picture")
    with pytest.raises(DatasetUnavailable, match="not an image"):
        load_dataset(f"inpaint:{fake}:box")
    blank = tmp_path / "blank.png"
    Image.new("L", (64, 64), 0).save(blank)
    with pytest.raises(DatasetUnavailable, match="must hide some pixels"):
        load_dataset(f"inpaint:astronaut:{blank}")


# ----- metrics --------------------------------------------------------------------------

def test_psnr_ssim_and_luma_give_the_textbook_values():
    x = torch.rand(2, 3, 32, 32) * 1.6 - 0.8
    assert psnr(x + 0.2, x) == pytest.approx(20.0, abs=1e-3)  # 0.1 on [0, 1]: MSE 0.01 -> 20 dB
    white, black = torch.ones(1, 3, 4, 4), -torch.ones(1, 3, 4, 4)
    assert luma(white).mean().item() == pytest.approx(235.0) and luma(black).mean().item() == pytest.approx(16.0)
    value, ssim = sr_psnr_ssim(x, x, scale=2)
    assert value > 100 and ssim == pytest.approx(1.0, abs=1e-6)
    noisy = (x + 0.1 * torch.randn_like(x)).clamp(-1, 1)
    assert sr_psnr_ssim(noisy, x, 2)[1] < 0.99


def test_bicubic_round_trip_is_the_baseline_it_should_be():
    """A smooth image survives bicubic down-and-up at x2 far better than a noisy one."""
    grid = torch.linspace(-1, 1, 64)
    smooth = (torch.sin(3 * grid)[None, :] * torch.cos(2 * grid)[:, None]).expand(1, 3, 64, 64)
    noisy = torch.rand(1, 3, 64, 64) * 2 - 1
    score = lambda hr: sr_psnr_ssim(upscale_bicubic(downscale(hr, 2), 2), hr, 2)[0]  # noqa: E731
    assert score(smooth) > 35 > 20 > score(noisy)


def test_baseline_fills_never_read_the_hidden_pixels():
    image = torch.rand(1, 3, 64, 64) * 2 - 1
    hole = torch.zeros(1, 3, 64, 64, dtype=torch.bool)
    hole[..., 16:48, 16:48] = True
    changed = torch.where(hole, torch.full_like(image, 0.9), image)  # different content in the hole
    for fill in (mean_fill, diffusion_fill):
        assert torch.equal(fill(image, hole), fill(changed, hole))
        assert torch.equal(fill(image, hole)[~hole], image[~hole])


# ----- tiling ---------------------------------------------------------------------------

def _tiny_sr(scale: int = 4, width: int = 8) -> GANModel:
    torch.manual_seed(0)
    return GANModel.from_config("srgan", {"scale": scale, "g_width": width, "res_blocks": 2, "d_width": 4})


@pytest.mark.parametrize("pad, most, mean", [(16, 1, 0.01), (0, 4, 0.3)])
def test_tiled_super_resolution_matches_untiled_without_seams(pad, most, mean):
    """With context around each tile (pad) the tiled result equals the untiled one to a level;
    with none, the linear blending of the overlaps alone keeps every pixel within a few levels."""
    model = _tiny_sr()
    image = (np.random.default_rng(0).random((70, 100, 3)) * 255).astype(np.uint8)
    whole = apply_tiled(lambda x: model.translate(x), image, 4, tile=512)  # one tile: no tiling
    tiled = apply_tiled(lambda x: model.translate(x), image, 4, tile=32, overlap=8, pad=pad)
    assert tiled.shape == whole.shape == (280, 400, 3)
    diff = np.abs(tiled.astype(int) - whole.astype(int))
    print(f"tiled (pad {pad}) vs untiled: max {diff.max()} levels, mean {diff.mean():.4f}")
    assert diff.max() <= most and diff.mean() < mean


@pytest.mark.parametrize("keep_freed", [False, True], ids=["default-allocator", "freed-memory-kept"])
def test_tiled_super_resolution_of_a_large_image_stays_in_bounded_memory(keep_freed):
    """x4 of a 1024x1024 picture (a 4096x4096 result) in a fresh process: the call adds less than
    400 MB to its peak memory (VmHWM), where one untiled pass would hold 8 x 4096 x 4096 floats
    per layer (512 MB each), several at once; also with freed memory kept for reuse, as the app
    runs it (measured: 229 and 228 MB)."""
    if keep_freed and platform.libc_ver()[0] != "glibc":
        pytest.skip("freed memory is kept only with glibc")
    script = textwrap.dedent("""
        import json, sys, numpy as np, torch
        sys.path.insert(0, sys.argv[1])
        from trainers.allocator import keep_freed_memory
        from trainers.model import GANModel

        if sys.argv[2] == "keep":
            assert keep_freed_memory()

        def peak_mb():  # this process's high-water mark (ru_maxrss would count the forking parent)
            line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM"))
            return int(line.split()[1]) // 1024

        torch.manual_seed(0)
        model = GANModel.from_config("srgan", {"scale": 4, "g_width": 8, "res_blocks": 2, "d_width": 4})
        image = (np.random.default_rng(0).random((1024, 1024, 3)) * 255).astype(np.uint8)
        before = peak_mb()
        out = model.translate_image(image, tile=128)
        print(json.dumps({"shape": list(out.shape), "before": before, "peak": peak_mb()}))
    """)
    result = subprocess.run([sys.executable, "-c", script, str(ROOT), "keep" if keep_freed else "default"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    added = report["peak"] - report["before"]
    print(f"x4 of 1024x1024 tiled: peak {report['peak']} MB, {added} MB more than before the call")
    assert report["shape"] == [4096, 4096, 3] and added < 400


def test_tiles_cover_each_axis_evenly_in_as_few_as_the_largest_allows():
    from trainers.tiling import even_tile, tile_starts

    for length in (7, 128, 256, 257, 500, 512, 1000, 2048):
        for largest in (32, 128, 256):
            side = even_tile(length, largest, 16)
            starts = tile_starts(length, side, 16)
            fewest = len(tile_starts(length, min(largest, length), 16))
            assert side <= largest and len(starts) == fewest, (length, largest)
            assert starts[0] == 0 and starts[-1] + side == length  # every pixel inside some tile
            assert all(b - a <= side - 16 for a, b in zip(starts, starts[1:]))  # neighbours share 16
    assert even_tile(512, 256, 16) == 182 and even_tile(256, 256, 16) == 256


def test_tiling_refuses_too_large_images():
    with pytest.raises(ConfigError, match="2048x2048"):
        check_size(3000, 2000)
    with pytest.raises(ConfigError, match="uint8"):
        apply_tiled(lambda x: x, np.zeros((8, 8, 3), np.float32))
    # the smallest tile is stated (it said "tile >= 8" of a tile of 8, whose 16-pixel overlap could not fit)
    for tile in (0, 8, 33):
        with pytest.raises(ConfigError, match=f"tile {tile}: a tile needs at least 34 pixels a side"):
            apply_tiled(lambda x: x, np.zeros((64, 64, 3), np.uint8), tile=tile, overlap=16)
    assert apply_tiled(lambda x: x, np.full((64, 64, 3), 7, np.uint8), tile=34, overlap=16).mean() == 7


def test_a_tile_for_a_translator_that_does_not_tile_is_refused():
    """--tile 0 became the default tile, and --tile was ignored for pix2pix, without a word."""
    model = GANModel.from_config("pix2pix", {"image_size": 32, "g_width": 8, "d_width": 8})
    with pytest.raises(ConfigError, match="only super-resolution works tile by tile; pix2pix sees the whole"):
        model.translate_image(np.zeros((40, 40, 3), np.uint8), tile=64)
    assert model.translate_image(np.zeros((40, 40, 3), np.uint8)).shape == (32, 32, 3)


def _x2_psnr_model(model: str, tiny: dict, data_dir, tmp_path):
    """(the run settings, a tiny x2 PSNR-phase checkpoint of ``model`` after 150 steps on CIFAR-10,
    100 test images, their x2 downscalings) for the GAN-phase tests to start from."""
    base = dict(model=model, dataset="cifar10", batch_size=16, data_dir=str(data_dir), sample_every=10**6,
                log_every=10**6)
    psnr_model = tmp_path / "psnr"
    list(Trainer(RunConfig(**base, steps=150, out=str(psnr_model), overrides={**tiny, "pretrain_steps": 10**6})).run())
    hr, _ = load_dataset("cifar10", data_dir, "test").batch(torch.arange(0, 2000, 20))
    return base, psnr_model, hr, downscale(hr, 2)


def test_sr_gan_phase_on_the_discriminator_substitute_keeps_a_pixel_loss(data_dir, tmp_path):
    """Without VGG19, the content features are D's own, which do not hold a picture's content: the
    GAN phase keeps a pixel loss (substitute_pixel_weight), and without it the picture drifts."""
    tiny = {"g_width": 8, "res_blocks": 2, "d_width": 8, "scale": 2, "lr": 3e-3, "perceptual": "discriminator"}
    base, psnr_model, hr, lr = _x2_psnr_model("srgan", tiny, data_dir, tmp_path)

    def gan_phase_psnr(weight: float) -> float:
        trainer = Trainer(RunConfig(**base, steps=60, init_from=str(psnr_model), overrides={
            **tiny, "pretrain_steps": 0, "lr_gan": 1e-3, "substitute_pixel_weight": weight}))
        notes = list(trainer.run())[0]["notes"]
        assert any(("substitute_pixel_weight" in note) == (weight > 0) for note in notes if "perceptual" in note)
        trainer.save_pretrained(tmp_path / f"gan-{weight:g}")  # the model card says it too
        card = (tmp_path / f"gan-{weight:g}" / "README.md").read_text()
        assert "perceptual loss: the run's own discriminator's" in card
        assert ("substitute_pixel_weight" in card) == (weight > 0)
        return sr_psnr_ssim(trainer.model.translate(lr), hr, 2)[0]

    start = sr_psnr_ssim(GANModel.from_pretrained(psnr_model).translate(lr), hr, 2)[0]
    kept, drifted = gan_phase_psnr(1.0), gan_phase_psnr(0.0)
    print(f"SRGAN phase on D's features, 60 steps from {start:.2f} dB: {kept:.2f} dB with the pixel loss, "
          f"{drifted:.2f} dB without")
    assert kept > start - 1.0 and drifted < kept - 1.0


def test_esrgan_gan_phase_without_a_content_loss_keeps_the_picture_and_says_so(data_dir, tmp_path):
    """perceptual_weight=0 (the shipped esrgan_x4's recipe, with no VGG19 here): no feature network
    runs, the GAN phase is pixel L1 plus a small RaGAN term, the card says so, and the picture moves
    (the adversarial term acts) without losing the PSNR model's content."""
    tiny = {"g_width": 8, "growth": 8, "blocks": 1, "d_width": 8, "scale": 2, "lr": 2e-3}
    base, psnr_model, hr, lr = _x2_psnr_model("esrgan", tiny, data_dir, tmp_path)
    start = GANModel.from_pretrained(psnr_model).translate(lr)

    trainer = Trainer(RunConfig(**base, steps=60, init_from=str(psnr_model), overrides={
        **tiny, "pretrain_steps": 0, "perceptual_weight": 0.0, "adversarial_weight": 1e-3}))
    events = list(trainer.run())
    assert any(note.startswith("no content (perceptual) loss") for note in events[0]["notes"])
    logged = [e for e in events if e["type"] == "metrics"][-1]["losses"]
    assert "loss_perceptual" not in logged and logged["loss_l1"] > 0 and "loss_g" in logged
    trainer.save_pretrained(tmp_path / "gan")
    assert "no content (perceptual) loss" in (tmp_path / "gan" / "README.md").read_text()
    after = trainer.model.translate(lr)
    before_db, after_db = sr_psnr_ssim(start, hr, 2)[0], sr_psnr_ssim(after, hr, 2)[0]
    print(f"ESRGAN GAN phase without a content loss, 60 steps: {before_db:.2f} -> {after_db:.2f} dB")
    assert (after - start).abs().mean() > 1e-3 and after_db > before_db - 0.5


# ----- CLI and session: translate, evaluate, bad inputs --------------------------------

@pytest.fixture(scope="module")
def pix2pix_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "p2p"
    trainer = Trainer(RunConfig(model="pix2pix", dataset="facades", steps=2, batch_size=2, out=str(out),
                                overrides={"g_width": 8, "d_width": 8}, sample_every=10**6))
    list(trainer.run())
    return out


def test_cli_translates_a_picture_and_evaluates_against_baselines(data_dir, pix2pix_checkpoint, tmp_path, capsys):
    picture = tmp_path / "label.png"
    Image.fromarray((np.random.default_rng(0).random((200, 300, 3)) * 255).astype(np.uint8)).save(picture)
    assert main(["translate", "--checkpoint", str(pix2pix_checkpoint), "--input", str(picture),
                 "--out", str(tmp_path / "photo.png")]) == 0
    assert Image.open(tmp_path / "photo.png").size == (128, 128)
    report = tmp_path / "report.json"
    assert main(["evaluate", "--checkpoint", str(pix2pix_checkpoint), "--limit", "8", "--json", str(report),
                 "--data-dir", str(data_dir)]) == 0
    metrics = json.loads(report.read_text())["metrics"]
    assert {"l1", "psnr", "l1_identity", "psnr_identity", "l1_mean", "psnr_mean"} <= set(metrics)
    assert metrics["images"] == 8
    assert "| psnr_identity |" in capsys.readouterr().out


def test_dip_refuses_a_picture_its_deepest_level_would_shrink_to_one_pixel():
    """A 32x64 picture halved 5 times is 1 pixel high, where the 3x3 reflection padding fails:
    the config says so before anything is built; with 4 scales the same picture fits."""
    from trainers.models.dip_inpaint import DIPConfig, SkipNet

    with pytest.raises(ConfigError, match="32x64: with scales=5 both sides must be at least 64"):
        DIPConfig(image_height=64, image_width=32, scales=5).check()
    fits = DIPConfig(image_height=64, image_width=32, scales=4, width=8, input_depth=4)
    fits.check()
    assert SkipNet(fits)().shape == (1, 3, 64, 32)
    DIPConfig(image_height=64, image_width=64, scales=5).check()


def test_evaluate_reads_a_shrunk_inpainting_fit_at_the_size_it_was_fitted(tmp_path, capsys):
    out = tmp_path / "dip"
    run = RunConfig(model="dip-inpaint", dataset="inpaint:camera:box", image_size=128, steps=2, batch_size=1,
                    out=str(out), sample_every=10**6, overrides={"width": 8, "input_depth": 4})
    list(Trainer(run).run())
    report = tmp_path / "report.json"
    assert main(["evaluate", "--checkpoint", str(out), "--json", str(report)]) == 0
    metrics = json.loads(report.read_text())["metrics"]
    assert 0.05 < metrics["hole_fraction"] < 0.5 and metrics["psnr_hole_mean_fill"] > 0
    # a picture of another size is refused with both sizes named
    assert main(["evaluate", "--checkpoint", str(out), "--dataset", "inpaint:coffee:box"]) == 2
    assert "the checkpoint was fitted to 128x128" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--input", "MISSING"], "is not a file"),
    (["--input", "TEXT"], "not an image PIL can read"),
    (["--input", "PICTURE", "--direction", "b_to_a"], "direction"),
    (["--input", "PICTURE", "--alpha", "0.5"], "alpha"),
    (["--input", "PICTURE", "--out", "FOLDER"], "cannot write"),
    (["--input", "PICTURE", "--out", "PICTURE"], "is the input picture"),  # it was overwritten
    (["--input", "PICTURE", "--device", "mps"], "mps (Apple's GPU) was asked for but is not available"),
])
def test_cli_translate_refuses_bad_input_with_a_message(pix2pix_checkpoint, tmp_path, capsys, args, message):
    (tmp_path / "notes.png").write_text("this is text, renamed")
    Image.new("RGB", (64, 64), (200, 30, 30)).save(tmp_path / "pic.png")
    original = (tmp_path / "pic.png").read_bytes()
    (tmp_path / "folder").mkdir()
    names = {"MISSING": str(tmp_path / "nope.png"), "TEXT": str(tmp_path / "notes.png"),
             "PICTURE": str(tmp_path / "pic.png"), "FOLDER": str(tmp_path / "folder")}
    code = main(["translate", "--checkpoint", str(pix2pix_checkpoint), *[names.get(a, a) for a in args]])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert (tmp_path / "pic.png").read_bytes() == original


def test_cli_refuses_to_translate_with_a_noise_gan_and_to_evaluate_without_a_dataset(tmp_path, capsys):
    dcgan = GANModel.from_config("dcgan", {"g_width": 8, "d_width": 8, "latent_dim": 8})
    dcgan.save_pretrained(tmp_path / "dcgan")
    Image.new("RGB", (28, 28)).save(tmp_path / "pic.png")
    assert main(["translate", "--checkpoint", str(tmp_path / "dcgan"), "--input", str(tmp_path / "pic.png")]) == 2
    assert "does not translate" in capsys.readouterr().err
    GANModel.from_config("pix2pix", {"g_width": 8, "d_width": 8}).save_pretrained(tmp_path / "bare")
    assert main(["evaluate", "--checkpoint", str(tmp_path / "bare")]) == 2
    assert "name the dataset" in capsys.readouterr().err


def test_session_translate_refuses_without_a_translating_run():
    session = TrainingSession()
    with pytest.raises(PlaygroundError, match="first"):
        session.translate(np.zeros((8, 8, 3), np.uint8))


def test_inpainting_uploads_become_a_dataset_or_a_clear_error(tmp_path):
    picture = (np.random.default_rng(0).random((100, 140, 4)) * 255).astype(np.uint8)
    strokes = np.zeros((100, 140, 4), np.uint8)
    strokes[40:60, 50:90, 3] = 255  # painted
    name = inpainting_dataset(picture, tmp_path, strokes=[strokes])
    dataset = load_dataset(name)
    assert dataset.kind == "masked" and dataset.data.shape[-2:] == (96, 128)  # cropped to multiples of 32
    assert 0.02 < (dataset.sources > 0).float().mean().item() < 0.2
    # the holes are where they were painted: cropped with the picture (from the middle), not squeezed
    assert np.array_equal((dataset.sources[0, 0] > 0).numpy(), strokes[2:98, 6:134, 3] > 0)
    assert Path(name.split(":")[1]).parent == tmp_path  # written inside the session's own folder
    assert load_dataset(inpainting_dataset(picture, tmp_path, mask_kind="box")).kind == "masked"
    with pytest.raises(PlaygroundError, match="Upload a picture"):
        inpainting_dataset(None, tmp_path)
    with pytest.raises(PlaygroundError, match="8-bit"):
        inpainting_dataset(np.zeros((64, 64, 3), np.float32), tmp_path)
    with pytest.raises(PlaygroundError, match="Paint the holes"):
        inpainting_dataset(picture, tmp_path, mask_kind="nonsense")
    with pytest.raises(PlaygroundError, match="must hide some pixels"):
        inpainting_dataset(picture, tmp_path, mask=np.zeros((100, 140), np.uint8))
    with pytest.raises(PlaygroundError, match="60x80: inpainting needs at least 64x64"):
        inpainting_dataset(np.zeros((80, 60, 3), np.uint8), tmp_path, mask_kind="box")
    with pytest.raises(PlaygroundError, match="512x1: inpainting needs at least 64x64"):  # shrunk to nothing
        inpainting_dataset(np.zeros((8, 9000, 3), np.uint8), tmp_path, mask_kind="box")


def test_a_large_upload_is_written_at_the_size_it_is_fitted_and_keeps_thin_strokes(tmp_path):
    """A phone photo (here 2000x1500) is shrunk before it is written, and a 2-pixel stroke painted on
    it is still a hole after the shrinking (a nearest-neighbour shrink would miss it)."""
    from PIL import Image

    picture = (np.random.default_rng(1).random((1500, 2000, 3)) * 255).astype(np.uint8)
    strokes = np.zeros((1500, 2000, 4), np.uint8)
    strokes[700:702, 400:1600, 3] = 255  # a thin line across the middle
    name = inpainting_dataset(picture, tmp_path, strokes=[strokes])
    _, image_file, mask_file = name.split(":")
    assert Image.open(image_file).size == (512, 384) and Image.open(mask_file).size == (512, 384)
    dataset = load_dataset(name)
    holes = (dataset.sources[0, 0] > 0).numpy()
    assert holes.shape == (384, 512) and holes.any(axis=0)[110:400].all()  # the line, unbroken
    assert holes.sum(axis=0).max() <= 2


def test_the_builtin_picture_shown_to_paint_on_trains_painted_or_under_its_own_name(tmp_path):
    """The Inpaint form shows the built-in picture in its editor: sent back unpainted it is the
    built-in run (named, nothing saved); painted, its strokes are the holes; any other picture is an
    upload, even one pixel away from the built-in."""
    shown = inpaint_image("chelsea")
    as_editor_sends = np.concatenate([shown, np.full((*shown.shape[:2], 1), 255, np.uint8)], -1)  # RGBA
    unpainted = np.zeros_like(as_editor_sends)
    config = inpaint_run_config(tmp_path, as_editor_sends, builtin="chelsea", mask_kind="box", strokes=[unpainted])
    assert config["dataset"] == "inpaint:chelsea:box" and not any(tmp_path.iterdir())

    strokes = unpainted.copy()
    strokes[100:140, 150:300, 3] = 255
    painted = load_dataset(inpaint_run_config(tmp_path, as_editor_sends, builtin="chelsea",
                                              strokes=[strokes])["dataset"])
    holes = painted.sources[0, 0] > 0  # the mask: where pixels are missing
    assert holes[100:140, 150:300].all() and holes.sum() == 40 * 150

    nudged = as_editor_sends.copy()
    nudged[0, 0, 0] ^= 1
    assert inpaint_run_config(tmp_path, nudged, builtin="chelsea")["dataset"].endswith("inpaint-image.png:text")
    # the built-in name is a name, never a file to compare with (or to train on unsaved)
    Image.fromarray(shown).save(tmp_path / "same.png")
    assert inpaint_run_config(tmp_path, as_editor_sends, builtin=str(tmp_path / "same.png"),
                              strokes=[unpainted])["dataset"].endswith("inpaint-image.png:text")


def test_an_untrained_rrdb_net_lets_the_picture_through():
    """Only the dense blocks start scaled by 0.1 (the paper's init): scaling every layer left the
    output 10^5 times fainter than its input, and the PSNR phase then plateaued 2 dB below bicubic
    (Set5 26.2 dB vs 28.4 after 1500 steps; 28.5 after 500 with this init)."""
    from trainers.models.esrgan import ESRGANConfig, RRDBNet

    torch.manual_seed(0)
    net = RRDBNet(ESRGANConfig(image_size=32, channels=3, g_width=32, growth=16, blocks=3))
    picture = torch.rand(2, 3, 8, 8) * 2 - 1
    with torch.no_grad():
        assert net(picture).std() > 0.01 * picture.std()


@pytest.mark.parametrize("name", ["srresnet_x4", "pix2pix_facades"])
def test_a_transparent_picture_translates_as_it_shows_over_white(name):
    """The library's own entry points (not only the app's uploads) composite transparency over
    white: dropping the alpha channel showed the colour hidden under transparent pixels."""
    from trainers.upscaling import upscale

    model = GANModel.from_pretrained(name)
    shown = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
    shown[8:24, 8:24] = 255  # a transparent square, black underneath
    transparent = np.dstack([shown, np.full((32, 32), 255, np.uint8)])
    transparent[8:24, 8:24] = (0, 0, 0, 0)
    assert np.array_equal(model.translate_image(transparent), model.translate_image(shown))
    if model.family.tile_scale is not None:
        assert np.array_equal(upscale(model, transparent, 4), upscale(model, shown, 4))


def test_holes_painted_with_a_charts_lasso_and_box_become_the_mask(tmp_path):
    """The Streamlit Inpaint page's brush: Plotly's box and lasso selections, in the picture's pixel
    coordinates (pixel centres at whole numbers), become exactly the pixels they enclose."""
    from playground.uploads import selected_holes, shrunk_to_inpaint

    box = {"box": [{"x": [9.5, 29.5], "y": [39.6, 50.2]}], "lasso": []}  # centres 10..29 by 40..50
    triangle = {"box": [], "lasso": [{"x": [60, 100, 60, 60], "y": [10, 10, 50, 10]}]}
    holes = selected_holes([box, triangle], 96, 128)
    assert holes[40:51, 10:30].all() and holes[:, :60].sum() == 11 * 20  # the box, and only it
    assert 40 * 40 / 2 <= holes[:, 60:].sum() <= 40 * 40 / 2 + 137  # its area, plus pixels on its 137-pixel edge
    assert holes[12, 61] and not holes[48, 98]  # inside, beyond the hypotenuse
    assert selected_holes([], 96, 128) is None and selected_holes([{"box": [], "lasso": []}], 96, 128) is None
    # strokes partly or wholly outside the picture are cut off
    assert selected_holes([{"box": [{"x": [-50, 4], "y": [-9, 2]}]}], 96, 128).sum() == 5 * 3
    assert selected_holes([{"lasso": [{"x": [200, 300, 250], "y": [0, 0, 90]}]}], 96, 128) is None
    for broken in ({"box": [{"x": [1, 2]}]}, {"lasso": [{"x": [1, "a", 3], "y": [1, 2, 3]}]},
                   {"lasso": [{"x": [1, 2, float("nan")], "y": [1, 2, 3]}]}, {"box": [{"x": [1, 2], "y": [1]}]}):
        with pytest.raises(PlaygroundError, match="press Clear and paint again"):
            selected_holes([broken], 96, 128)

    picture = (np.random.default_rng(2).random((1000, 1500, 3)) * 255).astype(np.uint8)
    shown = shrunk_to_inpaint(picture)  # what the page paints on: the fit's own size
    assert shown.shape == (341, 512, 3) and shrunk_to_inpaint(shown) is shown
    painted = selected_holes([box, triangle], *shown.shape[:2])
    dataset = load_dataset(inpainting_dataset(shown, tmp_path, holes=painted))
    assert dataset.data.shape[-2:] == (320, 512)  # cropped to multiples of 32, from the middle
    assert (dataset.sources[0, 0] > 0).sum().item() == painted[10:330].sum()
    with pytest.raises(PlaygroundError, match="drawn on another picture.*press Clear"):
        inpainting_dataset(picture, tmp_path, holes=painted)  # the painting of the shrunk picture
