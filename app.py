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
    """GRADIO_SERVER_PORT as a port number (7860 when unset or empty, as compose files leave it).
    Read before gradio is imported, whose import would fail on a bad or empty one with a bare
    traceback."""
    from trainers.settings import whole_number_setting

    port = whole_number_setting("GRADIO_SERVER_PORT", 7860, maximum=65535)
    os.environ["GRADIO_SERVER_PORT"] = str(port)
    return port


def main() -> None:
    from trainers.errors import PlaygroundError

    # every setting is read before gradio's import and the first page: a typo stops the app at
    # once, with one line naming the variable
    try:
        port = server_port()
        from playground.session import SessionRegistry

        registry = SessionRegistry.from_environment()
    except PlaygroundError as error:
        sys.exit(f"error: {error}")
    from playground.gradio_app import build_app

    demo = build_app(registry)
    demo.queue(default_concurrency_limit=2)
    demo.launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=port,
    )


if __name__ == "__main__":
    main()
