"""`harness export RESULTS --to mlflow`: each harness run as an MLflow run, each of its completed
jobs as a nested MLflow run under it (docs/export.md).

A job's run carries the job's identity as parameters, every metric value with its interval bounds
and sample size as metrics, reliability flags as tags, and the per-sample table, `job.json` and
`metrics.json` as artifacts; the harness run's MLflow run carries the spec, the manifest and the
report site (when one is given or found in the results folder).

Re-exporting is idempotent: every MLflow run is tagged `harness.job_id`, and a run already
exported and FINISHED is left as it is (it only gains the chance marks an older export did not
log). A run is marked FINISHED only once everything of it is logged; one that an interrupted
export left RUNNING (or FAILED) is deleted and logged again.
The tag alone does not name what was measured: the same spec run into another results folder
(a fresh `--out`, another machine) has the same run id and job folders, so a logged run is also
matched on its start time (the harness run's creation, the job's start) and a job's on its
parent: numbers measured again are logged as runs of their own, never taken as already there.
A job measured again inside the same results folder (its model edited, the run resumed) is
logged under the same parent as the earlier measurement, which is then tagged
`harness.superseded` and named so: the folder no longer holds its numbers.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import quote, unquote, urlsplit

from harness.core.errors import HarnessError, MissingDependencyError
from harness.core.suite_board import SuiteBoard
from harness.export.exported_jobs import ExportedJob, exported_jobs, safe_key
from harness.store.links import is_link

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)

DEFAULT_EXPERIMENT = "harness"
DATABASE_FILE = "mlflow.db"  # the default store: a SQLite file in the current folder
JOB_ID_TAG = "harness.job_id"
PARTIAL_TAG = "harness.partial"
PARENT_TAG = "mlflow.parentRunId"
SUPERSEDED_TAG = "harness.superseded"
SUPERSEDED_SUFFIX = " (superseded)"
_FINISHED = "FINISHED"
_JOB_FILES = ("samples.parquet", "job.json", "metrics.json")
_RUN_FILES = ("manifest.json", "spec.yaml")


class TrackingError(HarnessError):
    """The tracking URI cannot be reached or refused what was logged."""


@dataclass(frozen=True)
class MlflowExport:
    """What an export to MLflow did."""

    tracking_uri: str
    experiment: str
    experiment_id: str
    logged: int  # job runs logged now
    kept: int  # job runs an earlier export had logged completely: left as they were
    replaced: int  # unfinished job runs of an interrupted export, deleted and logged again
    report: Path | None  # the report site logged with the runs (None: none)
    superseded: int = 0  # other runs (measurements) of the exported jobs, marked superseded

    def __repr__(self) -> str:
        """The dataclass's repr with the tracking URI as `shown_uri` prints it: a notebook
        cell that ends with `harness.export_mlflow(...)` displays it, into the saved output."""
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        shown["tracking_uri"] = shown_uri(self.tracking_uri)
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


def default_tracking_uri() -> str:
    """`$MLFLOW_TRACKING_URI` when set, else `mlflow.db` (SQLite) in the current folder."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / DATABASE_FILE}"


