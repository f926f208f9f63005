"""The stored jobs of a results folder as plain records for an exporter: identity, parameters,
metrics under names every tracker accepts, and reliability flags. No exporter package here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.analysis.caveats import is_upper_bound
from harness.analysis.leaderboard import worst_groups
from harness.core.errors import ResultsError
from harness.core.group_context import is_worst_group
from harness.core.manifest import JobStatus, RunManifest
from harness.core.metric_record import MetricRecord
from harness.core.suite_board import SuiteBoard
from harness.export.chance import NO_MARKS, ChanceMarks, chance_marks
from harness.store.completeness import MissingJob, completeness
from harness.store.run_store import StoredJob, load_jobs

KEY_LIMIT = 250  # MLflow's limit on a metric, parameter or tag key
TAG_VALUE_LIMIT = 5000  # the smallest limit on a tag's value among MLflow's stores
DESCRIPTION_TAG = "mlflow.note.content"  # the run's description in the MLflow UI
# Names that MLflow takes on every platform (its rule on Windows: no colon): anything else in a
# metric's qualifiers (attack=..., group values, corruption names) becomes an underscore.
_UNSAFE = re.compile(r"[^\w.\- ]")


@dataclass(frozen=True)
class ExportedJob:
    """One completed job, as every exporter sees it."""

    job_id: str  # "<run id>/<job folder>": unique across results folders' run layouts
    manifest: RunManifest
    job: StoredJob
    partial: bool  # the results folder is incomplete (exported with --allow-partial)
    # its accuracy numbers' chance levels and its skill numbers of a model at chance, as the
    # leaderboard gives them (none without the suites' boards: `exported_jobs`)
    chance: ChanceMarks = NO_MARKS

    @property
    def model(self) -> str:
        return self.job.record.model

    @property
    def task(self) -> str:
        return self.job.record.task

    @property
    def suite(self) -> str:
        return self.job.record.suite

    def params(self) -> dict[str, str]:
        """What identifies the job: model, task, suite, hashes, seed, device and versions."""
        rec, man = self.job.record, self.manifest
        params = {
            "model": rec.model,
            "task": rec.task,
            "suite": rec.suite,
            "suite_version": rec.suite_version,
            "suite_config_hash": rec.suite_config_hash,
            "task_fingerprint": rec.task_summary.fingerprint,
            "task_n": str(rec.task_summary.n),
            "job_key": rec.key,
            "run_id": man.run_id,
            "spec_name": man.spec_name,
            "spec_hash": man.spec_hash,
            "seed": str(rec.seed),
            "device": rec.device,
            "model_origin": rec.model_origin,
            "harness_version": rec.harness_version,
        }
        if rec.model_description.weights_sha256:
            params["weights_sha256"] = rec.model_description.weights_sha256
        if rec.protocol is not None:
            params["protocol"] = rec.protocol.label
        if man.git_sha:
            params["git_sha"] = man.git_sha
        for package, version in sorted(man.versions.items()):
            params[safe_key(f"version.{package}")] = version or "not installed"
        return params

    def metrics(self) -> dict[str, float]:
        """Every defined metric value with its interval bounds and sample size, by the names
        of `metric_names` (suffixes `.ci_low`, `.ci_high`, `.n`; a worst-group number also
        `.n_all_groups`: `sizes`; an accuracy with a chance level `.chance`: the leaderboard's
        `<key>_chance`)."""
        out: dict[str, float] = {}
        for name, record in metric_names(self.job.metrics).items():
            if record.value is not None:
                out[name] = float(record.value)
            if record.ci is not None:
                out[f"{name}.ci_low"], out[f"{name}.ci_high"] = map(float, record.ci)
            out.update({f"{name}.{k}": float(v) for k, v in self.sizes(record).items()})
            if (chance := self.chance.chance.get(record.key)) is not None:
                out[f"{name}.chance"] = chance.level
        return out

    def sizes(self, record: MetricRecord) -> dict[str, int]:
        """The sample size a record's value is of, as the leaderboard gives it: `n`, and for a
        worst-group number (one group's value and interval, its record's n every group's)
        the worst group's n (the smallest of tied worst groups; left out when the job stores
        no per-group record of it) with every group's as `n_all_groups`."""
        if not is_worst_group(record):
            return {"n": record.n}
        groups = worst_groups(self.job, record)
        own = {"n": min(g.n for g in groups)} if groups else {}
        return {**own, "n_all_groups": record.n}

    def tags(self) -> dict[str, str]:
        """Reliability flags per metric, undefined metrics, upper bounds (with their note), the
        chance marks (`at_chance.<name>`: `true` where the leaderboard says AT OR BELOW CHANCE,
        `false` above it; `no_skill.<name>`: why a calibration number of a model at chance is no
        merit), each record's note (the leaderboard's footnote: `not this model's own memory`, `not a tail
        latency`, why a number is undefined), the job's notes as the run's description (the
        boards' notes: `evaluated on a seeded label-stratified subset of 200 of 719 samples`),
        and the harness's own identity tags (`harness.job_id` is how a re-export finds the run
        it logged before)."""
        tags = {
            "harness.job_id": self.job_id,
            "harness.model": self.model,
            "harness.task": self.task,
            "harness.suite": self.suite,
            "harness.partial": "true" if self.partial else "false",
        }
        flagged: list[str] = []
        undefined: list[str] = []
        bounds: list[str] = []
        at_chance: list[str] = []
        no_skill: list[str] = []
        for name, record in metric_names(self.job.metrics).items():
            if record.flags:
                tags[f"flags.{name}"] = ", ".join(record.flags)  # name: safe, room left
                flagged.append(name)
            if record.note:
                tags[f"note.{name}"] = record.note[:TAG_VALUE_LIMIT]
            if record.value is None:
                undefined.append(name)
            elif is_upper_bound(record):  # e.g. robust accuracy from a decision-based attack
                tags[f"upper_bound.{name}"] = (record.note or "upper bound")[:TAG_VALUE_LIMIT]
                bounds.append(name)
            if (chance := self.chance.chance.get(record.key)) is not None:
                tags[f"at_chance.{name}"] = "true" if chance.at_or_below else "false"
                if chance.at_or_below:
                    at_chance.append(name)
            if (why := self.chance.no_skill.get(record.key)) is not None:
                tags[f"no_skill.{name}"] = why[:TAG_VALUE_LIMIT]
                no_skill.append(name)
        tags["harness.flagged_metrics"] = _name_list(flagged) or "none"
        if self.job.record.notes:
            tags[DESCRIPTION_TAG] = _description(self.job.record.notes)
        if undefined:
            tags["harness.undefined_metrics"] = _name_list(undefined)
        if bounds:
            tags["harness.upper_bound_metrics"] = _name_list(bounds)
        if at_chance:
            tags["harness.at_chance_metrics"] = _name_list(at_chance)
        if no_skill:
            tags["harness.no_skill_metrics"] = _name_list(no_skill)
        return tags


