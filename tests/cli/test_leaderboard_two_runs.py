"""A results folder with two runs of the same models: the board shows the results the newest
run recorded (harness/store/recency.py) and says which run it shows and which it leaves out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.main import main
from tests.conftest import TINY_SPEC


def test_the_board_names_the_run_it_shows(
    weights_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    for name, text in [
        ("a.yaml", TINY_SPEC),
        # other results of the same models on the same samples (the seed would draw another
        # `limit` subset: another task fingerprint, another board)
        ("b.yaml", TINY_SPEC.replace("bootstrap_resamples: 200", "bootstrap_resamples: 300")),
        ("c.yaml", TINY_SPEC.replace("name: tiny", "name: again")),  # same keys as a: copies
    ]:
        (weights_dir / name).write_text(text)
        assert main(["run", str(weights_dir / name), "--out", str(out)]) == 0
    runs = {
        p.name.split("-")[0] + ("300" if "resamples: 300" in _spec(p) else ""): p.name
        for p in (out / "runs").iterdir()
    }
    capsys.readouterr()
    assert main(["leaderboard", str(out), "--width", "0"]) == 0  # notes on one line each
    text = capsys.readouterr().out
    notes = [ln for ln in text.splitlines() if "not shown" in ln]
    assert len(notes) == 2  # lin-a and lin-b
    # the newest run's results are shown (c: a copy of a's); b's other results are hidden (a
    # holds the same result as the one shown: not named)
    for note in notes:
        assert f"shown from run {runs['again']} (the latest)" in note
        assert f"in run(s) {runs['tiny300']} are not shown" in note
    assert main(["leaderboard", str(out / "runs" / runs["tiny"])]) == 0
    assert "not shown" not in capsys.readouterr().out


def _spec(run: Path) -> str:
    return (run / "spec.yaml").read_text()


def test_the_latest_is_what_the_newest_run_recorded_even_when_reused(
    weights_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Good weights, then bad weights over them, then good again under another spec (its job is
    a copy of the first computation): the boards show the good number, the one the newest run
    recorded, not the bad one computed in between. With `--models` leaving the model out of the
    newest run's list, the copy it recorded earlier still counts from when it was copied."""
    out = tmp_path / "out"
    weights = weights_dir / "linear.safetensors"
    good_weights = weights.read_bytes()
    (weights_dir / "a.yaml").write_text(TINY_SPEC)
    (weights_dir / "c.yaml").write_text(TINY_SPEC.replace("name: tiny", "name: again"))
    assert main(["run", str(weights_dir / "a.yaml"), "--out", str(out)]) == 0
    good = _brier(capsys, out, "lin-a")
    weights.write_bytes((weights_dir / "linear1.safetensors").read_bytes())  # other weights
    assert main(["run", str(weights_dir / "a.yaml"), "--out", str(out)]) == 0
    bad = _brier(capsys, out, "lin-a")
    assert bad != good
    weights.write_bytes(good_weights)
    assert main(["run", str(weights_dir / "c.yaml"), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "not rerun" in printed.out + printed.err  # lin-a reused, not recomputed
    assert _brier(capsys, out, "lin-a") == good
    assert main(["leaderboard", str(out), "--width", "0"]) == 0
    notes = [ln for ln in capsys.readouterr().out.splitlines() if "lin-a: shown from run" in ln]
    assert (
        len(notes) == 1 and "shown from run again-" in notes[0]
    )  # before: from run tiny-, the bad number
    assert "in run(s) tiny-" in notes[0]
    # the newest invocation of run `again` runs lin-b only: lin-a's copy is no longer in its
    # manifest, yet it was recorded after the bad run
    assert main(["run", str(weights_dir / "c.yaml"), "--out", str(out), "--models", "lin-b"]) == 0
    assert _brier(capsys, out, "lin-a") == good
    # the bad weights again, run under the first spec (the run folder created first, all its
    # jobs cached): its numbers are the newest, on the board and in the model-index export
    # (which picked the job of the run folder created last)
    weights.write_bytes((weights_dir / "linear1.safetensors").read_bytes())
    assert main(["run", str(weights_dir / "a.yaml"), "--out", str(out)]) == 0
    assert _brier(capsys, out, "lin-a") == bad
    hub = pytest.importorskip("huggingface_hub")
    assert main(["export", str(out), "--to", "model-index", "--out", str(tmp_path / "cards")]) == 0
    card = hub.ModelCard.load(tmp_path / "cards" / "lin-a" / "README.md")
    (brier,) = [e.metric_value for e in card.data.eval_results if e.metric_type == "brier"]
    assert brier == pytest.approx(bad)


def _brier(capsys: pytest.CaptureFixture[str], out: Path, model: str) -> float:
    capsys.readouterr()
    assert main(["leaderboard", str(out), "--format", "json"]) == 0
    (row,) = [r for r in json.loads(capsys.readouterr().out) if r["model"] == model]
    return float(row["brier"])  # untrained models: accuracies can tie, Brier scores do not


def test_boards_split_by_limit_say_which_holds_the_latest_results(
    weights_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same spec run with --limit 120, then --limit 60: two boards of digits (other data
    fingerprints), ordered by fingerprint, and neither said which one the newest run wrote."""
    out = tmp_path / "out"
    spec = weights_dir / "a.yaml"
    spec.write_text(TINY_SPEC)
    for limit in ("120", "60"):
        assert main(["run", str(spec), "--out", str(out), "--limit", limit]) == 0
    capsys.readouterr()
    assert main(["leaderboard", str(out), "--format", "json"]) == 0
    notes = {row["board"]: row["notes"] for row in json.loads(capsys.readouterr().out)}
    assert len(notes) == 2
    (latest,) = [b for b in notes if "n=60" in b]
    (earlier,) = [b for b in notes if "n=120" in b]
    split = [n for n in notes[latest] if "different data fingerprints" in n]
    assert split and ", limit 60" in split[0] and ", limit 120" in split[0], split
    assert split[0].endswith("this board holds its latest results"), split
    (other,) = [n for n in notes[earlier] if "different data fingerprints" in n]
    assert "an earlier board: the latest results are on the board of data " in other, other
    assert other.endswith(", limit 60"), other
