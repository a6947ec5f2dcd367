"""Inpaint: deep image prior on a visitor's own picture (or a built-in one). Inpaint starts the fit in
this visitor's training session and opens the Train page, where it runs live."""

from __future__ import annotations

import streamlit as st

from playground import lab
from playground.streamlit_common import PENDING_FORM, PICTURE_TYPES, shown_errors, user_session
from playground.uploads import read_picture
from trainers.data.pairs import INPAINT_IMAGES, INPAINT_MASKS


st.title("Inpaint a picture")
st.caption("Upload a picture and, optionally, a mask (white where pixels are missing), or pick a built-in mask; "
           "with no upload, the built-in picture is used. **Inpaint** starts a deep-image-prior fit (an untrained "
           "network fitted to the known pixels alone) and shows it live on the Train page. Pictures are shrunk "
           "to at most 512 pixels on a side.")
left, right = st.columns(2)
upload = left.file_uploader("Your picture", type=PICTURE_TYPES, key="inpaint-upload")
mask_upload = right.file_uploader("Its mask (optional: white = fill in)", type=PICTURE_TYPES, key="inpaint-mask")
left, middle, right = st.columns(3)
builtin = left.selectbox("Built-in picture (no upload)", list(INPAINT_IMAGES), key="inpaint-builtin")
mask_kind = middle.selectbox("Mask when none is uploaded", list(INPAINT_MASKS), key="inpaint-mask-kind")
steps = right.number_input("Steps", value=lab.INPAINT_STEPS, step=100, key="inpaint-steps")
if st.button("Inpaint", type="primary", key="inpaint-btn"):
    with shown_errors("Cannot inpaint"):
        session = user_session()
        picture = read_picture(upload) if upload is not None else None
        mask = read_picture(mask_upload, "the mask") if mask_upload is not None and picture is not None else None
        config = lab.inpaint_run_config(session.upload_dir, picture, builtin=builtin, mask_kind=mask_kind,
                                        mask=mask, steps=steps)
        session.start(config)
        st.session_state[PENDING_FORM] = {"model": config["model"], "dataset": config["dataset"]}
        st.switch_page("streamlit_pages/train.py")