def _description(notes: tuple[str, ...]) -> str:
    """The job's notes as a Markdown list for the run's description, within TAG_VALUE_LIMIT
    (job.json, logged with the run, holds them whole)."""
    text = "".join(f"- {note}\n" for note in notes)
    if len(text) <= TAG_VALUE_LIMIT:
        return text
    cut = "... (cut here: every note is in job.json)"
    return text[: TAG_VALUE_LIMIT - len(cut)] + cut


def _name_list(names: list[str]) -> str:
    """`names` joined for one tag, within TAG_VALUE_LIMIT: a job over many small groups flags
    thousands of records, and a store truncates or refuses a longer value. The names left out
    are counted (each flagged one still has its own `flags.<name>` tag)."""
    joined = ", ".join(names)
    if len(joined) <= TAG_VALUE_LIMIT:
        return joined
    kept: list[str] = []
    size = 0
    for name in names:
        room = TAG_VALUE_LIMIT - len(_left_out(len(names) - len(kept) - 1, len(names)))
        if size + len(name) + 2 > room:
            break
        kept.append(name)
        size += len(name) + 2
    return ", ".join([*kept, _left_out(len(names) - len(kept), len(names))])


def _left_out(count: int, total: int) -> str:
    return f"... {count:,} more ({total:,} in all)"


