"""The gate's report as JUnit XML: one testcase per checked item, a <failure> for each failure.

CI systems (GitHub Actions, GitLab, Jenkins) show these as test results. Built with ElementTree,
so every name, reason and number is XML-escaped by the serialiser.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from harness.analysis.check import P_HOLM, CheckReport
from harness.present.check_view import number, p_text
from harness.present.escaping import strip_control


def render_junit(report: CheckReport) -> str:
    """JUnit XML: one testcase per checked item, a <failure> for each failure."""
    suite = ET.Element(
        "testsuite",
        {
            "name": "harness-check",
            "tests": str(len(report.rows)),
            "failures": str(len(report.failures)),
            "errors": "0",
        },
    )
    suite.text = "\n  "
    for r in report.rows:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": strip_control(f"harness.{r.task}.{r.model}"),
                "name": strip_control(f"{r.suite}: {r.metric}"),
            },
        )
        text = (
            f"baseline {number(r.baseline)}, current {number(r.current)}, "
            f"test {r.test or '-'}, {P_HOLM} {p_text(r)}: {r.reason}"
        )
        if r.status == "fail":
            inner = ET.SubElement(case, "failure", {"message": strip_control(r.reason)})
        else:
            inner = ET.SubElement(case, "system-out")
        inner.text = strip_control(text)
        case.tail = "\n  "
    if len(suite):
        suite[-1].tail = "\n"
    else:
        suite.text = "\n"
    body = ET.tostring(suite, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
