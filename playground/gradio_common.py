"""What every Gradio tab shares: the session id, errors as toasts, a scratch folder for served files."""

from __future__ import annotations

import html
import shutil
import tempfile
import time
from pathlib import Path

import gradio as gr


def user_error(exc: Exception, title: str = "Cannot start") -> gr.Error:
    """The library's message in a toast, as it is (escaped: gr.Error renders HTML); no traceback
    in the server log, since bad input is expected, not a bug."""
    return gr.Error(html.escape(str(exc)), title=title, print_exception=False)


def session_id(request: gr.Request | None) -> str:
    sid = getattr(request, "session_hash", None) if request is not None else None
    if not sid:
        raise gr.Error("This page has no session id; reload the page.")
    return sid


class ScratchFolder:
    """The app's own folder for files it serves (GIFs, checkpoint zips, metric tables): every file
    gets a fresh name inside it, nothing a visitor types becomes a path, and files older than
    ``keep_s`` are swept on each new write so a long-lived app cannot fill the disk."""

    def __init__(self, keep_s: float = 600.0) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="gan-playground-")
        self.root = Path(self._folder.name)
        self.keep_s = keep_s

    def new_path(self, suffix: str, stem: str = "file") -> Path:
        self._sweep()
        return Path(tempfile.mkstemp(suffix=suffix, prefix=f"{stem}-", dir=self.root)[1])

    def new_folder(self, stem: str = "folder") -> Path:
        self._sweep()
        return Path(tempfile.mkdtemp(prefix=f"{stem}-", dir=self.root))

    def _sweep(self) -> None:
        now = time.time()
        for old in self.root.iterdir():
            try:
                if now - old.stat().st_mtime > self.keep_s and not old.name.startswith("example-"):
                    shutil.rmtree(old) if old.is_dir() else old.unlink()
            except OSError:
                continue

    def write_bytes(self, data: bytes, suffix: str, stem: str = "file") -> str:
        path = self.new_path(suffix, stem)
        path.write_bytes(data)
        return str(path)
