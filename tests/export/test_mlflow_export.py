"""`harness export --to mlflow` into a real SQLite tracking store, read back with MlflowClient."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.cli.main import main
from harness.export.exported_jobs import metric_names
from harness.export.mlflow_export import export_mlflow, shown_uri
from harness.store.run_store import load_jobs
from tests.present.synthetic import HOSTILE, write_synthetic_run

if TYPE_CHECKING:  # mlflow is imported by the tests that use it: not at collection (~1 s a worker)
    from mlflow import MlflowClient
    from mlflow.entities import Run

SUITES = {"accuracy", "adversarial", "shift", "fairness", "throughput"}


def _client(uri: str) -> MlflowClient:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _job_runs(uri: str) -> list[Run]:
    client = _client(uri)
    experiment = client.get_experiment_by_name("harness")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    return [r for r in runs if "mlflow.parentRunId" in r.data.tags]


def _run_of(runs: list[Run], model: str, suite: str) -> Run:
    (run,) = [
        r for r in runs if r.data.params["model"] == model and r.data.params["suite"] == suite
    ]
    return run


def test_every_job_is_a_run_once_with_params_metrics_flags_and_table(
    results: Path, tracking_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(results), "--to", "mlflow", "--tracking-uri", tracking_uri]) == 0
    assert "10 job run(s) logged, 0 already there" in capsys.readouterr().out
    runs = _job_runs(tracking_uri)
    assert len(runs) == 10 and {r.info.status for r in runs} == {"FINISHED"}
    assert {(r.data.params["model"], r.data.params["suite"]) for r in runs} == {
        (m, s) for m in ("good-model", HOSTILE) for s in SUITES
    }
    stored = {
        (job.record.model, job.record.suite): (manifest, job)
        for manifest, job in load_jobs(results)
    }
    manifest, job = stored[("good-model", "adversarial")]
    run = _run_of(runs, "good-model", "adversarial")
    params = run.data.params
    assert params["spec_hash"] == manifest.spec_hash
    assert params["suite_config_hash"] == job.record.suite_config_hash
    assert params["task_fingerprint"] == job.record.task_summary.fingerprint
    assert params["version.torch"] == manifest.versions["torch"]
    assert params["task"] == "digits" and params["job_key"] == job.record.key
    # every stored value with its interval bounds and n, under the documented names
    names = metric_names(job.metrics)
    assert set(names) == {
        "robust_acc/attack_linf_pgd/eps_0.05/norm_linf",
        "robust_acc/attack_linf_pgd/eps_0.1/norm_linf",
    }
    for name, record in names.items():
        assert record.value is not None and record.ci is not None
        assert run.data.metrics[name] == pytest.approx(record.value)
        assert run.data.metrics[f"{name}.ci_low"] == pytest.approx(record.ci[0])
        assert run.data.metrics[f"{name}.ci_high"] == pytest.approx(record.ci[1])
        assert run.data.metrics[f"{name}.n"] == record.n
    # the reliability flag, as a tag on the metric it belongs to
    flagged = "robust_acc/attack_linf_pgd/eps_0.1/norm_linf"
    assert run.data.tags[f"flags.{flagged}"] == "gradient_masking_suspected"
    assert run.data.tags["harness.flagged_metrics"] == flagged
    assert run.data.tags["harness.partial"] == "false"
    client = _client(tracking_uri)
    files = {f.path for f in client.list_artifacts(run.info.run_id)}
    assert files == {"samples.parquet", "job.json", "metrics.json"}
    throughput = _run_of(runs, HOSTILE, "throughput")  # stores no per-sample table
    assert {f.path for f in client.list_artifacts(throughput.info.run_id)} == {
        "job.json",
        "metrics.json",
    }
    # the harness run itself: the parent of every job run, with the spec and manifest
    parent = client.get_run(run.data.tags["mlflow.parentRunId"])
    assert parent.data.tags["harness.job_id"] == manifest.run_id
    assert parent.info.status == "FINISHED"
    assert {f.path for f in client.list_artifacts(parent.info.run_id)} >= {"manifest.json"}
    # exporting again logs nothing twice
    again = export_mlflow(results, tracking_uri=tracking_uri)
    assert (again.logged, again.kept, again.replaced) == (0, 10, 0)
    assert len(_job_runs(tracking_uri)) == 10


def test_an_interrupted_export_is_finished_by_the_next(
    results: Path, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run whose logging failed is left FAILED (never FINISHED, so never looks complete),
    the command says so in one line, and the next export deletes and relogs it."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    calls = {"n": 0}
    real = MlflowClient.log_artifact

    def fail_on_fifth(self: MlflowClient, run_id: str, local_path: str, *args: object) -> None:
        calls["n"] += 1
        if calls["n"] == 5:
            raise MlflowException("artifact store went away")
        real(self, run_id, local_path, *args)

    monkeypatch.setattr(MlflowClient, "log_artifact", fail_on_fifth)
    code = main(["export", str(results), "--to", "mlflow", "--tracking-uri", tracking_uri])
    assert code == 2
    statuses = sorted(r.info.status for r in _job_runs(tracking_uri))
    assert "FAILED" in statuses and statuses.count("FINISHED") < 10
    monkeypatch.setattr(MlflowClient, "log_artifact", real)
    done = export_mlflow(results, tracking_uri=tracking_uri)
    assert done.replaced == 1 and done.kept + done.logged == 10
    runs = _job_runs(tracking_uri)
    assert len(runs) == 10 and {r.info.status for r in runs} == {"FINISHED"}


def test_a_partial_export_is_marked_whole_once_the_run_is_finished(
    results: Path, tmp_path: Path, tracking_uri: str
) -> None:
    """Exported with --allow-partial, then the run resumed and exported again: the runs kept
    from the first export no longer say partial, and the harness run's manifest artifact is
    the finished one (a stale `harness.partial: true` described complete results as partial)."""
    job = next((results / "runs").glob("*/jobs/good-model--digits--accuracy--*"))
    shutil.copytree(job, tmp_path / "aside")
    shutil.rmtree(job)  # a job not written yet: incomplete results
    first = export_mlflow(results, tracking_uri=tracking_uri, allow_partial=True)
    assert first.logged == 9
    runs = _job_runs(tracking_uri)
    assert {r.data.tags["harness.partial"] for r in runs} == {"true"}
    shutil.copytree(tmp_path / "aside", job)  # the resumed run wrote it
    again = export_mlflow(results, tracking_uri=tracking_uri)
    assert (again.logged, again.kept) == (1, 9)
    runs = _job_runs(tracking_uri)
    assert {r.data.tags["harness.partial"] for r in runs} == {"false"}
    client = _client(tracking_uri)
    parent = client.get_run(runs[0].data.tags["mlflow.parentRunId"])
    assert parent.data.tags["harness.partial"] == "false"
    logged = Path(client.download_artifacts(parent.info.run_id, "manifest.json", str(tmp_path)))
    manifest = next((results / "runs").glob("*/manifest.json"))
    assert logged.read_bytes() == manifest.read_bytes()


def test_the_report_is_logged_again_when_an_export_adds_jobs_to_a_run(
    results: Path, tmp_path: Path, tracking_uri: str
) -> None:
    """Exported with --allow-partial and the report of that partial run, then the run resumed,
    reported again and exported again: the manifest and spec were logged again, the report was
    not, so the run's `report/` showed the partial results (without the new job's numbers)
    beside a manifest of the finished run."""
    job = next((results / "runs").glob("*/jobs/good-model--digits--accuracy--*"))
    shutil.copytree(job, tmp_path / "aside")
    shutil.rmtree(job)
    site = results / "report"
    site.mkdir()
    (site / "index.html").write_text("<html>partial</html>")
    assert export_mlflow(results, tracking_uri=tracking_uri, allow_partial=True).logged == 9
    shutil.copytree(tmp_path / "aside", job)  # the resumed run wrote it
    (site / "index.html").write_text("<html>finished</html>")  # and reported again
    (site / "model-new.html").write_text("<html>a page</html>")
    assert export_mlflow(results, tracking_uri=tracking_uri).logged == 1
    client = _client(tracking_uri)
    parent_id = _job_runs(tracking_uri)[0].data.tags["mlflow.parentRunId"]
    listed = [f.path for f in client.list_artifacts(parent_id, "report")]
    assert listed == ["report/index.html", "report/model-new.html"]
    logged = Path(client.download_artifacts(parent_id, "report/index.html", str(tmp_path)))
    assert logged.read_text() == "<html>finished</html>"
    assert export_mlflow(results, tracking_uri=tracking_uri).logged == 0  # nothing new: kept


def test_two_exports_into_one_experiment_run_one_after_the_other(
    results: Path, tracking_uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Two exports at once each logged every job (and one deleted the other's RUNNING runs as
    an interrupted export's): the second now waits for the first and finds its runs there."""
    import fcntl
    import hashlib
    import os
    import tempfile
    import threading

    digest = hashlib.sha256(f"{tracking_uri}\0harness".encode()).hexdigest()[:16]
    lock = Path(tempfile.gettempdir()) / f"harness-mlflow-export-{digest}.lock"
    fd = os.open(lock, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # an export into "harness" in flight
        other = export_mlflow(results, tracking_uri=tracking_uri, experiment="other")
        assert other.logged == 10  # another experiment: not held up
        done: list[object] = []
        waiting = threading.Thread(
            target=lambda: done.append(export_mlflow(results, tracking_uri=tracking_uri))
        )
        waiting.start()
        waiting.join(2.0)
        assert waiting.is_alive() and not done
        assert "another harness export into MLflow experiment 'harness'" in caplog.text
    finally:
        os.close(fd)  # the first export ends
    waiting.join(60)
    assert len(done) == 1
    again = export_mlflow(results, tracking_uri=tracking_uri)
    assert (again.logged, again.kept) == (0, 10)
    assert len(_job_runs(tracking_uri)) == 10  # each job once


def test_the_same_spec_measured_again_in_another_folder_is_logged_again(
    tmp_path: Path, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two results folders of one spec (a fresh --out, another machine) share the run id and
    the job folders' names: the second folder's numbers (its timings measured again) were
    counted "already there" and never logged, so MLflow kept the first folder's. Each folder
    is now a harness run of its own in MLflow, and exporting either again logs nothing."""
    from harness.export.exported_jobs import exported_jobs

    write_synthetic_run(tmp_path / "a", models={"good-model": 0.9, HOSTILE: 0.6})
    monkeypatch.setattr("tests.store.records.WHEN", "2026-02-01T00:00:00+00:00")
    write_synthetic_run(tmp_path / "b", models={"good-model": 0.5, HOSTILE: 0.6}, seed=1)
    first, second = (exported_jobs(tmp_path / name) for name in ("a", "b"))
    assert [job.job_id for job in first] == [job.job_id for job in second]
    assert export_mlflow(tmp_path / "a", tracking_uri=tracking_uri).logged == 10
    done = export_mlflow(tmp_path / "b", tracking_uri=tracking_uri)
    assert (done.logged, done.kept) == (10, 0)
    for name in ("a", "b"):
        again = export_mlflow(tmp_path / name, tracking_uri=tracking_uri)
        assert (again.logged, again.kept) == (0, 10)
    runs = _job_runs(tracking_uri)
    assert len(runs) == 20 and len({r.data.tags["mlflow.parentRunId"] for r in runs}) == 2
    values = [
        job.metrics()["top1_acc"]
        for jobs in (first, second)
        for job in jobs
        if (job.model, job.suite) == ("good-model", "accuracy")
    ]
    logged = [
        r.data.metrics["top1_acc"]
        for r in runs
        if (r.data.params["model"], r.data.params["suite"]) == ("good-model", "accuracy")
    ]
    assert sorted(logged) == sorted(values) and values[0] != values[1]


@pytest.mark.slow  # three exports (about 1.5 s each)
def test_a_job_measured_again_in_the_same_folder_marks_its_old_run_superseded(
    tmp_path: Path,
    tracking_uri: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A job run again into the same results folder (its model edited, the run resumed) keeps
    its harness run and job id: the next export logged the new numbers beside the old ones
    under one parent run, both named `good-model · digits · accuracy` (0.85 and 0.5) with
    nothing saying which the folder holds now. The old run is now tagged `harness.superseded`
    and named so; exporting again changes nothing more."""
    write_synthetic_run(tmp_path / "a", models={"good-model": 0.9, HOSTILE: 0.6})
    monkeypatch.setattr("tests.store.records.WHEN", "2026-02-01T00:00:00+00:00")
    write_synthetic_run(tmp_path / "b", models={"good-model": 0.5, HOSTILE: 0.6}, seed=1)
    (first,), (again,) = ((tmp_path / name / "runs").iterdir() for name in ("a", "b"))
    shutil.copy(first / "manifest.json", again / "manifest.json")  # one harness run, jobs redone
    assert export_mlflow(tmp_path / "a", tracking_uri=tracking_uri).logged == 10
    args = ["export", str(tmp_path / "b"), "--to", "mlflow", "--tracking-uri", tracking_uri]
    assert main(args) == 0
    said = " ".join(capsys.readouterr().out.split())  # wrapped to the terminal's width
    assert "10 job run(s) logged, 0 already there, 10 other run(s) of the same jobs marked" in said
    assert "jobs marked superseded;" in said
    runs = _job_runs(tracking_uri)
    assert len(runs) == 20 and len({r.data.tags["mlflow.parentRunId"] for r in runs}) == 1
    current = [r for r in runs if "harness.superseded" not in r.data.tags]
    old = [r for r in runs if r.data.tags.get("harness.superseded") == "true"]
    assert len(current) == len(old) == 10
    assert all(r.info.run_name.endswith(" (superseded)") for r in old)
    assert _run_of(current, "good-model", "accuracy").data.metrics["top1_acc"] == 0.5
    assert _run_of(old, "good-model", "accuracy").data.metrics["top1_acc"] != 0.5
    repeat = export_mlflow(tmp_path / "b", tracking_uri=tracking_uri)
    assert (repeat.logged, repeat.kept, repeat.superseded) == (0, 10, 0)
    assert len(_job_runs(tracking_uri)) == 20


def _measured_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Folder `a` and `b`, a copy of it whose jobs were measured again (one harness run)."""
    write_synthetic_run(tmp_path / "a", models={"good-model": 0.9, HOSTILE: 0.6})
    monkeypatch.setattr("tests.store.records.WHEN", "2026-02-01T00:00:00+00:00")
    write_synthetic_run(tmp_path / "b", models={"good-model": 0.5, HOSTILE: 0.6}, seed=1)
    (first,), (again,) = ((tmp_path / name / "runs").iterdir() for name in ("a", "b"))
    shutil.copy(first / "manifest.json", again / "manifest.json")
    return tmp_path / "a", tmp_path / "b"


@pytest.mark.slow  # four exports (about 1.5 s each)
def test_a_kept_run_is_not_left_superseded(
    tmp_path: Path, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder exported again after its copy's re-measurement was exported (a backup put
    back, a copied folder resumed with an edited model): its runs were kept as the jobs'
    current ones yet stayed tagged `harness.superseded`, with the copy's runs marked too:
    all 20 runs superseded, none current. The kept run is now current again."""
    a, b = _measured_again(tmp_path, monkeypatch)
    export_mlflow(a, tracking_uri=tracking_uri)
    export_mlflow(b, tracking_uri=tracking_uri)
    done = export_mlflow(a, tracking_uri=tracking_uri)
    assert (done.logged, done.kept, done.superseded) == (0, 10, 10)
    runs = _job_runs(tracking_uri)
    current = [r for r in runs if "harness.superseded" not in r.data.tags]
    assert len(runs) == 20 and len(current) == 10
    assert not any(r.info.run_name.endswith(" (superseded)") for r in current)
    assert _run_of(current, "good-model", "accuracy").data.metrics["top1_acc"] != 0.5
    assert export_mlflow(a, tracking_uri=tracking_uri).superseded == 0


def test_an_export_interrupted_while_marking_names_the_run_superseded_later(
    tmp_path: Path, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted between an old run's `harness.superseded` tag and its new name, the run
    kept its plain name for good: the next export skipped it as marked."""
    from mlflow import MlflowClient

    a, b = _measured_again(tmp_path, monkeypatch)
    export_mlflow(a, tracking_uri=tracking_uri)
    rename = MlflowClient.update_run

    def interrupted(self: MlflowClient, run_id: str, *args: object, **kw: object) -> None:
        if kw.get("name"):
            raise KeyboardInterrupt
        rename(self, run_id, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(MlflowClient, "update_run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export_mlflow(b, tracking_uri=tracking_uri)
    monkeypatch.setattr(MlflowClient, "update_run", rename)
    assert export_mlflow(b, tracking_uri=tracking_uri).superseded == 10
    old = [r for r in _job_runs(tracking_uri) if "harness.superseded" in r.data.tags]
    assert len(old) == 10 and all(r.info.run_name.endswith(" (superseded)") for r in old)


def test_an_unfinished_run_of_an_earlier_measurement_is_marked_superseded(
    tmp_path: Path, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An export interrupted while logging a job left its run FAILED; the job measured again,
    the next export logged the new run and left the FAILED one beside it, named like it and
    never logged again (no folder holds its start time any more)."""
    from mlflow import MlflowClient

    a, b = _measured_again(tmp_path, monkeypatch)
    log_batch, calls = MlflowClient.log_batch, []

    def interrupted(self: MlflowClient, *args: object, **kw: object) -> None:
        calls.append(1)
        if len(calls) == 3:  # the parent's, one job's, then the next job's
            raise KeyboardInterrupt
        log_batch(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(MlflowClient, "log_batch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export_mlflow(a, tracking_uri=tracking_uri)
    monkeypatch.setattr(MlflowClient, "log_batch", log_batch)
    (failed,) = [r for r in _job_runs(tracking_uri) if r.info.status == "FAILED"]
    done = export_mlflow(b, tracking_uri=tracking_uri)
    assert (done.logged, done.superseded) == (10, 2)
    runs = {r.info.run_id: r for r in _job_runs(tracking_uri)}
    assert runs[failed.info.run_id].data.tags.get("harness.superseded") == "true"
    assert runs[failed.info.run_id].info.run_name.endswith(" (superseded)")
    assert export_mlflow(b, tracking_uri=tracking_uri).superseded == 0


@pytest.mark.slow  # two more exports (about 1.5 s each)
def test_the_report_site_is_logged_with_the_run(
    results: Path, tracking_uri: str, tmp_path: Path
) -> None:
    site = results / "report"  # found by default
    site.mkdir()
    (site / "index.html").write_text("<html>report</html>")
    done = export_mlflow(results, tracking_uri=tracking_uri)
    assert done.report == site
    client = _client(tracking_uri)
    parent_id = _job_runs(tracking_uri)[0].data.tags["mlflow.parentRunId"]
    assert [f.path for f in client.list_artifacts(parent_id, "report")] == ["report/index.html"]
    # a site elsewhere, named on the command line
    other = tmp_path / "site"
    other.mkdir()
    (other / "index.html").write_text("<html>elsewhere</html>")
    uri = tracking_uri.replace("mlflow.db", "other.db")
    args = ["export", str(results), "--to", "mlflow", "--tracking-uri", uri, "--report", str(other)]
    assert main(args) == 0
    parent_id = _job_runs(uri)[0].data.tags["mlflow.parentRunId"]
    listed = _client(uri).list_artifacts(parent_id, "report")
    assert [f.path for f in listed] == ["report/index.html"]


def test_the_report_sites_hidden_entries_are_not_logged(results: Path, tracking_uri: str) -> None:
    """A report folder holds the report's own hidden state (its kept resampled values, 576 KB on
    the quickstart, its paired forms, its lock, a killed or running build's staging folder of
    half-written pages) and may hold the user's `.git` (docs/report.md): the export uploaded all
    of it as the run's `report/`. Only the published site is logged now; a link inside a hidden
    entry is not refused, since nothing of it is uploaded."""
    site = results / "report"
    (site / "figures").mkdir(parents=True)
    (site / "index.html").write_text("<html>report</html>")
    (site / "figures" / "a.png").write_bytes(b"png")
    (site / "figures" / ".figure-tmp").write_bytes(b"half")
    for hidden in (".resampled-values", ".paired-forms", ".report-lock", ".nojekyll"):
        (site / hidden).write_text("state")
    (site / ".report-build-123").mkdir()
    (site / ".report-build-123" / "index.html").write_text("<html>half a build</html>")
    (site / ".git" / "hooks").mkdir(parents=True)
    (site / ".git" / "config").write_text("[remote]")
    (site / ".git" / "hooks" / "run").symlink_to(results)
    assert export_mlflow(results, tracking_uri=tracking_uri).report == site
    client = _client(tracking_uri)
    parent_id = _job_runs(tracking_uri)[0].data.tags["mlflow.parentRunId"]

    def listed(path: str) -> list[str]:
        found = []
        for f in client.list_artifacts(parent_id, path):
            found += listed(f.path) if f.is_dir else [f.path]
        return found

    assert sorted(listed("report")) == ["report/figures/a.png", "report/index.html"]


@pytest.mark.parametrize("where", ["found", "given"])
def test_a_report_site_holding_a_link_is_refused_before_anything_is_logged(
    results: Path, tracking_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    """A report site with a link inside (`report/figures/x -> ~/.aws/credentials`; a results
    folder may come from a shared CI cache): MLflow's `log_artifacts` follows it and uploaded
    the file it points to, /etc/passwd in the probe, to the tracking store as
    `report/secret`. Refused now in one line naming the link, with nothing logged."""
    site = results / "report" if where == "found" else tmp_path / "site"
    (site / "figures").mkdir(parents=True)
    (site / "index.html").write_text("<html>report</html>")
    secret = tmp_path / "secret.txt"
    secret.write_text("password=hunter2")
    (site / "figures" / "x").symlink_to(secret)
    args = ["export", str(results), "--to", "mlflow", "--tracking-uri", tracking_uri]
    assert main(args + ([] if where == "found" else ["--report", str(site)])) == 2
    err = capsys.readouterr().err
    says = f"error: report site {site} holds a symbolic link, {site / 'figures' / 'x'} (pointing to {secret})"
    assert err.startswith(says) and err.count("\n") == 1, err
    from mlflow import MlflowClient

    experiment = MlflowClient(tracking_uri).get_experiment_by_name("harness")
    assert experiment is None or not _job_runs(tracking_uri)  # nothing logged


def test_a_run_file_that_is_a_link_is_refused_before_anything_is_logged(
    results: Path, tracking_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run folder's spec.yaml replaced by a link (to /etc/passwd in the probe): the export
    logged the file it points to as the harness run's `spec.yaml` artifact, exit 0."""
    secret = tmp_path / "secret.txt"
    secret.write_text("password=hunter2")
    spec = next((results / "runs").glob("*/manifest.json")).with_name("spec.yaml")
    spec.unlink(missing_ok=True)
    spec.symlink_to(secret)
    assert main(["export", str(results), "--to", "mlflow", "--tracking-uri", tracking_uri]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {spec} is a symbolic link (pointing to {secret})"), err
    assert err.count("\n") == 1 and "nothing was logged" in err, err


@pytest.mark.parametrize("uri", ["http://127.0.0.1:9", "nosuchscheme://x"])
def test_an_unusable_tracking_uri_is_one_line(
    results: Path, uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(results), "--to", "mlflow", "--tracking-uri", uri]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: tracking URI {uri} cannot be used:")
    assert len(err.strip().splitlines()) == 1


def test_a_database_uri_without_its_driver_is_one_line_without_its_password(
    results: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`postgresql://` / `mysql://` / `mssql://` URIs need a database driver MLflow does not
    install: its ModuleNotFoundError was a traceback. And the URI's password stays out of what
    the command prints (a CI log keeps it)."""
    monkeypatch.setitem(sys.modules, "pyodbc", None)  # the driver, not installed
    uri = "mssql+pyodbc://ana:s3cret@127.0.0.1:9/runs"
    assert main(["export", str(results), "--to", "mlflow", "--tracking-uri", uri]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("error: tracking URI mssql+pyodbc://ana:***@127.0.0.1:9/runs cannot ")
    assert "pyodbc" in err and len(err.strip().splitlines()) == 1
    assert "s3cret" not in out + err


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("postgresql://ana:s3cret@db:5432/runs", "postgresql://ana:***@db:5432/runs"),
        ("https://ana:tok:en@mlflow.example:5000", "https://***@mlflow.example:5000"),
        # a token as the user with a fixed word as password (GitHub's `x-oauth-basic`)
        ("https://ghp_s3cret:x-oauth-basic@mlflow.example", "https://***@mlflow.example"),
        ("postgresql://ana@db/runs", "postgresql://ana@db/runs"),
        # a token given as the user of an HTTP URL (as git and many proxies take it)
        ("https://ghp_s3cret@mlflow.example/x", "https://***@mlflow.example/x"),
        # ... also with an empty password (`<token>:@host`, as package indexes take it)
        ("http://ghp_s3cret:@mlflow.example", "http://***@mlflow.example"),
        ("sqlite:////tmp/mlflow.db", "sqlite:////tmp/mlflow.db"),
        ("http://[::1", "http://[::1"),
        # a password with `#`, `/` or `?` in it: SQLAlchemy (MLflow's database stores) takes
        # it whole (its password runs to the `@`), urllib ended the host at it and printed it
        ("postgresql://ana:p#ss@db/runs", "postgresql://ana:***@db/runs"),
        ("mysql+pymysql://ana:pa/s?s@db:3306/runs", "mysql+pymysql://ana:***@db:3306/runs"),
        ("postgresql://ana:p@ss@db/runs", "postgresql://ana:***@db/runs"),
        ("https://ana:p#ss@mlflow.example", "https://***@mlflow.example"),
        # ... but an `@` after a host and port is no user part
        ("https://mlflow.example:5000/x?to=a@b", "https://mlflow.example:5000/x?to=a@b"),
        ("https://mlflow.example/x?to=a:b@c", "https://mlflow.example/x?to=a:b@c"),
        ("databricks://scope:prefix", "databricks://scope:prefix"),
        # a scheme that is neither HTTP nor a database's: its user part may be a token too
        ("ftp://ghp_s3cret@files.example/x", "ftp://***@files.example/x"),
        ("ftp://ana:pw@files.example", "ftp://***@files.example"),
        ("ftp://ana:p#ss@files.example", "ftp://***@files.example"),
        # ... read as urllib reads it, as HTTP's: an `@` after a host and port is no user part
        # (it showed 'plugin://***@b', hiding the host the message is about)
        ("plugin://mlflow.example:5000/x?to=a@b", "plugin://mlflow.example:5000/x?to=a@b"),
        ("https://tok@[::1]:5000/x", "https://***@[::1]:5000/x"),
        # a password or token given as a query parameter (the database driver takes
        # `?password=`, as libpq does)
        ("postgresql://ana@db/runs?password=s3cret", "postgresql://ana@db/runs?password=***"),
        (
            "postgresql://ana:pw@db/runs?sslmode=require&PASSWORD=s3cret",
            "postgresql://ana:***@db/runs?sslmode=require&PASSWORD=***",
        ),
        (
            "https://mlflow.example/?access_token=abc&x=1",
            "https://mlflow.example/?access_token=***&x=1",
        ),
        ("sqlite:///runs.db?mode=ro", "sqlite:///runs.db?mode=ro"),
        # SQLAlchemy reads a database URL's query to its end and splits it at '&' only: the
        # value runs on past '#' and ';' (it showed '?password=***#ss', '?passwd=***;b')
        (
            "postgresql://ana@db/runs?password=p#ss&x=1",
            "postgresql://ana@db/runs?password=***&x=1",
        ),
        ("mysql+pymysql://ana@db/runs?passwd=a;b", "mysql+pymysql://ana@db/runs?passwd=***"),
        # an HTTP(S) URL's fragment is no part of its query
        ("https://mlflow.example/?token=abc#frag", "https://mlflow.example/?token=***#frag"),
        # a signed URL's signature and credential (S3 presigned, Azure SAS) and an `auth=`
        # parameter are secrets too: whoever holds them reads or writes as their signer
        (
            "https://b.s3.amazonaws.com/mlflow/?X-Amz-Credential=AKIA1&X-Amz-Signature=9f&x=1",
            "https://b.s3.amazonaws.com/mlflow/?X-Amz-Credential=***&X-Amz-Signature=***&x=1",
        ),
        (
            "https://a.blob.core.windows.net/mlflow?sv=2022&sig=Ab%2Fc",
            "https://a.blob.core.windows.net/mlflow?sv=2022&sig=***",
        ),
        ("https://mlflow.example/?auth=abc", "https://mlflow.example/?auth=***"),
        # a session id logs its holder in as the session's user (Java's `;jsessionid=`, PHP's)
        ("https://mlflow.example/x;jsessionid=A1B2", "https://mlflow.example/x;jsessionid=***"),
        ("https://mlflow.example/?PHPSESSID=a1&x=1", "https://mlflow.example/?PHPSESSID=***&x=1"),
        ("https://mlflow.example/?sessionid=a1", "https://mlflow.example/?sessionid=***"),
        ("https://mlflow.example/?session_id=a1", "https://mlflow.example/?session_id=***"),
    ],
)
def test_a_tracking_uri_is_shown_without_its_password(uri: str, shown: str) -> None:
    assert shown_uri(uri) == shown


def test_a_database_password_with_a_hash_is_masked_in_the_store_s_error_too() -> None:
    """MLflow's and SQLAlchemy's errors may repeat the URI: the secret `shown_uri` masks is the
    one `_first_line` takes out of them, `#` and all."""
    from harness.export.mlflow_export import _first_line

    uri = "postgresql://ana:p#ss@db/runs"
    line = _first_line(RuntimeError(f"could not connect to {uri}"), uri)
    assert line == "could not connect to postgresql://ana:***@db/runs"
    uri = "postgresql://ana@db/runs?password=s3cret&sslmode=require"
    line = _first_line(RuntimeError(f"could not connect to {uri}"), uri)
    assert line == "could not connect to postgresql://ana@db/runs?password=***&sslmode=require"
    uri = "postgresql://ana@db/runs?password=p#ss;x&sslmode=require"  # one password, 'p#ss;x'
    line = _first_line(RuntimeError(f"could not connect to {uri}"), uri)
    assert line == "could not connect to postgresql://ana@db/runs?password=***&sslmode=require"


def test_an_export_s_repr_does_not_carry_the_uri_s_secret() -> None:
    """`harness.export_mlflow(...)` as a notebook cell's last line displays what it returns:
    its repr printed the tracking URI whole, token and password with it, into the cell's saved
    output. The repr shows the URI as the command prints it; the field keeps it whole."""
    from harness.export.mlflow_export import MlflowExport

    uri = "https://ghp_s3cret:x-oauth-basic@mlflow.example:5000"
    done = MlflowExport(
        tracking_uri=uri, experiment="e", experiment_id="1", logged=2, kept=0, replaced=0,
        report=None,
    )  # fmt: skip
    assert "ghp_s3cret" not in repr(done) and "ghp_s3cret" not in str(done)
    assert "tracking_uri='https://***@mlflow.example:5000'" in repr(done)
    assert repr(done).startswith("MlflowExport(") and "logged=2" in repr(done)
    assert done.tracking_uri == uri


@pytest.mark.parametrize(
    "uri",
    [
        "https://ana:pw0rd@127.0.0.1:9",
        "https://ghp_s3cr3t@127.0.0.1:9",
        "https://ghp_s3cr3t:@127.0.0.1:9",
        "https://ghp_s3cr3t:x-oauth-basic@127.0.0.1:9",
    ],
)
def test_an_unreachable_server_s_error_does_not_carry_the_uri_s_secret(
    results: Path, capsys: pytest.CaptureFixture[str], uri: str
) -> None:
    # MLflow's own error repeats the URI whole ("API request to https://ana:pw0rd@.../api/...")
    assert main(["export", str(results), "--to", "mlflow", "--tracking-uri", uri]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("error: tracking URI https://") and "cannot be used" in err
    assert "***@127.0.0.1:9/api/" in err  # MLflow's text is kept, masked
    assert "pw0rd" not in out + err and "s3cr3t" not in out + err


@pytest.mark.parametrize("where", ["not-a-database", "a-folder"])
def test_a_sqlite_store_that_cannot_be_opened_is_one_line(
    tmp_path: Path, results: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A SQLite URI naming a file that is no database (a CSV, a results file), or a folder: one
    line naming the URI, the file left as it was; no SQLAlchemy traceback."""
    store = tmp_path / "notes.csv"
    store.write_text("model,accuracy\nm1,0.9\n")
    path = store if where == "not-a-database" else tmp_path
    uri = f"sqlite:///{path}"
    assert main(["export", str(results), "--to", "mlflow", "--tracking-uri", uri]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: tracking URI {uri} cannot be used:"), err
    assert len(err.strip().splitlines()) == 1, err
    assert store.read_text() == "model,accuracy\nm1,0.9\n"


def test_bad_results_are_refused_before_the_store_is_touched(
    tmp_path: Path, results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store.db"
    uri = f"sqlite:///{store}"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["export", str(empty), "--to", "mlflow", "--tracking-uri", uri]) == 2
    assert "no runs found under" in capsys.readouterr().err
    metrics = next((results / "runs").glob("*/jobs/*--accuracy--*")) / "metrics.json"
    metrics.write_text(metrics.read_text().replace("0.05", "0.06", 1))
    assert main(["export", str(results), "--to", "mlflow", "--tracking-uri", uri]) == 2
    err = capsys.readouterr().err
    assert "does not match its checksum" in err and str(metrics) in err
    assert not store.exists()  # nothing written anywhere


def test_without_mlflow_the_extra_is_named(
    results: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)
    assert main(["export", str(results), "--to", "mlflow"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "error: harness export --to mlflow needs the optional package 'mlflow'; install it "
        "with: pip install 'robustness-harness[mlflow]'"
    )


def test_upper_bounds_are_tagged_with_their_note(tmp_path: Path, tracking_uri: str) -> None:
    """A robust accuracy from a decision-based attack (an upper bound, said only in the record's
    note) was logged as a plain metric; it now gets the tag `upper_bound.<name>` with the note,
    and the run `harness.upper_bound_metrics`."""
    from tests.present.synthetic import UPPER_BOUND_NOTE, write_synthetic_run

    write_synthetic_run(tmp_path / "res", models={"good-model": 0.9, "bb": 0.6}, extras=True)
    export_mlflow(tmp_path / "res", tracking_uri=tracking_uri)
    runs = _job_runs(tracking_uri)
    bounded = _run_of(runs, "bb", "adversarial").data.tags
    names = sorted(k[len("upper_bound.") :] for k in bounded if k.startswith("upper_bound."))
    assert names == [
        "robust_acc/attack_linf_pgd/eps_0.05/norm_linf",
        "robust_acc/attack_linf_pgd/eps_0.1/norm_linf",
    ]
    assert {bounded[f"upper_bound.{n}"] for n in names} == {UPPER_BOUND_NOTE}
    assert bounded["harness.upper_bound_metrics"] == ", ".join(names)
    white_box = _run_of(runs, "good-model", "adversarial").data.tags
    assert not any(k.startswith("upper_bound") for k in white_box)
    assert "harness.upper_bound_metrics" not in white_box


@pytest.mark.parametrize(
    "flags",
    [["--tracking-uri", ""], ["--experiment", ""], ["--experiment", "  "]],
)
def test_an_empty_tracking_uri_or_experiment_is_refused_not_the_default(
    flags: list[str],
    results: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--tracking-uri "$MLFLOW_URI"` with the variable unset exported into a new
    ./mlflow.db where the command ran (a CI job's numbers went nowhere anyone looks), and
    `--experiment ""` into the experiment `harness`, each reported as a success; a blank
    experiment name made an experiment that reads as no name. Refused in one line, before any
    store is touched."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'env.db'}")
    try:
        code = main(["export", str(results), "--to", "mlflow", *flags])
    except SystemExit as exit_info:  # an argument's own refusal
        code = exit_info.code
    assert code == 2
    err = capsys.readouterr().err
    assert flags[0] in err and "empty" in err, err
    assert list(work.iterdir()) == [] and not (tmp_path / "env.db").exists()


@pytest.mark.parametrize("given", [{"tracking_uri": ""}, {"experiment": " "}])
def test_export_mlflow_refuses_an_empty_uri_or_experiment(
    given: dict[str, str], results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.core.errors import HarnessError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(HarnessError, match="is empty"):
        export_mlflow(results, **given)  # type: ignore[arg-type]
    assert not (tmp_path / "mlflow.db").exists()


def test_a_tracking_server_prints_no_run_links_into_the_output(
    results: Path,
    tracking_uri: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Against a tracking server (a REST store) MLflow wrote `🏃 View run ... at: ...` and
    `🧪 View experiment at: ...` to stdout for every run it ended (22 lines for 10 jobs, with an
    extra request per run), between the command's own lines. MLflow's own switch keeps them out
    during an export. The SQLite store here stands in for the server: every store is taken as
    a REST store, so MLflow would print (it reads the server's address and fails here)."""
    import mlflow.tracking._tracking_service.client as service

    monkeypatch.delenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", raising=False)
    monkeypatch.setattr(service, "RestStore", object)
    assert main(["export", str(results), "--to", "mlflow", "--tracking-uri", tracking_uri]) == 0
    out = capsys.readouterr().out
    assert "View run" not in out and "View experiment" not in out
    assert out.startswith("mlflow: 10 job run(s) logged"), out


def test_an_experiment_name_over_mlflows_limit_is_named_as_such(
    results: Path, tracking_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 600-character --experiment was refused as `tracking URI ... cannot be used: 'name'
    exceeds the maximum length of 500 characters`, blaming the URI."""
    flags = ["--tracking-uri", tracking_uri, "--experiment", "x" * 600]
    assert main(["export", str(results), "--to", "mlflow", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: experiment name is 600 characters long; MLflow takes at most 500")


@pytest.mark.parametrize("uri", ["http://[::1", "https://ana:s3cret@[::1/runs"])
def test_a_tracking_uri_that_is_no_url_is_one_line(
    results: Path, capsys: pytest.CaptureFixture[str], uri: str
) -> None:
    # urllib's ValueError ("Invalid IPv6 URL") from inside MLflow escaped as a traceback
    assert main(["export", str(results), "--to", "mlflow", "--tracking-uri", uri]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("error: tracking URI ") and "Invalid IPv6 URL" in err
    assert len(err.strip().splitlines()) == 1 and "s3cret" not in out + err


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        # a JSON web token or an OAuth code given as a parameter, an OAuth implicit flow's token
        # in an HTTP fragment: each logs in as its holder
        ("https://mlflow.example/x?jwt=eyJ.s3cret&x=1", "https://mlflow.example/x?jwt=***&x=1"),
        ("https://mlflow.example/cb?code=s3cret", "https://mlflow.example/cb?code=***"),
        (
            "https://mlflow.example/#access_token=s3cret&token_type=bearer&state=1",
            "https://mlflow.example/#access_token=***&token_type=***&state=1",
        ),
        # a password inside another parameter's value (ODBC's connection string, libpq options)
        (
            "mssql+pyodbc://ana@dsn?odbc_connect=DRIVER%3D%7Bx%7D%3BUID%3Dana%3BPWD%3Ds3cret",
            "mssql+pyodbc://ana@dsn?odbc_connect=***",
        ),
        (
            "postgresql://ana@db/runs?options=-c%20password%3Ds3cret&sslmode=require",
            "postgresql://ana@db/runs?options=***&sslmode=require",
        ),
        # a name written percent-encoded reads as the name (parse_qsl, SQLAlchemy decode it)
        ("postgresql://ana@db/runs?%70assword=s3cret", "postgresql://ana@db/runs?%70assword=***"),
        # names that only hold the letters of a secret word are no secret
        (
            "https://mlflow.example/?monkey=1&keyboard=2&signal=3&author=bob&sigma=4&authority=5",
            "https://mlflow.example/?monkey=1&keyboard=2&signal=3&author=bob&sigma=4&authority=5",
        ),
        (
            "https://mlflow.example/?apiKey=a&api_key=b",
            "https://mlflow.example/?apiKey=***&api_key=***",
        ),
    ],
)
def test_a_tracking_uri_s_other_secret_parameters_are_masked(uri: str, shown: str) -> None:
    assert shown_uri(uri) == shown


def test_a_secret_parameter_is_masked_in_the_store_s_error_as_requests_encodes_it() -> None:
    """urllib3's "Max retries exceeded with url: /x?token=a%7Cb/api/..." carries the value as
    requests re-quoted it ('|' as %7C): it printed the token so."""
    from harness.export.mlflow_export import _first_line

    uri = "http://127.0.0.1:9/x?token=a|b c"
    text = "API request to http://127.0.0.1:9/x?token=a|b c/api failed: url: /x?token=a%7Cb%20c/api"
    line = _first_line(RuntimeError(text), uri)
    assert line == "API request to http://127.0.0.1:9/x?token=***/api failed: url: /x?token=***/api"


def test_a_database_uri_with_a_port_that_is_no_number_is_one_line(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SQLAlchemy's make_url raised ValueError on `db:notaport`: a traceback, not one line."""
    uri = "postgresql://ana:pw0rd@db:notaport/runs"
    assert main(["export", str(results), "--to", "mlflow", "--tracking-uri", uri]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(
        "error: tracking URI postgresql://ana:***@db:notaport/runs cannot be used:"
    )
    assert "notaport" in err.split("cannot be used:", 1)[1]
    assert len(err.strip().splitlines()) == 1 and "pw0rd" not in out + err


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:9/x?token=s3c|r3t",
        "http://127.0.0.1:9/x?token=s3c%7cr3t",  # urllib3 writes the escape as %7C
        "http://127.0.0.1:9/x?sig=s3c[r3t]",  # urllib3 escapes '[' in a query, requests does not
    ],
)
def test_an_unreachable_server_s_error_does_not_carry_a_secret_parameter_re_quoted(
    results: Path, capsys: pytest.CaptureFixture[str], uri: str
) -> None:
    # urllib3's "Max retries exceeded with url: /x?token=s3c%7Cr3t/api/..." re-quotes the value
    assert main(["export", str(results), "--to", "mlflow", "--tracking-uri", uri]) == 2
    out, err = capsys.readouterr()
    assert "cannot be used" in err and "with url: /x?" in err
    assert "r3t" not in out + err
