"""`harness.run_spec` and `harness.leaderboard`: the CLI's run and leaderboard from Python."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import harness
from harness.cli.main import main
from harness.core.errors import SpecError

SPEC = {
    "name": "api",
    "tasks": ["digits"],
    "models": ["digits-mlp"],
    "suites": {"accuracy": {}},
    "limit": 60,
    "device": "cpu",
    "bootstrap_resamples": 100,
}


def test_run_spec_then_leaderboard_as_the_cli_does(tmp_path: Path, capsys) -> None:
    outcome = harness.run_spec(SPEC, out=tmp_path / "results")
    assert outcome.exit_code == 0 and len(outcome.outcomes) == 1
    assert outcome.run_dir.parent == tmp_path / "results" / "runs"
    frame = harness.leaderboard(tmp_path / "results")
    row = frame.iloc[0]
    assert (row["model"], row["task"], row["top1_acc_n"]) == ("digits-mlp", "digits", 60)
    assert row["top1_acc_ci_low"] <= row["top1_acc"] <= row["top1_acc_ci_high"]
    # the same numbers as the command's CSV
    capsys.readouterr()
    assert main(["leaderboard", str(tmp_path / "results"), "--format", "csv"]) == 0
    csv = capsys.readouterr().out
    assert f"{row['top1_acc']}" in csv
    # the same spec from a file, run again into the same folder: the same run, reused jobs
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(__import__("yaml").safe_dump(SPEC))
    again = harness.run_spec(spec_file, out=tmp_path / "results")
    assert again.run_id == outcome.run_id and again.exit_code == 0


def test_a_bad_spec_mapping_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as err:
        harness.run_spec({**SPEC, "seed": "one"}, out=tmp_path)
    assert "\n" not in str(err.value) and "seed" in str(err.value)


def test_leaderboard_needs_no_torch(tmp_path: Path) -> None:
    harness.run_spec(SPEC, out=tmp_path / "results")
    code = (
        "import sys, harness; "
        f"frame = harness.leaderboard({str(tmp_path / 'results')!r}); "
        "assert len(frame) == 1 and 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


def test_the_leaderboard_frame_carries_the_notes_of_its_board(tmp_path: Path) -> None:
    """Two different modules under the same default name (`Sequential`) saved into one folder:
    the board shows the latest and says so; the frame must say it too, as the CLI's CSV does."""
    import torch

    from tests.fixture_models import linear_digits

    x, y = torch.rand(30, 1, 8, 8), torch.arange(30) % 10
    for seed in (0, 1):
        harness.evaluate(
            linear_digits(seed), data=(x, y), device="cpu", bootstrap_resamples=0
        ).save(tmp_path)
    frame = harness.leaderboard(tmp_path)
    assert len(frame) == 1 and frame.columns[-1] == "notes"
    notes = frame.iloc[0]["notes"]
    assert any("(the latest)" in n and "not shown" in n for n in notes), notes
    # which way each number is better, as the JSON's `units` (an ECE is not an accuracy)
    assert frame.attrs["units"]["top1_acc"] == {"unit": "fraction", "higher_is_better": True}
    assert frame.attrs["units"]["ece"] == {"unit": "fraction", "higher_is_better": False}