def export_mlflow(
    results: Path,
    *,
    tracking_uri: str | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
    report: Path | None = None,
    allow_partial: bool = False,
    suite_boards: Iterable[SuiteBoard] = (),
    partial_option: str = "--allow-partial",
) -> MlflowExport:
    """Log the completed jobs under `results` into the MLflow experiment `experiment` at
    `tracking_uri` (default `default_tracking_uri()`); `report` is a report site folder to log
    with each harness run (default: `results/report` when it holds an index.html).
    `suite_boards`: the installed suites' boards, which say which numbers have a chance level
    (`exported_jobs`; `harness.export_mlflow` and the CLI pass them)."""
    for key, given in (("tracking_uri", tracking_uri), ("experiment", experiment)):
        if given is not None and not given.strip():  # an unset variable: not the default
            raise HarnessError(f"{key} is empty ({given!r}); give one or leave it out")
    if len(experiment) > MAX_EXPERIMENT_NAME:  # MLflow's message blamed the tracking URI
        raise HarnessError(
            f"experiment name is {len(experiment):,} characters long; MLflow takes at most "
            f"{MAX_EXPERIMENT_NAME}"
        )
    client_type = _mlflow_client_type()
    # refuse bad results first
    jobs = exported_jobs(
        results,
        allow_partial=allow_partial,
        suite_boards=suite_boards,
        partial_option=partial_option,
    )
    uri = tracking_uri or default_tracking_uri()
    site = Path(report) if report is not None else _found_report(results)
    if site is not None and not (site / "index.html").is_file():
        raise HarnessError(f"--report {site} is not a report site (it has no index.html)")
    site_files = _site_files(site) if site is not None else []
    _refuse_file_links(jobs)
    counts = {"logged": 0, "kept": 0, "replaced": 0, "superseded": 0}
    with _one_export_at_a_time(uri, experiment), _quiet_mlflow():
        client, experiment_id = _experiment(client_type, uri, experiment)
        try:
            existing = _existing_runs(client, experiment_id)
            for run_id, run_jobs in _by_run(jobs).items():
                created = _millis(run_jobs[0].manifest.created)
                known = _logged_as(existing.get(run_id, []), created)
                parent = _parent_run(client, experiment_id, run_jobs[0], known)
                logged_before = counts["logged"]
                for job in run_jobs:
                    started = _millis(job.job.record.started)
                    runs = existing.get(job.job_id, [])
                    found = _logged_as(runs, started, parent)
                    current = _export_job(client, experiment_id, parent, job, found, counts)
                    # an unfinished `found` was deleted and logged again as `current`
                    active = [r for r in runs if found is None or r.run_id != found.run_id]
                    if found is not None and found.run_id == current:
                        active.append(found)
                    counts["superseded"] += _mark_superseded(client, active, parent, current)
                resumed = False
                if known is not None:  # a harness run exported before: resumed since?
                    changed = _refresh_partial(client, known, run_jobs[0].partial)
                    resumed = changed or counts["logged"] > logged_before
                    if resumed:
                        _log_run_files(client, parent, run_jobs[0])
                unfinished = known is None or known.status != _FINISHED
                if unfinished or resumed:  # the report of the run as it is now
                    for file, folder in site_files:
                        client.log_artifact(parent, str(file), artifact_path=folder)
                if unfinished:
                    client.set_terminated(parent, _FINISHED)
        except _store_errors() as err:
            raise TrackingError(
                f"tracking URI {shown_uri(uri)} refused the export after {counts['logged']} job run(s) "
                f"(runs not marked FINISHED are logged again on the next export): "
                f"{_first_line(err, uri)}"
            ) from None
    return MlflowExport(
        tracking_uri=uri,
        experiment=experiment,
        experiment_id=experiment_id,
        report=site,
        **counts,
    )


def _export_job(
    client: MlflowClient,
    experiment_id: str,
    parent: str,
    job: ExportedJob,
    found: _Logged | None,
    counts: dict[str, int],
) -> str:
    """Log `job` unless `found` is its complete run already; the MLflow id of its run."""
    if found is not None and found.status == _FINISHED:
        counts["kept"] += 1
        _refresh_partial(client, found, job.partial)  # the run may have been resumed since
        if not found.marked:
            _add_chance_marks(client, found.run_id, job)
        return found.run_id
    if found is not None:
        client.delete_run(found.run_id)
        counts["replaced"] += 1
    run_id = _log_job(client, experiment_id, parent, job)
    counts["logged"] += 1
    return run_id


def _mark_superseded(client: MlflowClient, runs: list[_Logged], parent: str, current: str) -> int:
    """Mark the other runs of one job under `parent` (earlier measurements of a job that was run
    again into the same results folder, an interrupted export's FAILED one too, which no later
    export logs again: no folder holds its start time) superseded: named so, as the MLflow UI
    lists them beside the current one, then tagged `harness.superseded` (the tag last: an
    export interrupted between the two names the run on the next one). The `current` run loses
    such marks (a folder put back, or a copy of it, exported again). How many were marked."""
    marked = 0
    for run in runs:
        if run.parent != parent:
            continue
        if run.run_id == current:
            if run.superseded:
                client.delete_tag(run.run_id, SUPERSEDED_TAG)
            if run.name.endswith(SUPERSEDED_SUFFIX):
                client.update_run(run.run_id, name=run.name.removesuffix(SUPERSEDED_SUFFIX))
        elif not run.superseded:
            if not run.name.endswith(SUPERSEDED_SUFFIX):
                client.update_run(run.run_id, name=run.name + SUPERSEDED_SUFFIX)
            client.set_tag(run.run_id, SUPERSEDED_TAG, "true")
            marked += 1
    return marked


