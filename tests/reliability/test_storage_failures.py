"""Read-only output and a full disk mid-write: non-zero exit, one line naming the file, and a
manifest that never claims success; the next run with space reruns only what is missing."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from harness.core.sample_table import SampleTable
from harness.store import atomic
from harness.store.run_store import load_jobs
from tests.reliability.conftest import cli, error_lines


def _manifest(out: Path) -> dict:
    return json.loads(next(out.glob("runs/*/manifest.json")).read_text())


def test_disk_full_while_writing_a_table(
    tiny_spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    original = SampleTable.write_parquet
    calls = []

    def full_on_second(self: SampleTable, path: Path) -> None:
        calls.append(path)
        if len(calls) == 2:
            path.write_bytes(b"PAR1 half")  # a partial file, then the device is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        original(self, path)

    monkeypatch.setattr(SampleTable, "write_parquet", full_on_second)
    code, _, err = cli("run", tiny_spec, "--out", out)
    assert code == 1
    lines = error_lines(err)
    assert len(lines) == 1 and "lin-b" in lines[0]
    assert "cannot write results file" in lines[0] and "samples.parquet" in lines[0]
    assert "No space left on device" in lines[0]
    manifest = _manifest(out)
    assert manifest["status"] == "failed"
    assert [j["status"] for j in manifest["jobs"]] == ["completed", "failed"]
    assert len(load_jobs(out)) == 1  # the half-written job never looks complete
    assert not list(out.glob("runs/*/jobs/.*"))

    monkeypatch.setattr(SampleTable, "write_parquet", original)
    code, _, err = cli("run", tiny_spec, "--out", out)
    assert code == 0, err
    assert [j["status"] for j in _manifest(out)["jobs"]] == ["cached", "completed"]


def test_disk_full_on_the_final_manifest(
    tiny_spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    original = atomic.write_bytes

    def full_at_success(path: Path, data: bytes) -> None:
        if (
            path.name == "manifest.json" and b'\n  "status": "completed"' in data
        ):  # the run's status
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        original(path, data)

    monkeypatch.setattr(atomic, "write_bytes", full_at_success)
    code, _, err = cli("run", tiny_spec, "--out", out)
    assert code == 2, err
    lines = error_lines(err)
    assert len(lines) == 1 and "manifest.json" in lines[0] and "No space left" in lines[0]
    assert _manifest(out)["status"] == "running"  # never "completed"
    code, _, err = cli(
        "check", "--baseline", next(out.glob("runs/*")), "--current", next(out.glob("runs/*"))
    )
    assert code == 2 and "partial (status running)" in err


def test_read_only_results_folder(
    tiny_spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "ro"
    out.mkdir()
    if os.geteuid() == 0:  # root ignores permissions: simulate a read-only mount
        real_mkdir = Path.mkdir

        def erofs(self: Path, *args: object, **kwargs: object) -> None:
            if str(self).startswith(str(out)):
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
            real_mkdir(self, *args, **kwargs)

        monkeypatch.setattr(Path, "mkdir", erofs)
    else:
        out.chmod(0o555)
    code, _, err = cli("run", tiny_spec, "--out", out)
    assert code == 2
    lines = error_lines(err)
    assert len(lines) == 1 and f"cannot write results to {out}" in lines[0]
    assert not list(out.rglob("*"))


def test_a_runs_or_run_folder_as_out_is_refused_naming_the_results_folder(
    tiny_spec: Path, tmp_path: Path
) -> None:
    """`--out results/runs` (or a run folder) nested the new run where `harness leaderboard
    results` never looks: refused in one line naming the results folder, nothing written."""
    out = tmp_path / "results"
    assert cli("run", tiny_spec, "--out", out)[0] == 0
    (run,) = (out / "runs").iterdir()
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    for wrong, says in ((out / "runs", "holds run folders itself"), (run, "is a run folder")):
        code, _, err = cli("run", tiny_spec, "--out", wrong)
        assert code == 2
        (line,) = error_lines(err)
        assert (
            says in line
            and f"pass the results folder{' that holds it' if wrong == run else ''} ({out})" in line
        )
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


def test_a_folder_that_cannot_be_written_in_is_named_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--out X` on a read-only X said `cannot write in X (for X)`, naming the folder twice
    (probe100); a missing folder under a read-only one still names both."""
    import tempfile

    from harness.cli.paths import PathArgumentError, output_folder

    def erofs(*args: object, **kwargs: object) -> str:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "mkdtemp", erofs)
    with pytest.raises(PathArgumentError) as err:
        output_folder(tmp_path, "--out", create=False)
    assert str(err.value) == f"--out: cannot write in {tmp_path}: Read-only file system"
    with pytest.raises(PathArgumentError) as err:
        output_folder(tmp_path / "new", "--out", create=False)
    assert f"cannot write in {tmp_path} (for {tmp_path / 'new'})" in str(err.value)
