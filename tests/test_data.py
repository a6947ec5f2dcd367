"""Datasets by name, the shared .npz archives, a person's own folders and zips, and the
deterministic epoch sampler."""

from __future__ import annotations

import io
import math
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from trainers.data import (DATASETS, Dataset, EpochSampler, dataset_kind, dataset_status, list_datasets,
                           load_dataset)
from trainers.errors import DatasetUnavailable

TOYS = {  # name -> (dimension, number of modes or None)
    "gaussian-1d": (1, 2),
    "ring": (2, 8),
    "grid": (2, 25),
    "spiral": (2, None),
    "two-moons": (2, None),
}


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("GAN_OFFLINE", "1")


# ----- every registered name -------------------------------------------------------------


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_registered_dataset_loads_or_says_how_to_get_it(name, data_dir, offline):
    info = DATASETS[name]
    assert dataset_kind(name) == info.kind
    if name == "celeba":  # not among the shared archives
        with pytest.raises(DatasetUnavailable) as error:
            load_dataset(name, data_dir)
        message = str(error.value)
        assert str(data_dir / "celeba" / "img_align_celeba") in message
        assert "torchvision.datasets.CelebA" in message and "GAN_DATA_DIR" in message
        ok, status = dataset_status(name, data_dir)
        assert not ok and "img_align_celeba" in status
        return
    dataset = load_dataset(name, data_dir)
    assert len(dataset) > 0 and dataset.kind == info.kind
    if info.kind == "points":
        assert dataset.data.dtype == torch.float32 and dataset.data.dim() == 2
    else:  # images, or image-to-image pairs: uint8 images, and sources of the same count
        assert dataset.data.dtype == torch.uint8 and dataset.data.dim() == 4
        assert dataset.sample_shape[0] in (1, 3)
        assert (dataset.sources is None) == (info.kind == "image")
        if dataset.sources is not None:
            assert dataset.sources.dtype == torch.uint8 and len(dataset.sources) == len(dataset)
    assert dataset_status(name, data_dir)[0]


def test_list_datasets_by_kind():
    assert set(list_datasets("points")) == set(TOYS)
    assert {"digits", "mnist", "fashion-mnist", "cifar10", "celeba", "sr-natural"} == set(list_datasets("image"))
    assert {"facades", "mnist-edges"} == set(list_datasets("pairs"))
    assert {"facades-unpaired", "mnist-colorized"} == set(list_datasets("unpaired"))
    assert list_datasets() == list(DATASETS)


def test_unknown_dataset_names_the_choices():
    for call in (lambda: load_dataset("imagenet"), lambda: dataset_kind("imagenet")):
        with pytest.raises(DatasetUnavailable) as error:
            call()
        message = str(error.value)
        assert "'imagenet'" in message and "folder:PATH" in message
        for name in DATASETS:
            assert name in message


def test_unknown_split_is_refused():
    with pytest.raises(DatasetUnavailable, match="split"):
        load_dataset("ring", split="valid")


# ----- toys ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(TOYS))
def test_toys_lie_in_about_minus_one_to_one(name):
    dataset = load_dataset(name)
    dims, _ = TOYS[name]
    assert dataset.kind == "points" and dataset.data.shape == (8192, dims)
    assert torch.isfinite(dataset.data).all()
    assert float(dataset.data.abs().max()) <= 1.1
    # they fill the square rather than sitting in a corner of it
    assert float(dataset.data.max()) > 0.5 and float(dataset.data.min()) < -0.5
    # a pure function of its seed: the same points every time
    assert torch.equal(load_dataset(name).data, dataset.data)