def test_groups_gives_the_commands_rows_as_a_frame(tmp_path: Path, capsys) -> None:
    """`harness.groups` is `harness groups --format json` as a DataFrame, with the notes the
    command prints in `.attrs["notes"]`; bad arguments are one line naming them."""
    import json

    from harness.core.errors import ResultsError

    harness.run_spec(SPEC, out=tmp_path / "results")
    frame = harness.groups(tmp_path / "results", by="label", resamples=50)
    capsys.readouterr()
    assert main(["groups", str(tmp_path / "results"), "--by", "label", "--resamples", "50",
                 "--format", "json"]) == 0  # fmt: skip
    rows = json.loads(capsys.readouterr().out)
    assert len(frame) == len(rows) > 0
    assert frame.to_json(orient="records") == json.dumps(rows, separators=(",", ":"))
    assert isinstance(frame.attrs["notes"], list)
    with pytest.raises(ResultsError, match=r"^min_group_size: give a whole number of at least 1"):
        harness.groups(tmp_path / "results", min_group_size=0)
    with pytest.raises(ResultsError, match=r"^results folder .* does not exist"):
        harness.groups(tmp_path / "nowhere")
    # errors and notes name keyword arguments, not the command's flags
    with pytest.raises(ResultsError, match=r"^by='sx': no selected table stores group column"):
        harness.groups(tmp_path / "results", by="sx")
    with pytest.raises(ResultsError, match=r"^run='zz': no run of that id under "):
        harness.groups(tmp_path / "results", run="zz")
    with pytest.raises(ResultsError, match=r"match model='zz'; available: digits-mlp x "):
        harness.groups(tmp_path / "results", model="zz")
    with pytest.raises(ResultsError, match=r"has group columns; pass by=$"):
        harness.groups(tmp_path / "results")
    assert not any("--" in n for n in frame.attrs["notes"]), frame.attrs["notes"]


def test_variants_gives_the_commands_comparisons_as_records(tmp_path: Path, capsys) -> None:
    import json
    import re

    from harness.analysis.variant_deltas import board_notes
    from harness.core.errors import ResultsError
    from harness.stats.intervals import mcnemar_difference

    spec = {**SPEC, "models": [{"name": "digits-mlp", "variants": ["fp16"]}]}
    harness.run_spec(spec, out=tmp_path / "results")
    comparisons = harness.variants(tmp_path / "results")
    assert [(c.parent, c.variant, c.task) for c in comparisons] == [
        ("digits-mlp", "fp16", "digits")
    ]
    assert any(d.metric == "top1_acc" for d in comparisons[0].deltas)
    # each delta whose paired test is of the delta itself carries the interval that test
    # inverts (only means over cells had one); ECE's test is of the debiased ECE: none
    rows = {d.metric: d for d in comparisons[0].deltas}
    for name in ("top1_acc", "nll", "brier", "class_acc[class=3]"):
        d = rows[name]
        assert d.ci is not None and d.delta is not None, d
        assert d.ci[0] - 1e-12 <= d.delta <= d.ci[1] + 1e-12, d
    only_a, only_b = map(int, re.findall(r"(\d+) right only", rows["top1_acc"].detail))
    assert rows["top1_acc"].ci == mcnemar_difference(only_a, only_b, rows["top1_acc"].n)
    assert rows["ece"].test == "paired_resample" and rows["ece"].ci is None
    assert all("95% CI [" in n for n in board_notes(comparisons, "digits", "top1_acc"))
    capsys.readouterr()
    assert main(["variants", str(tmp_path / "results"), "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert json.loads(json.dumps([c.to_dict() for c in comparisons], default=str)) == shown
    with pytest.raises(ResultsError, match=r"^results folder .* does not exist"):
        harness.variants(tmp_path / "nowhere")


def test_groups_by_label_name_each_class_by_its_class_name(tmp_path: Path) -> None:
    """`--by label` groups by class index; the boards call the same classes by their names
    (`class_acc[class=setosa]`), so each row carries its class name in `label`, as a declared
    group label is carried (a class whose name is its index, as digits' are, gets none)."""
    import torch

    from tests.fixture_models import linear_digits

    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    x, y = torch.rand(40, 1, 8, 8), torch.arange(40) % 10
    harness.evaluate(
        linear_digits(0), data=(x, y), class_names=words, device="cpu", bootstrap_resamples=0
    ).save(tmp_path)
    frame = harness.groups(tmp_path, by="label", resamples=20)
    groups = frame[frame["group"] != "*"]
    assert dict(zip(groups["group"], groups["label"], strict=True)) == {
        str(i): word for i, word in enumerate(words)
    }
