"""Inpaint: deep image prior on a visitor's own picture (or a built-in one). The holes are painted
on the picture with the chart's lasso or box (or come from an uploaded mask, or a built-in one).
Inpaint starts the fit in this visitor's training session and opens the Train page, where it runs
live."""

from __future__ import annotations

import numpy as np
import streamlit as st

from playground import figures, lab
from playground.streamlit_common import PENDING_FORM, PICTURE_TYPES, shown_errors, user_session
from playground.uploads import read_picture, selected_holes, shrunk_to_inpaint
from trainers.data.pairs import INPAINT_IMAGES, INPAINT_MASKS, inpaint_image

#: The selections painted so far (Plotly's box and lasso geometry, one entry a stroke), and the
#: picture they were painted on: another picture starts an empty painting.
PAINTED, PAINTED_ON = "inpaint-painted", "inpaint-painted-on"


st.title("Inpaint a picture")
st.caption("Upload a picture, or use a built-in one, and paint the holes to fill in: drag a lasso (or pick the box "
           "tool above the picture) over them, as many strokes as you like. Without painting, an uploaded mask "
           "(white where pixels are missing) or a built-in mask is used. **Inpaint** starts a deep-image-prior fit "
           "(an untrained network fitted to the known pixels alone) and shows it live on the Train page. Pictures "
           "are shrunk to at most 512 pixels on a side.")
left, right = st.columns(2)
upload = left.file_uploader("Your picture", type=PICTURE_TYPES, key="inpaint-upload")
mask_upload = right.file_uploader("Its mask (optional: white = fill in)", type=PICTURE_TYPES, key="inpaint-mask")
left, middle, right = st.columns(3)
builtin = left.selectbox("Built-in picture (no upload)", list(INPAINT_IMAGES), key="inpaint-builtin")
mask_kind = middle.selectbox("Mask when none is painted or uploaded", list(INPAINT_MASKS), key="inpaint-mask-kind")
steps = right.number_input("Steps", value=lab.INPAINT_STEPS, step=100, key="inpaint-steps")


def _canvas_picture() -> tuple[str, np.ndarray] | None:
    """The picture to paint on, as the fit will take it, and what it is (for its painting). An
    upload is decoded once, not at every rerun the painting makes."""
    if upload is None:
        return f"builtin:{builtin}", inpaint_image(builtin)
    which = f"upload:{upload.file_id}"
    kept = st.session_state.get("inpaint-canvas")
    if kept is not None and kept[0] == which:
        return kept
    with shown_errors("Cannot read this picture"):
        st.session_state["inpaint-canvas"] = which, shrunk_to_inpaint(read_picture(upload))
        return st.session_state["inpaint-canvas"]
    return None


canvas = _canvas_picture()
holes = None
if canvas is not None:
    painted_on, picture = canvas
    if st.session_state.get(PAINTED_ON) != painted_on:
        st.session_state[PAINTED_ON], st.session_state[PAINTED] = painted_on, []
    strokes = st.session_state.setdefault(PAINTED, [])
    with shown_errors("Cannot use the painting"):
        holes = selected_holes(strokes, *picture.shape[:2])
    # a fresh chart per stroke: the new one shows every stroke so far, tinted, with no selection of its own
    event = st.plotly_chart(figures.inpaint_canvas_figure(picture, holes), key=f"inpaint-canvas-{len(strokes)}",
                            on_select="rerun", selection_mode=("lasso", "box"))
    selection = event.selection if event else None
    if selection is not None and (selection.get("lasso") or selection.get("box")):
        st.session_state[PAINTED] = [*strokes, {"box": list(selection.get("box") or []),
                                                "lasso": list(selection.get("lasso") or [])}]
        st.rerun()
    share = float(holes.mean()) if holes is not None else 0.0
    undo, clear, note = st.columns([1, 1, 4])
    if undo.button("Undo", key="inpaint-undo", disabled=not strokes):
        st.session_state[PAINTED] = strokes[:-1]
        st.rerun()
    if clear.button("Clear", key="inpaint-clear", disabled=not strokes):
        st.session_state[PAINTED] = []
        st.rerun()
    note.caption(f"{len(strokes)} stroke(s): {share:.0%} of the picture to fill in." if holes is not None else
                 "Nothing painted: the uploaded mask, or else the built-in mask, says what to fill in.")

if st.button("Inpaint", type="primary", key="inpaint-btn"):
    with shown_errors("Cannot inpaint"):
        session = user_session()
        # painted holes fit the picture painted on; otherwise an upload goes in whole, as its mask was drawn
        if upload is not None and holes is None:
            picture = read_picture(upload)
        else:  # the picture shown: painted on, or the built-in one an uploaded mask is for
            picture = canvas[1] if canvas is not None and (holes is not None or mask_upload is not None) else None
        mask = read_picture(mask_upload, "the mask") if mask_upload is not None else None
        config = lab.inpaint_run_config(session.upload_dir, picture, builtin=builtin, mask_kind=mask_kind,
                                        holes=holes, mask=mask, steps=steps)
        session.start(config)
        st.session_state[PENDING_FORM] = {"model": config["model"], "dataset": config["dataset"],
                                          "started": {key: config[key] for key in ("steps", "batch_size", "seed")}}
        st.switch_page("streamlit_pages/train.py")
