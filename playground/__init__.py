"""Playground layer: turns the `trainers` library into things a page can show.

The core modules here (`session`, `figures`) import neither gradio nor streamlit, so
any front end (the Gradio app, a Streamlit app, a notebook) can sit on top of them.
Import the submodules directly; nothing heavy is imported at package import time.
"""

__all__ = ["session", "figures"]
