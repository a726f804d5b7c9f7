"""Timeline plots (PNG): stacked panels sharing the time axis, with shaded windows.

Load reports plot throughput and latency percentiles over a run with the warm-up shaded;
chaos reports will shade fault windows the same way. Matplotlib is used through its
object API on the Agg canvas (no pyplot): no global figure state, no display needed, safe
to call from any thread.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

PALETTE = ("#1f77b4", "#ff7f0e", "#d62728", "#2ca02c", "#9467bd", "#8c564b")


@dataclass(frozen=True)
class Series:
    label: str
    x: Sequence[float]
    y: Sequence[float | None]
    kind: Literal["line", "bar", "step"] = "line"
    color: str | None = None
    secondary: bool = False  # drawn against a right-hand axis


@dataclass(frozen=True)
class Panel:
    title: str
    y_label: str
    series: Sequence[Series]
    secondary_label: str | None = None
    y_min: float | None = 0.0


@dataclass(frozen=True)
class Window:
    """A shaded stretch of time (a warm-up, a fault)."""

    label: str
    start: float
    end: float
    color: str = "#999999"


@dataclass(frozen=True)
class Marker:
    """A moment (an abort, a fault injected)."""

    label: str
    at: float
    color: str = "#d62728"


@dataclass(frozen=True)
class Timeline:
    title: str
    panels: Sequence[Panel]
    x_label: str = "seconds since start"
    windows: Sequence[Window] = field(default_factory=tuple)
    markers: Sequence[Marker] = field(default_factory=tuple)
    width_in: float = 10.0
    panel_height_in: float = 2.6


def _draw(axes: object, series: Series, color: str, width: float) -> None:
    from matplotlib.axes import Axes

    assert isinstance(axes, Axes)
    points = [(x, y) for x, y in zip(series.x, series.y, strict=True) if y is not None]
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    if series.kind == "bar":
        axes.bar(xs, ys, width=width, color=color, alpha=0.6, label=series.label, align="edge")
    elif series.kind == "step":
        axes.step(xs, ys, where="post", color=color, label=series.label, linewidth=1.2)
    else:
        axes.plot(xs, ys, color=color, label=series.label, linewidth=1.5, marker=".", markersize=3)


def render_png(timeline: Timeline, dpi: int = 100) -> bytes:
    """The timeline as PNG bytes."""
    count = max(1, len(timeline.panels))
    figure = Figure(figsize=(timeline.width_in, timeline.panel_height_in * count + 0.6), dpi=dpi)
    FigureCanvasAgg(figure)
    axes_list = figure.subplots(count, 1, sharex=True, squeeze=False)[:, 0]
    all_x = [x for panel in timeline.panels for s in panel.series for x in s.x]
    span = (max(all_x) - min(all_x)) if all_x else 1.0
    bar_width = max(span / max(len(all_x), 1), 0.8)
    for axes, panel in zip(axes_list, timeline.panels, strict=True):
        secondary = axes.twinx() if any(s.secondary for s in panel.series) else None
        for index, series in enumerate(panel.series):
            color = series.color or PALETTE[index % len(PALETTE)]
            target = secondary if series.secondary and secondary is not None else axes
            _draw(target, series, color, bar_width)
        for window in timeline.windows:
            axes.axvspan(window.start, window.end, color=window.color, alpha=0.15, linewidth=0)
        for mark in timeline.markers:
            axes.axvline(mark.at, color=mark.color, linestyle="--", linewidth=1.2)
        axes.set_title(panel.title, fontsize=10, loc="left")
        axes.set_ylabel(panel.y_label)
        if panel.y_min is not None:
            axes.set_ylim(bottom=panel.y_min)
        axes.grid(True, alpha=0.3)
        handles, labels = axes.get_legend_handles_labels()
        if secondary is not None:
            more_handles, more_labels = secondary.get_legend_handles_labels()
            handles, labels = handles + more_handles, labels + more_labels
            secondary.set_ylabel(panel.secondary_label or "")
            secondary.set_ylim(bottom=0)
        if handles:
            axes.legend(handles, labels, loc="upper left", fontsize=8, framealpha=0.8)
    # Window and marker labels once, on the top panel.
    top = axes_list[0]
    for window in timeline.windows:
        top.text(
            window.start,
            0.97,
            f" {window.label}",
            transform=top.get_xaxis_transform(),
            fontsize=8,
            va="top",
            ha="left",
            color="#555555",
        )
    for mark in timeline.markers:
        top.text(
            mark.at,
            0.97,
            f" {mark.label}",
            transform=top.get_xaxis_transform(),
            fontsize=8,
            va="top",
            ha="left",
            color=mark.color,
        )
    axes_list[-1].set_xlabel(timeline.x_label)
    figure.suptitle(timeline.title, fontsize=12)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
