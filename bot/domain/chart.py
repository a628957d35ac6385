"""The `/drill stats` picture: mastery per topic and the last 30 days of activity.

matplotlib is imported here, when a picture is asked for, never at start-up (it is an optional
dependency: without it `/drill stats` answers in text only). The Agg backend draws without a
screen.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date

WIDTH_IN, HEIGHT_IN, DPI = 10, 4, 100


def stats_png(
    mastery: Mapping[str, tuple[float, int]], activity: Sequence[tuple[date, int]]
) -> bytes:
    """A 1000x400 PNG: mean score per topic (left), answers per day (right).

    Built on a `Figure` of its own rather than pyplot's global state, so two pictures drawn at
    once in worker threads never share a figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    topics = sorted(mastery, key=lambda t: mastery[t][0])
    scores = [mastery[t][0] for t in topics]
    colours = ["#c0392b" if s < 4 else "#e67e22" if s < 7 else "#27ae60" for s in scores]
    left.barh(topics or ["(no answers yet)"], scores or [0], color=colours or ["#bbbbbb"])
    left.set_xlim(0, 10)
    left.set_xlabel("mean latest score")
    left.set_title("Mastery by topic")
    right.bar([d for d, _ in activity], [n for _, n in activity], color="#2980b9")
    right.yaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_title("Answers, last 30 days")
    right.tick_params(axis="x", labelrotation=45, labelsize=7)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
