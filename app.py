"""Launch the GAN Playground Gradio app: `python app.py`.

Thin on purpose: the page lives in playground/gradio_app.py. Environment defaults are
set before gradio is imported (it reads them at import time): no analytics calls and
no Hub look-ups, so the app starts the same with or without a network.
Honours GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, GAN_MAX_RUNS (trainings running at once
across all visitors; default 2, one per core of a free CPU Space), GAN_IDLE_TIMEOUT_S, and the
per-run caps GAN_MAX_STEPS, GAN_MAX_BATCH, GAN_MAX_IMAGE_SIZE and GAN_MAX_WIDTH
(playground/limits.py), and GAN_KEEP_FREED_MEMORY=0 to leave glibc's allocator as it is
(trainers/allocator.py).
"""

import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def server_port() -> int:
    """GRADIO_SERVER_PORT as a port number (7860 when unset or empty, as compose files leave it);
    anything else stops the app with a message naming the variable. Read before gradio is
    imported, whose import would fail on it with a bare traceback."""
    value = os.environ.get("GRADIO_SERVER_PORT", "").strip()
    if not value:
        os.environ.pop("GRADIO_SERVER_PORT", None)
        return 7860
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        sys.exit(f"GRADIO_SERVER_PORT={value!r}: a port number from 1 to 65535, or unset for 7860")
    return int(value)


def main() -> None:
    port = server_port()
    from playground.gradio_app import build_app
    from playground.session import SessionRegistry

    registry = SessionRegistry.from_environment()
    demo = build_app(registry)
    demo.queue(default_concurrency_limit=2)
    demo.launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=port,
    )


if __name__ == "__main__":
    main()
