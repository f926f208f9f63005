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


def render_junit_error(message: str) -> str:
    """JUnit XML for a gate that could not compare (unusable input, exit 2): one testcase with
    an <error> naming why. It replaces the previous gate's report, which CI would otherwise
    publish (whatever the exit code) as this run's results."""
    suite = ET.Element(
        "testsuite", {"name": "harness-check", "tests": "1", "failures": "0", "errors": "1"}
    )
    suite.text = "\n  "
    case = ET.SubElement(
        suite, "testcase", {"classname": "harness.check", "name": "compare baseline and current"}
    )
    error = ET.SubElement(case, "error", {"message": strip_control(message)})
    error.text = strip_control(f"the gate could not compare the runs: {message}")
    case.tail = "\n"
    body = ET.tostring(suite, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