@pytest.mark.parametrize("name", [n for n, (_, modes) in TOYS.items() if modes])
def test_toy_mixtures_have_their_stated_modes(name):
    dataset = load_dataset(name)
    dims, count = TOYS[name]
    modes, std = dataset.extra["modes"], dataset.extra["mode_std"]
    assert modes.shape == (count, dims)
    distances = torch.cdist(dataset.data, modes.float())
    nearest, which = distances.min(dim=1)
    # nearly every point lies within 4 std of a mode, and the modes share the points evenly
    assert float((nearest <= 4 * std).float().mean()) > 0.999
    shares = torch.bincount(which, minlength=count).float() / len(dataset)
    assert float(shares.min()) > 0.7 / count and float(shares.max()) < 1.3 / count
    # the sample spread around each mode is the stated std
    offsets = dataset.data - modes[which]
    assert float(offsets.std()) == pytest.approx(std, rel=0.1)


def test_toy_mode_layouts():
    ring = load_dataset("ring").extra["modes"]
    assert torch.allclose(ring.norm(dim=1), torch.full((8,), 0.8), atol=1e-6)
    angles = sorted(round(math.degrees(math.atan2(y, x))) % 360 for x, y in ring.tolist())
    assert angles == [0, 45, 90, 135, 180, 225, 270, 315]
    grid = load_dataset("grid").extra["modes"]
    assert sorted({round(v, 4) for v in grid[:, 0].tolist()}) == [-0.8, -0.4, 0.0, 0.4, 0.8]
    assert sorted({round(v, 4) for v in grid[:, 1].tolist()}) == [-0.8, -0.4, 0.0, 0.4, 0.8]
    assert sorted(load_dataset("gaussian-1d").extra["modes"].flatten().tolist()) == [-0.5, 0.5]


def test_two_moons_has_two_labelled_halves():
    dataset = load_dataset("two-moons")
    assert dataset.class_names == ("lower", "upper")
    counts = torch.bincount(dataset.labels)
    assert counts.tolist()[0] == pytest.approx(4096, rel=0.05)
    # the upper moon sits higher on average than the lower one
    ys = dataset.data[:, 1]
    assert float(ys[dataset.labels == 1].mean()) > float(ys[dataset.labels == 0].mean()) + 0.2


# ----- digits and the shared archives ----------------------------------------------------


def test_digits_load_offline_without_a_data_folder(tmp_path, offline):
    train = load_dataset("digits", tmp_path)
    test = load_dataset("digits", tmp_path, split="test")
    assert train.data.shape == (1500, 1, 8, 8) and test.data.shape == (297, 1, 8, 8)
    assert train.data.dtype == torch.uint8 and int(train.data.max()) == 255 and int(train.data.min()) == 0
    assert train.labels.shape == (1500,) and set(train.labels.tolist()) == set(range(10))
    x, _ = train.batch(torch.arange(16))
    assert x.dtype == torch.float32 and float(x.min()) == -1.0 and float(x.max()) == 1.0


STANDARD = {  # name -> (train shape, test shape, test class counts)
    "mnist": ((60000, 1, 28, 28), (10000, 1, 28, 28),
              [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]),
    "fashion-mnist": ((60000, 1, 28, 28), (10000, 1, 28, 28), [1000] * 10),
    "cifar10": ((5000, 3, 32, 32), (10000, 3, 32, 32), [1000] * 10),
}


@pytest.mark.parametrize("name", list(STANDARD))
def test_standard_datasets_from_the_npz_archives(name, data_dir, offline):
    train_shape, test_shape, test_counts = STANDARD[name]
    train = load_dataset(name, data_dir)
    test = load_dataset(name, data_dir, split="test")
    assert tuple(train.data.shape) == train_shape and tuple(test.data.shape) == test_shape
    assert train.data.dtype == torch.uint8
    assert train.labels.dtype == torch.int64 and train.labels.shape == (train_shape[0],)
    assert torch.bincount(test.labels).tolist() == test_counts
    assert train.num_classes == 10
    # scaled to [-1, 1] on the way into a step, with 0 -> -1 and 255 -> 1 exactly
    x, y = train.batch(torch.arange(256))
    assert x.dtype == torch.float32 and x.shape == (256,) + train_shape[1:]
    assert float(x.min()) == -1.0 and float(x.max()) == 1.0
    assert torch.allclose(x, train.data[:256].float() / 127.5 - 1)
    assert torch.equal(y, train.labels[:256])
    # the stored data stays uint8 (a batch is a copy)
    assert train.data.dtype == torch.uint8 and int(train.data.max()) == 255


