"""A person's own pictures for the image-to-image demos, turned into what the library reads.

UI-agnostic: front ends pass numpy arrays (what Gradio's and Streamlit's image inputs give) and
a folder of the session's own; nothing here imports a UI toolkit. Every file is written inside
that folder under a fixed name, so nothing a person types or uploads becomes a path.
"""

from __future__ import annotations

from pathlib import Path
import re
from typing import Any, BinaryIO, Mapping, Sequence

import numpy as np
from PIL import Image, ImageOps

from trainers.data import INPAINT_PREFIX, load_dataset
from trainers.data.folder import over_white, rgb_picture
from trainers.data.pairs import INPAINT_MASKS, INPAINT_MAX_SIDE
from trainers.errors import PlaygroundError

#: The largest picture a demo takes in (the inpainting demo shrinks it to at most 512 px; super-
#: resolution refuses more than 2048x2048 after this check, with its own message).
MAX_UPLOAD_PIXELS = 4096 * 4096
#: The smallest: a 1x1 or a 3-pixel-thin "picture" is a mistake, not a photo.
MIN_UPLOAD_SIDE = 8


def checked_rgb(image: np.ndarray, what: str) -> np.ndarray:
    """An uploaded picture as uint8 (H, W, 3) (grey repeated, RGBA composited over white), or a
    PlaygroundError that says what is wrong with it."""
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (1, 3, 4)):
        raise PlaygroundError(f"{what} is not an 8-bit grey, RGB or RGBA picture ({array.dtype}, shape {array.shape})")
    if array.shape[0] * array.shape[1] > MAX_UPLOAD_PIXELS:
        raise PlaygroundError(f"{what} is {array.shape[1]}x{array.shape[0]}: at most {MAX_UPLOAD_PIXELS:,} pixels")
    if min(array.shape[:2]) < MIN_UPLOAD_SIDE:
        raise PlaygroundError(f"{what} is {array.shape[1]}x{array.shape[0]}: it needs at least "
                              f"{MIN_UPLOAD_SIDE} pixels on each side")
    if array.ndim == 2 or array.shape[-1] == 1:
        return np.repeat(array.reshape(array.shape[0], array.shape[1], 1), 3, axis=-1)
    if array.shape[-1] == 4:
        return over_white(array)
    return array


def read_picture(path: str | Path | BinaryIO | None, what: str = "the picture") -> np.ndarray:
    """An uploaded file (a path the front end stored it at, or an open binary file such as
    Streamlit's upload) as a uint8 (H, W, 3) picture, or a PlaygroundError a person can act on.

    The size is checked from the header before any pixel is decoded (a decompression bomb never
    expands), EXIF orientation is honoured, and the picture becomes RGB by
    :func:`trainers.data.folder.rgb_picture` (wide grey scaled, transparency over white). Only the
    file's bytes are read.
    """
    if path is None:
        raise PlaygroundError("Upload a picture or pick an example first.")
    try:
        with Image.open(path) as picture:
            if picture.width * picture.height > MAX_UPLOAD_PIXELS:
                raise PlaygroundError(f"{what} is {picture.width}x{picture.height}: at most "
                                      f"{MAX_UPLOAD_PIXELS:,} pixels")
            array = np.asarray(rgb_picture(ImageOps.exif_transpose(picture)))
    except PlaygroundError:
        raise
    except Image.DecompressionBombError:  # Pillow's own guard, past 179 megapixels, fires in open
        raise PlaygroundError(f"{what} has more than {MAX_UPLOAD_PIXELS:,} pixels: shrink it first") from None
    except (OSError, ValueError, SyntaxError) as error:
        kind = Path(str(getattr(path, "name", path))).suffix or "a file without an extension"
        raise PlaygroundError(f"{what} ({kind}) could not be read as a picture: upload a PNG, JPEG, WebP, "
                              f"GIF or BMP ({type(error).__name__})") from None
    return checked_rgb(array, what)


def save_uploads(files: Sequence[tuple[str, bytes]], folder: Path) -> list[Path]:
    """Write uploaded ``(name, content)`` pairs into ``folder`` (created empty), for a front end
    whose uploads arrive as bytes. Each file gets a numbered name made of the upload's last part
    with anything but letters, digits, ``.``, ``_`` and ``-`` replaced: a name like
    ``../../etc/passwd`` lands inside ``folder`` as ``00000-passwd``."""
    import shutil

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    saved = []
    for index, (name, content) in enumerate(files):
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(str(name)).name)[-80:].lstrip(".") or "upload"
        path = folder / f"{index:05d}-{safe}"
        path.write_bytes(content)
        saved.append(path)
    return saved


