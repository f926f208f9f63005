"""OOD detection through the CLI: the run's board (headline detector only), the report's
detector x OOD-set tables, comparisons and histograms, and a gate on a detection metric."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from harness.cli.main import main


def net(seed: int = 0) -> torch.nn.Module:
    gen = torch.Generator().manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)
    )
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    return model


SPEC = """
name: ood-cli
seed: 0
device: cpu
bootstrap_resamples: 50
tasks: [digits]
models:
  - {name: a, adapter: torch, factory: "tests.suites.shift.ood.test_ood_cli:net", factory_args: {seed: 0}, input_shape: [1, 8, 8], variants: [int8]}
  - {name: b, adapter: torch, factory: "tests.suites.shift.ood.test_ood_cli:net", factory_args: {seed: 1}, input_shape: [1, 8, 8]}
suites:
  shift:
    corruptions: []
    max_samples: 80
    ood_sets: [{generated: uniform_noise, n: 40}, {task: digits-shifted, tag: near}]
    ood: {fit_samples: 100, detectors: all}
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ood-cli")
    spec = folder / "spec.yaml"
    spec.write_text(SPEC)
    assert main(["run", str(spec), "--out", str(folder / "out"), "--width", "0"]) == 0
    return folder / "out"


def test_the_board_shows_the_headline_detector_per_set_and_tag(results, capsys) -> None:
    assert main(["leaderboard", str(results), "--width", "0"]) == 0
    out = capsys.readouterr().out
    for key in ("ood_auroc[ood=uniform_noise]", "ood_auroc[ood=digits-shifted]",
                "ood_auroc[ood_mean=near]", "ood_auroc[ood_mean=far]"):  # fmt: skip
        assert key in out
    assert "score=energy" in out and "score=knn" not in out
    # the board says why a model's detectors are absent: the int8 variant has no gradients
    # (ODIN) and its float last layer does not make its logits (ViM, ReAct, ASH, DICE)
    assert "shift: OOD detector odin not run: model 'a@int8' exposes no gradients" in out
    assert "shift: OOD detectors vim, react, ash, dice not run: model 'a@int8'" in out


class _Spies:
    """What a report build resampled (the fingerprints of OOD detection forms) and drew (score
    histograms), counted in this process."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from harness.analysis import paired_tests
        from harness.present import figures, site_workers

        self.calls: list[object] = []
        self.histograms: list[str] = []
        monkeypatch.setattr(site_workers, "cores", lambda: 1)  # count the calls in this process
        real, draw = paired_tests._resampled, figures.score_histograms

        def counting(a, b, *args, **kwargs):  # type: ignore[no-untyped-def]
            if a.counted is None:  # OOD detection metrics: no counted sums
                self.calls.append(a.fingerprint)
            return real(a, b, *args, **kwargs)

        def drawing(*args, **kwargs):  # type: ignore[no-untyped-def]
            self.histograms.append(kwargs["title"])
            return draw(*args, **kwargs)

        monkeypatch.setattr(paired_tests, "_resampled", counting)
        monkeypatch.setattr(figures, "score_histograms", drawing)


@pytest.fixture(scope="module")
def first_report(results: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The report of `results` built once into a new folder (in this process, counted): the
    tests below read it, and one builds it again."""
    site = tmp_path_factory.mktemp("ood-cli-site") / "site"
    with pytest.MonkeyPatch.context() as monkeypatch:
        spies = _Spies(monkeypatch)
        assert main(["report", str(results), "--out", str(site)]) == 0
    return site, spies


def test_the_report_has_detector_tables_comparisons_and_histograms(first_report) -> None:
    site, _spies = first_report
    page = next(site.glob("task-digits-*.html")).read_text()
    assert "<h2>OOD detection</h2>" in page
    for detector in ("msp", "knn", "mahalanobis", "vim", "react", "ash", "dice", "she", "gen"):
        assert re.search(rf'data-sort="{detector}">{detector}', page), detector
    assert "near OOD (mean)" in page and "far OOD (mean)" in page
    assert "Paired comparisons of AUROC" in page and "a vs b (energy)" in page
    assert "a: energy vs knn" in page and "a: energy vs odin" in page
    assert "Not run: odin: model &#39;a@int8&#39; exposes no gradients" in page
    assert len(list((site / "figures").glob("*-ood-*.png"))) == 3


def test_check_gates_a_detection_metric(results, tmp_path, capsys) -> None:
    key = "ood_auroc[ood=uniform_noise,score=knn]"
    for floor, code in ((0.0, 0), (1.0, 1)):  # knn's AUROC on noise is high, not perfect
        policy = tmp_path / f"policy-{floor}.yaml"
        policy.write_text(f'metrics:\n  "{key}": {{floor: {floor}}}\n')
        args = ["check", "--baseline", str(results), "--current", str(results)]
        assert main([*args, "--policy", str(policy)]) == code
        out = capsys.readouterr().out
        assert "score=knn" in out, out


def test_a_report_built_again_does_not_resample_unchanged_detection_pairs(
    results: Path, first_report, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comparison page's and the variant's paired OOD tests (2,000 resamples of every
    detector's AUROC, AUPR and FPR: most of a warm quickstart report) and the score histograms
    are kept in the site folder between builds: a second build into the folder resamples none
    of them (only the boards' rankings, which `harness leaderboard` resamples too), draws no
    histogram and writes the same pages."""
    site, spies = first_report
    first = len(spies.calls)
    assert first > 50 and None not in spies.calls  # every detection form has a fingerprint
    assert len(spies.histograms) == 3
    pages = {p.name: p.read_bytes() for p in site.glob("*.html")}
    spies = _Spies(monkeypatch)
    assert main(["leaderboard", str(results)]) == 0
    boards = len(spies.calls)
    assert boards < 10
    spies.calls.clear()
    assert main(["report", str(results), "--out", str(site)]) == 0
    assert len(spies.calls) == boards
    assert spies.histograms == []  # the score histograms are kept too
    assert {p.name: p.read_bytes() for p in site.glob("*.html")} == pages
    kept = site / ".resampled-values"
    assert kept.stat().st_size < 200_000  # three numbers per pair, not 2,000 resamples


def test_the_board_says_an_ood_set_holds_the_tasks_classes(results, capsys) -> None:
    """`digits-shifted` holds the digits' own classes: its AUROC (0.771 on a small run) counts
    in-distribution images as OOD. The job's note said so, but no board or report showed it."""
    assert main(["leaderboard", str(results), "--width", "0"]) == 0
    out = capsys.readouterr().out
    assert "OOD set 'digits-shifted' is labelled with 10 of task 'digits''s classes" in out


def test_the_report_shows_the_fit_notes_and_the_set_notes(results, first_report) -> None:
    """What the fit changed (a shrunk covariance and its rank, knn's k capped, SHE classes
    without a correct sample) was only in the job's files: the detector table says it now."""
    import html
    import json

    site, _spies = first_report
    page = html.unescape(next(site.glob("task-digits-*.html")).read_text())
    job = next(p for p in results.glob("runs/*/jobs/b--digits--shift--*") if p.is_dir())
    fit_notes = json.loads((job / "artifacts.json").read_text())["ood"]["fit_notes"]
    assert fit_notes and all(n in page for n in fit_notes), fit_notes
    assert "OOD set 'digits-shifted' is labelled with 10 of task 'digits''s classes" in page
