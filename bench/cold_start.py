"""Cold start: seconds from `python app.py` to the first page served, and what the time goes to.

Each trial starts a fresh interpreter on a free port and polls http://127.0.0.1:PORT/ until it
answers 200 (the first page a visitor would get); the median of the trials is reported, next to
the import time of the page module alone (`import playground.gradio_app`, also in a fresh
interpreter), so a slow start can be told apart from slow imports. No model is loaded at start:
shipped checkpoints load on a demo's first use.

With ``--streamlit`` it also times `streamlit run playground/streamlit_app.py` to the Train page
drawn in Chromium (a Streamlit server answers 200 at once with a static shell; the page exists
only once the first script run has sent it, so a browser is the honest judge).

    python bench/cold_start.py [--trials 3] [--streamlit] [--json bench/cold_start.json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: The baseline: the smallest Gradio app (one line of text), served the same way, so the ratio says
#: what this app's start adds to Gradio's own.
MINIMAL_GRADIO_APP = ("import gradio as gr\n"
                      "with gr.Blocks() as demo:\n"
                      "    gr.Markdown('hello')\n"
                      "demo.launch()\n")


def first_page_seconds(timeout_s: float = 120.0, script: str | None = None) -> float:
    """Seconds from starting ``python app.py`` (or ``python -c script``) to its first page."""
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_ANALYTICS_ENABLED": "False"}
    started = time.perf_counter()
    command = [sys.executable, "app.py"] if script is None else [sys.executable, "-c", script]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - started < timeout_s:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"no page within {timeout_s} s")
    finally:
        process.terminate()
        process.wait(10)


def streamlit_first_page_seconds(timeout_s: float = 120.0) -> float:
    from playwright.sync_api import sync_playwright

    port = free_port()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync"])
        page = browser.new_page()
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "playground/streamlit_app.py",
                                    "--server.port", str(port), "--server.address", "127.0.0.1"],
                                   cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    page.goto(f"http://127.0.0.1:{port}/", timeout=timeout_s * 1000)
                    break
                except Exception:
                    if time.perf_counter() - started > timeout_s:
                        raise
                    time.sleep(0.05)
            page.get_by_role("button", name="Start").wait_for(timeout=timeout_s * 1000)
            return time.perf_counter() - started
        finally:
            browser.close()
            process.terminate()
            process.wait(10)


def import_seconds() -> float:
    code = "import time; t = time.perf_counter(); import playground.gradio_app; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--json", default=None)
    parser.add_argument("--streamlit", action="store_true", help="also time the Streamlit app's first page")
    args = parser.parse_args()
    pages = [first_page_seconds() for _ in range(args.trials)]
    imports = [import_seconds() for _ in range(args.trials)]
    result = {"first_page_s": round(statistics.median(pages), 2), "trials_s": [round(p, 2) for p in pages],
              "import_page_module_s": round(statistics.median(imports), 2), "cpus": os.cpu_count(),
              "python": sys.version.split()[0]}
    if args.streamlit:
        drawn = [streamlit_first_page_seconds() for _ in range(args.trials)]
        result["streamlit_first_page_drawn_s"] = round(statistics.median(drawn), 2)
        result["streamlit_trials_s"] = [round(d, 2) for d in drawn]
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
