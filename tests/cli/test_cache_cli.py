"""`harness cache`: where the result cache is, what each entry holds, and pruning it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from harness.cli.cache import age_seconds, size_bytes
from harness.cli.main import main
from harness.store.result_cache import ResultCache
from harness.suites.accuracy import AccuracySuite
from tests.conftest import TINY_SPEC


def _out(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["cache", *args, "--width", "0"])
    got = capsys.readouterr()
    return code, got.out, got.err


def test_show_and_prune(
    weights_dir: Path, tmp_path: Path, result_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _out(capsys)
    assert code == 0 and out.startswith(f"result cache: {result_cache} (HARNESS_CACHE moves it)")
    assert "0 entries, 0 B" in out
    spec = weights_dir / "tiny.yaml"
    spec.write_text(TINY_SPEC)
    assert main(["run", str(spec), "--out", str(tmp_path / "a")]) == 0
    run_id = next((tmp_path / "a" / "runs").iterdir()).name
    code, out, _ = _out(capsys, "show")
    lines = out.splitlines()
    assert code == 0 and "2 entries, " in lines[1]
    header = lines[3].split()
    assert header[:6] == ["key", "model", "task", "suite", "harness", "computed"]
    rows = [ln.split() for ln in lines[4:]]
    assert sorted(r[1] for r in rows) == ["lin-a", "lin-b"]
    assert all(
        r[2:6] == ["digits", "accuracy", f"v{AccuracySuite.version}", "0.1.0"] and r[6] == run_id
        for r in rows
    )
    code, out, _ = _out(capsys, "show", "--format", "json")
    shown = json.loads(out)
    assert shown["root"] == str(result_cache) and len(shown["entries"]) == 2
    entry = shown["entries"][0]
    assert entry["run"] == run_id and entry["damaged"] is None and entry["size_bytes"] > 0
    assert "samples.parquet" in entry["files"] and len(entry["job_key"]) == 64
    # lin-a's entry unused for two days: --older-than 1d removes it only (dry run first)
    cache = ResultCache(result_cache)
    old = next(e for e in cache.contents().entries if e.record and e.record.model == "lin-a")
    two_days_ago = time.time() - 2 * 86400
    os.utime(cache.entry_path(old.key), (two_days_ago, two_days_ago))
    code, out, _ = _out(capsys, "prune", "--older-than", "1d", "--dry-run")
    assert code == 0 and out.startswith("would remove 1 entry and 0 unfinished writes")
    assert "lin-a" in out and "lin-b" not in out and len(cache.contents().entries) == 2
    for limit in (["--older-than", "1d"], ["--max-size", "1GB"]):  # --all won silently
        code, _, err = _out(capsys, "prune", "--all", *limit)
        assert code == 2 and f"--all and {limit[0]} cannot be combined" in err
        assert len(cache.contents().entries) == 2
    code, out, _ = _out(capsys, "prune", "--older-than", "1d")
    assert out.startswith("removed 1 entry") and "; 1 entry (" in out
    code, out, _ = _out(capsys, "prune", "--max-size", "1kB")  # the last one is larger
    assert out.startswith("removed 1 entry") and cache.contents().entries == []
    code, _, err = _out(capsys, "prune")
    assert code == 2 and "say what to remove: --all, --older-than AGE or --max-size SIZE" in err


def test_show_says_when_runs_leave_the_cache_alone(
    result_cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HARNESS_NO_CACHE", "1")
    code, out, _ = _out(capsys)
    assert code == 0 and "runs neither read nor write it: HARNESS_NO_CACHE is set" in out


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("500MB", 500 * 10**6),
        ("2G", 2 * 10**9),
        ("1.5GiB", int(1.5 * 2**30)),
        ("10k", 10**4),
    ],
)
def test_sizes(text: str, value: int) -> None:
    assert size_bytes(text) == value


def test_a_capital_m_age_is_refused_not_read_as_minutes(
    result_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--older-than 6M` (six months, as ISO 8601 periods and date libraries write it) was read
    as 6 minutes: a prune meant to drop half-year-old entries removed all but the last few
    minutes' (nothing said so but the count). A capital M is refused, naming both readings."""
    assert age_seconds("6m") == 360  # lower case stays minutes
    entry = result_cache / "v1" / "entries" / "ab" / ("ab" + "0" * 62)
    entry.mkdir(parents=True)
    assert main(["cache", "prune", "--older-than", "6M"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'6M'" in err and "minutes" in err and "months" in err
    assert entry.is_dir()


def test_ages_and_bad_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert age_seconds("30d") == 30 * 86400 and age_seconds("12h") == 43200
    assert age_seconds("2w") == 14 * 86400 and age_seconds("90m") == 5400
    for args, message in [
        (["--older-than", "30"], "'30' is not an age: a number and a unit"),
        (["--max-size", "lots"], "'lots' is not a size"),
    ]:
        assert main(["cache", "prune", *args]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1  # one line, no usage block


def test_a_prune_the_file_system_refuses_names_the_entry(
    result_cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cache on a read-only mount (or without write permission): one line naming the entry
    and the reason, exit 2 (it said `error: Read-only file system: <bare key>`)."""
    import errno

    key = "ab" + "0" * 62
    entry = result_cache / "v1" / "entries" / "ab" / key
    entry.mkdir(parents=True)
    (entry / "job.json").write_text("{not json")  # damaged: every prune removes it

    def refuse(src: object, dst: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system", src)

    monkeypatch.setattr(os, "rename", refuse)
    code, out, err = _out(capsys, "prune", "--all")
    assert code == 2 and out == ""
    (line,) = err.splitlines()
    assert line == (f"error: result cache: cannot remove entry {entry}: Read-only file system")
    assert entry.is_dir()


def test_format_without_show(result_cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """docs/cache.md's synopsis is `harness cache [show] [--format table|json]`: show is the
    default action, but `harness cache --format json` was refused as `argument action: invalid
    choice: 'json'`, as if json were an action. It shows the cache as JSON, as `show` does."""
    code, out, err = _out(capsys, "--format", "json")
    assert code == 0 and err == "", err
    assert json.loads(out)["root"] == str(result_cache)
    code, out, _ = _out(capsys, "--format", "json", "show")  # before the action, as --width
    assert code == 0 and json.loads(out)["entries"] == []
    code, out, _ = _out(capsys, "--format", "json", "show", "--format", "table")  # the last wins
    assert code == 0 and out.startswith("result cache: ")


def test_prune_as_json(
    weights_dir: Path, tmp_path: Path, result_cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`harness cache --format json prune --all` printed the table, silently (the format was
    show's only): a CI script that parses it failed on text. Prune gives JSON too: the removed
    entries as show gives them, and what it kept; a dry run removes nothing."""
    spec = weights_dir / "tiny.yaml"
    spec.write_text(TINY_SPEC)
    assert main(["run", str(spec), "--out", str(tmp_path / "a")]) == 0
    code, out, _ = _out(capsys, "prune", "--all", "--dry-run", "--format", "json")
    planned = json.loads(out)
    assert code == 0 and planned["dry_run"] is True and planned["kept_entries"] == 0
    assert sorted(e["model"] for e in planned["removed"]) == ["lin-a", "lin-b"]
    assert planned["removed_size_bytes"] == sum(e["size_bytes"] for e in planned["removed"])
    assert len(ResultCache(result_cache).contents().entries) == 2
    code, out, _ = _out(capsys, "--format", "json", "prune", "--all")  # before the action
    done = json.loads(out)
    assert code == 0 and done["dry_run"] is False and len(done["removed"]) == 2
    assert done["root"] == str(result_cache) and ResultCache(result_cache).contents().entries == []


@pytest.mark.parametrize("width", ["0", "100"])
@pytest.mark.parametrize("command", [["show"], ["prune", "--all", "--dry-run"]])
def test_a_damaged_entry_is_named_with_its_whole_reason(
    result_cache: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    width: str,
    command: list[str],
) -> None:
    """A damaged entry's reason was cut at 80 characters in the table, path first, so in a
    cache whose path is long the part saying what is wrong was lost (`(damaged: <path> is a
    symbolic link, not a folder: no entry`, the closing parenthesis gone too, with `--width 0`
    as well). Every word of the reason is shown, at any width."""
    target = tmp_path / "elsewhere"
    target.mkdir()
    shard = result_cache / "v1" / "entries" / "ab"
    shard.parent.mkdir(parents=True, exist_ok=True)
    shard.symlink_to(target, target_is_directory=True)
    (entry,) = ResultCache(result_cache).contents().entries
    assert entry.problem is not None and len(entry.problem) > 80
    capsys.readouterr()
    assert main(["cache", *command, "--width", width]) == 0
    out = capsys.readouterr().out
    assert " ".join(entry.problem.split()) in " ".join(out.split())
    if width != "0":
        assert max(len(line) for line in out.splitlines()) <= int(width)
