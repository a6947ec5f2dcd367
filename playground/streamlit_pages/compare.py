"""Compare: every run this visitor started, overlaid (losses and live metric, one colour per run)."""

from __future__ import annotations

import streamlit as st

from playground import figures
from playground.streamlit_common import current_session

st.title("Compare runs")
st.caption("Every run started in this session, overlaid: e.g. train the same model and seed with minimax, "
           "non-saturating, least squares and WGAN-GP, then compare their losses and sample quality here.")
session = current_session()
runs = session.compared_runs() if session is not None else []
st.button("Refresh", key="compare-btn")
st.plotly_chart(figures.compare_figure(runs), key="compare-plot")
st.dataframe([{"run": run["label"], "status": run["status"], "seed": run["seed"],
               "last step": (run["metrics"].get("step") or [0])[-1]} for run in runs], hide_index=True)
