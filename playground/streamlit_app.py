"""The GAN Playground as a Streamlit app: `streamlit run playground/streamlit_app.py`.

The same lab and demos as the Gradio app (`app.py`), over the same UI-agnostic layer
(`playground.lab`, `playground.demos`, `playground.session`, `playground.figures`): this
file and `streamlit_pages/` only lay out widgets. Training runs in the session's worker
thread, never in Streamlit's script thread; the Train page polls it from a fragment.

Environment defaults are set before anything reaches for the network: no Hub look-ups.
Honours GAN_MAX_RUNS (trainings running at once across all visitors; default 2) and the per-run
caps of playground/limits.py (GAN_MAX_STEPS, GAN_MAX_BATCH, GAN_MAX_IMAGE_SIZE, GAN_MAX_WIDTH).
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# `streamlit run` puts this file's folder on sys.path, not the repository's root
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402  (after the environment and path set-up above)

#: The pages, in the navigation's order: (file relative to this one, title, url path).
PAGES = (
    ("streamlit_pages/train.py", "Train", "train"),
    ("streamlit_pages/compare.py", "Compare", "compare"),
    ("streamlit_pages/explore.py", "Explore", "explore"),
    ("streamlit_pages/translate.py", "Translate", "translate"),
    ("streamlit_pages/super_resolve.py", "Super-resolve", "super-resolve"),
    ("streamlit_pages/inpaint.py", "Inpaint", "inpaint"),
)

st.set_page_config(page_title="GAN Playground", layout="wide")
pages = [st.Page(path, title=title, url_path=url, default=index == 0)
         for index, (path, title, url) in enumerate(PAGES)]
st.navigation(pages, position="top").run()
