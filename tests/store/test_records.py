"""Typed run manifests and job records: old folders load unchanged, unknown or broken ones fail
closed with one line naming the file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.core.errors import ResultsError
from harness.core.manifest import (
    SCHEMA_VERSION,
    JobHeader,
    JobRecord,
    JobStatus,
    Record,
    RunManifest,
    RunStatus,
)
from harness.store import checksums
from harness.store.record_file import read_record
from harness.store.run_store import RunStore, load_jobs, read_job
from tests.store.records import job_record

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "results" / "baselines" / "quickstart"


def _run_dir(root: Path) -> Path:
    (run,) = (root / "runs").iterdir()
    return run


@pytest.fixture
def baseline_copy(tmp_path: Path) -> Path:
    out = tmp_path / "quickstart"
    shutil.copytree(BASELINE, out)
    return out


def _reseal(path: Path, edit: dict[str, object] | None = None, drop: str | None = None) -> None:
    """Edit a sealed record and seal it again, as a (newer or broken) writer would have."""
    raw = json.loads(path.read_text())
    raw.update(edit or {})
    if drop is not None:
        del raw[drop]
    path.write_text(json.dumps(checksums.seal(raw), indent=2, sort_keys=True))


def test_the_committed_baseline_loads_as_typed_records() -> None:
    loaded = load_jobs(BASELINE)
    assert len(loaded) == 50  # 10 models (mnist ones included) on their tasks x 5 suites
    manifest = loaded[0][0]
    assert isinstance(manifest, RunManifest)
    assert manifest.schema_version == SCHEMA_VERSION and manifest.status == RunStatus.COMPLETED
    assert [e.status for e in manifest.jobs].count(
        JobStatus.SKIPPED
    ) == 8  # fairness on digits, mnist, mnist-seen
    statuses = {j.record.status for _, j in loaded}
    assert statuses == {JobStatus.COMPLETED, JobStatus.SKIPPED}
    diabetes = [j for _, j in loaded if j.record.task == "diabetes"]
    assert {j.record.task_summary.num_classes for j in diabetes} == {2}
    assert {j.record.task_summary.group_columns for j in diabetes} == {("sex", "age_band")}
    variant = next(j for _, j in loaded if j.record.model == "digits-mlp@int8")
    assert variant.record.model_description.lineage == ("digits-mlp", "int8")


def test_records_rewrite_to_the_same_json_they_were_read_from() -> None:
    """The typed records keep every key and value: re-sealing gives the stored checksum."""
    run = _run_dir(BASELINE)
    files: list[tuple[Path, type[Record]]] = [(run / "manifest.json", RunManifest)]
    files += [(p, JobRecord) for p in sorted(run.glob("jobs/*/job.json"))]
    for path, kind in files:
        raw = json.loads(path.read_text())
        again = checksums.seal(read_record(path, kind).to_json())
        assert again == raw, path


def test_a_newer_schema_version_is_refused_with_one_line(
    baseline_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = _run_dir(baseline_copy) / "manifest.json"
    _reseal(manifest, {"schema_version": SCHEMA_VERSION + 1})
    with pytest.raises(ResultsError, match="schema version 2, newer than this harness reads"):
        load_jobs(baseline_copy)
    assert main(["leaderboard", str(baseline_copy)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(manifest) in err and "upgrade" in err


def test_a_newer_job_record_is_refused(baseline_copy: Path) -> None:
    job = next(_run_dir(baseline_copy).glob("jobs/*/job.json"))
    _reseal(job, {"schema_version": 7})
    with pytest.raises(ResultsError, match=f"{job}.*schema version 7"):
        read_job(job.parent)


def test_a_job_record_missing_a_required_field_is_refused_naming_the_file(
    baseline_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = next(_run_dir(baseline_copy).glob("jobs/*--accuracy--*/job.json"))
    _reseal(job, drop="task_summary")
    with pytest.raises(ResultsError) as info:
        load_jobs(baseline_copy)
    message = str(info.value)
    assert str(job) in message and "task_summary: required key is missing" in message
    assert main(["check", "--baseline", str(BASELINE), "--current", str(baseline_copy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: results file") and err.count("\n") == 1
    assert "Traceback" not in err


def test_a_record_with_a_wrong_type_or_status_is_refused(baseline_copy: Path) -> None:
    jobs = sorted(_run_dir(baseline_copy).glob("jobs/*/job.json"))
    _reseal(jobs[0], {"status": "failed"})
    with pytest.raises(ResultsError, match="a stored job is completed or skipped"):
        read_job(jobs[0].parent)
    _reseal(jobs[1], {"seed": "zero"})
    with pytest.raises(ResultsError, match=r"seed: Input should be a valid integer"):
        read_job(jobs[1].parent)


def test_a_record_without_schema_version_is_refused(baseline_copy: Path) -> None:
    manifest = _run_dir(baseline_copy) / "manifest.json"
    _reseal(manifest, drop="schema_version")
    with pytest.raises(ResultsError, match="has no schema_version"):
        RunStore(manifest.parent).read_manifest()


def test_unknown_keys_of_the_same_version_are_ignored(baseline_copy: Path) -> None:
    """A newer harness may add optional fields without a new schema version."""
    job = next(_run_dir(baseline_copy).glob("jobs/*/job.json"))
    before = read_job(job.parent).record
    _reseal(job, {"added_later": {"x": 1}})
    after = read_job(job.parent).record
    assert after.replace(checksum=None) == before.replace(checksum=None)


def test_written_records_read_back_equal(tmp_path: Path) -> None:
    store = RunStore.open_for_writing(tmp_path, "r1")
    record = job_record("m", "throughput", notes=("one note",))
    path = store.write_job(record=record, table=None, metrics=[], artifacts={})
    back = read_job(path).record
    assert back.files.keys() == {"metrics.json", "artifacts.json"}
    assert back.replace(files={}, checksum=None) == record.replace(files={}, checksum=None)
    stored = json.loads((path / "job.json").read_text())
    assert "reason" not in stored and "shards" not in stored  # unset keys stay absent


def test_finishing_a_header_keeps_only_what_was_said() -> None:
    header = JobHeader.model_validate(
        job_record("m", "accuracy").model_dump(include=set(JobHeader.model_fields))
    )
    skipped = header.finish(JobStatus.SKIPPED, seconds=0.5, reason="does not apply")
    assert skipped.to_json().keys() == {*JobHeader.model_fields, "status", "seconds", "reason"}
    done = header.finish(JobStatus.COMPLETED, seconds=1.0, finished="t", notes=[], shards=3)
    assert done.notes == () and done.shards == 3 and done.reason is None
    assert {"notes", "finished", "shards"} <= done.to_json().keys()


def test_records_and_store_import_no_torch() -> None:
    code = (
        "import harness.core.manifest, harness.store.run_store, harness.store.record_file; "
        "import sys; assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