def test_mnist_pixels_are_the_canonical_ones(data_dir):
    train = load_dataset("mnist", data_dir)
    scaled = train.data.float() / 255
    assert float(scaled.mean()) == pytest.approx(0.13066, abs=1e-4)
    assert float(scaled.std()) == pytest.approx(0.30811, abs=1e-4)
    assert train.labels[:8].tolist() == [5, 0, 4, 1, 9, 2, 1, 3]


def test_cifar10_channels_are_in_the_right_order(data_dir):
    # NHWC in the archive must become NCHW, not a scrambled reshape: the archive's first image
    # read directly must equal the dataset's first image permuted back
    dataset = load_dataset("cifar10", data_dir)
    with np.load(data_dir / "cifar10_subset.npz") as archive:
        first = archive["x_train"][0]
    assert np.array_equal(dataset.data[0].permute(1, 2, 0).numpy(), first)
    assert dataset.labels[:20].tolist() == list(range(10)) * 2


def test_a_second_load_comes_from_the_process_cache(data_dir):
    first = load_dataset("fashion-mnist", data_dir)
    second = load_dataset("fashion-mnist", data_dir)
    assert second.data is first.data and second.labels is first.labels


def test_image_size_resizes_a_standard_dataset(data_dir):
    small = load_dataset("mnist", data_dir, split="test", image_size=16)
    assert small.data.shape == (10000, 1, 16, 16) and small.data.dtype == torch.uint8
    assert small.labels.shape == (10000,)
    # a blurred copy of the same digits, not noise: it matches a resize of the originals
    full = load_dataset("mnist", data_dir, split="test")
    reference = torch.nn.functional.interpolate(full.data[:4].float(), size=(16, 16), mode="area")
    assert float((small.data[:4].float() - reference).abs().mean()) < 12


def test_missing_file_offline_names_the_file_and_the_folder(tmp_path, offline):
    for name, files in (("mnist", ["mnist.npz"]), ("fashion-mnist", ["fashion_mnist.npz"]),
                        ("cifar10", ["cifar10.npz", "cifar10_subset.npz"])):
        with pytest.raises(DatasetUnavailable) as error:
            load_dataset(name, tmp_path)
        message = str(error.value)
        for file in files:
            assert str(tmp_path / file) in message
        assert "GAN_OFFLINE" in message and "GAN_DATA_DIR" in message
        ok, status = dataset_status(name, tmp_path)
        assert not ok and str(tmp_path / files[0]) in status
    assert list(tmp_path.iterdir()) == []  # nothing was downloaded or created


def test_missing_data_dir_uses_gan_data_dir(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("GAN_DATA_DIR", str(tmp_path / "elsewhere"))
    with pytest.raises(DatasetUnavailable, match="elsewhere"):
        load_dataset("mnist")


def _savez(path: Path, **arrays) -> None:
    with open(path, "wb") as handle:  # a handle keeps the exact name (np.savez would add .npz)
        np.savez(handle, **arrays)


def _truncated_archive(path: Path) -> None:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x_train=np.random.default_rng(0).integers(0, 255, (50, 28, 28), np.uint8),
                        y_train=np.zeros(50, np.int64))
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])


def _bare_npy(path: Path) -> None:
    with open(path, "wb") as handle:
        np.save(handle, np.zeros((3, 28, 28), np.uint8))