def metric_names(records: list[MetricRecord]) -> dict[str, MetricRecord]:
    """Each record under a name a tracker accepts: its board key with the qualifiers as path
    parts (`robust_acc[attack=linf_pgd/eps=0.1,norm=linf]` ->
    `robust_acc/attack_linf_pgd/eps_0.1/norm_linf`); two keys that would meet on one name keep
    them apart with a digest of the full key. Of those, a key that needed no cleaning (group
    `a_` beside `a!`, both `group_a_`) keeps the plain name, whatever the records' order; the
    others carry the digest (the first in order took it: `group_a_` named a!'s number)."""
    plain = [_plain_name(record.key) for record in records]
    owner: dict[str, int] = {}  # plain name -> the record that keeps it
    for i, name in enumerate(plain):
        if name not in owner or (
            _needs_no_cleaning(records[i].key) and not _needs_no_cleaning(records[owner[name]].key)
        ):
            owner[name] = i
    out: dict[str, MetricRecord] = {}
    for i, (name, record) in enumerate(zip(plain, records, strict=True)):
        if owner[name] != i or len(name) > KEY_LIMIT - len(".ci_high") - len("flags."):
            name = _with_digest(name, record.key)
        out[name] = record
    return out


def _needs_no_cleaning(key: str) -> bool:
    """Whether `key`'s metric, qualifier names and values reach its plain name unchanged."""
    metric, _, qualifiers = key.partition("[")
    parts = [metric] + [q for q in re.split(r"[,/]", qualifiers.rstrip("]")) if q]
    texts = [text for part in parts for text in part.split("=", 1)]
    return all(
        not _UNSAFE.search(text) and text == text.strip(" ") and text not in (".", "..")
        for text in texts
    )


def safe_key(text: str) -> str:
    """`text` as a key MLflow takes on every platform, within its length limit."""
    name = _UNSAFE.sub("_", text)
    return name if len(name) <= KEY_LIMIT else _with_digest(name, text)


def _plain_name(key: str) -> str:
    metric, _, qualifiers = key.partition("[")
    parts = [metric] + [q for q in re.split(r"[,/]", qualifiers.rstrip("]")) if q]
    cleaned = [_UNSAFE.sub("_", part.replace("=", "_")).strip(" ") or "_" for part in parts]
    return "/".join("_" if part in (".", "..") else part for part in cleaned)


def _with_digest(name: str, key: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8", errors="surrogatepass")).hexdigest()[:10]
    room = KEY_LIMIT - len(".ci_high") - len("flags.") - len(digest) - 2
    return f"{name[:room]}--{digest}"


def failed_jobs(root: Path) -> tuple[MissingJob, ...]:
    """The jobs of finished runs under `root` that failed: an export leaves them out (it has
    no number to export), and says so."""
    return completeness(root, load_jobs(root)).failed


def exported_jobs(
    root: Path,
    *,
    allow_partial: bool = False,
    suite_boards: Iterable[SuiteBoard] = (),
    partial_option: str = "--allow-partial",
) -> list[ExportedJob]:
    """The completed jobs under the results folder `root`, in run and folder order. An
    incomplete folder is refused unless `allow_partial` (then each job says it is partial);
    a folder with no completed job is refused: an export of nothing looks like a success.
    `suite_boards`: the installed suites' boards (`harness.run.suite_boards`, handed in by the
    CLI and `harness.export_*`), whose headline declarations say which numbers have a chance
    level (`harness.export.chance`); without them no job carries chance marks.
    `partial_option`: the refusal's way out as the caller spells it (`allow_partial=True`)."""
    loaded = load_jobs(root)
    gaps = completeness(root, loaded)
    if not allow_partial:
        gaps.refuse(root, partial_option)
    completed = [(m, job) for m, job in loaded if job.status == JobStatus.COMPLETED]
    marks = chance_marks(completed, suite_boards)
    jobs = [
        ExportedJob(
            job_id=f"{manifest.run_id}/{job.path.name}",
            manifest=manifest,
            job=job,
            partial=not gaps.whole,
            chance=marks.get(id(job), NO_MARKS),
        )
        for manifest, job in completed
    ]
    if not jobs:
        raise ResultsError(f"results folder {root} holds no completed job to export")
    return jobs
