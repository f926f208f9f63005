"""Every subcommand fits the terminal: with `--width 80` and `--width 120`, no line it prints
(stdout and stderr) is wider, whatever it prints (hostile model names, wide boards, long
descriptions, group breakdowns, the gate's report, variants, a run's progress and its end).

The results are a synthetic run of every suite (tests/present/synthetic.py) plus a tiny real
run (the report's: a one-model synthetic run); a subcommand added to the CLI without a case here
fails `test_every_subcommand_is_covered`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli.main import SUBCOMMANDS, build_parser, main
from tests.present.synthetic import HOSTILE, write_synthetic_run

WIDTHS = (80, 120)
CASES: dict[str, Callable[[Path, Path], list[list[str]]]] = {}


def case(name: str) -> Callable[[Callable[[Path, Path], list[list[str]]]], None]:
    def add(fn: Callable[[Path, Path], list[list[str]]]) -> None:
        CASES[name] = fn

    return add


@case("run")
def _run(results: Path, spec: Path) -> list[list[str]]:
    return [["run", str(spec), "--out", str(spec.parent / "out")]]


@case("validate")
def _validate(results: Path, spec: Path) -> list[list[str]]:
    return [["validate", str(spec)]]


@case("list")
def _list(results: Path, spec: Path) -> list[list[str]]:
    return [["list", what] for what in ("tasks", "models", "suites", "adapters", "protocols")]


@case("leaderboard")
def _leaderboard(results: Path, spec: Path) -> list[list[str]]:
    return [["leaderboard", str(results)], ["leaderboard", str(results), "--all-metrics"]]


@case("report")
def _report(results: Path, spec: Path) -> list[list[str]]:
    # its one line names the site, whatever the results: a one-model run (the three-model one's
    # figures and pages cost 3.3 s of CPU, this 1.0; what a report writes: tests/present)
    one = results.parent / "one-model"
    return [["report", str(one), "--out", str(results.parent / "site")]]


@case("check")
def _check(results: Path, spec: Path) -> list[list[str]]:
    run = next((results / "runs").iterdir())
    return [["check", "--baseline", str(run), "--current", str(run)]]


@case("export")
def _export(results: Path, spec: Path) -> list[list[str]]:
    # model cards (the MLflow target prints one line of the same kind: tests/export)
    cards = results.parent / "cards"
    return [["export", str(results), "--to", "model-index", "--out", str(cards)]]


@case("parity")
def _parity(results: Path, spec: Path) -> list[list[str]]:
    return [["parity", str(spec), "--models", "lin-a,lin-b", "--task", "digits"]]


@case("groups")
def _groups(results: Path, spec: Path) -> list[list[str]]:
    return [["groups", str(results)], ["groups", str(results), "--by", "label"]]


@case("cache")
def _cache(results: Path, spec: Path) -> list[list[str]]:
    # the cache of the tiny run (`run` above fills it), shown and dry-pruned at the width
    return [["cache"], ["cache", "show"], ["cache", "prune", "--all", "--dry-run"]]


@case("variants")
def _variants(results: Path, spec: Path) -> list[list[str]]:
    return [["variants", str(results)]]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from tests.conftest import TINY_SPEC, save_weights
    from tests.fixture_models import linear_digits

    root = tmp_path_factory.mktemp("width")
    models = {"good-model": 0.9, HOSTILE: 0.6, "a-model-with-a-rather-long-name@int8": 0.88}
    write_synthetic_run(
        root / "res",
        models=models,
        flag_model="good-model",
        extras=True,
        variants={"a-model-with-a-rather-long-name@int8": "good-model"},
    )
    write_synthetic_run(root / "one-model", models={HOSTILE: 0.6})  # the report's (above)
    save_weights(linear_digits(), root / "linear.safetensors")
    save_weights(linear_digits(seed=1), root / "linear1.safetensors")
    spec = root / "spec.yaml"
    spec.write_text(TINY_SPEC.replace("limit: 120", "limit: 40"))
    return root / "res", spec


def test_every_subcommand_is_covered() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(CASES)  # type: ignore[attr-defined]
    assert len(SUBCOMMANDS) == len(CASES)
    for name in CASES:  # each takes --width
        help_text = sub.choices[name].format_help()  # type: ignore[attr-defined]
        assert "--width" in help_text, name


@pytest.mark.usefixtures("report_parts_here")  # tests/conftest.py
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("command", sorted(CASES))
def test_every_line_fits(
    folders: tuple[Path, Path], command: str, width: int, capsys: pytest.CaptureFixture[str]
) -> None:
    results, spec = folders
    for argv in CASES[command](results, spec):
        capsys.readouterr()
        code = main([*argv, "--width", str(width)])
        assert code in (0, 1), (argv, code)  # parity of two different models fails (1)
        out, err = capsys.readouterr()
        assert out.strip() or err.strip(), argv
        for stream, text in (("stdout", out), ("stderr", err)):
            wide = [line for line in text.splitlines() if len(line) > width]
            assert wide == [], (argv, stream, wide[:3])