@pytest.mark.parametrize("make, expected", [
    (lambda p: p.write_bytes(b"this is not an npz archive"), "not a readable .npz"),
    (lambda p: p.write_bytes(b""), "not a readable .npz"),
    (_truncated_archive, "not a readable .npz"),
    (_bare_npy, "not a readable .npz"),
    (lambda p: _savez(p, x_train=np.zeros((3, 5), np.uint8)), "shape (3, 5)"),
    (lambda p: _savez(p, x_train=np.zeros((3, 5, 5), np.uint8), y_train=np.zeros(2, np.int64)),
     "2 labels for 3 images"),
], ids=["garbage", "empty", "truncated", "bare-npy", "wrong-shape", "label-count"])
def test_a_broken_archive_is_a_dataset_error_naming_it(tmp_path, offline, make, expected):
    # e.g. an interrupted download saved under the expected name: a message, not a numpy traceback
    path = tmp_path / "mnist.npz"
    make(path)
    with pytest.raises(DatasetUnavailable) as error:
        load_dataset("mnist", tmp_path)
    assert str(path) in str(error.value) and expected in str(error.value)


def test_an_archive_without_the_split_names_what_it_has(tmp_path, offline):
    np.savez(tmp_path / "mnist.npz", x_test=np.zeros((3, 28, 28), np.uint8))
    with pytest.raises(DatasetUnavailable) as error:
        load_dataset("mnist", tmp_path)
    assert "x_train" in str(error.value) and "x_test" in str(error.value)


# ----- a person's own images --------------------------------------------------------------


def save_image(path: Path, size: tuple[int, int], colour, mode: str = "RGB", fmt: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path, format=fmt)


def striped(width: int, height: int, middle, sides) -> Image.Image:
    """A picture whose centre square is `middle` and whose two ends (along the long side) are `sides`."""
    image = Image.new("RGB", (width, height), sides)
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    image.paste(Image.new("RGB", (side, side), middle), (left, top))
    return image


@pytest.fixture
def picture_folder(tmp_path) -> Path:
    root = tmp_path / "pictures"
    root.mkdir()
    striped(60, 20, (255, 0, 0), (0, 0, 255)).save(root / "a_wide.png")
    striped(20, 60, (0, 255, 0), (0, 0, 255)).save(root / "b_tall.jpg", quality=95)
    save_image(root / "c_grey.png", (30, 30), 128, mode="L")
    save_image(root / "d_alpha.png", (12, 40), (10, 20, 30, 255), mode="RGBA")
    (root / "e_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n but then nothing sensible")
    good = io.BytesIO()
    Image.new("RGB", (50, 50), (1, 2, 3)).save(good, format="PNG")
    (root / "f_truncated.png").write_bytes(good.getvalue()[:40])
    (root / "notes.txt").write_text("not an image")
    (root / "Thumbs.db").write_bytes(b"\x00" * 64)
    return root


def test_folder_images_are_decoded_cropped_and_counted(picture_folder):
    dataset = load_dataset(f"folder:{picture_folder}", image_size=16)
    assert dataset.kind == "image" and dataset_kind(f"folder:{picture_folder}") == "image"
    assert dataset.data.shape == (4, 3, 16, 16) and dataset.data.dtype == torch.uint8
    assert dataset.skipped == 2  # the corrupt and the truncated PNG; the .txt and .db are not images
    assert "4 images" in dataset.description and "2 skipped" in dataset.description
    assert dataset.labels is None  # no sub-folders, no labels
    wide, tall, grey, alpha = (img.permute(1, 2, 0).int() for img in dataset.data)
    # centre-cropped after resizing the shorter side, not squashed: the blue ends are gone
    assert (wide[:, 2:14, 0] > 200).all() and (wide[:, 2:14, 2] < 60).all()
    assert (tall[2:14, :, 1] > 200).all() and (tall[2:14, :, 2] < 60).all()
    assert (grey == 128).all()  # grey -> three equal channels
    assert (alpha[..., 0] == 10).all() and (alpha[..., 2] == 30).all()
    x, _ = dataset.batch(torch.arange(4))
    assert float(x.min()) >= -1 and float(x.max()) <= 1


