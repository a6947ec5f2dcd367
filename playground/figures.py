"""Plotly figures built from session snapshots (numpy and plotly only, no torch, no UI package).

What they show follows GAN Lab: for 2-D toy data, real points (green) and generated
points (purple) over the discriminator's output as a heat map, so one can watch D's
decision boundary and G chasing it; for 1-D data, histograms of real and generated
samples with D's output as a curve. The loss figure puts D and G losses on top and,
when present, D(x) and D(G(z)) below: the pair that says who is winning, then one panel per
family signal the run reports (the Wasserstein estimate, ProGAN's resolution and fade-in alpha,
E-GAN's mutation wins, ...; see SIGNAL_PANELS).

Every figure sets `uirevision`, so a user's zoom survives the periodic refresh.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

__all__ = [
    "COLORS",
    "empty_figure",
    "field_1d_figure",
    "codes_figure",
    "field_2d_figure",
    "loss_figure",
    "points_figure",
    "sample_image",
    "drawing_figure",
]

#: GAN Lab's palette: green for real data, purple for generated data.
COLORS = {
    "real": "#1b9e4b",
    "fake": "#8e44ad",
    "loss_d": "#1f77b4",
    "loss_g": "#ff7f0e",
    "d_real": "#1b9e4b",
    "d_fake": "#8e44ad",
    "grad_norm_d": "#17becf",
    "grad_norm_g": "#d62728",
}
#: D's probability that a point is real: purple (fake) through white to green (real).
FIELD_COLORSCALE = [[0.0, "#d9c3ea"], [0.5, "#f7f7f7"], [1.0, "#c2e8cc"]]

_LABELS = {
    "loss_d": "D loss",
    "loss_g": "G loss",
    "loss_recon": "reconstruction error",
    "d_real": "D(x) real",
    "d_fake": "D(G(z)) fake",
    "grad_norm_d": "‖∇D‖",
    "grad_norm_g": "‖∇G‖",
    "wasserstein_estimate": "E[D(x)] − E[D(G(z))]",
    "resolution": "resolution",
    "alpha": "alpha",
    "win_minimax": "minimax",
    "win_heuristic": "heuristic",
    "win_least_squares": "least squares",
    "real_class_accuracy": "D on real: class",
    "head_class_accuracy": "D on head k: k",
    "lr_g": "G learning rate",
    "lr": "learning rate",
    "loss_d_latent": "D on codes loss",
    "code_std": "code std",
}
#: Family signals that get a panel of their own under the losses: (panel title, series prefix or
#: names). A prefix (ending in "_") gathers every series that starts with it (E-GAN's win_minimax,
#: win_heuristic, ...). Series named nowhere are not drawn, so the library can add signals freely.
SIGNAL_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Wasserstein estimate", ("wasserstein_estimate",)),
    ("resolution (px)", ("resolution",)),
    ("fade-in alpha", ("alpha",)),
    ("mutation wins (share)", ("win_",)),
    ("class accuracy", ("real_class_accuracy", "head_class_accuracy")),
    ("learning rate", ("lr_g", "lr")),
    ("code spread (std of E(x))", ("code_std",)),
)
#: The live sample-quality metric's panels, under the losses: (title, series prefix). KID is drawn
#: with its standard error (the ``kid_se_`` series) as error bars.
QUALITY_PANELS: tuple[tuple[str, str], ...] = (
    ("KID (lower is better)", "kid_"),
    ("FID (lower is better)", "fid_"),
    ("classes covered", "classes_covered_"),
    ("modes covered", "modes_covered"),
    ("JS divergence on a grid", "js_grid"),
)
#: One colour per class for the code map (plotly's D3 palette: ten distinct hues).
CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def _slim_template() -> go.layout.Template:
    """plotly_white's look without its 3-D, polar and map sections: every figure deep-copies its
    template, and the full one cost about 7 ms a figure and 7 KB of every figure's JSON."""
    full = pio.templates["plotly_white"]
    layout = {k: v for k, v in full.layout.to_plotly_json().items() if k not in ("polar", "ternary", "scene", "geo")}
    data = {k: v for k, v in full.data.to_plotly_json().items()
            if k in ("scatter", "scattergl", "heatmap", "histogram", "bar")}
    return go.layout.Template(layout=layout, data=data)


