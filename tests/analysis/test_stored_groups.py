"""`harness groups` selection logic (analysis.stored_groups): tables, conditions and errors."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from harness.analysis.stored_groups import GroupQuery, repeated_jobs, stored_group_rows
from harness.cli.main import main
from harness.core.errors import DatasetError, ResultsError
from harness.store.checksums import seal
from tests.present.synthetic import write_synthetic_run


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("groups")
    write_synthetic_run(root / "res", models={"a": 0.9, "b": 0.6})
    return root / "res"


def test_one_condition_of_every_table_that_has_it(results: Path) -> None:
    query = GroupQuery(condition="attack=linf_pgd/eps=0.1", resamples=20)
    rows = stored_group_rows(results, query)
    assert {(r["model"], r["suite"], r["condition"]) for r in rows} == {
        ("a", "adversarial", "attack=linf_pgd/eps=0.1"),
        ("b", "adversarial", "attack=linf_pgd/eps=0.1"),
    }
    assert {r["group_by"] for r in rows} == {"sex"}


def test_by_label_and_filters(results: Path) -> None:
    skipped: list[str] = []
    query = GroupQuery(model="a", suite="accuracy", by=["label"], resamples=0)
    rows = stored_group_rows(results, query, on_skip=skipped.append)
    assert skipped == [] and {r["group_by"] for r in rows} == {"label"}
    assert {r["condition"] for r in rows} == {"clean"}


def test_missing_condition_is_an_error_naming_the_tables(results: Path) -> None:
    with pytest.raises(ResultsError, match="no stored table has condition 'nope'.*a x digits x"):
        stored_group_rows(results, GroupQuery(condition="nope", resamples=0))
    named = GroupQuery(task="digits", model="a", suite="accuracy", condition="nope", resamples=0)
    with pytest.raises(ResultsError, match="a x digits x accuracy has no condition 'nope'"):
        stored_group_rows(results, named)
    with pytest.raises(ResultsError, match="match --model zzz; available: a x digits x"):
        stored_group_rows(results, GroupQuery(model="zzz"))


def test_a_by_column_no_table_stores_is_one_line_with_the_nearest(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--by se` (a typo of the stored `sex`): one line naming the column, the stored group
    columns and the nearest of them, not every table's conditions."""
    with pytest.raises(
        ResultsError, match=r"--by se: .*'se'; its group columns: sex, .*--by sex\?"
    ):
        stored_group_rows(results, GroupQuery(by=["se"], resamples=0))
    with pytest.raises(ResultsError, match=r"--by zzz: .*group columns: sex, and label") as err:
        stored_group_rows(results, GroupQuery(by=["sex&zzz"], resamples=0))
    assert "did you mean" not in str(err.value)
    assert main(["groups", str(results), "--by", "se"]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_cli_min_group_size_flags_groups_below_it(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--min-group-size`: the synthetic groups hold 100 samples each, flagged from 101 on."""
    args = ["groups", str(results), "--model", "a", "--suite", "accuracy", "--resamples", "0"]
    args += ["--format", "json"]
    assert main([*args, "--min-group-size", "100"]) == 0
    at = json.loads(capsys.readouterr().out)
    assert at and {r["flag"] for r in at} == {""}
    assert main([*args, "--min-group-size", "101"]) == 0
    above = json.loads(capsys.readouterr().out)
    assert len(above) == len(at) and {r["flag"] for r in above} == {"insufficient_group_size"}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One results folder holding two runs of the same models (other numbers in each)."""
    root = tmp_path_factory.mktemp("two-runs") / "res"
    write_synthetic_run(root, run_id="first-1", models={"a": 0.9, "b": 0.6}, seed=1)
    write_synthetic_run(root, run_id="second-2", models={"a": 0.5, "b": 0.6}, seed=2)
    return root


def test_two_runs_of_one_model_are_kept_apart(two_runs: Path) -> None:
    query = GroupQuery(model="a", suite="accuracy", resamples=0)
    rows = stored_group_rows(two_runs, query)
    keys = [(r["run"], r["group"], r["metric"]) for r in rows]
    assert len(keys) == len(set(keys))  # no two rows share a key
    assert {r["run"] for r in rows} == {"first-1", "second-2"}
    assert repeated_jobs(rows) == {"a x digits x accuracy": ["first-1", "second-2"]}
    one = stored_group_rows(two_runs, GroupQuery(model="a", run="second-2", resamples=0))
    assert {r["run"] for r in one} == {"second-2"} and repeated_jobs(one) == {}
    with pytest.raises(
        ResultsError, match="--run third: no run of that id under .*first-1, second-2"
    ):
        stored_group_rows(two_runs, GroupQuery(run="third"))


def test_cli_shows_the_run_column_only_when_a_job_has_two_runs(
    two_runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["groups", str(two_runs), "--model", "a", "--suite", "accuracy", "--resamples", "0"]
    args += ["--width", "0"]
    assert main(args) == 0
    captured = capsys.readouterr()
    headings = [ln for ln in captured.out.splitlines() if " · by " in ln]
    assert sum("run first-1)" in h for h in headings) == sum("run second-2)" in h for h in headings)
    assert sum("run first-1)" in h for h in headings) > 0  # each heading names its run
    assert "a x digits x accuracy: 2 runs in this folder (first-1, second-2)" in captured.err
    assert "pick one with --run" in captured.err
    assert main([*args, "--format", "md"]) == 0  # the Markdown table has a run column
    header = capsys.readouterr().out.splitlines()[0].split("|")
    assert [c.strip() for c in header[1:6]] == ["model", "task", "suite", "run", "condition"]
    assert main([*args, "--run", "first-1"]) == 0
    captured = capsys.readouterr()
    assert " · by " in captured.out and ", run " not in captured.out and captured.err == ""
    assert main([*args, "--run", "first-1", "--format", "csv"]) == 0  # CSV always names the run
    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0][:4] == ["model", "task", "suite", "run"]
    assert len(table) > 1 and all(line[3] == "first-1" for line in table[1:])
    assert main([*args, "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert {r["run"] for r in records} == {"first-1", "second-2"}
    assert main([*args, "--run", "nope"]) == 2
    assert "error: --run nope: no run of that id" in capsys.readouterr().err


def test_a_model_whose_table_lacks_a_by_column_its_task_has_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Model b's accuracy table stored without `sex` (a spec that declared the column in one run
    only): `--by sex --suite accuracy` showed model a alone and said nothing of b."""
    write_synthetic_run(tmp_path / "res", models={"a": 0.9, "b": 0.6})
    _edit_table(tmp_path / "res", "b--digits--accuracy--*", lambda t: t.drop(columns=["group:sex"]))
    missing: list[str] = []
    query = GroupQuery(suite="accuracy", by=["sex"], condition="clean", resamples=0)
    rows = stored_group_rows(tmp_path / "res", query, on_missing=missing.append)
    assert {r["model"] for r in rows} == {"a"}
    assert len(missing) == 1
    assert missing[0].startswith("b x digits x accuracy (run ")
    assert "no group column 'sex', which other tables of task 'digits' have" in missing[0]
    # the command says it among its notes
    assert main(["groups", str(tmp_path / "res"), "--by", "sex", "--format", "csv"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "left out b x digits x accuracy (run " in err


def _edit_table(results: Path, job_glob: str, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Path:
    """Rewrite one job's per-sample table with `edit` and reseal its job.json (as a table
    written by another tool would read)."""
    (job,) = results.glob(f"runs/*/jobs/{job_glob}")
    edit(pd.read_parquet(job / "samples.parquet")).to_parquet(job / "samples.parquet", index=False)
    record = json.loads((job / "job.json").read_text())
    digest = hashlib.sha256((job / "samples.parquet").read_bytes()).hexdigest()
    record["files"]["samples.parquet"] = digest
    (job / "job.json").write_text(json.dumps(seal(record)))
    return job


def test_a_table_with_missing_group_values_is_named(tmp_path: Path) -> None:
    """One table among the folder's holding missing group values: the error named the column
    alone, not which model's table (of tens) to fix."""
    write_synthetic_run(tmp_path / "res", models={"a": 0.9, "b": 0.6})

    def blank(t: pd.DataFrame) -> pd.DataFrame:
        t.loc[t.index[:2], "group:sex"] = None
        return t

    job = _edit_table(tmp_path / "res", "b--digits--accuracy--*", blank)
    query = GroupQuery(suite="accuracy", by=["sex"], condition="clean", resamples=0)
    with pytest.raises(DatasetError) as err:
        stored_group_rows(tmp_path / "res", query)
    text = str(err.value)
    assert text.startswith("b x digits x accuracy (run ")
    assert str(job / "samples.parquet") in text and "'sex' has 2 missing values" in text


def test_accuracies_under_an_attack_that_only_bounds_them_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Robust accuracy from a decision-based attack is an upper bound (the board prints UPPER
    BOUND); the same table's groups under that attack were shown as plain accuracies and
    drops, without a word."""
    from harness.run.api_groups import breakdown

    write_synthetic_run(tmp_path / "res", models={"a": 0.9, "b": 0.6}, extras=True)
    query = GroupQuery(condition="attack=linf_pgd/eps=0.1", resamples=0)
    found = breakdown(tmp_path / "res", query, allow_partial=True)
    assert {r["model"] for r in found.rows} == {"a", "b"}
    assert list(found.bounds) == ["b x digits x adversarial, attack=linf_pgd/eps=0.1"]
    note = found.bounds["b x digits x adversarial, attack=linf_pgd/eps=0.1"]
    assert note.startswith("decision-based attack (the model exposes no gradients)")
    assert "each group's acc is an upper bound too, its acc_drop a lower bound" in note
    assert any(line.startswith("b x digits x adversarial, attack=") for line in found.notes())
    clean = breakdown(
        tmp_path / "res", GroupQuery(condition="clean", resamples=0), allow_partial=True
    )
    assert clean.bounds == {}
    args = ["groups", str(tmp_path / "res"), "--condition", "attack=linf_pgd/eps=0.1"]
    capsys.readouterr()
    assert main([*args, "--allow-partial", "--width", "400"]) == 0
    assert "b x digits x adversarial, attack=linf_pgd/eps=0.1: decision-based" in (
        capsys.readouterr().out
    )
    assert main([*args, "--allow-partial", "--width", "400", "--format", "json"]) == 0
    assert "each group's acc is an upper bound too" in capsys.readouterr().err


def test_a_run_whose_every_table_is_missing_is_refused_as_incomplete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run interrupted before its first job finished (or whose job folders were deleted):
    `harness groups` said `no stored per-sample tables under R match the filters; available:
    (none)`, where the leaderboard and the exports say the results are incomplete and how to
    finish them. It now says what they say; with --allow-partial there is still nothing."""
    import shutil

    write_synthetic_run(tmp_path / "res", models={"a": 0.9})
    for job in (tmp_path / "res" / "runs").glob("*/jobs/*"):
        shutil.rmtree(job)
    capsys.readouterr()
    assert main(["groups", str(tmp_path / "res")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: results under {tmp_path / 'res'} are incomplete"), err
    assert "--allow-partial" in err and err.count("\n") == 1, err
    assert main(["groups", str(tmp_path / "res"), "--allow-partial"]) == 2
    assert "no stored per-sample tables" in capsys.readouterr().err
