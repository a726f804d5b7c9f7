"""JUnit XML, the report format every CI system shows: one test case per verdict.

The schema is the de-facto one Jenkins, GitLab and GitHub reporters read: ``testsuites``
> ``testsuite`` (counts as attributes, optional ``properties``) > ``testcase`` with an
optional ``failure``, ``error`` or ``skipped`` child and ``system-out``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.report.files import write_text


@dataclass(frozen=True)
class Case:
    name: str
    classname: str
    time_s: float = 0.0
    failure: str | None = None  # the verdict failed: message (first line) and details
    error: str | None = None  # the check could not be made
    skipped: str | None = None
    output: str = ""

    @property
    def outcome(self) -> str:
        if self.error is not None:
            return "error"
        if self.failure is not None:
            return "failure"
        if self.skipped is not None:
            return "skipped"
        return "passed"


@dataclass(frozen=True)
class Suite:
    name: str
    cases: Sequence[Case]
    time_s: float = 0.0
    timestamp: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)


def _outcome_element(parent: ET.Element, tag: str, text: str) -> None:
    message, _, _rest = text.partition("\n")
    element = ET.SubElement(parent, tag, message=message[:500])
    element.text = text


def to_xml(suites: Sequence[Suite]) -> str:
    root = ET.Element("testsuites")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        counts = {
            "tests": len(suite.cases),
            "failures": sum(c.outcome == "failure" for c in suite.cases),
            "errors": sum(c.outcome == "error" for c in suite.cases),
            "skipped": sum(c.outcome == "skipped" for c in suite.cases),
        }
        attributes = {"name": suite.name, "time": f"{suite.time_s:.3f}"}
        attributes |= {key: str(value) for key, value in counts.items()}
        if suite.timestamp:
            attributes["timestamp"] = suite.timestamp
        element = ET.SubElement(root, "testsuite", attributes)
        if suite.properties:
            props = ET.SubElement(element, "properties")
            for key, value in suite.properties.items():
                ET.SubElement(props, "property", name=key, value=str(value))
        for case in suite.cases:
            item = ET.SubElement(
                element,
                "testcase",
                name=case.name,
                classname=case.classname,
                time=f"{case.time_s:.3f}",
            )
            if case.error is not None:
                _outcome_element(item, "error", case.error)
            elif case.failure is not None:
                _outcome_element(item, "failure", case.failure)
            elif case.skipped is not None:
                ET.SubElement(item, "skipped", message=case.skipped)
            if case.output:
                ET.SubElement(item, "system-out").text = case.output
        for kind, count in counts.items():
            totals[kind] += count
    for kind, total in totals.items():
        root.set(kind, str(total))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write(path: Path, suites: Sequence[Suite]) -> Path:
    write_text(path, to_xml(suites))
    return path