def _log_job(client: MlflowClient, experiment_id: str, parent: str, job: ExportedJob) -> str:
    """One job as one MLflow run, FINISHED only when all of it is logged (else FAILED); its id."""
    from mlflow.entities import Metric, Param

    record = job.job.record
    tags = {**job.tags(), PARENT_TAG: parent}
    run = client.create_run(
        experiment_id,
        start_time=_millis(record.started),
        tags=tags,
        run_name=f"{job.model} · {job.task} · {job.suite}",
    )
    run_id = run.info.run_id
    try:
        stamp = _millis(record.finished) or int(time.time() * 1000)
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, stamp, 0) for k, v in job.metrics().items()],
            params=[Param(k, v) for k, v in job.params().items()],
        )
        for name in _JOB_FILES:
            if (job.job.path / name).is_file():
                client.log_artifact(run_id, str(job.job.path / name))
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, _FINISHED, end_time=_millis(record.finished))
    return str(run_id)


_CHANCE_TAGS = ("at_chance.", "no_skill.", "harness.at_chance_", "harness.no_skill_")


def _add_chance_marks(client: MlflowClient, run_id: str, job: ExportedJob) -> None:
    """Give a job run an export before chance marks existed logged (or one logged without the
    suites' boards) its chance marks: the `at_chance.` / `no_skill.` tags and `.chance` metrics,
    nothing else of it changed."""
    from mlflow.entities import Metric, RunTag

    tags = [RunTag(k, v) for k, v in job.tags().items() if k.startswith(_CHANCE_TAGS)]
    if not tags:
        return
    stamp = _millis(job.job.record.finished) or int(time.time() * 1000)
    values = job.metrics()
    levels = [f"{t.key.removeprefix('at_chance.')}.chance" for t in tags]
    metrics = [Metric(k, values[k], stamp, 0) for k in levels if k in values]
    client.log_batch(run_id, metrics=metrics, tags=tags)


def _parent_run(
    client: MlflowClient,
    experiment_id: str,
    first: ExportedJob,
    found: _Logged | None,
) -> str:
    """The MLflow run of a harness run: the one an earlier export created, else a new one."""
    from mlflow.entities import Param

    if found is not None:
        return found.run_id
    manifest = first.manifest
    tags = {JOB_ID_TAG: manifest.run_id, PARTIAL_TAG: str(first.partial).lower()}
    run = client.create_run(
        experiment_id,
        start_time=_millis(manifest.created),
        tags=tags,
        run_name=manifest.run_id,
    )
    params = {
        "run_id": manifest.run_id,
        "spec_name": manifest.spec_name,
        "spec_hash": manifest.spec_hash,
        "seed": str(manifest.seed),
        "harness_version": manifest.harness_version,
        "device": str(manifest.device.get("type", "")),
        **{safe_key(f"version.{k}"): v or "not installed" for k, v in manifest.versions.items()},
    }
    client.log_batch(run.info.run_id, params=[Param(k, v) for k, v in params.items()])
    _log_run_files(client, str(run.info.run_id), first)
    return str(run.info.run_id)


def _log_run_files(client: MlflowClient, parent: str, first: ExportedJob) -> None:
    """The harness run's spec and manifest (logged again, replacing the old copies, when the
    run has gone on since an earlier export)."""
    run_dir = first.job.path.parent.parent
    for name in _RUN_FILES:
        if (run_dir / name).is_file():
            client.log_artifact(parent, str(run_dir / name))


def _by_run(jobs: list[ExportedJob]) -> dict[str, list[ExportedJob]]:
    out: dict[str, list[ExportedJob]] = {}
    for job in jobs:
        out.setdefault(job.manifest.run_id, []).append(job)
    return out