_TEMPLATE = _slim_template()
#: Plotly checks every property it is given against its schema, which was most of the cost of a
#: live redraw (about 35 ms for the loss curves on this CPU, twice a second during a run). The
#: figures here are fixed code: tests build each one with this on, so a wrong property still fails.
_VALIDATE = False


def _new_figure() -> go.Figure:
    return go.Figure(_validate=_VALIDATE)


_LAYOUT = dict(
    template=_TEMPLATE,
    margin=dict(l=50, r=20, t=40, b=40),
    legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1.0),
    uirevision="keep",
)


def empty_figure(message: str = "Press Start to train", height: int = 360) -> go.Figure:
    """A blank figure with a centred hint, so a plot area is never just empty."""
    fig = _new_figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font=dict(size=15, color="#888"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(**_LAYOUT, height=height)
    return fig


def loss_figure(
    metrics: Mapping[str, Sequence[float]],
    *,
    quality: Mapping[str, Sequence[float]] | None = None,
    stats: Sequence[str] = ("d_real", "d_fake"),
    title: str | None = None,
    height: int = 420,
    panel_height: int = 150,
) -> go.Figure:
    """D and G losses against step; the named stats (if present) in a second panel, and one
    more panel (``panel_height`` px each) for each of SIGNAL_PANELS the run reports.

    `metrics` is a snapshot's "metrics" dict: a "step" list plus one list per series.
    Any other series is ignored, so the library can add signals without breaking the page.
    `quality` (a snapshot's "quality") adds a panel per QUALITY_PANELS series it holds, at the
    steps it was measured.
    """
    steps = np.asarray(metrics.get("step", ()), dtype=float)
    if steps.size == 0:
        return empty_figure("No metrics yet", height=height)
    complete = [k for k in metrics if k != "step" and len(metrics[k]) == steps.size]
    shown_stats = [k for k in stats if k in complete]
    panels = [("loss", [k for k in complete if k.startswith("loss")])]
    if shown_stats:
        panels.append(("D output", shown_stats))
    panels += [(name, keys) for name, keys in signal_panels(complete) if keys]
    quality = quality or {"step": []}
    quality_steps = np.asarray(quality.get("step", ()), dtype=float)
    quality_panels = [(name, key) for name, key in quality_series(quality) if quality_steps.size]
    rows = len(panels) + len(quality_panels)
    # pixel heights (make_subplots normalises them): losses and D outputs share `height` 60/40,
    # each signal panel adds `panel_height`
    weights = [0.6 * height, 0.4 * height] if shown_stats else [float(height)]
    weights += [float(panel_height)] * (rows - len(weights))
    layout = _stacked_panels(tuple(weights))
    traces: list[go.Scatter] = []
    for row, (name, keys) in enumerate(panels, start=1):
        traces += [_on_row(_line(steps, metrics[key], key), row) for key in keys]
        unit = name == "D output" and _within_unit(metrics, keys)
        _y_axis(layout, row).update(title={"text": name}, **({"range": [-0.02, 1.02]} if unit else {}))
    for row, (name, key) in enumerate(quality_panels, start=len(panels) + 1):
        errors = quality.get(key.replace("kid_", "kid_se_", 1)) if key.startswith("kid_") else None
        traces.append(_on_row(_line(quality_steps, quality[key], key, markers=True, errors=errors), row))
        _y_axis(layout, row)["title"] = {"text": name}
    _x_axis(layout, rows)["title"] = {"text": "step"}
    layout.update(_LAYOUT, height=int(sum(weights)), title=_title(title))
    fig = go.Figure(data=traces, layout=layout, _validate=_VALIDATE)
    return fig


@functools.lru_cache(maxsize=64)
def _stacked_layout(weights: tuple[float, ...]) -> str:
    """The layout of panels stacked in one column over a shared step axis, with row heights in
    proportion to ``weights``, as JSON. Plotly's make_subplots works it out through its checked
    property paths (about 30 ms); the curves redraw twice a second, so it is done once per shape."""
    rows = len(weights)
    fig = make_subplots(figure=_new_figure(), rows=rows, cols=1, shared_xaxes=True,
                        vertical_spacing=min(0.08, 0.3 / rows), row_heights=list(weights) if rows > 1 else None)
    return json.dumps({k: v for k, v in fig.layout.to_plotly_json().items() if k != "template"})


def _stacked_panels(weights: tuple[float, ...]) -> dict[str, Any]:
    """A fresh copy of :func:`_stacked_layout`'s layout, to fill in (axis titles, size)."""
    return json.loads(_stacked_layout(weights))


def _axis_suffix(row: int) -> str:
    return "" if row == 1 else str(row)


def _x_axis(layout: dict[str, Any], row: int) -> dict[str, Any]:
    return layout.setdefault(f"xaxis{_axis_suffix(row)}", {})


def _y_axis(layout: dict[str, Any], row: int) -> dict[str, Any]:
    return layout.setdefault(f"yaxis{_axis_suffix(row)}", {})


def _on_row(trace: go.Scatter, row: int) -> go.Scatter:
    """``trace`` drawn in the ``row``-th panel of a :func:`_stacked_panels` layout."""
    trace.xaxis, trace.yaxis = f"x{_axis_suffix(row)}", f"y{_axis_suffix(row)}"
    return trace


def signal_panels(series: Sequence[str]) -> list[tuple[str, list[str]]]:
    """(panel title, the given series it shows) for each of SIGNAL_PANELS, in that order."""
    def shown(pattern: str) -> list[str]:
        if pattern.endswith("_"):
            return sorted(k for k in series if k.startswith(pattern))
        return [pattern] if pattern in series else []

    return [(name, [k for pattern in patterns for k in shown(pattern)]) for name, patterns in SIGNAL_PANELS]


def _within_unit(metrics: Mapping[str, Sequence[float]], keys: Sequence[str]) -> bool:
    """True when the stats look like probabilities (log-loss objectives), so the axis can be fixed
    to [0, 1] and 0.502 vs 0.51 doesn't look dramatic; raw critic scores (hinge, least squares,
    Wasserstein) keep an automatic range."""
    values = np.concatenate([np.asarray(metrics[k], dtype=float) for k in keys])
    values = values[np.isfinite(values)]
    return values.size > 0 and float(values.min()) >= 0.0 and float(values.max()) <= 1.0


def quality_series(quality: Mapping[str, Sequence[float]]) -> list[tuple[str, str]]:
    """(panel title, series) for each QUALITY_PANELS series in a snapshot's "quality"."""
    keys = [k for k in quality if k != "step" and not k.startswith("kid_se_")]
    return [(f"{title}" + (f" · {key[len(prefix):]}" if prefix.endswith("_") else ""), key)
            for title, prefix in QUALITY_PANELS for key in sorted(keys)
            if (key.startswith(prefix) if prefix.endswith("_") else key == prefix)]


def _line(steps: np.ndarray, values: Sequence[float], key: str, *, markers: bool = False,
          errors: Sequence[float] | None = None) -> go.Scatter:
    # float32 halves the JSON (Plotly sends arrays base64-encoded); plenty for a curve.
    return go.Scatter(_validate=_VALIDATE, 
        x=steps.astype(np.float32),
        y=np.asarray(values, dtype=np.float32),
        mode="lines+markers" if markers else "lines",
        name=_LABELS.get(key, key),
        line=dict(width=2, **({"color": COLORS[key]} if key in COLORS else {})),
        error_y=None if errors is None else dict(type="data", array=np.asarray(errors, dtype=np.float32), visible=True),
    )


def points_figure(
    real: np.ndarray | None,
    fake: np.ndarray | None,
    field: Mapping[str, Any] | None = None,
    *,
    title: str | None = None,
    height: int = 460,
    gradients: np.ndarray | None = None,
    noise_grid: np.ndarray | None = None,
) -> go.Figure:
    """The toy-data view: 2-D scatter over D's heat map (with G's gradient arrows and the mapped
    noise grid when given), or 1-D histograms with D's curve.

    The dimension comes from the data (real first, else generated); data with more
    than two dimensions shows its first two.
    """
    dim = _dim(real) or _dim(fake)
    if dim == 0:
        return empty_figure("No samples yet", height=height)
    if dim == 1:
        return field_1d_figure(real, fake, field, title=title, height=height)
    fig = field_2d_figure(real, fake, field, title=title, height=height)
    if noise_grid is not None:
        fig.add_trace(_grid_lines(np.asarray(noise_grid, dtype=np.float32)))
    arrows = _points(fake, 2)
    if gradients is not None and arrows is not None:
        fig.add_trace(_arrows(arrows[: len(gradients)], np.asarray(gradients, dtype=np.float32)))
    return fig


#: Arrow length per unit of gradient, and the longest arrow drawn (data units: the plane is +-1.25).
ARROW_SCALE, ARROW_CAP = 0.25, 0.3


def _arrows(starts: np.ndarray, gradients: np.ndarray) -> go.Scattergl:
    """G's gradient at each generated point as a segment (fixed scale, so vanishing gradients
    show as vanishing arrows), one trace with gaps."""
    steps = gradients * ARROW_SCALE
    length = np.linalg.norm(steps, axis=1, keepdims=True)
    steps = np.where(length > ARROW_CAP, steps * ARROW_CAP / np.maximum(length, 1e-12), steps)
    ends = starts + steps
    xs = np.stack([starts[:, 0], ends[:, 0], np.full(len(starts), np.nan)], 1).ravel()
    ys = np.stack([starts[:, 1], ends[:, 1], np.full(len(starts), np.nan)], 1).ravel()
    return go.Scattergl(_validate=_VALIDATE, x=xs, y=ys, mode="lines", name="G's gradient", hoverinfo="skip",
                        line=dict(color="#4b0082", width=1.2))


def _grid_lines(mapped: np.ndarray) -> go.Scattergl:
    """The image of a square noise grid under G: its rows and columns as lines (gaps between)."""
    lines = [*mapped, *mapped.transpose(1, 0, 2)]
    gap = np.full((1, 2), np.nan, dtype=np.float32)
    path = np.concatenate([np.concatenate([line[:, :2], gap]) for line in lines])
    return go.Scattergl(_validate=_VALIDATE, x=path[:, 0], y=path[:, 1], mode="lines", name="G(noise grid)",
                        hoverinfo="skip",
                        line=dict(color="rgba(80, 80, 80, 0.45)", width=1), visible="legendonly")


def codes_figure(
    points: np.ndarray | None,
    labels: np.ndarray | None,
    class_names: Sequence[str] = (),
    prior: np.ndarray | None = None,
    *,
    title: str | None = None,
    height: int = 460,
) -> go.Figure:
    """An encoder's 2-D codes E(x) of real images, one colour per class (the AAE paper's figures),
    over grey draws from the prior p(z) they should come to fill; without labels, one colour.

    SVG markers, not WebGL: the figure is replaced every second while training, and with WebGL a
    GPU-less Chromium on the 2-core test machine slowed the run beside it to 2 steps/s after
    1,000 steps (SVG: 7 steps/s throughout).
    """
    if points is None or len(points) == 0:
        return empty_figure("No codes yet", height=height)
    points = np.asarray(points, dtype=np.float32)[:, :2]
    fig = _new_figure()
    if prior is not None and len(prior):
        prior = np.asarray(prior, dtype=np.float32)[:, :2]
        fig.add_trace(go.Scatter(_validate=_VALIDATE, x=prior[:, 0], y=prior[:, 1], mode="markers", name="prior p(z)",
                                 marker=dict(size=4, color="#bbbbbb", opacity=0.35)))
    groups = [(None, np.ones(len(points), bool))] if labels is None else [
        (int(c), np.asarray(labels) == c) for c in np.unique(labels)]
    for label, mask in groups:
        name = ("codes" if label is None else
                class_names[label] if label < len(class_names) else str(label))
        color = CLASS_COLORS[0 if label is None else label % len(CLASS_COLORS)]
        fig.add_trace(go.Scatter(_validate=_VALIDATE, x=points[mask, 0], y=points[mask, 1], mode="markers", name=name,
                                   marker=dict(size=4, color=color, opacity=0.7)))
    fig.update_xaxes(title_text="code 1", zeroline=True)
    fig.update_yaxes(title_text="code 2", zeroline=True, scaleanchor="x", scaleratio=1)
    fig.update_layout(**_LAYOUT, height=height, title=_title(title), legend_title_text="class")
    return fig


def field_2d_figure(
    real: np.ndarray | None,
    fake: np.ndarray | None,
    field: Mapping[str, Any] | None = None,
    *,
    title: str | None = None,
    height: int = 460,
) -> go.Figure:
    """Real and generated points over D(x) on a grid, as GAN Lab draws them."""
    fig = _new_figure()
    heat = _heatmap(field)
    if heat is not None:
        fig.add_trace(heat)
    for name, pts in (("real", real), ("fake", fake)):
        arr = _points(pts, 2)
        if arr is None:
            continue
        fig.add_trace(go.Scattergl(_validate=_VALIDATE, 
            x=arr[:, 0], y=arr[:, 1], mode="markers", name="real data" if name == "real" else "generated",
            marker=dict(color=COLORS[name], size=5, opacity=0.75, line=dict(width=0)),
        ))
    # equal scales, and a narrower plot rather than a wider x range, so the map keeps its shape
    fig.update_xaxes(constrain="domain")
    fig.update_yaxes(scaleanchor="x", scaleratio=1, constrain="domain")
    fig.update_layout(**_LAYOUT, height=height, title=_title(title))
    return fig


def _heatmap(field: Mapping[str, Any] | None) -> go.Heatmap | None:
    """D's output on the grid, oriented so that z[i][j] sits at (x[j], y[i]) as Plotly wants."""
    if not field or "values" not in field or "y" not in field:
        return None
    x = np.asarray(field["x"], dtype=float).ravel()
    y = np.asarray(field["y"], dtype=float).ravel()
    z = np.asarray(field["values"], dtype=float)
    if z.ndim != 2:
        return None
    if field.get("indexing") == "ij" or (z.shape == (x.size, y.size) and z.shape != (y.size, x.size)):
        z = z.T
    if z.shape != (y.size, x.size):
        return None
    finite = z[np.isfinite(z)]
    unit = finite.size > 0 and finite.min() >= 0.0 and finite.max() <= 1.0
    return go.Heatmap(_validate=_VALIDATE, 
        x=x, y=y, z=z, zmin=0.0 if unit else None, zmax=1.0 if unit else None,
        colorscale=FIELD_COLORSCALE, name="D(x)",
        colorbar=dict(title=dict(text="D(x)", side="right"), thickness=12, len=0.8),
        hovertemplate="x=%{x:.2f}<br>y=%{y:.2f}<br>D=%{z:.2f}<extra></extra>",
    )


def field_1d_figure(
    real: np.ndarray | None,
    fake: np.ndarray | None,
    field: Mapping[str, Any] | None = None,
    *,
    title: str | None = None,
    height: int = 420,
    bins: int = 60,
) -> go.Figure:
    """Density histograms of real and generated values, with D's output on a second axis."""
    fig = make_subplots(figure=_new_figure(), specs=[[{"secondary_y": True}]])
    arrays = [a for a in (_points(real, 1), _points(fake, 1)) if a is not None]
    edges = _shared_edges(arrays, field, bins)
    for name, pts in (("real", real), ("fake", fake)):
        arr = _points(pts, 1)
        if arr is None:
            continue
        density, _ = np.histogram(arr[:, 0], bins=edges, density=True)
        centres = (edges[:-1] + edges[1:]) / 2
        fig.add_trace(go.Bar(_validate=_VALIDATE, 
            x=centres, y=density, width=np.diff(edges), name="real data" if name == "real" else "generated",
            marker=dict(color=COLORS[name]), opacity=0.55,
        ), secondary_y=False)
    curve = _field_curve(field)
    if curve is not None:
        fig.add_trace(go.Scatter(_validate=_VALIDATE, x=curve[0], y=curve[1], mode="lines", name="D(x)",
                                 line=dict(color="#333", width=2, dash="dot")), secondary_y=True)
    fig.update_yaxes(title_text="density", secondary_y=False)
    fig.update_yaxes(title_text="D(x)", range=[0, 1], secondary_y=True, showgrid=False)
    fig.update_layout(**_LAYOUT, height=height, title=_title(title), barmode="overlay", bargap=0)
    return fig


def _field_curve(field: Mapping[str, Any] | None) -> tuple[np.ndarray, np.ndarray] | None:
    if not field or "values" not in field or "x" not in field:
        return None
    x = np.asarray(field["x"], dtype=float).ravel()
    v = np.asarray(field["values"], dtype=float).ravel()
    return (x, v) if x.size == v.size and x.size > 0 else None


def _shared_edges(arrays: list[np.ndarray], field: Mapping[str, Any] | None, bins: int) -> np.ndarray:
    """One set of bin edges for both histograms, spanning the data and D's grid."""
    lows, highs = [], []
    for arr in arrays:
        finite = arr[np.isfinite(arr)]
        if finite.size:
            lows.append(float(finite.min()))
            highs.append(float(finite.max()))
    curve = _field_curve(field)
    if curve is not None:
        lows.append(float(curve[0].min()))
        highs.append(float(curve[0].max()))
    low, high = (min(lows), max(highs)) if lows else (-1.0, 1.0)
    if not math.isfinite(low) or not math.isfinite(high) or high <= low:
        low, high = low - 1.0, low + 1.0
    return np.linspace(low, high, bins + 1)


def _dim(arr: np.ndarray | None) -> int:
    if arr is None:
        return 0
    a = np.asarray(arr)
    if a.size == 0:
        return 0
    return 1 if a.ndim == 1 else int(a.shape[-1])


def _points(arr: np.ndarray | None, dim: int) -> np.ndarray | None:
    """An (N, dim) float array of the first `dim` coordinates, or None when there is nothing."""
    if arr is None:
        return None
    a = np.asarray(arr, dtype=float)
    if a.size == 0:
        return None
    if a.ndim == 1:
        a = a[:, None]
    a = a.reshape(-1, a.shape[-1])
    if a.shape[1] < dim:
        return None
    return a[:, :dim]


def _title(text: str | None) -> dict | None:
    return None if text is None else dict(text=text, x=0.01, xanchor="left", font=dict(size=14))


#: Line colours of compared runs, in run order (plotly's D3 palette).
RUN_COLORS = CLASS_COLORS


def compare_figure(runs: Sequence[Mapping[str, Any]], *, height: int = 300) -> go.Figure:
    """This session's runs overlaid: one panel per loss and per live-metric series that any run
    has, one colour per run (a legend entry each), e.g. minimax vs non-saturating vs WGAN-GP on
    the same seed and budget. `runs` are `TrainingSession.compared_runs()` entries."""
    if not runs:
        return empty_figure("Train two or more runs on the Train tab, then compare them here", height=height)
    loss_keys = list(dict.fromkeys(k for run in runs for k in run["metrics"] if k.startswith("loss")))
    quality_keys = list(dict.fromkeys(key for run in runs for _, key in quality_series(run["quality"])))
    panels = [("metrics", key) for key in loss_keys] + [("quality", key) for key in quality_keys]
    if not panels:
        return empty_figure("These runs have no curves yet", height=height)
    layout = _stacked_panels((1.0,) * len(panels))
    traces = []
    for index, run in enumerate(runs):
        color, in_legend = RUN_COLORS[index % len(RUN_COLORS)], False
        for row, (source, key) in enumerate(panels, start=1):
            series = run[source]
            if key not in series or not series.get("step"):
                continue
            traces.append(_on_row(go.Scatter(_validate=_VALIDATE, x=np.asarray(series["step"], dtype=np.float32),
                                             y=np.asarray(series[key], dtype=np.float32),
                                             mode="lines+markers" if source == "quality" else "lines",
                                             name=run["label"], legendgroup=str(run["run_id"]),
                                             showlegend=not in_legend, line=dict(color=color, width=2)), row))
            in_legend = True
    for row, (_, key) in enumerate(panels, start=1):
        _y_axis(layout, row)["title"] = {"text": _LABELS.get(key, key)}
    _x_axis(layout, len(panels))["title"] = {"text": "step"}
    layout.update({**_LAYOUT, "uirevision": None}, height=max(height, 220 * len(panels)))
    fig = go.Figure(data=traces, layout=layout, _validate=_VALIDATE)
    return fig


def score_histogram_figure(scores: Mapping[str, Any] | None, *, height: int = 220,
                           title: str | None = None) -> go.Figure:
    """Histograms of D's verdicts on a fixed real batch (D(x)) and on the fixed-noise samples
    (D(G(z))), overlaid: two separate humps mean D tells them apart, one shared hump that it
    cannot. `scores` is a sample event's "d_scores" ({"real": array, "fake": array})."""
    if not scores:
        return empty_figure("No discriminator scores yet", height=height)
    real = np.asarray(scores["real"], dtype=np.float32)
    fake = np.asarray(scores["fake"], dtype=np.float32)
    both = np.concatenate([real, fake])
    both = both[np.isfinite(both)]
    unit = both.size > 0 and float(both.min()) >= 0.0 and float(both.max()) <= 1.0
    low, high = (0.0, 1.0) if unit else (float(both.min(initial=0.0)), float(both.max(initial=1.0)))
    size = (high - low) / 25 or 1.0
    traces = [go.Histogram(_validate=_VALIDATE, x=values, name=name, opacity=0.6, marker_color=color,
                           xbins=dict(start=low, end=high + size, size=size))
              for name, values, color in (("D(x), real", real, COLORS.get("d_real")),
                                          ("D(G(z)), generated", fake, COLORS.get("d_fake")))]
    # the layout as a plain dict: plotly's update_layout/update_xaxes took 3 of this figure's 6 ms,
    # which a live page pays at every new sample grid
    layout = {**_LAYOUT, "barmode": "overlay", "height": height, "title": _title(title),
              "xaxis": {"title": {"text": "D's output" + (" (probability real)" if unit else " (score)")},
                        **({"range": [low - size, high + size]} if unit else {})},
              "yaxis": {"title": {"text": "count"}}}
    return go.Figure(data=traces, layout=layout, _validate=_VALIDATE)


#: Display pictures at least this many pixels wide.
MIN_DISPLAY_PX = 256


def sample_image(grid: np.ndarray | None, min_px: int = MIN_DISPLAY_PX) -> np.ndarray | None:
    """A picture ready for any front end's image view: HxW or HxWx3 uint8, enlarged by an integer
    factor (nearest-neighbour, so a 28-pixel digit stays crisp on the page)."""
    if grid is None:
        return None
    img = np.asarray(grid)
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    elif img.ndim == 3 and img.shape[-1] == 3 and (img[..., :1] == img[..., 1:]).all():
        # a grey picture in three equal channels (make_grid's MNIST grids): one channel is a third
        # of the PNG the page encodes at every new grid (12 ms of a live tick's 20)
        img = img[..., 0]
    factor = max(1, int(math.ceil(min_px / max(1, img.shape[1]))))
    if factor > 1:
        img = img.repeat(factor, axis=0).repeat(factor, axis=1)
    return img


def inpaint_canvas_figure(picture: np.ndarray, holes: np.ndarray | None = None, *, height: int = 420,
                          grid_step: int = 16) -> go.Figure:
    """The picture to paint holes on with the chart's lasso or box (its pixel coordinates: pixel
    centres at whole numbers, y down), the ``holes`` painted so far tinted red. Invisible markers
    every ``grid_step`` pixels give the selection something to select: a chart reports a lasso
    through the points it encloses."""
    import base64
    import io

    from PIL import Image

    shown = picture.copy()
    if holes is not None:
        shown[holes] = (0.4 * shown[holes] + 0.6 * np.array([230, 40, 40])).astype(np.uint8)
    png = io.BytesIO()
    Image.fromarray(shown).save(png, format="PNG")
    rows, cols = picture.shape[:2]
    fig = _new_figure()
    fig.add_trace(go.Image(_validate=_VALIDATE, source="data:image/png;base64," + base64.b64encode(
        png.getvalue()).decode("ascii"), hoverinfo="skip"))
    ys, xs = np.mgrid[0:rows:grid_step, 0:cols:grid_step]
    fig.add_trace(go.Scatter(_validate=_VALIDATE, x=xs.ravel().astype(np.float32), y=ys.ravel().astype(np.float32),
                             mode="markers", marker={"size": 4, "opacity": 0}, hoverinfo="skip",
                             showlegend=False))
    fig.update_layout(**{**_LAYOUT, "margin": dict(l=0, r=0, t=0, b=0)}, height=height, dragmode="lasso",
                      showlegend=False)
    fig.update_xaxes(visible=False, range=[-0.5, cols - 0.5])
    fig.update_yaxes(visible=False, range=[rows - 0.5, -0.5], scaleanchor="x")
    return fig


def drawing_figure(points: Sequence[Sequence[float]], grid: np.ndarray, extent: float, *,
                   height: int = 360) -> go.Figure:
    """The plot canvas for drawing a 2-D distribution: faint markers at ``grid`` to click, and the
    placed ``points`` in the real data's green."""
    fig = _new_figure()
    fig.add_trace(go.Scatter(_validate=_VALIDATE, x=grid[:, 0], y=grid[:, 1], mode="markers", name="click to place",
                             marker={"size": 9, "color": "#d0d0d0", "opacity": 0.35}, hoverinfo="x+y"))
    placed = np.asarray(points, dtype=float).reshape(-1, 2)
    fig.add_trace(go.Scatter(_validate=_VALIDATE, x=placed[:, 0], y=placed[:, 1], mode="markers", name="your points",
                             marker={"size": 12, "color": COLORS["real"]}, hoverinfo="skip"))
    fig.update_layout(**_LAYOUT, height=height, showlegend=False, clickmode="event+select", dragmode=False)
    fig.update_xaxes(range=[-extent * 1.05, extent * 1.05], zeroline=True)
    fig.update_yaxes(range=[-extent * 1.05, extent * 1.05], zeroline=True, scaleanchor="x")
    return fig