def test_folder_default_size_is_64(picture_folder):
    assert load_dataset(f"folder:{picture_folder}").data.shape == (4, 3, 64, 64)


def test_sub_folders_become_labels(tmp_path):
    root = tmp_path / "pets"
    for i in range(3):
        save_image(root / "cats" / f"{i}.png", (20, 20), (200, 0, 0))
    for i in range(2):
        save_image(root / "dogs" / f"{i}.jpg", (24, 16), (0, 0, 200), fmt="JPEG")
    dataset = load_dataset(f"folder:{root}", image_size=8)
    assert dataset.class_names == ("cats", "dogs") and dataset.num_classes == 2
    assert dataset.labels.tolist() == [0, 0, 0, 1, 1]
    reds = dataset.data[:, 0].float().mean(dim=(1, 2))
    assert (reds[:3] > 150).all() and (reds[3:] < 50).all()  # each label goes with its own pictures


def test_a_zip_of_images(tmp_path):
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
            buffer = io.BytesIO()
            Image.new("RGB", (10 + i, 30), colour).save(buffer, format="PNG")
            zf.writestr(f"faces/{i}.png", buffer.getvalue())
        zf.writestr("__MACOSX/faces/._0.png", b"resource fork, not an image")
        zf.writestr("faces/readme.md", "hello")
        zf.writestr("faces/broken.jpg", b"\xff\xd8\xff garbage")
    dataset = load_dataset(f"folder:{archive}", image_size=8)
    assert dataset.data.shape == (3, 3, 8, 8)
    assert dataset.skipped == 1  # broken.jpg; the macOS junk and the readme are not counted
    assert dataset.labels is None  # one folder is one class: nothing to label
    means = dataset.data.float().mean(dim=(2, 3))
    assert means.argmax(dim=1).tolist() == [0, 1, 2]


def test_damaged_or_encrypted_zip_members_are_skipped_and_counted(tmp_path):
    archive = tmp_path / "upload.zip"
    good = io.BytesIO()
    Image.new("RGB", (12, 12), (0, 200, 0)).save(good, format="PNG")
    noise = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(noise, format="BMP")
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(2):
            zf.writestr(f"good{i}.png", good.getvalue())
        zf.writestr("damaged.bmp", noise.getvalue())
        zf.writestr("encrypted.png", good.getvalue())
    raw = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        damaged, encrypted = zf.getinfo("damaged.bmp"), zf.getinfo("encrypted.png")
    start = damaged.header_offset + 30 + len(damaged.filename)  # the local header, then the deflated data
    raw[start + 10:start + 60] = bytes(50)  # a broken deflate stream: zlib.error when read
    raw[encrypted.header_offset + 6] |= 1  # the local header's "encrypted" flag: RuntimeError without a password
    for offset in _central_entries(bytes(raw)):
        name_length = int.from_bytes(raw[offset + 28:offset + 30], "little")
        if raw[offset + 46:offset + 46 + name_length] == b"encrypted.png":
            raw[offset + 8] |= 1  # the same flag in the central directory
    archive.write_bytes(bytes(raw))
    dataset = load_dataset(f"folder:{archive}", image_size=8)
    assert len(dataset) == 2 and dataset.skipped == 2


def _central_entries(raw: bytes) -> list[int]:
    """Offsets of a zip's central directory entries."""
    offsets, at = [], raw.find(b"PK\x01\x02")
    while at != -1:
        offsets.append(at)
        at = raw.find(b"PK\x01\x02", at + 4)
    return offsets


