"""Explore: samples, interpolation (strip and GIF), a 2-D latent walk and class-conditional grids,
from a shipped checkpoint or a copy of this visitor's own run (`playground.demos`)."""

from __future__ import annotations

import streamlit as st

from playground import demos
from playground.streamlit_common import current_session, remember, shelf, show_picture, shown_errors


def model(choice: str, kind: str):
    session = current_session() if choice == demos.SESSION_MODEL else None
    return demos.model_for(shelf(), session, choice, kind)


st.title("Explore a generator's latent space")
st.caption("Shipped models work at once; **this tab's run** uses a copy of the model you are training on the "
           "Train page.")
generators = demos.model_choices(shelf(), "generator")
choice = st.selectbox("Model", generators, key="explore-model")
left, middle, right = st.columns(3)
seed_a = left.number_input("Seed (A)", value=0, step=1, key="explore-seed-a")
seed_b = middle.number_input("Seed B (interpolation end)", value=1, step=1, key="explore-seed-b")
label = right.number_input("Class (conditional models)", value=0, step=1, key="explore-class")
samples_tab, interpolate_tab, walk_tab, class_tab = st.tabs(["Samples", "Interpolate", "Latent walk", "By class"])

with samples_tab:
    count = st.slider("Pictures", 1, 64, 16, key="explore-count")
    clicked = st.button("Generate", type="primary", key="generate-btn")
    # at first sight too, as the Gradio tab opens: what Generate gives for the form as it is
    first_sight = "explore-samples" not in st.session_state and choice != demos.SESSION_MODEL
    if clicked or first_sight:
        with shown_errors("Cannot generate"):
            remember("explore-samples", demos.generate(model(choice, "generator"), seed_a, count, label=label))
    show_picture(st.session_state.get("explore-samples"), caption="Samples from seed A")

with interpolate_tab:
    left, right = st.columns(2)
    frames = left.slider("Frames", 2, 32, 8, key="interp-frames")
    path = right.radio("Path", ["spherical", "linear"], key="interp-mode",
                       help="spherical keeps every frame as typical as the ends")
    if st.button("Interpolate A to B", type="primary", key="interp-btn"):
        with shown_errors("Cannot interpolate"):
            result = demos.interpolation(model(choice, "generator"), seed_a, seed_b, frames, path, label=label)
            remember("explore-interpolation", {"strip": result["strip"], "gif": demos.gif_bytes(result["frames"])})
    made = st.session_state.get("explore-interpolation")
    if made:
        show_picture(made["strip"], caption="Strip", min_px=768)
        st.image(made["gif"], caption="Animation")

with walk_tab:
    left, right = st.columns(2)
    side = left.slider("Grid side", 3, 12, 7, key="walk-side")
    span = right.slider("Span (standard deviations)", 0.5, 4.0, 2.0, step=0.25, key="walk-span")
    if st.button("Walk around seed A", type="primary", key="walk-btn"):
        with shown_errors("Cannot walk"):
            remember("explore-walk", demos.latent_walk(model(choice, "generator"), seed_a, side, span, label=label))
    show_picture(st.session_state.get("explore-walk"), caption="Two latent directions through seed A's picture",
                 min_px=512)

with class_tab:
    conditional = demos.model_choices(shelf(), "conditional")
    class_choice = st.selectbox("Class-conditional model", conditional, key="class-model")
    left, middle, right = st.columns(3)
    which = left.selectbox("Class", ["all", *map(str, range(10))], key="class-choice")
    truncation = middle.slider("Truncation (1 = off)", 0.1, 1.0, 1.0, step=0.05, key="class-truncation",
                               help="lower: more typical, less varied")
    per_class = right.slider("Per class", 1, 16, 8, key="class-per")
    if st.button("Draw by class", type="primary", key="class-btn"):
        with shown_errors("Cannot draw by class"):
            conditional_model = model(class_choice, "conditional")
            result = demos.class_grid(conditional_model, which, seed_a, truncation, per_class)
            remember("explore-classes", {"grid": result["grid"], "caption": demos.class_rows_caption(
                shelf(), class_choice, conditional_model, result["rows"])})
    made = st.session_state.get("explore-classes")
    if made:
        show_picture(made["grid"], caption=made["caption"], min_px=512)