def strokes_mask(layers: Sequence[np.ndarray] | None, height: int, width: int) -> np.ndarray | None:
    """Painted strokes (RGBA layers of an image editor) -> a bool mask of the picture's size, True
    where painted; None when nothing is painted."""
    painted = None
    for layer in layers or ():
        array = np.asarray(layer)
        if array.ndim != 3 or array.shape[-1] != 4 or 0 in array.shape:  # not an RGBA layer, or empty
            continue
        stroke = array[..., 3] > 0
        if stroke.shape != (height, width):
            stroke = np.asarray(Image.fromarray(stroke).resize((width, height), Image.Resampling.NEAREST))
        painted = stroke if painted is None else painted | stroke
    return painted if painted is not None and painted.any() else None


def inpainting_dataset(image: np.ndarray | None, folder: Path, *, strokes: Sequence[np.ndarray] | None = None,
                       holes: np.ndarray | None = None, mask: np.ndarray | None = None,
                       mask_kind: str = "text") -> str:
    """Save a picture (and its mask: painted strokes, ``holes`` (a bool mask of the picture's
    size, e.g. from :func:`selection_mask`), a mask picture white where pixels are missing, or else
    a built-in ``mask_kind``, the first of these given) into ``folder`` and return the ``inpaint:``
    dataset name that reads them, checked by loading it (a clear PlaygroundError otherwise)."""
    if image is None:
        raise PlaygroundError("Upload a picture to inpaint first.")
    rgb = checked_rgb(image, "the picture")
    folder.mkdir(parents=True, exist_ok=True)
    image_path = folder / "inpaint-image.png"
    painted = strokes_mask(strokes, *rgb.shape[:2])
    if painted is None and holes is not None:
        if np.shape(holes) != rgb.shape[:2]:
            raise PlaygroundError(f"The painted holes ({np.shape(holes)}) were drawn on another picture than "
                                  f"this {rgb.shape[1]}x{rgb.shape[0]} one: press Clear and paint again")
        painted = np.asarray(holes, dtype=bool) if np.any(holes) else None
    if painted is None and mask is not None:
        grey = checked_rgb(mask, "the mask").mean(-1)
        painted = grey >= 128
    # shrunk here as the fit would shrink it: a phone photo's 12 megapixels are not written out in full
    picture = shrunk_to_inpaint(rgb)
    Image.fromarray(picture).save(image_path)
    if painted is not None:
        mask_path = folder / "inpaint-mask.png"
        holes = Image.fromarray((painted * 255).astype(np.uint8))
        if picture.shape != rgb.shape:  # a pixel touched by a stroke is a hole: thin strokes are not lost
            holes = holes.resize(picture.shape[1::-1], Image.Resampling.BOX).point(lambda value: 255 if value else 0)
        holes.save(mask_path)
        name = f"{INPAINT_PREFIX}{image_path}:{mask_path}"
    elif mask_kind in INPAINT_MASKS:
        name = f"{INPAINT_PREFIX}{image_path}:{mask_kind}"
    else:
        raise PlaygroundError(f"Paint the holes on the picture, upload a mask, or pick one of "
                              f"{', '.join(INPAINT_MASKS)}.")
    load_dataset(name)  # refuses a mask that hides nothing or nearly everything, a too-small picture
    return name


def shrunk_to_inpaint(rgb: np.ndarray) -> np.ndarray:
    """A uint8 (H, W, 3) picture as the inpainting fit takes it: at most INPAINT_MAX_SIDE on its
    longer side (LANCZOS), unchanged when it is that small already. A front end shows this one to
    paint on, so the holes are drawn on the pixels that are filled in."""
    scale = INPAINT_MAX_SIDE / max(rgb.shape[:2])
    if scale >= 1:
        return rgb
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))


def selected_holes(selections: Sequence[Mapping[str, Any]], height: int, width: int) -> np.ndarray | None:
    """The holes a visitor drew on a chart of the picture: Plotly's box and lasso selections, each
    ``{"box": [{"x": [x0, x1], "y": [y0, y1]}, ...], "lasso": [{"x": [...], "y": [...]}, ...]}`` in
    the picture's pixel coordinates (pixel centres at whole numbers) -> a bool (height, width)
    mask, True inside any of them; None when nothing is selected. Parts outside the picture are
    cut off."""
    from skimage.draw import polygon2mask

    holes = np.zeros((height, width), dtype=bool)
    regions = [(kind, region) for selection in selections for kind in ("box", "lasso")
               for region in (selection.get(kind) or ())]
    for kind, region in regions:
        try:
            xs = np.asarray(region["x"], dtype=float)
            ys = np.asarray(region["y"], dtype=float)
        except (KeyError, TypeError, ValueError):
            raise PlaygroundError(f"A painted {kind} has no x and y coordinates: press Clear and paint "
                                  f"again") from None
        if xs.ndim != 1 or xs.shape != ys.shape or not np.isfinite(xs).all() or not np.isfinite(ys).all():
            raise PlaygroundError(f"A painted {kind} has unusable coordinates: press Clear and paint again")
        if kind == "box" and len(xs) == 2:
            cols = slice(max(0, int(np.ceil(xs.min()))), max(0, int(np.floor(xs.max())) + 1))
            rows = slice(max(0, int(np.ceil(ys.min()))), max(0, int(np.floor(ys.max())) + 1))
            holes[rows, cols] = True
        elif kind == "lasso" and len(xs) >= 3:
            holes |= polygon2mask((height, width), np.stack([ys, xs], axis=1))
    return holes if holes.any() else None