def _experiment(client_type: type[MlflowClient], uri: str, name: str) -> tuple[MlflowClient, str]:
    """A client of `uri` and the id of experiment `name`, created when missing (its artifacts
    beside a SQLite store). The first request is the reachability probe: one try, no retries,
    one line if it fails."""
    _refuse_a_folder(uri)
    try:
        urlsplit(uri)
    except ValueError as err:  # MLflow parses it with urllib too, and let the error through
        raise TrackingError(f"tracking URI {shown_uri(uri)} cannot be used: {err}") from None
    try:
        client = client_type(tracking_uri=uri)
        with _one_try():
            found = client.get_experiment_by_name(name)
        if found is not None:
            if found.lifecycle_stage == "deleted":
                raise TrackingError(
                    f"MLflow experiment {name!r} at {shown_uri(uri)} is deleted; restore it or pass "
                    "another --experiment"
                )
            return client, str(found.experiment_id)
        location = _artifact_location(uri)
        return client, str(client.create_experiment(name, artifact_location=location))
    except _store_errors() as err:
        raise TrackingError(
            f"tracking URI {shown_uri(uri)} cannot be used: {_first_line(err, uri)}"
        ) from None
    except ValueError as err:  # SQLAlchemy's make_url: a database URI's port is no number
        raise TrackingError(
            f"tracking URI {shown_uri(uri)} cannot be used: {_first_line(err, uri)}"
        ) from None
    except ImportError as err:  # a database URI whose driver (psycopg2, pymysql, ...) is missing
        raise TrackingError(
            f"tracking URI {shown_uri(uri)} cannot be used: {_first_line(err, uri)} (the database "
            "driver of its scheme: install it into this environment)"
        ) from None


def shown_uri(uri: str) -> str:
    """`uri` as it is printed: its password, if it holds one (`postgresql://ana:pw@db/runs`),
    as `***` (as SQLAlchemy prints a database URL), and the whole user part of an HTTP(S) URL,
    or of any URL not a database's (`ftp://<token>@host`), as `***` (`https://<token>@host`,
    `https://<token>:@host`, `https://<token>:x-oauth-basic@host`:
    a token given as the user, as git, many proxies and package indexes take it, is no less a
    secret than a password), so the command's output and a CI log never carry them. So is the
    value of a query parameter that names a password, token, secret, key, signature, credential
    or authorisation (`?X-Amz-Signature=`, `?sig=`, `?auth=`; `postgresql://ana@db/runs?password=`:
    the database driver takes it, as libpq does), a JSON web token, an OAuth code or a session
    id (`?jwt=`, `?code=`, `;jsessionid=`, an HTTP fragment's `#access_token=`), or holding one
    in its value (`?odbc_connect=...;PWD=...`): `_secret_parameters`."""
    masked = _masked(uri)
    shown = uri if masked is None else masked[1]
    for parameter, hidden in _secret_parameters(uri):
        shown = shown.replace(parameter, hidden)
    return shown


def _is_http(scheme: str) -> bool:
    return scheme.lower() in ("http", "https")


_DATABASES = frozenset({"sqlite", "postgresql", "postgres", "mysql", "mariadb", "mssql", "oracle"})
"""The schemes of SQLAlchemy's database URLs (MLflow's database stores; `mysql+pymysql` too),
whose user is a login name and only the password a secret."""


def _is_database(scheme: str) -> bool:
    return scheme.lower().partition("+")[0] in _DATABASES


def _secret(uri: str) -> str | None:
    """What `shown_uri` masks in `uri`: the user part (user and password) of an HTTP(S) URL or
    any URL not a database's, or a database URL's password; None when it holds neither (or is
    not a URL)."""
    masked = _masked(uri)
    return None if masked is None else masked[0]


_SECRET_STEMS = re.compile(r"pass|pwd|token|secret|credential|signature|jwt|apikey", re.IGNORECASE)
"""A parameter name holding one of these anywhere names a secret (`X-Amz-Signature`, `passwd`)."""
_SECRET_WORDS = frozenset({"key", "sig", "auth", "authorization", "assertion", "session", "bearer"})
"""... or holding one of these as a word of its own (`api_key`, `apiKey`, `sig`): not as letters
of another word (`monkey`, `signal`, `author` are no secrets)."""
_SECRET_NAMES = frozenset({"code", "jsessionid", "phpsessid", "sessionid", "sid"})
"""... or being one of these (an OAuth authorisation code, a session id: Java's `;jsessionid=`,
PHP's `PHPSESSID`; `country_code` is no secret)."""
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_INNER_NAME = re.compile(r"([A-Za-z0-9_.-]+)\s*=")
"""A `name=` inside a parameter's value (ODBC's `odbc_connect=...;PWD=...`, libpq's
`options=-c password=...`)."""