def test_a_picture_over_the_pixel_limit_is_refused_from_its_header(tmp_path):
    from trainers.data.folder import MAX_PIXELS, read_image

    side = int(MAX_PIXELS ** 0.5) + 2  # just over the limit: PIL's own guard lets twice its limit through
    wide = io.BytesIO()
    Image.new("L", (side, side)).save(wide, format="PNG")
    with pytest.raises(DatasetUnavailable, match=f"more than {MAX_PIXELS:,} pixels .{side}x{side}."):
        read_image(wide.getvalue(), "the upload")
    root = tmp_path / "mixed"
    save_image(root / "small.png", (16, 16), (0, 0, 0))
    (root / "huge.png").write_bytes(wide.getvalue())
    dataset = load_dataset(f"folder:{root}", image_size=8)
    assert len(dataset) == 1 and dataset.skipped == 1
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # PIL's process-wide setting is left alone


def test_a_changed_folder_is_read_again(tmp_path):
    root = tmp_path / "grow"
    save_image(root / "a.png", (16, 16), (0, 0, 0))
    assert len(load_dataset(f"folder:{root}", image_size=8)) == 1
    time.sleep(0.01)
    save_image(root / "b.png", (16, 16), (255, 255, 255))
    assert len(load_dataset(f"folder:{root}", image_size=8)) == 2


def test_a_folder_changed_only_in_a_sub_folder_is_read_again(tmp_path):
    # adding a file to root/cats changes the mtime of root/cats, not of root
    root = tmp_path / "classes"
    save_image(root / "cats" / "a.png", (16, 16), (0, 0, 0))
    save_image(root / "dogs" / "a.png", (16, 16), (0, 0, 0))
    first = load_dataset(f"folder:{root}", image_size=8)
    assert len(first) == 2
    assert load_dataset(f"folder:{root}", image_size=8) is first  # unchanged: served from the cache
    time.sleep(0.01)
    save_image(root / "cats" / "b.png", (16, 16), (255, 255, 255))
    again = load_dataset(f"folder:{root}", image_size=8)
    assert len(again) == 3 and again.labels.tolist() == [0, 0, 1]


def test_empty_folder_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetUnavailable, match="No readable images"):
        load_dataset(f"folder:{tmp_path / 'empty'}")


def test_folder_of_only_broken_files_says_how_many_were_skipped(tmp_path):
    root = tmp_path / "broken"
    root.mkdir()
    for i in range(3):
        (root / f"{i}.png").write_bytes(b"nope")
    with pytest.raises(DatasetUnavailable) as error:
        load_dataset(f"folder:{root}")
    assert "3 file(s) skipped" in str(error.value) and "PNG or JPEG" in str(error.value)


def test_nonexistent_folder_is_an_error(tmp_path):
    with pytest.raises(DatasetUnavailable) as error:
        load_dataset(f"folder:{tmp_path / 'nowhere'}")
    assert str(tmp_path / "nowhere") in str(error.value) and "does not exist" in str(error.value)
    assert dataset_status(f"folder:{tmp_path / 'nowhere'}") == (False, str(error.value))  # the UI says the same


@pytest.mark.parametrize("name", ["folder:", "folder:  "])
def test_folder_without_a_path_is_an_error_not_the_working_directory(name):
    with pytest.raises(DatasetUnavailable, match="give the folder or .zip of images after it") as error:
        load_dataset(name)
    assert dataset_status(name) == (False, str(error.value))


def test_a_file_that_is_not_a_zip_is_an_error(tmp_path):
    path = tmp_path / "photos.zip"
    path.write_text("plain text pretending to be a zip")
    with pytest.raises(DatasetUnavailable) as error:
        load_dataset(f"folder:{path}")
    assert str(path) in str(error.value) and "neither a folder nor a readable zip" in str(error.value)


def test_folder_image_size_out_of_range(picture_folder):
    for size in (4, 512):
        with pytest.raises(DatasetUnavailable, match=f"image size {size}"):
            load_dataset(f"folder:{picture_folder}", image_size=size)


# ----- the epoch sampler ------------------------------------------------------------------