#: Caps on a training upload: pictures given one by one, and a zip's size on disk.
MAX_TRAINING_FILES = 500
MAX_ZIP_BYTES = 200 * 1024 * 1024
MIN_TRAINING_IMAGES = 8
#: Side of the pictures in the preview grid.
PREVIEW_SIDE = 32


def training_images(paths: Sequence[str | Path] | None, folder: Path) -> dict:
    """A person's own training pictures (one zip, or several picture files) saved into ``folder``
    (the session's own) under fixed names, checked by loading them as the library will.

    Returns ``{"dataset": "folder:...", "preview": uint8 grid of the first 64, "summary": words}``.
    A zip keeps its sub-folders (one per class, as the library reads them); loose pictures are
    checked one by one and the unreadable ones are named in the summary, not fatal. PlaygroundError
    when nothing usable is left, too many files are given, or the zip is too large.
    """
    import shutil

    from trainers.data import DatasetUnavailable, load_dataset
    from trainers.latent import tile

    paths = [Path(p) for p in (paths or [])]
    if not paths:
        raise PlaygroundError("Upload a zip of pictures, or several pictures, first.")
    zips = [p for p in paths if p.suffix.lower() == ".zip"]
    target = folder / "training"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    skipped: list[tuple[str, str]] = []  # (file name, why it cannot be used)
    if zips:
        if len(paths) > 1:
            raise PlaygroundError("Upload one zip, or pictures without a zip, not both.")
        if zips[0].stat().st_size > MAX_ZIP_BYTES:
            raise PlaygroundError(f"The zip is {zips[0].stat().st_size / 2**20:.0f} MB: at most "
                                  f"{MAX_ZIP_BYTES // 2**20} MB")
        source = target / "images.zip"
        shutil.copyfile(zips[0], source)
    else:
        if len(paths) > MAX_TRAINING_FILES:
            raise PlaygroundError(f"{len(paths)} files: upload at most {MAX_TRAINING_FILES} pictures, or a zip")
        source = target / "images"
        source.mkdir()
        for index, path in enumerate(paths):
            try:
                picture = read_picture(path, f"{path.name}")
            except PlaygroundError as why:
                skipped.append((path.name, str(why)))
                continue
            Image.fromarray(picture).save(source / f"image-{index:05d}.png")
    name = f"folder:{source}"
    try:
        dataset = load_dataset(name)
    except DatasetUnavailable:  # its message names this server's folder, which is no help to a visitor
        if zips:
            raise PlaygroundError(f"No usable pictures: the zip {zips[0].name} holds no readable PNG, JPEG, WebP, "
                                  f"GIF, BMP or TIFF pictures") from None
        reasons = "; ".join(why for _, why in skipped[:3]) + ("; ..." if len(skipped) > 3 else "")
        raise PlaygroundError(f"No usable pictures: none of the {len(paths)} file(s) can be used ({reasons}). "
                              f"Upload PNG, JPEG, WebP, GIF or BMP pictures, or a zip of them.") from None
    if len(dataset) < MIN_TRAINING_IMAGES:
        raise PlaygroundError(f"Only {len(dataset)} usable picture(s): a GAN needs at least {MIN_TRAINING_IMAGES} "
                              f"(hundreds for good results)")
    shown = dataset.data[:64]
    if shown.shape[-1] != PREVIEW_SIDE:
        from trainers.data.images import resize_images

        shown = resize_images(shown, PREVIEW_SIDE)
    preview = tile(shown.permute(0, 2, 3, 1).numpy(), columns=8)
    classes = f", {len(dataset.class_names)} classes ({', '.join(dataset.class_names[:6])}"
    classes = classes + (", ...)" if len(dataset.class_names) > 6 else ")") if dataset.class_names else ""
    dropped = len(skipped) + dataset.skipped
    unread = f"; {dropped} file(s) skipped as unreadable" + (f" ({', '.join(n for n, _ in skipped[:3])})"
                                                             if skipped else "")
    summary = (f"{len(dataset)} pictures{classes}, trained at {dataset.sample_shape[-1]} px"
               + (unread if dropped else ""))
    return {"dataset": name, "preview": preview, "summary": summary}
