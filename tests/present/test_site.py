"""The HTML report: pages, figures, provenance links, flags and escaping; and a real browser."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from harness.cli.main import main
from tests.present.markdown_check import live_links
from tests.present.synthetic import HOSTILE, write_synthetic_run

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    write_synthetic_run(root / "res", flag_model="good-model")
    assert main(["report", str(root / "res"), "--out", str(root / "site")]) == 0
    return root / "site"


def test_pages_and_figures_exist(site: Path) -> None:
    pages = sorted(p.name for p in site.glob("*.html"))
    assert "index.html" in pages and "provenance.html" in pages
    assert (
        sum(p.startswith("task-") for p in pages) == 1
        and sum(p.startswith("model-") for p in pages) == 3
    )
    names = " ".join(p.name for p in (site / "figures").iterdir())
    for kind in (
        "robust-eps",
        "severity",
        "throughput",
        "pareto",
        "group-sex",
        "reliability",
        "corruptions",
    ):
        assert kind in names, kind
    for page in site.glob("*.html"):
        for src in re.findall(r'<img src="([^"]+)"', page.read_text()):
            assert (site / src).is_file() and (site / src).stat().st_size > 1000


def test_numbers_link_to_provenance(site: Path) -> None:
    prov = (site / "provenance.html").read_text()
    index = (site / "index.html").read_text()
    anchors = set(re.findall(r'href="provenance.html#([^"]+)"', index))
    assert anchors and all(f'id="{a}"' in prov for a in anchors)
    assert "deadbeef" in prov and "9999999999999999" in prov  # git sha, spec hash


def test_flags_visible_and_untrusted_text_escaped(site: Path) -> None:
    for page in site.glob("*.html"):
        text = page.read_text()
        assert "<script>" not in text and "<b>cpu</b>" not in text, page.name
    index = (site / "index.html").read_text()
    assert (
        "Reliability flags raised" in index
        and 'class="flag">UNRELIABLE(gradient_masking_suspected)' in index
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    summary = (site / "summary.md").read_text()
    # one Markdown escaper: `_` inside a word cannot start emphasis, so it stays as it is
    assert "gradient_masking_suspected" in summary and "<script>" not in summary
    assert HOSTILE not in summary and live_links(summary) == []


PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || e.target.src)), true);
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const bad = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);
  document.body.setAttribute('data-probe', JSON.stringify({images: imgs.length, broken: bad, errors: window.__errors}));
});
</script>"""


@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed (/usr/bin/chromium); apt-get install -y chromium",
)
def test_renders_in_headless_chromium(site: Path, tmp_path: Path) -> None:
    import json

    flags = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--allow-file-access-from-files",
        "--virtual-time-budget=5000",
    ]
    for page in [
        "index.html",
        *[p.name for p in site.glob("task-*.html")],
        *[p.name for p in site.glob("model-*.html")][:1],
    ]:
        probe = site / f"probe-{page}"
        probe.write_text((site / page).read_text().replace("<head>", "<head>" + PROBE, 1))
        dom = subprocess.run(
            [*flags, "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120
        )
        probe.unlink()
        found = re.search(r"data-probe=\"([^\"]*)\"", dom.stdout)
        assert found, f"{page}: page did not finish loading; stderr: {dom.stderr[-500:]}"
        result = json.loads(found.group(1).replace("&quot;", '"'))
        assert result["broken"] == [] and result["errors"] == [], (page, result)
        console = [
            line for line in dom.stderr.splitlines() if "CONSOLE" in line and "probe" not in line
        ]
        assert console == [], console
        if page.startswith("task-"):
            assert result["images"] >= 6
    shot = tmp_path / "index.png"
    subprocess.run(
        [*flags, "--window-size=1200,1600", f"--screenshot={shot}", (site / "index.html").as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 10_000
