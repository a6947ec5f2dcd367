"""The Streamlit front end: every page driven headless by `streamlit.testing.v1.AppTest` (the real
Streamlit runtime running the real scripts), and one real-browser test of the running server.

AppTest runs the page script once per `run()`; the training itself runs in the session's worker
thread, so a test reruns the page to see the run move on, as the page's own fragment does.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from trainers.metrics.features import domain_network

REPO_ROOT = Path(__file__).resolve().parents[1]
APP = REPO_ROOT / "playground" / "streamlit_app.py"
WAIT_S = 120

pytestmark = pytest.mark.xdist_group("streamlit")  # one process: the app's registry is per process


@pytest.fixture(scope="module", autouse=True)
def close_sessions():
    """Stop every run the module started (the registry is the app's, one per process)."""
    yield
    from playground.streamlit_common import registry

    registry().close_all()


def open_page(page: str | None = None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=WAIT_S)
    at.run()
    if page is not None:
        at.switch_page(f"streamlit_pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def status(at) -> str:
    pattern = r"\*\*(idle|starting|queued|running|paused|done|stopped|error)\*\*"
    return next((m.value for m in at.markdown if re.match(pattern, m.value)), "")


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def wait_for(at, condition, timeout_s: float = WAIT_S) -> str:
    """Rerun the page until ``condition(status line)`` holds; returns the line."""
    deadline = time.monotonic() + timeout_s
    while True:
        at.run()
        line = status(at)
        if condition(line):
            return line
        assert time.monotonic() < deadline, f"gave up waiting; the status reads: {line}"
        time.sleep(0.5)


def step_of(line: str) -> int:
    match = re.search(r"step (\d+) /", line)
    return int(match.group(1)) if match else -1


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def session_of(at):
    from playground.streamlit_common import registry

    return registry().get(at.session_state["gan_session_id"])


# ----- Train ---------------------------------------------------------------------------------


def test_train_page_trains_streams_and_controls_a_run():
    at = open_page()
    assert status(at).startswith("**idle**") and not errors(at)
    at.selectbox(key="model").set_value("mlp-gan").run()
    assert at.selectbox(key="dataset-mlp-gan").value == "ring"
    at.number_input(key="steps").set_value(100_000)
    at.button(key="start-btn").click().run()
    assert not errors(at), errors(at)
    wait_for(at, lambda line: step_of(line) > 0)
    # the live metric (modes of the ring covered) says the generator learned, on the page itself
    learned = wait_for(at, lambda line: (m := re.search(r"(\d)/8 modes covered", line)) is not None
                       and int(m.group(1)) >= 6)
    session = session_of(at)
    quality = session.snapshot()["quality"]
    assert quality["step"][0] == 0 and quality["modes_covered"][0] <= 2, quality  # it started untrained
    wait_for(at, lambda line: step_of(line) > step_of(learned))  # and the page keeps streaming
    assert at.get("plotly_chart"), "no loss figure"
    assert len(session.snapshot()["metrics"]["step"]) > 2  # the history grew
    at.button(key="pause-btn").click().run()
    wait_for(at, lambda line: line.startswith("**paused**"))
    time.sleep(1.0)  # a pause may end the step in flight
    settled = step_of(wait_for(at, lambda line: True))
    at.button(key="step-d-btn").click().run()
    wait_for(at, lambda line: step_of(line) == settled + 1 and line.startswith("**paused**"))
    at.button(key="stop-btn").click().run()
    wait_for(at, lambda line: line.startswith("**stopped**"))
    assert not session.is_active() and (session.thread is None or not session.thread.is_alive())
    at.button(key="stop-btn").click().run()
    assert [t.value for t in at.toast] == ["Nothing is running."]
    # the time-lapse goes back to the first sample kept; the download holds the weights and curves
    slider = at.slider(key="timelapse")
    assert slider.label.startswith("Time-lapse: ") and slider.max >= 1
    slider.set_value(0).run()
    titles = [json.loads(chart.proto.spec)["layout"].get("title", {}).get("text") for chart in at.get("plotly_chart")]
    assert f"step {session.sample_history()[0]['step']}" in titles, titles
    at.button(key="download-btn").click().run()
    files = at.session_state["downloads"]
    assert sorted(Path(name).suffix for name in files) == [".csv", ".json", ".zip"]
    archive = zipfile.ZipFile(io.BytesIO(next(data for name, data in files.items() if name.endswith(".zip"))))
    assert {"config.json", "model.safetensors"} <= {Path(name).name for name in archive.namelist()}
    at.button(key="probe-btn").click().run()
    assert any("mlp-gan has no encoder to probe" in text for text in errors(at)), errors(at)
    # a second run, then both on the Compare page
    at.button(key="start-btn").click().run()
    wait_for(at, lambda line: line.startswith("**running**") and step_of(line) > 0)
    at.button(key="reset-btn").click().run()
    assert wait_for(at, lambda line: line.startswith("**idle**"))
    at.switch_page("streamlit_pages/compare.py").run()
    table = at.dataframe[0].value
    assert len(table) == 2 and not at.exception


def test_train_page_trains_on_drawn_points():
    at = open_page()
    at.button(key="draw-use").click().run()
    assert "Click on the canvas to place at least one point first." in errors(at)
    at.session_state["draw-points"] = [[-0.5, 0.5], [0.5, -0.5]]  # what two clicks on the plot leave
    at.run()
    at.button(key="draw-use").click().run()
    assert at.selectbox(key="model").value == "mlp-gan"
    assert at.selectbox(key="dataset-mlp-gan").value == "drawn:-0.50,0.50;0.50,-0.50"
    at.number_input(key="steps").set_value(100_000)
    at.button(key="start-btn").click().run()
    line = wait_for(at, lambda line: "2/2 modes covered" in line)
    assert "mlp-gan on drawn:" in line
    at.button(key="stop-btn").click().run()
    wait_for(at, lambda line: line.startswith("**stopped**"))


@pytest.mark.parametrize("widget, value, message", [
    ("steps", 0, r"steps: 0 is outside the allowed range"),
    ("batch-size", -4, r"batch_size"),
    ("advanced", '{"lr_g": ', r"not valid JSON"),
    ("advanced", "[1, 2]", r"must be a JSON object"),
    ("advanced", '{"no_such_field": 1}', r"no_such_field"),
    ("cfg-dcgan-cpu-quick-g_width", 3, r"g_width: 3 is outside the allowed range"),
    ("dataset-typed", "folder:/no/such/folder", r"/no/such/folder"),
])
def test_train_page_bad_input_is_an_error_not_a_crash(widget, value, message):
    at = open_page()
    (at.text_input if widget in ("advanced", "dataset-typed") else at.number_input)(key=widget).set_value(value)
    at.button(key="start-btn").click().run()
    assert not at.exception
    assert any(re.search(message, text) for text in errors(at)), errors(at)
    assert status(at).startswith("**idle**")  # nothing started


def test_train_page_without_a_run_has_nothing_to_control_download_or_probe():
    at = open_page()
    at.button(key="pause-btn").click().run()
    assert [t.value for t in at.toast] == ["Nothing to control yet: press Start."]
    at.button(key="download-btn").click().run()
    assert "Nothing to download yet: press Start first." in errors(at)
    at.button(key="probe-btn").click().run()
    assert any("Train an encoder family first" in text for text in errors(at)) and not at.exception


def test_both_front_ends_start_the_train_form_at_the_same_values():
    """Steps, batch size and seed start where the Gradio page starts them: one shared set of values
    (bench figure 1 times the 2-D lab at that batch size)."""
    from playground.gradio_app import build_app
    from playground.lab import TRAIN_FORM_DEFAULTS
    from playground.session import SessionRegistry

    boxes = {"steps": "steps", "batch-size": "batch_size", "seed": "seed"}
    at = open_page()
    streamlit_values = {boxes[key]: at.number_input(key=key).value for key in boxes}
    registry = SessionRegistry()
    try:
        gradio_values = {boxes[block.elem_id]: block.value for block in build_app(registry).blocks.values()
                         if getattr(block, "elem_id", None) in boxes}
    finally:
        registry.close_all()
        registry.stop_reaper()
    assert streamlit_values == gradio_values == TRAIN_FORM_DEFAULTS


def test_train_page_takes_own_pictures_and_names_the_unreadable(tmp_path):
    rng = np.random.default_rng(0)
    pictures = [(f"dot{i}.png", png_bytes((rng.random((16, 16, 3)) * 255).astype(np.uint8)), "image/png")
                for i in range(10)]
    at = open_page()
    at.file_uploader(key="own-images").set_value([*pictures, ("notes.png", b"just text", "image/png")])
    at.button(key="own-images-btn").click().run()
    assert not errors(at) and not at.exception, errors(at)
    summary = next(m.value for m in at.markdown if "pictures" in m.value and "skipped" in m.value)
    assert summary.startswith("10 pictures") and "notes.png" in summary
    dataset = at.selectbox(key="dataset-dcgan").value
    assert dataset.startswith("folder:") and "incoming" not in dataset
    # nothing usable: a clear message, and the dataset chosen before is kept
    at.file_uploader(key="own-images").set_value([("a.png", b"not a picture", "image/png")])
    at.button(key="own-images-btn").click().run()
    assert any("No usable pictures" in text or "usable picture" in text for text in errors(at)), errors(at)
    assert at.selectbox(key="dataset-dcgan").value == dataset


# ----- Explore -------------------------------------------------------------------------------


def read_grid(grid: np.ndarray, side: int = 28, padding: int = 2) -> np.ndarray:
    """The MNIST classifier's digit for each cell of a tiled grid: (rows, columns)."""
    rows, columns = (grid.shape[0] - padding) // (side + padding), (grid.shape[1] - padding) // (side + padding)
    cells = [grid[padding + r * (side + padding):][:side, padding + c * (side + padding):][:, :side, 0]
             for r in range(rows) for c in range(columns)]
    x = torch.from_numpy(np.stack(cells)).float().unsqueeze(1) / 127.5 - 1
    with torch.no_grad():
        return domain_network("mnist").embed(x)[1].argmax(1).numpy().reshape(rows, columns)


def test_explore_page_draws_samples_interpolations_walks_and_classes():
    at = open_page("explore")
    opening = at.session_state["explore-samples"]  # pictures at first sight, before any click
    at.button(key="generate-btn").click().run()
    samples = at.session_state["explore-samples"]
    assert np.array_equal(samples, opening)  # what Generate gives for the form as it opened
    assert samples.ndim == 3 and samples.std() > 20  # 16 pictures, not a blank
    at.button(key="interp-btn").click().run()
    made = at.session_state["explore-interpolation"]
    assert made["gif"][:4] == b"GIF8" and made["strip"].shape[1] > 7 * made["strip"].shape[0]
    at.button(key="walk-btn").click().run()
    assert at.session_state["explore-walk"].shape[0] == at.session_state["explore-walk"].shape[1]
    at.selectbox(key="class-model").set_value("cgan_mnist")
    at.button(key="class-btn").click().run()
    made = at.session_state["explore-classes"]
    assert made["caption"] == "Rows, top to bottom: " + ", ".join(map(str, range(10)))
    digits = read_grid(made["grid"])
    assert (digits == np.arange(10)[:, None]).mean() > 0.8  # row k draws the digit k
    assert len(at.image) >= 4 and not errors(at)
    # bad input: this session has trained nothing; a class the model does not have
    at.selectbox(key="explore-model").set_value("this tab's run")
    at.button(key="generate-btn").click().run()
    assert any("Nothing has been trained" in text for text in errors(at))
    at.selectbox(key="explore-model").set_value("cgan_mnist")
    at.number_input(key="explore-class").set_value(12)
    at.button(key="interp-btn").click().run()
    assert "Class must be between 0 and 9, not 12" in errors(at), errors(at)
    assert not at.exception


# ----- Translate, Super-resolve ----------------------------------------------------------------


def test_translate_page_runs_an_example_and_refuses_a_broken_upload():
    at = open_page("translate")
    opening = at.session_state["translate-result"]  # the first example, translated before any click
    at.button(key="translate-btn").click().run()
    result = at.session_state["translate-result"]
    assert set(result) == {"input", "output", "round_trip"} and not errors(at)
    assert all(np.array_equal(result[key], opening[key]) for key in result)  # what Translate gives
    assert np.abs(result["output"].astype(int) - result["input"]).mean() > 5  # it changed the picture
    at.file_uploader(key="translate-upload").set_value(("photo.png", b"text renamed .png", "image/png")).run()
    assert any("could not be read as a picture" in text for text in errors(at))
    at.file_uploader(key="translate-upload").set_value(("thin.png", png_bytes(np.zeros((1, 64, 3), np.uint8)),
                                                         "image/png")).run()
    assert any("at least 8 pixels" in text for text in errors(at)), errors(at)
    assert not at.exception


def test_super_resolve_page_beats_bicubic_on_the_self_check():
    at = open_page("super_resolve")  # results at first sight: the first example, before any click
    assert not errors(at), errors(at)
    rows = {row[0]: row for row in at.session_state["sr-result"]["rows"]}
    assert set(rows) == {"bicubic", "srresnet_x4"}
    assert rows["srresnet_x4"][1] > rows["bicubic"][1] + 0.3  # PSNR, dB
    assert len(at.image) >= 4 and len(at.dataframe) == 1
    at.button(key="sr-btn").click().run()  # the same form, pressed: the same scores
    assert at.session_state["sr-result"]["rows"] == list(rows.values()) and not errors(at)
    # too small to shrink x4 and still score: the library says so, and the last result stays
    at.file_uploader(key="sr-upload").set_value(("small.png", png_bytes(np.full((12, 12, 3), 90, np.uint8)),
                                                 "image/png"))
    at.button(key="sr-btn").click().run()
    assert any("the self-check at x4 needs at least" in text for text in errors(at)), errors(at)
    assert set(rows) == {row[0] for row in at.session_state["sr-result"]["rows"]} and not at.exception


# ----- Inpaint -------------------------------------------------------------------------------


def test_inpaint_page_starts_a_fit_shown_on_the_train_page():
    at = open_page("inpaint")
    tiny = png_bytes(np.full((4, 4, 3), 128, np.uint8))
    at.file_uploader(key="inpaint-upload").set_value(("tiny.png", tiny, "image/png"))
    at.button(key="inpaint-btn").click().run()
    assert any("at least 8 pixels" in text for text in errors(at)), errors(at)
    picture = png_bytes((np.random.default_rng(1).random((64, 64, 3)) * 255).astype(np.uint8))
    at.file_uploader(key="inpaint-upload").set_value(("mine.png", picture, "image/png"))
    at.file_uploader(key="inpaint-mask").set_value(("mask.png", png_bytes(np.zeros((64, 64, 3), np.uint8)),
                                                    "image/png"))
    at.button(key="inpaint-btn").click().run()
    assert any("hides" in text or "mask" in text for text in errors(at)), errors(at)  # a mask that hides nothing
    assert session_of(at) is None or session_of(at).status == "idle"
    at.file_uploader(key="inpaint-upload").set_value(None)
    at.file_uploader(key="inpaint-mask").set_value(None)
    at.number_input(key="inpaint-steps").set_value(5000)
    at.run()  # the built-in picture to paint on
    # what a lasso stroke on the chart leaves (AppTest cannot drag; the browser test below does)
    at.session_state["inpaint-painted"] = [{"box": [], "lasso": [{"x": [100, 300, 100], "y": [100, 100, 300]}]}]
    at.run()
    assert any(re.match(r"1 stroke\(s\): [4-9]% of the picture to fill in", c.value) for c in at.caption)
    at.button(key="inpaint-btn").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert at.selectbox(key="model").value == "dip-inpaint"  # now on the Train page, showing the fit
    dataset = at.selectbox(key="dataset-dip-inpaint").value
    assert dataset.startswith("inpaint:") and dataset.endswith("inpaint-mask.png")
    from playground.uploads import selected_holes
    from trainers.data import load_dataset

    holes = (load_dataset(dataset).sources[0, 0] > 0).numpy()
    assert np.array_equal(holes, selected_holes(at.session_state["inpaint-painted"], *holes.shape))
    assert at.number_input(key="steps").value == 5000  # Start on the form repeats the fit
    at.switch_page("streamlit_pages/train.py")  # AppTest's own reruns stay on the page it last opened
    wait_for(at, lambda line: line.startswith("**running**") and step_of(line) > 0)
    at.button(key="stop-btn").click().run()
    wait_for(at, lambda line: line.startswith("**stopped**"))


def test_inpaint_page_uses_a_mask_uploaded_alone_on_the_built_in_picture():
    """A mask with no picture was dropped without a word: the built-in picture trained with the
    built-in text mask."""
    from trainers.data import load_dataset

    at = open_page("inpaint")
    mask = np.zeros((256, 256, 3), np.uint8)
    mask[64:192, 64:192] = 255  # the middle quarter, drawn at half the picture's size
    at.file_uploader(key="inpaint-mask").set_value(("mask.png", png_bytes(mask), "image/png"))
    at.run()
    at.button(key="inpaint-btn").click().run()
    assert not at.exception and not errors(at), errors(at)
    dataset = at.selectbox(key="dataset-dip-inpaint").value
    assert dataset.startswith("inpaint:") and not dataset.endswith(":text")
    holes = (load_dataset(dataset).sources[0, 0] > 0).numpy()
    assert holes.shape == (512, 512) and holes[128:384, 128:384].all() and holes.mean() == 0.25
    session_of(at).close()


def test_the_server_run_from_the_repository_skips_the_full_collection_after_each_rerun():
    """Streamlit's hidden default collects every generation after each script run; the live panel
    reruns twice a second, and those collections (over torch's and plotly's objects, holding the
    interpreter lock) made a run watched in the browser 6.7x slower (1,500 mlp-gan steps: 106 s, and
    15.7 s without them). Read as `streamlit run` reads it, from the repository's root."""
    code = ("from streamlit import config; config.get_config_options(force_reparse=True); "
            "print(config.get_option('runner.postScriptGC'), config.get_option('server.fileWatcherType'))")
    shown = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert shown.stdout.split() == ["False", "none"]


# ----- the real server in a real browser ---------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.xdist_group("streamlit_browser")
def test_streamlit_server_streams_training_curves_to_a_browser(chromium_path, free_port):
    from playwright.sync_api import expect, sync_playwright

    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(free_port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync"])
            page = browser.new_page(viewport={"width": 1400, "height": 1300})
            page.set_default_timeout(WAIT_S * 1000)
            deadline = time.monotonic() + WAIT_S
            while True:  # the server needs a moment to start
                try:
                    page.goto(f"http://127.0.0.1:{free_port}/")
                    break
                except Exception:
                    assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
                    time.sleep(1)
            shots = REPO_ROOT / "tests" / "artifacts" / "screenshots"
            shots.mkdir(parents=True, exist_ok=True)
            try:
                page.get_by_role("button", name="Start").click()
                # points on the loss figure's first curve, as plotly.js drew them (keyed elements carry st-key-<key>)
                points = "() => { const p = document.querySelector('.st-key-loss-plot .js-plotly-plot');"\
                         " return p && p.calcdata && p.calcdata.length ? p.calcdata[0].length : 0; }"
                page.wait_for_function(f"({points})() > 1")
                first = page.evaluate(points)
                page.wait_for_function(f"({points})() > {first}")  # the curves grow without a click
                page.get_by_text(re.compile(r"running · step \d+ / 2000")).first.wait_for()
                page.screenshot(path=str(shots / "streamlit-train.png"), full_page=True)
                page.get_by_role("button", name="Stop").click()
                page.get_by_text(re.compile(r"stopped · step \d+")).first.wait_for()
                # GAN Lab's drawing: two clicks on the plot canvas become the dataset of the toy GAN
                page.get_by_text("Draw your own 2-D distribution").click()
                for fx, fy, placed in ((0.3, 0.3, 0), (0.7, 0.7, 1)):
                    canvas = page.locator(f".st-key-draw-{placed} .js-plotly-plot")  # a fresh chart per point
                    canvas.scroll_into_view_if_needed()
                    box = canvas.bounding_box()
                    page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
                    page.locator(f".st-key-draw-{placed + 1} .js-plotly-plot").wait_for()
                page.get_by_role("button", name="Use these points").click()
                expect(page.locator(".st-key-dataset-mlp-gan input")).to_have_value(re.compile(r"^drawn:-?\d"),
                                                                                    timeout=WAIT_S * 1000)
                # Inpaint's brush: a lasso dragged over the built-in picture becomes the fit's holes
                page.get_by_role("link", name="Inpaint").click()
                canvas = page.locator(".st-key-inpaint-canvas-0 .js-plotly-plot .nsewdrag").first
                canvas.scroll_into_view_if_needed()
                box = canvas.bounding_box()
                corners = [(0.3, 0.3), (0.6, 0.3), (0.6, 0.6), (0.3, 0.6), (0.3, 0.32)]
                page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
                page.mouse.down()
                for fx, fy in corners[1:]:
                    page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy, steps=5)
                page.mouse.up()
                page.get_by_text(re.compile(r"1 stroke\(s\): [1-9]\d*% of the picture to fill in")).wait_for()
                page.get_by_role("button", name="Inpaint").click()
                expect(page.locator(".st-key-dataset-dip-inpaint input")).to_have_value(
                    re.compile(r"^inpaint:.*inpaint-mask\.png$"), timeout=WAIT_S * 1000)
                page.get_by_role("button", name="Stop").click()
            except Exception:
                page.screenshot(path=str(shots / "streamlit-failure.png"), full_page=True)
                raise
            browser.close()
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "Traceback" not in output, output
