"""What every Streamlit page shares: the process-wide registry and model shelf, this visitor's
training session, errors as `st.error`, picture inputs and picture views.

Thin on purpose, like the Gradio side: the lab's logic is `playground.lab`, the demos'
`playground.demos`, uploads go through `playground.uploads`. Shared objects come from
`st.cache_resource` (one per process; the shelf's models are read-only and load under a lock),
and each visitor's run is a `TrainingSession` in the registry under an id kept in
`st.session_state`. Streamlit tells the server nothing when a tab closes, so the registry's
reaper frees sessions left idle.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any, Iterator

import numpy as np
import streamlit as st

from playground import demos
from playground.figures import sample_image
from playground.session import SessionRegistry, TrainingSession
from playground.uploads import read_picture
from trainers.errors import PlaygroundError

#: The live views refresh this often while a run is live (the issue asks for 1 Hz or better).
POLL_SECONDS = 0.5
#: What a picture upload accepts (checked again by `read_picture`, which reads the bytes).
PICTURE_TYPES = ["png", "jpg", "jpeg", "webp", "gif", "bmp"]
_SESSION_KEY = "gan_session_id"
#: Set by a page that starts a run for the Train page (Inpaint) or by "Use these pictures": the model
#: and dataset the Train form shows on its next run (a widget's value can only be set before it is drawn).
PENDING_FORM = "train-pending-form"


@st.cache_resource
def registry() -> SessionRegistry:
    """Every visitor's sessions, with the operator's caps (GAN_MAX_RUNS, default 2 runs at once;
    the per-run caps of playground/limits.py)."""
    shared = SessionRegistry.from_environment()
    shared.start_reaper()
    return shared


@st.cache_resource
def shelf() -> demos.ModelShelf:
    """The shipped checkpoints, loaded on first use and shared read-only."""
    return demos.ModelShelf()


def session_id() -> str:
    if _SESSION_KEY not in st.session_state:
        st.session_state[_SESSION_KEY] = uuid.uuid4().hex
    return st.session_state[_SESSION_KEY]


def user_session() -> TrainingSession:
    """This visitor's training session, made on first use."""
    return registry().get_or_create(session_id())


def current_session() -> TrainingSession | None:
    """This visitor's training session, or None before their first run (or after it was reaped)."""
    return registry().get(session_id())


@contextlib.contextmanager
def shown_errors(title: str) -> Iterator[None]:
    """Show the library's PlaygroundError as an `st.error` titled ``title``, as it is; anything else
    (a bug) as its type and message, so one bad input never takes the page down."""
    try:
        yield
    except PlaygroundError as exc:
        st.error(str(exc), title=title)
    except Exception as exc:  # a library bug must not take the page down either
        st.error(f"{type(exc).__name__}: {exc}", title=title)


def show_picture(picture: np.ndarray | None, caption: str | None = None, min_px: int = 256) -> None:
    if picture is not None:
        st.image(sample_image(picture, min_px=min_px), caption=caption)


def picture_input(key: str, kind: str, datasets: list[str] = ()) -> np.ndarray | None:
    """An upload box with a preview, or a built-in example (``demos.example_pictures``) when
    nothing is uploaded. Every upload is read by `playground.uploads.read_picture`, so a broken
    file gets its message here and the demo gets None."""
    upload = st.file_uploader("Your picture (PNG, JPEG, WebP, GIF, BMP)", type=PICTURE_TYPES, key=f"{key}-upload")
    if upload is not None:
        with shown_errors("Cannot read this picture"):
            picture = read_picture(upload)
            st.image(picture, caption="Your picture", width=200)
            return picture
        return None
    examples = _examples(kind, tuple(datasets))
    if not examples:
        return None
    names = [name for name, _ in examples]
    chosen = st.selectbox("or an example", names, key=f"{key}-example")
    picture = dict(examples)[chosen]
    st.image(picture, caption=chosen, width=200)
    return picture


@st.cache_resource
def _examples(kind: str, datasets: tuple[str, ...]) -> list[tuple[str, np.ndarray]]:
    """Built-in pictures for a demo: two test-split inputs of each model's dataset, then photos."""
    pictures: list[tuple[str, np.ndarray]] = []
    for dataset in dict.fromkeys(datasets):
        pictures += demos.example_pictures(kind, dataset, count=2)[:2]
    return pictures + demos.example_pictures("photo", count=2)


def remember(key: str, value: Any) -> Any:
    """Keep a demo's result in this visitor's state, so it survives the page's reruns."""
    st.session_state[key] = value
    return value
