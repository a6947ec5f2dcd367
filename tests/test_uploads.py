"""A person's inputs outside the run form: pictures for the demos, training sets, and the advanced
form generated from a family's config; each read, or refused with a message."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from playground.uploads import MAX_UPLOAD_PIXELS, MIN_TRAINING_IMAGES, read_picture, training_images
from trainers.data import load_dataset
from trainers.errors import PlaygroundError


def save(path: Path, array: np.ndarray, **options) -> Path:
    Image.fromarray(array).save(path, **options)
    return path


def noise_picture(seed: int, shape=(40, 50, 3)) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) * 255).astype(np.uint8)


def test_read_picture_converts_what_people_upload(tmp_path):
    rgb = noise_picture(0)
    assert np.array_equal(read_picture(save(tmp_path / "a.png", rgb)), rgb)
    grey = read_picture(save(tmp_path / "g.png", rgb[..., 0]))
    assert grey.shape == (40, 50, 3) and np.array_equal(grey[..., 1], rgb[..., 0])
    # 16-bit grey keeps its top 8 bits
    wide = Image.fromarray((rgb[..., 0].astype(np.uint16) * 256).astype(np.uint16))
    wide.save(tmp_path / "w.png")
    assert np.array_equal(read_picture(tmp_path / "w.png")[..., 0], rgb[..., 0])
    # transparency over white; a palette picture; CMYK
    rgba = np.dstack([rgb, np.zeros((40, 50), np.uint8)])
    assert (read_picture(save(tmp_path / "t.png", rgba)) == 255).all()
    Image.fromarray(rgb).convert("P").save(tmp_path / "p.png")
    assert read_picture(tmp_path / "p.png").shape == (40, 50, 3)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.jpg")
    assert read_picture(tmp_path / "c.jpg").shape == (40, 50, 3)
    # EXIF orientation 6 (rotate 90): a phone photo shows upright
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(rgb).save(tmp_path / "r.jpg", exif=exif)
    assert read_picture(tmp_path / "r.jpg").shape == (50, 40, 3)


RAMP = np.tile(np.linspace(0, 1, 64), (32, 1))  # dark on the left, light on the right
#: pictures wider than 8 bits, as scanners, microscopes and scientific tools write them
WIDE_GREY = {
    "16-bit": Image.fromarray((RAMP * 65535).astype(np.uint16)),
    "32-bit with negative values": Image.fromarray((RAMP * 2000 - 1000).astype(np.int32), mode="I"),
    "32-bit past 16 bits": Image.fromarray((RAMP * 2**30).astype(np.int32), mode="I"),
    "floating point 0 to 1": Image.fromarray(RAMP.astype(np.float32), mode="F"),
    "floating point -5 to 5": Image.fromarray((RAMP * 10 - 5).astype(np.float32), mode="F"),
}


@pytest.mark.parametrize("kind", list(WIDE_GREY))
def test_wide_grey_pictures_read_as_a_viewer_shows_them_in_uploads_and_training_folders(tmp_path, kind):
    """A plain conversion to RGB clips at 255 and wraps negative values: such a TIFF read as a
    white (or black) square. Both readers go from black to white along the ramp."""
    WIDE_GREY[kind].save(tmp_path / "scan.tiff")
    shown = read_picture(tmp_path / "scan.tiff")[..., 0].astype(int)
    assert shown.shape == (32, 64) and (np.diff(shown, axis=1) >= 0).all()
    assert shown[:, 0].max() <= 2 and shown[:, -1].min() >= 253
    assert np.abs(shown - RAMP * 255).max() <= 4
    folder = tmp_path / "scans"
    folder.mkdir()
    for index in range(4):
        WIDE_GREY[kind].save(folder / f"{index}.tiff")
    trained = load_dataset(f"folder:{folder}", image_size=32).data[0, 0].numpy().astype(int)
    centre = RAMP[:, 16:48] * 255  # the square crop of the middle
    assert np.abs(trained - centre).max() <= 12, (trained[0], centre[0])


def test_a_transparent_picture_trains_as_it_shows_over_white(tmp_path):
    hidden_black = np.zeros((32, 32, 4), np.uint8)  # every pixel black and fully transparent
    folder = tmp_path / "stickers"
    folder.mkdir()
    for index in range(4):
        save(folder / f"{index}.png", hidden_black)
    assert (load_dataset(f"folder:{folder}", image_size=32).data == 255).all()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` (its header alone: no pixel data)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) \
        + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [4200, 20000])  # over the upload limit; and past Pillow's own guard too
def test_a_picture_too_large_is_refused_for_its_size_not_called_unreadable(tmp_path, side):
    (tmp_path / "huge.png").write_bytes(png_header_only(side, side))
    with pytest.raises(PlaygroundError, match=f"at most {MAX_UPLOAD_PIXELS:,} pixels|more than {MAX_UPLOAD_PIXELS:,}"):
        read_picture(tmp_path / "huge.png")


def test_read_picture_refuses_broken_files_with_a_message(tmp_path):
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(PlaygroundError, match=r"\(\.png\) could not be read as a picture"):
        read_picture(tmp_path / "notes.png")
    data = (save(tmp_path / "whole.png", noise_picture(1))).read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(PlaygroundError, match="could not be read"):
        read_picture(tmp_path / "cut.png")
    with pytest.raises(PlaygroundError, match="1x1: it needs at least 8 pixels"):
        read_picture(save(tmp_path / "dot.png", np.zeros((1, 1, 3), np.uint8)))
    with pytest.raises(PlaygroundError, match="at least 8 pixels"):
        read_picture(save(tmp_path / "thin.png", np.zeros((3, 900, 3), np.uint8)))
    # a huge picture is refused from its header, before its pixels are decoded
    Image.new("1", (5000, 4000)).save(tmp_path / "huge.png")
    with pytest.raises(PlaygroundError, match="5000x4000: at most"):
        read_picture(tmp_path / "huge.png")
    with pytest.raises(PlaygroundError, match="Upload a picture"):
        read_picture(None)


def test_training_images_from_loose_files_and_from_a_zip(tmp_path):
    files = [save(tmp_path / f"p{i}.png", noise_picture(i)) for i in range(10)]
    (tmp_path / "bad.png").write_text("nope")
    made = training_images([*files, tmp_path / "bad.png"], tmp_path / "session")
    assert "10 pictures" in made["summary"] and "1 file(s) skipped as unreadable (bad.png)" in made["summary"]
    assert made["preview"].shape == (34 * 2 + 2, 34 * 8 + 2, 3)
    assert len(load_dataset(made["dataset"])) == 10  # the library reads what was saved

    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for index, file in enumerate(files):
            bundle.write(file, f"{'cats' if index % 2 else 'dogs'}/{file.name}")
        bundle.writestr("../../escape.png", files[0].read_bytes())  # a hostile name is only read, never a path
    made = training_images([archive], tmp_path / "session")
    dataset = load_dataset(made["dataset"])
    assert "10 pictures, 2 classes (cats, dogs)" in made["summary"] and dataset.num_classes == 2
    assert "1 file(s) skipped" in made["summary"]
    assert not (tmp_path / "escape.png").exists() and made["dataset"].endswith("session/training/images.zip")


@pytest.mark.parametrize("make, message", [
    (lambda d: [], "Upload a zip of pictures"),
    (lambda d: [save(d / f"p{i}.png", noise_picture(i)) for i in range(MIN_TRAINING_IMAGES - 1)],
     f"Only {MIN_TRAINING_IMAGES - 1} usable"),
    (lambda d: [d / "x.zip", d / "y.png"], "not both"),
    (lambda d: [d / "empty.zip"], "No usable pictures: the zip empty.zip holds no readable"),
    # each file's own reason, not "unreadable": a 1x1 picture is too small, a text file no picture
    (lambda d: [save(d / "dot.png", noise_picture(0, (1, 1, 3))), d / "notes.png"],
     r"none of the 2 file\(s\) can be used \(dot.png is 1x1: it needs at least 8 pixels on each side; "
     r"notes.png \(.png\) could not be read as a picture"),
])
def test_training_images_refuse_what_cannot_train(tmp_path, make, message):
    with zipfile.ZipFile(tmp_path / "x.zip", "w"), zipfile.ZipFile(tmp_path / "empty.zip", "w"):
        pass
    save(tmp_path / "y.png", noise_picture(0))
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(PlaygroundError, match=message) as error:
        training_images(make(tmp_path), tmp_path / "session")
    assert str(tmp_path) not in str(error.value)  # the server's folders are none of the visitor's business


def test_every_family_gets_a_generated_form_with_its_presets():
    from playground.config_form import form_fields, overrides_from_form
    from trainers.registry import MODELS

    for name, spec in MODELS.items():
        fields = form_fields(name)
        assert fields, name
        assert all(f.kind in ("integer", "number", "choice", "bool", "text") for f in fields)
        assert not {"objective", "lr_g", "lr_d"} & {f.name for f in fields}  # the main form has those
    small = {f.name: f.value for f in form_fields("dcgan", "cpu-small")}
    assert small["g_width"] == 32 and {f.name: f.value for f in form_fields("dcgan")}["g_width"] == 64
    assert form_fields("no-such-model") == []
    assert overrides_from_form("dcgan", {"g_width": 48.0, "d_norm": "batch"}) == {"g_width": 48, "d_norm": "batch"}
    for bad, message in ((4.5, "must be a whole number, not 4.5"), ("abc", "must be a whole number, not 'abc'"),
                         (float("inf"), "must be a whole number, not inf"), (float("nan"), "is empty")):
        with pytest.raises(PlaygroundError, match=f"g_width {message}"):
            overrides_from_form("dcgan", {"g_width": bad})
    text_field = next(f for spec in MODELS for f in form_fields(spec) if f.kind == "text")
    with pytest.raises(PlaygroundError, match="not valid JSON"):
        overrides_from_form(next(n for n in MODELS if text_field in form_fields(n)), {text_field.name: "[1, 2"})


def test_drawn_points_map_clicks_to_the_plane_and_back():
    from playground import drawing
    from trainers.data.toys import DRAWN_EXTENT, MAX_DRAWN_POINTS, parse_drawn

    side = drawing.CANVAS_SIDE
    assert drawing.to_plane(0, 0) == (-DRAWN_EXTENT, DRAWN_EXTENT)  # top left
    assert drawing.to_plane(side - 1, side - 1) == (DRAWN_EXTENT, -DRAWN_EXTENT)
    assert drawing.to_plane(side / 2 - 0.5, side / 2 - 0.5) == (0.0, 0.0)
    points = drawing.add_point([], 240, 80)  # right, up
    assert points[0][0] > 0 and points[0][1] > 0
    picture = drawing.canvas(points)
    assert (picture[80, 240] == (27, 158, 75)).all() and (picture[240, 80] != (27, 158, 75)).any()
    name = drawing.drawn_dataset(points)
    assert parse_drawn(name[len("drawn:"):]).tolist() == [[pytest.approx(points[0][0]), pytest.approx(points[0][1])]]
    with pytest.raises(PlaygroundError, match="place at least one point"):
        drawing.drawn_dataset([])
    with pytest.raises(PlaygroundError, match=f"At most {MAX_DRAWN_POINTS} points"):
        drawing.add_point([[0.0, 0.0]] * MAX_DRAWN_POINTS, 1, 1)
    # a plot canvas gives plane positions: clamped to the plane, rounded as the dataset name
    assert drawing.add_plane_point(points, 0.123, -9.0)[1] == [0.12, -DRAWN_EXTENT]
    grid = drawing.pick_grid(5)
    assert grid.shape == (25, 2) and grid.min() == -DRAWN_EXTENT and grid.max() == DRAWN_EXTENT


def test_uploaded_bytes_are_saved_under_safe_names_and_read_from_memory(tmp_path):
    import io

    from playground.uploads import save_uploads

    picture = np.zeros((12, 10, 3), np.uint8)
    picture[:, :5] = 200
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    folder = tmp_path / "session" / "incoming"
    saved = save_uploads([("../../etc/passwd", b"x"), ("my photo (1).png", buffer.getvalue()), ("...", b"")], folder)
    assert [p.name for p in saved] == ["00000-passwd", "00001-my_photo__1_.png", "00002-upload"]
    assert all(p.parent == folder for p in saved) and not (tmp_path / "etc").exists()
    np.testing.assert_array_equal(read_picture(saved[1]), picture)
    # an open file (Streamlit's upload) reads the same; a broken one names its extension
    buffer.seek(0)
    np.testing.assert_array_equal(read_picture(buffer), picture)
    broken = io.BytesIO(b"text renamed .png")
    broken.name = "photo.png"
    with pytest.raises(PlaygroundError, match=r"\(\.png\) could not be read as a picture"):
        read_picture(broken)
    # saving again starts from an empty folder: no file of the last upload is left behind
    assert save_uploads([("b.png", b"1")], folder) == [folder / "00000-b.png"] and len(list(folder.iterdir())) == 1


# ----- property-based: whatever arrives, a picture or a clear error --------------------------

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from playground.uploads import MIN_UPLOAD_SIDE, checked_rgb  # noqa: E402

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
#: what the first bytes of real picture files look like, so generated bytes reach each decoder
SIGNATURES = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"RIFF\x00\x00\x00\x00WEBP",
              b"II*\x00", b"MM\x00*", b"P6\n", b"\x00\x00\x01\x00"]


def assert_picture_or_clear_error(read) -> None:
    """``read()`` gives a uint8 (H, W, 3) picture within the limits, or a PlaygroundError with words
    a person can act on; any other exception fails the property."""
    try:
        picture = read()
    except PlaygroundError as error:
        assert len(str(error)) > 20 and "Traceback" not in str(error)
        return
    assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[-1] == 3
    assert min(picture.shape[:2]) >= MIN_UPLOAD_SIDE and picture.shape[0] * picture.shape[1] <= MAX_UPLOAD_PIXELS


@PROPERTY
@given(signature=st.sampled_from(SIGNATURES), tail=st.binary(max_size=2048), name=st.sampled_from(
    ["photo.png", "photo.jpg", "scan.tiff", "x", "archive.zip", "..", "a b.webp"]))
def test_any_bytes_uploaded_give_a_picture_or_a_clear_error(signature, tail, name):
    import io

    upload = io.BytesIO(signature + tail)
    upload.name = name  # as Streamlit's uploads carry the file's name
    assert_picture_or_clear_error(lambda: read_picture(upload))


def _encoded(width: int, height: int, mode: str, file_format: str, seed: int) -> bytes:
    import io

    rgb = Image.fromarray(noise_picture(seed, (height, width, 3)))
    picture = rgb.convert(mode) if mode not in ("I;16", "RGBA", "LA") else (
        Image.fromarray((np.asarray(rgb.convert("L")).astype(np.uint16) * 257)) if mode == "I;16"
        else rgb.convert("RGBA" if mode == "RGBA" else "LA"))
    buffer = io.BytesIO()
    picture.save(buffer, format=file_format)
    return buffer.getvalue()


#: (mode, formats that can store it)
MODES = {"RGB": ["PNG", "JPEG", "BMP", "WEBP", "TIFF", "GIF"], "L": ["PNG", "JPEG", "BMP", "TIFF", "GIF"],
         "RGBA": ["PNG", "WEBP", "TIFF"], "LA": ["PNG"], "P": ["PNG", "GIF", "BMP"], "1": ["PNG", "BMP", "TIFF"],
         "CMYK": ["JPEG", "TIFF"], "I;16": ["PNG", "TIFF"]}


@PROPERTY
@given(data=st.data(), width=st.integers(1, 80), height=st.integers(1, 80), seed=st.integers(0, 99))
def test_generated_pictures_of_every_mode_and_format_are_read_right_or_refused(data, width, height, seed):
    """Any size (1x1 and 1-pixel-thin included), mode (16-bit, palette, CMYK, RGBA, ...) and format
    reads as an RGB picture of the same size, or is refused for its size, by name; a cut-off copy
    of the same file reads or is refused too."""
    import io

    mode = data.draw(st.sampled_from(sorted(MODES)))
    file_format = data.draw(st.sampled_from(MODES[mode]))
    encoded = _encoded(width, height, mode, file_format, seed)
    if min(width, height) < MIN_UPLOAD_SIDE:
        with pytest.raises(PlaygroundError, match=f"{width}x{height}: it needs at least {MIN_UPLOAD_SIDE} pixels"):
            read_picture(io.BytesIO(encoded))
    else:
        assert read_picture(io.BytesIO(encoded)).shape == (height, width, 3)
    cut = data.draw(st.integers(0, len(encoded) - 1))
    assert_picture_or_clear_error(lambda: read_picture(io.BytesIO(encoded[:cut])))


@PROPERTY
@given(array=hnp.arrays(dtype=st.sampled_from([np.uint8, np.uint16, np.float32, np.int64, np.bool_]),
                        shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=40)))
def test_any_array_a_front_end_hands_over_is_checked(array):
    """What Gradio's numpy image inputs pass (any dtype and shape a client can send)."""
    assert_picture_or_clear_error(lambda: checked_rgb(array, "the picture"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(contents=st.lists(st.one_of(st.binary(max_size=256), st.sampled_from([b"", b"GIF89a"])), min_size=1, max_size=6))
def test_any_files_offered_for_training_are_used_skipped_or_refused(tmp_path, contents):
    """Training on one's own pictures: unreadable files among good ones are skipped and named;
    with too few good ones the whole upload is refused with a message, never an exception."""
    import shutil

    folder = tmp_path / "upload"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    good = [save(folder / f"good{i}.png", noise_picture(i, (16, 16, 3))) for i in range(MIN_TRAINING_IMAGES)]
    bad = []
    for index, content in enumerate(contents):
        bad.append(folder / f"odd{index}.png")
        bad[-1].write_bytes(content)
    made = training_images([*good, *bad], tmp_path / "session")
    assert f"{MIN_TRAINING_IMAGES} pictures" in made["summary"] and f"{len(bad)} file(s) skipped" in made["summary"]
    with pytest.raises(PlaygroundError):
        training_images(bad, tmp_path / "session")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(image=hnp.arrays(np.uint8, hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=72).map(
           lambda shape: (*shape[:2], 3))),
       strokes=st.lists(hnp.arrays(st.sampled_from([np.uint8, np.float32, np.bool_]),
                                   hnp.array_shapes(min_dims=2, max_dims=3, min_side=0, max_side=72).map(
                                       lambda shape: (*shape[:2], 4) if len(shape) == 3 else shape)),
                        max_size=3),
       mask_kind=st.sampled_from(["text", "box", "holes", "nonsense", ""]))
def test_any_picture_and_strokes_for_inpainting_give_a_dataset_or_a_clear_error(tmp_path, image, strokes, mask_kind):
    """The Inpaint tab's inputs: a picture, the editor's stroke layers (any shape and dtype a client
    can send, empty ones too) and a built-in mask's name."""
    from playground.uploads import inpainting_dataset

    try:
        name = inpainting_dataset(image, tmp_path / "inpaint", strokes=strokes, mask_kind=mask_kind)
    except PlaygroundError as error:
        assert len(str(error)) > 20
        return
    height, width = load_dataset(name).data.shape[-2:]
    assert name.startswith("inpaint:") and height <= image.shape[0] and width <= image.shape[1]  # cropped to fit