def _secret_name(name: str) -> bool:
    """Whether the parameter `name` (as a server reads it: percent-decoded) names a secret."""
    name = unquote(name).strip()
    if _SECRET_STEMS.search(name) or name.lower() in _SECRET_NAMES:
        return True
    return any(word.lower() in _SECRET_WORDS for word in _WORD.findall(name))


_PARAMETER = re.compile(r"(?<=[?&;#])(?P<name>[^=&;#?]*=)(?P<value>[^&#]+)")
"""A query parameter of an HTTP(S) URL, or one of its fragment (`#access_token=`, an OAuth
implicit flow's), with its value (to the next parameter or the fragment)."""
_DATABASE_PARAMETER = re.compile(r"(?<=[?&;])(?P<name>[^=&;#?]*=)(?P<value>[^&]+)")
"""The same in a database URL, whose value SQLAlchemy reads to the next `&` (its query runs to
the end: `?password=p#ss;x` connects with `p#ss;x`)."""


def _secret_parameters(uri: str) -> list[tuple[str, str]]:
    """Each parameter of `uri` that holds a secret, its `name=value` text and that text with the
    value as `***`: a parameter naming a password, token, secret, key, signature, credential,
    authorisation, JSON web token or OAuth code, or whose value holds such a `name=`."""
    found = (_PARAMETER if _is_http(uri.partition("://")[0]) else _DATABASE_PARAMETER).finditer(uri)
    return [
        (m.group(0), m.group("name") + "***")
        for m in found
        if _secret_name(m.group("name")[:-1])
        or any(_secret_name(inner) for inner in _INNER_NAME.findall(unquote(m.group("value"))))
    ]


_DATABASE_USER_PART = re.compile(r"[^:/]*:[^@]*@")
"""SQLAlchemy's `make_url` (MLflow's database stores): a user without `:` or `/`, then a
password that runs to the first `@`, `#`, `/` and `?` in it too (`postgresql://ana:p#ss@db`)."""


