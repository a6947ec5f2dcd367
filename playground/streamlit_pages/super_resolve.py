"""Super-resolve: x2 or x4 with each SR model and bicubic side by side, with the self-check's scores
(PSNR and SSIM on luma) against the original (`playground.demos.super_resolve`)."""

from __future__ import annotations

import streamlit as st

from playground import demos
from playground.streamlit_common import current_session, picture_input, remember, shelf, shown_errors

st.title("Super-resolve a picture")
st.caption("Enlarge a picture x2 or x4 with SRGAN / ESRGAN next to bicubic (tiled: up to 2048x2048 in bounded "
           "memory). **Self-check** first shrinks your picture by the factor, then scores every enlargement "
           "against the original (PSNR and SSIM on luma, as in the papers).")
upscalers = demos.model_choices(shelf(), "upscaler")
shipped = [name for name in upscalers if name != demos.SESSION_MODEL]
left, middle, right = st.columns([2, 1, 1])
chosen = left.multiselect("Models (bicubic is always shown)", upscalers, default=shipped[:1], key="sr-models")
factor = middle.radio("Factor", [2, 4], index=1, key="sr-scale", horizontal=True)
self_check = right.checkbox("Self-check (shrink first, then score)", value=True, key="sr-self-check")
alpha = st.slider("ESRGAN network interpolation: 0 = PSNR model (smooth), 1 = GAN model (sharp)", 0.0, 1.0, 1.0,
                  step=0.05, key="sr-alpha")
picture = picture_input("sr", "photo")
clicked = st.button("Super-resolve", type="primary", key="sr-btn")
# at first sight too, as the Gradio tab opens: what Super-resolve gives for the form as it is
first_sight = "sr-result" not in st.session_state and demos.SESSION_MODEL not in chosen and picture is not None
if clicked or first_sight:
    with shown_errors("Cannot super-resolve"):
        loaded = {name: demos.model_for(shelf(), current_session() if name == demos.SESSION_MODEL else None,
                                        name, "upscaler") for name in chosen}
        result = demos.super_resolve(loaded, picture, factor, self_check, alpha=alpha)
        remember("sr-result", demos.super_resolve_view(result))
view = st.session_state.get("sr-result")
if view:
    before, after = view["before_after"]
    left, right = st.columns(2)
    left.image(before, caption="Before: bicubic (without a model: the pixels)")
    right.image(after, caption="After: the model (without a model: bicubic)")
    columns = st.columns(min(3, len(view["captioned"])))
    for index, (shown, caption) in enumerate(view["captioned"]):
        columns[index % len(columns)].image(shown, caption=caption)
    if view["rows"]:
        st.dataframe([dict(zip(demos.SCORE_HEADERS, row)) for row in view["rows"]], hide_index=True)
