"""Translate: pix2pix (label map -> photo) or CycleGAN (either direction, with the round trip back)
on an upload or a built-in example (`playground.demos.translate`)."""

from __future__ import annotations

import streamlit as st

from playground import demos
from playground.streamlit_common import current_session, picture_input, remember, shelf, show_picture, shown_errors

st.title("Translate a picture")
st.caption("pix2pix (label map → photo) or CycleGAN (either direction, with the round trip back). Pictures are "
           "fitted to the square the model was trained at.")
translators = demos.model_choices(shelf(), "translator")
left, right = st.columns(2)
choice = left.selectbox("Model", translators, key="translate-model")
direction = right.radio("CycleGAN direction", ["a_to_b", "b_to_a"], key="translate-direction",
                        format_func={"a_to_b": "A to B", "b_to_a": "B to A"}.get, horizontal=True)
datasets = [shelf().dataset_of(name) for name in translators if name != demos.SESSION_MODEL]
picture = picture_input("translate", "translator", datasets)
clicked = st.button("Translate", type="primary", key="translate-btn")
# at first sight too, as the Gradio tab opens: what Translate gives for the form as it is
first_sight = "translate-result" not in st.session_state and choice != demos.SESSION_MODEL and picture is not None
if clicked or first_sight:
    with shown_errors("Cannot translate"):
        session = current_session() if choice == demos.SESSION_MODEL else None
        remember("translate-result", demos.translate(demos.model_for(shelf(), session, choice, "translator"),
                                                     picture, direction))
result = st.session_state.get("translate-result")
if result:
    columns = st.columns(3)
    for column, (key, caption) in zip(columns, [("input", "Input (as the model sees it)"), ("output", "Output"),
                                                ("round_trip", "Round trip (CycleGAN)")]):
        with column:
            show_picture(result.get(key), caption=caption)
