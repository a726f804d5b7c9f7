"""The generic report writers: Markdown, JUnit XML, HTML, PNG timelines, the job summary."""

from __future__ import annotations

import io
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.report import github, junit, markdown, plots
from harness.report.html import Cell, Page


def test_markdown_table_escapes_cells_and_aligns() -> None:
    text = markdown.table(["a", "b"], [["x|y", "line\nbreak"], [None, 3]], ["left", "right"])
    assert text.splitlines() == [
        "| a | b |",
        "|---|---:|",
        "| x\\|y | line<br>break |",
        "| — | 3 |",
    ]


def test_markdown_table_rejects_ragged_rows() -> None:
    with pytest.raises(ValueError, match="row has 1 cells"):
        markdown.table(["a", "b"], [["only one"]])


def test_details_marker_and_code() -> None:
    assert markdown.details("S", "body") == "<details><summary>S</summary>\n\nbody\n\n</details>"
    assert markdown.marker("harness:load:x") == "<!-- harness:load:x -->"
    with pytest.raises(ValueError, match="cannot contain '--'"):
        markdown.marker("a--b")
    assert markdown.code("a`b") == "``a`b``"


def test_junit_counts_and_outcomes() -> None:
    cases = [
        junit.Case("passes", "load.x"),
        junit.Case("fails", "load.x", failure="first line\nmore detail"),
        junit.Case("breaks", "load.x", error="boom"),
        junit.Case("skips", "load.x", skipped="too few requests"),
    ]
    root = ET.fromstring(junit.to_xml([junit.Suite("s", cases, properties={"k": "v"})]))
    assert root.tag == "testsuites"
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "4",
        "failures": "1",
        "errors": "1",
        "skipped": "1",
    }
    failure = root.find("./testsuite/testcase[@name='fails']/failure")
    assert failure is not None
    assert failure.get("message") == "first line"
    assert failure.text == "first line\nmore detail"
    assert root.find("./testsuite/properties/property[@name='k']") is not None


def test_html_escapes_text_and_embeds_images() -> None:
    page = Page("<title>")
    page.paragraph("a < b & c").table(["h"], [[Cell("<td>", "num")]]).image(b"\x89PNG", "alt")
    html = page.render()
    assert "<h1>&lt;title&gt;</h1>" in html
    assert "a &lt; b &amp; c" in html
    assert '<td class="num">&lt;td&gt;</td>' in html
    assert 'src="data:image/png;base64,iVBORw==' in html


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", io.BytesIO(data[16:24]).read())
    return width, height


def test_timeline_png_has_one_panel_height_per_panel() -> None:
    xs = [0.5, 1.5, 2.5, 3.5]
    one = plots.Timeline("t", [plots.Panel("p", "y", [plots.Series("s", xs, [1, None, 3, 4])])])
    two = plots.Timeline(
        "t",
        [
            plots.Panel(
                "p",
                "y",
                [
                    plots.Series("s", xs, [1, 2, 3, 4]),
                    plots.Series("u", xs, [1, 1, 2, 2], "step", secondary=True),
                ],
            ),
            plots.Panel("q", "ms", [plots.Series("b", xs, [0, 1, 0, 2], "bar")]),
        ],
        windows=[plots.Window("warm-up", 0, 1)],
        markers=[plots.Marker("abort", 3)],
    )
    w1, h1 = png_size(plots.render_png(one))
    w2, h2 = png_size(plots.render_png(two))
    assert w1 == w2 == 1000
    assert h2 > h1 * 1.5


def test_step_summary_only_in_actions(tmp_path: Path) -> None:
    assert github.append_step_summary("# x", environ={}) is None
    target = tmp_path / "summary.md"
    assert github.append_step_summary("# x", environ={"GITHUB_STEP_SUMMARY": str(target)}) == target
    github.append_step_summary("# y\n", environ={"GITHUB_STEP_SUMMARY": str(target)})
    assert target.read_text() == "# x\n# y\n"