def test_sampler_covers_each_index_once_per_epoch():
    sampler = EpochSampler(100, 10, seed=3)
    assert sampler.per_epoch == 10
    for epoch in range(3):
        seen = torch.cat([sampler.indices(epoch * 10 + i) for i in range(10)])
        assert sorted(seen.tolist()) == list(range(100))
    # shuffled, and each epoch in a different order
    first = torch.cat([sampler.indices(i) for i in range(10)])
    second = torch.cat([sampler.indices(10 + i) for i in range(10)])
    assert not torch.equal(first, torch.arange(100)) and not torch.equal(first, second)


def test_sampler_drops_the_last_partial_batch_without_repeats():
    sampler = EpochSampler(103, 10, seed=0)
    assert sampler.per_epoch == 10
    seen = torch.cat([sampler.indices(i) for i in range(10)])
    assert len(seen) == 100 and len(set(seen.tolist())) == 100
    assert all(len(sampler.indices(i)) == 10 for i in range(25))


def test_sampler_is_a_pure_function_of_seed_and_step():
    reference = EpochSampler(50, 8, seed=11)
    in_order = [reference.indices(step).tolist() for step in range(40)]
    # a fresh sampler asked for the steps in any order (as after a resume) gives the same batches
    other = EpochSampler(50, 8, seed=11)
    for step in (33, 2, 17, 33, 0, 39, 6):
        assert other.indices(step).tolist() == in_order[step]
    assert EpochSampler(50, 8, seed=12).indices(0).tolist() != in_order[0]


def test_sampler_batch_larger_than_the_data():
    sampler = EpochSampler(5, 64, seed=0)
    assert sampler.batch_size == 5 and sorted(sampler.indices(0).tolist()) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError):
        EpochSampler(0, 4, seed=0)


def test_points_dataset_batches_unchanged():
    data = torch.arange(12, dtype=torch.float32).reshape(6, 2)
    dataset = Dataset("pts", data)
    x, y = dataset.batch(torch.tensor([4, 1]))
    assert dataset.kind == "points" and y is None
    assert x.tolist() == [[8.0, 9.0], [2.0, 3.0]]


def _write_idx(path, array: np.ndarray) -> None:
    """MNIST's idx format: magic (0, 0, uint8 type 0x08, ndim), big-endian sizes, then the bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_mnist_from_torchvision_raw_files(tmp_path, data_dir):
    """Without an .npz, torchvision's own MNIST files in GAN_DATA_DIR/MNIST/raw are read."""
    with np.load(data_dir / "mnist.npz") as archive:
        images, labels = archive["x_test"][:50], archive["y_test"][:50]
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split in ("train", "t10k"):
        _write_idx(raw / f"{split}-images-idx3-ubyte", images)
        _write_idx(raw / f"{split}-labels-idx1-ubyte", labels)
    ok, status = dataset_status("mnist", tmp_path)
    assert ok and str(raw) in status
    dataset = load_dataset("mnist", tmp_path)
    assert dataset.data.shape == (50, 1, 28, 28)
    assert torch.equal(dataset.data[:, 0], torch.from_numpy(images))
    assert dataset.labels.tolist() == labels.tolist()


def test_celeba_from_torchvision_layout(tmp_path):
    """CelebA's aligned 178x218 JPEGs are centre-cropped to a square and resized to 64x64; the
    partition file picks the split."""
    folder = tmp_path / "celeba" / "img_align_celeba"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"{i:06d}.jpg" for i in range(1, 7)]
    for name in names:
        Image.fromarray(rng.integers(0, 255, (218, 178, 3), dtype=np.uint8)).save(folder / name)
    (tmp_path / "celeba" / "list_eval_partition.txt").write_text(
        "\n".join(f"{name} {0 if i < 4 else 2}" for i, name in enumerate(names)))
    train = load_dataset("celeba", tmp_path)
    test = load_dataset("celeba", tmp_path, split="test")
    assert train.data.shape == (4, 3, 64, 64) and test.data.shape == (2, 3, 64, 64)
    assert dataset_status("celeba", tmp_path)[0]