def _masked(uri: str) -> tuple[str, str] | None:
    """The secret of `uri` and `uri` with it as `***`; None when it holds none. The user part
    ends at the last `@` of the host part (as urllib splits it: a password's own unquoted `@`),
    or, where a database driver reads further (SQLAlchemy), at its first `@` after a password;
    any other URL (HTTP(S), a plugin's) is read so only when urllib's host part cannot be one
    (`ana:p` of `https://ana:p#ss@host`: no port), as `https://host:5000/x?to=a@b` holds no user."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return None
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    ends = [netloc.rfind("@")] if "@" in netloc else []
    database = _is_database(scheme)  # another URL is read as HTTP's, as urllib reads it
    found = _DATABASE_USER_PART.match(rest)
    if found is not None and (database or (not ends and not _host_and_port(netloc))):
        ends.append(found.end() - 1)
    if not ends:
        return None
    end = max(ends)
    if not database:  # a token given as the user is no less a secret
        secret = rest[:end]
        return (secret, f"{scheme}://***{rest[end:]}") if secret else None
    user, _, password = rest[:end].partition(":")
    return (password, f"{scheme}://{user}:***{rest[end:]}") if password else None


def _host_and_port(netloc: str) -> bool:
    """Whether `netloc` (without a user part) can be a host with an optional numeric port."""
    if netloc.endswith("]"):  # [::1]
        return True
    _, colon, port = netloc.rpartition(":")
    return not colon or port.isdigit()


def _store_errors() -> tuple[type[Exception], ...]:
    """What a tracking store raises on a URI it cannot use: MLflow's errors, and SQLAlchemy's
    for a SQLite URI naming a file that is no database or a folder that does not exist (MLflow
    passes those through; SQLAlchemy comes with MLflow)."""
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    return MlflowException, SQLAlchemyError


class _Logged(NamedTuple):
    """A run an earlier export logged: its MLflow id, status, `harness.partial` tag, start time
    (milliseconds) and parent run (None: a harness run's)."""

    run_id: str
    status: str
    partial: str | None
    start_time: int | None
    parent: str | None
    marked: bool = False  # it carries chance marks (`at_chance.*` tags)
    superseded: bool = False  # tagged `harness.superseded` by an earlier export
    name: str = ""  # the MLflow run name


def _logged_as(runs: list[_Logged], start: int | None, parent: str | None = None) -> _Logged | None:
    """Of the runs logged under one `harness.job_id`, the one of this harness run or job: the
    same start time (none to compare when the results record none) and, for a job, the same
    parent run; a FINISHED one first."""
    same = [
        run
        for run in runs
        if (start is None or run.start_time == start) and (parent is None or run.parent == parent)
    ]
    finished = [run for run in same if run.status == _FINISHED]
    return next(iter(finished or same), None)


def _refresh_partial(client: MlflowClient, found: _Logged, partial: bool) -> bool:
    """Set the run's `harness.partial` tag to what the results are now; whether it changed."""
    value = "true" if partial else "false"
    if found.partial == value:
        return False
    client.set_tag(found.run_id, PARTIAL_TAG, value)
    return True


def _existing_runs(client: MlflowClient, experiment_id: str) -> dict[str, list[_Logged]]:
    """job id -> the runs earlier exports logged for it (active runs only)."""
    out: dict[str, list[_Logged]] = {}
    token: str | None = None
    while True:
        page = client.search_runs(
            [experiment_id], filter_string=f"tags.`{JOB_ID_TAG}` != ''", page_token=token
        )
        for run in page:
            tags = run.data.tags
            if (job_id := tags.get(JOB_ID_TAG)) is not None:
                out.setdefault(job_id, []).append(
                    _Logged(
                        run.info.run_id,
                        run.info.status,
                        tags.get(PARTIAL_TAG),
                        run.info.start_time,
                        tags.get(PARENT_TAG),
                        any(k.startswith(_CHANCE_TAGS) for k in tags),
                        tags.get(SUPERSEDED_TAG) == "true",
                        run.info.run_name or "",
                    )
                )
        token = page.token
        if not token:
            return out


def _refuse_a_folder(uri: str) -> None:
    """A SQLite URI naming a folder (`sqlite:///mlruns`, the old file store's folder) is refused
    at once: MLflow would retry opening it for minutes before failing."""
    prefix = "sqlite:///"
    path = Path(uri[len(prefix) :]) if uri.startswith(prefix) else None
    if path is not None and path.is_dir():
        raise TrackingError(
            f"tracking URI {uri} cannot be used: {path} is a folder; name a database file in "
            f"it (sqlite:///{path / DATABASE_FILE})"
        )


def _artifact_location(uri: str) -> str | None:
    """Artifacts of a new experiment in a SQLite store go to `mlruns/` beside the database
    file (where `mlflow ui` started in that folder looks); other stores keep their default."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or uri == f"{prefix}:memory:":
        return None
    return (Path(uri[len(prefix) :]).resolve().parent / "mlruns").as_uri()


def _refuse_file_links(jobs: list[ExportedJob]) -> None:
    """A run's spec.yaml or manifest.json, or a job's file, that is a link: MLflow's
    `log_artifact` follows it and uploads the file it points to. Refused before anything is
    logged."""
    for job in jobs:
        run_dir = job.job.path.parent.parent
        paths = [run_dir / name for name in _RUN_FILES] + [job.job.path / n for n in _JOB_FILES]
        for path in paths:
            if is_link(path):
                raise HarnessError(
                    f"{path} is a symbolic link{_pointing(path)}: MLflow would upload what it "
                    "points to; a results folder holds plain files and folders only: remove "
                    "the link (nothing was logged)"
                )


def _pointing(path: Path) -> str:
    try:
        return f" (pointing to {os.readlink(path)})"
    except OSError:
        return ""


def _site_files(site: Path) -> list[tuple[Path, str]]:
    """The report site's published files, each with its artifact folder (`report/figures`).
    Hidden entries, at any depth, are not the site: the report's own state (its kept resampled
    values and paired forms, its lock, a running or killed build's staging folder of
    half-written pages) and the user's (`.git`, `.nojekyll`). A link among the rest is refused
    before anything is logged: MLflow would upload the file it points to (a site may come with
    a results folder from a shared cache); the site folder itself may be a link the user gave."""
    files: list[tuple[Path, str]] = []
    _walk_site(site, "report", files)
    for file, _folder in files:
        if is_link(file):
            raise HarnessError(
                f"report site {site} holds a symbolic link, {file}{_pointing(file)}: MLflow would "
                "upload what it points to; a report site holds plain files and folders only: "
                "remove the link or pass another --report (nothing was logged)"
            )
    return files


def _walk_site(folder: Path, artifact_path: str, files: list[tuple[Path, str]]) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as err:
        raise HarnessError(
            f"report site {folder}: cannot list it: {err.strerror or err} (nothing was logged)"
        ) from None
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            _walk_site(path, f"{artifact_path}/{entry.name}", files)
        else:  # a file, or a link: refused by the caller
            files.append((path, artifact_path))


def _found_report(results: Path) -> Path | None:
    site = results / "report"
    return site if (site / "index.html").is_file() else None


def _millis(iso: str | None) -> int | None:
    if not iso:
        return None
    try:
        return int(datetime.fromisoformat(iso).timestamp() * 1000)
    except ValueError:
        return None


def _first_line(err: BaseException, uri: str) -> str:
    """The error's text on one line, at most 300 characters, with the secret `shown_uri` masks
    replaced by `***` (MLflow's own errors repeat the URI whole: "API request to
    https://ana:pw@host/api/... failed")."""
    text = " ".join(str(err).split())
    secret = _secret(uri)
    if secret:
        for form in {secret, quote(secret, safe=""), unquote(secret)}:
            text = text.replace(f"{form}:@", "***@").replace(f"{form}@", "***@")
    for parameter, shown in _secret_parameters(uri):
        # as given, decoded, and as requests and urllib3 re-quote a URL ("... with url: /x?...")
        forms = {parameter, unquote(parameter)}
        forms |= {quote(form, safe=safe) for form in forms for safe in _REQUOTE_SAFE}
        forms |= {_ESCAPE.sub(lambda m: m.group(0).upper(), form) for form in forms}
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, shown)
    return text if len(text) <= 300 else text[:297] + "..."


_REQUOTE_SAFE = ("!#$%&'()*+,/:;=?@[]~", "!$%&'()*+,/:;=?@~")
"""What `requests.utils.requote_uri` leaves unquoted in a URL (`%` too: escapes stay as given),
and what urllib3 then leaves unquoted in its query (it escapes `[`, `]`, and writes every escape
in capitals: `%7c` as `%7C`)."""
_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")


def _mlflow_client_type() -> type[MlflowClient]:
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise MissingDependencyError("mlflow", "mlflow", "harness export --to mlflow") from None
    return MlflowClient


@contextmanager
def _one_try() -> Iterator[None]:
    """No retries and a short timeout for the first request to a tracking server: an
    unreachable URI fails in seconds, not after MLflow's minutes of backoff. The user's own
    settings of these variables win."""
    wanted = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
    added = [name for name in wanted if name not in os.environ]
    os.environ.update({name: wanted[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


@contextmanager
def _one_export_at_a_time(uri: str, experiment: str) -> Iterator[None]:
    """Exports into one experiment of one tracking store from this machine run one after the
    other. Two at once each found the other's runs missing (or RUNNING, and deleted them as an
    interrupted export's) and logged every job twice. A lock file in the temporary folder,
    named by a digest of the URI and the experiment; exports from other machines are not
    covered. Where no lock file can be opened the export goes on unguarded."""
    import fcntl
    import hashlib
    import tempfile

    digest = hashlib.sha256(f"{uri}\0{experiment}".encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"harness-mlflow-export-{digest}.lock"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.warning(
                "another harness export into MLflow experiment %r at %s is running; waiting "
                "for it to finish",
                experiment,
                shown_uri(uri),
            )
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextmanager
def _quiet_mlflow() -> Iterator[None]:
    """MLflow's and alembic's INFO lines (database set-up) stay out of the command's output, and
    so do the `View run ... at:` links MLflow writes to stdout for each run it ends on a
    tracking server (two lines and one more request per run); a user's own setting of
    MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT wins."""
    loggers = [logging.getLogger(name) for name in ("mlflow", "alembic")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
    added = _SUPPRESS_LINKS not in os.environ
    if added:
        os.environ[_SUPPRESS_LINKS] = "true"
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
        if added:
            os.environ.pop(_SUPPRESS_LINKS, None)


_SUPPRESS_LINKS = "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"
MAX_EXPERIMENT_NAME = 500  # MLflow's limit on an experiment's name
