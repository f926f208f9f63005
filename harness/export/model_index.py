"""`harness export RESULTS --to model-index --out DIR`: a Hugging Face model card per model,
`DIR/<model>/README.md`, whose metadata holds the model's `model-index` (docs/export.md).

The card is built with huggingface_hub's card classes (`ModelCardData`, `EvalResult`,
`ModelCard`): one evaluation result per metric, naming the task (its kind, from the task's
modality), the dataset (the task's name, its source without a local path, and fingerprint) and the metric (its name,
value, the condition it was measured under, and as arguments its suite, sample size and
interval). huggingface_hub groups the results by task and dataset. A card that is already there keeps its text and
other metadata: only its model-index is replaced, so a re-export rewrites the same file.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.analysis.caveats import is_upper_bound
from harness.core.errors import MissingDependencyError, ResultsError
from harness.core.metric_record import MetricRecord
from harness.core.suite_board import SuiteBoard
from harness.export.exported_jobs import ExportedJob, exported_jobs
from harness.store.atomic import write_text
from harness.store.links import is_link, link_refusal
from harness.store.recency import oldest_first
from harness.store.run_store import safe_component

if TYPE_CHECKING:
    from huggingface_hub import EvalResult

CARD_FILE = "README.md"
TASK_TYPES = {
    "image": "image-classification",
    "tabular": "tabular-classification",
    "text": "text-classification",
}
SOURCE_NAME = "robustness-harness"


@dataclass(frozen=True)
class ModelCardFile:
    """One written card: the model, its file and how many evaluation results it holds;
    `undefined`: the metrics it would hold that have no value (a model-index entry needs one),
    each as `task × suite: name (note)`, so the caller can say what the card leaves out."""

    model: str
    path: Path
    results: int
    undefined: tuple[str, ...] = ()


def export_model_index(
    results: Path,
    out: Path,
    *,
    all_metrics: bool = False,
    allow_partial: bool = False,
    suite_boards: Iterable[SuiteBoard] = (),
    partial_option: str = "--allow-partial",
) -> list[ModelCardFile]:
    """Write `out/<model>/README.md` for every model under `results`: its headline metrics
    (every metric with `all_metrics`) as the card's model-index. Where a model ran the same
    task and suite in several runs, the latest job counts. `suite_boards`: the installed
    suites' boards, which say which numbers have a chance level (`exported_jobs`;
    `harness.export_model_index` and the CLI pass them)."""
    _check_installed()
    jobs = _latest(
        exported_jobs(
            results,
            allow_partial=allow_partial,
            suite_boards=suite_boards,
            partial_option=partial_option,
        )
    )
    by_model: dict[str, list[EvalResult]] = {}
    undefined: dict[str, list[str]] = {}
    for job in jobs:
        by_model.setdefault(job.model, []).extend(_eval_results(job, all_metrics=all_metrics))
        undefined.setdefault(job.model, []).extend(
            f"{job.task} × {job.suite}: {_shown_name(record)}"
            + (f" ({record.note})" if record.note else "")
            for record in job.job.metrics
            if record.value is None and (all_metrics or record.headline)
        )
    folders = card_folders([model for model, evals in by_model.items() if evals], out)
    cards = {
        model: (out / folders[model] / CARD_FILE, evals)
        for model, evals in by_model.items()
        if evals
    }
    if not cards:
        raise ResultsError(
            f"results folder {results} holds no headline metric with a value to export; "
            "pass --all-metrics for every metric"
        )
    # every card's text first (an existing card that cannot be read stops it), then the files,
    # each written whole (temp file + rename)
    texts = {model: _card_text(path, model, evals) for model, (path, evals) in cards.items()}
    for model, text in texts.items():
        write_text(cards[model][0], text)
    return [
        ModelCardFile(model=model, path=path, results=len(evals), undefined=tuple(undefined[model]))
        for model, (path, evals) in cards.items()
    ]


def card_folders(models: list[str], out: Path | None = None) -> dict[str, str]:
    """Each model's card folder: its name made path-safe (`safe_component`), or, where two
    names would share a folder on a case-insensitive file system (macOS, Windows: `Net` and
    `net`), that name with a hash of the exact model name, so one card never overwrites
    another's. A model whose own card an earlier export wrote in `out` keeps that folder (one
    of those two), so a name differing in case that arrives or goes never leaves its old card
    behind, stale, beside a new one (nor the user's text in the old one)."""
    names = {model: safe_component(model) for model in models}
    folded = Counter(name.casefold() for name in names.values())
    folders = {
        model: name if folded[name.casefold()] == 1 else _hashed(model, name)
        for model, name in names.items()
    }
    if out is None:
        return folders
    plain_taken: set[str] = set()  # a plain folder kept by a model whose name shares it
    for model in sorted(models):
        name = names[model]
        plain, hashed = name, _hashed(model, name)
        if _card_model(out / folders[model]) == model:
            continue
        if folded[name.casefold()] == 1 and _card_model(out / hashed) == model:
            folders[model] = hashed
        elif (
            folded[name.casefold()] > 1
            and name.casefold() not in plain_taken
            and _card_model(out / plain) == model
        ):
            folders[model] = plain
            plain_taken.add(name.casefold())
    return folders


def _card_model(folder: Path) -> str | None:
    """The model an existing card in `folder` names in its model-index (None: no card, a
    link, or metadata that does not say)."""
    import yaml

    path = folder / CARD_FILE
    if is_link(folder) or is_link(path) or not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
        if not text.startswith("---"):
            return None
        meta = yaml.safe_load(text.split("---", 2)[1])
        name = meta["model-index"][0]["name"]
    except (OSError, UnicodeDecodeError, yaml.YAMLError, IndexError, KeyError, TypeError):
        return None
    return name if isinstance(name, str) else None


def _hashed(model: str, name: str) -> str:
    digest = hashlib.sha256(model.encode("utf-8", errors="surrogatepass")).hexdigest()[:12]
    return f"{name[:47]}~{digest}"


def _eval_results(job: ExportedJob, *, all_metrics: bool) -> list[EvalResult]:
    from huggingface_hub import EvalResult

    summary = job.job.record.task_summary
    out = []
    for record in job.job.metrics:
        if record.value is None or not (all_metrics or record.headline):
            continue
        qualifier = _qualifier(record)
        name = _shown_name(record)
        caveats = _caveats(job, record)
        protocol = job.job.record.protocol
        if protocol is not None:  # the hub shows a result's name and value, not its args
            caveats.append(f"protocol {protocol.label}")
        out.append(
            EvalResult(
                task_type=TASK_TYPES[summary.modality],
                task_name=f"{summary.modality} classification",
                dataset_type=_dataset_type(summary.source) or job.task,
                dataset_name=job.task,
                dataset_config=summary.fingerprint[:16],
                metric_type=record.metric,
                metric_name=f"{name} ({'; '.join(caveats)})" if caveats else name,
                metric_value=record.value,
                metric_config=qualifier or None,
                metric_args=_metric_args(job, record),
            )
        )
    return out


def _shown_name(record: MetricRecord) -> str:
    """The metric's name with its condition, as a card names it (`robust_acc [eps=0.1]`)."""
    qualifier = _qualifier(record)
    return f"{record.metric} [{qualifier}]" if qualifier else record.metric


def _qualifier(record: MetricRecord) -> str:
    """The condition of the record's board key without the key's brackets: `class=(0, 10]` of
    `class_acc[class=(0, 10]]` (stripping brackets took the value's own `]` too)."""
    key = record.key
    return key[len(record.metric) + 1 : -1] if key != record.metric else ""


def _dataset_type(source: str) -> str:
    """A task's source as the hub reads a dataset's type: a hub task's dataset id without the
    harness's `hf:` prefix (`hf:uoft-cs/cifar10` -> `uoft-cs/cifar10`, which the hub links to
    the dataset), a built-in or in-memory source as recorded, and a local file or folder by
    its name alone: a published card must not carry the path (`/home/<user>/...`) it was
    read from."""
    if source.startswith("hf:"):
        return source.removeprefix("hf:")
    if source.startswith(("builtin:", "python:")):
        return source
    return re.split(r"[\\/]", source.rstrip("\\/"))[-1] or source


def _caveats(job: ExportedJob, record: MetricRecord) -> list[str]:
    """What keeps the number out of comparisons, in words for the result's name: the hub shows
    a model-index result's name and value, not its args, so a flagged robust accuracy, a
    decision-based upper bound, an accuracy at or below chance (`at or below chance 0.710`) or
    the calibration of a model at chance (`model at chance`) must say so there (the leaderboard
    marks the same numbers)."""
    out = ["upper bound"] if is_upper_bound(record) else []
    if record.flags:
        out.append(f"flagged: {', '.join(record.flags)}")
    chance = job.chance.chance.get(record.key)
    if chance is not None and chance.at_or_below:
        out.append(f"at or below chance {chance.level:.3f}")
    if record.key in job.chance.no_skill:
        out.append("model at chance")
    return out


def _metric_args(job: ExportedJob, record: MetricRecord) -> dict[str, object]:
    stored = job.job.record
    args: dict[str, object] = {
        **job.sizes(record),
        "suite": stored.suite,
        "suite_version": stored.suite_version,
        "harness_version": stored.harness_version,
        # what the number is in and which way is better (ECE, Brier, latency: lower), as the
        # leaderboard's Markdown and JSON say it
        "unit": record.unit,
        "higher_is_better": record.higher_is_better,
    }
    if record.ci is not None:
        args["ci_low"], args["ci_high"] = record.ci
    if record.flags:
        args["flags"] = list(record.flags)
    if is_upper_bound(record):
        args["upper_bound"] = True
    if (chance := job.chance.chance.get(record.key)) is not None:
        # the leaderboard's `<key>_chance` and `<key>_at_or_below_chance`
        args["chance"] = chance.level
        args["at_or_below_chance"] = chance.at_or_below
    if (why := job.chance.no_skill.get(record.key)) is not None:
        args["model_at_chance"] = why
    if record.note:
        args["note"] = record.note
    if stored.notes:  # the boards' notes under the job's rows: a subset, a preset, ...
        args["job_notes"] = list(stored.notes)
    if stored.protocol is not None:
        args["protocol"] = stored.protocol.label
    if job.partial:
        args["partial_results"] = True
    return args


def _card_text(path: Path, model: str, evals: list[EvalResult]) -> str:
    """The card's text: the existing card with its model-index replaced, or a new card."""
    import yaml
    from huggingface_hub import ModelCard, ModelCardData

    if is_link(path.parent):  # refused here, before any card is written, dangling or not
        raise link_refusal(path.parent)
    if path.is_symlink():  # never read (huggingface_hub warns about the target) nor written
        target = os.readlink(path) if path.exists() else "nothing"
        raise ResultsError(
            f"model card {path} is a symbolic link (to {target}); a card is written as a plain "
            "file, never through a link: remove the link or pass another --out"
        )
    if path.parent.exists() and not path.parent.is_dir():
        raise ResultsError(
            f"{path.parent} is a file, not the folder for the card of model {model!r}; move it "
            "or pass another --out"
        )
    if path.is_file():
        try:
            card = ModelCard.load(path)
        except yaml.YAMLError as err:  # huggingface_hub passes PyYAML's error through
            where = getattr(err, "problem_mark", None)
            at = f" (line {where.line + 1})" if where is not None else ""
            raise ResultsError(
                f"model card {path} cannot be read to update its model-index: its metadata "
                f"is not valid YAML{at}; fix or move it"
            ) from None
        except (OSError, ValueError) as err:
            raise ResultsError(
                f"model card {path} cannot be read to update its model-index ({err}); "
                "fix or move it"
            ) from None
        card.data.model_name = model
        card.data.eval_results = evals
        return str(card)
    if path.exists():  # a folder or a special file: not a card to replace
        what = "folder" if path.is_dir() else "special file"
        raise ResultsError(
            f"model card {path} is a {what}, not a regular file; move it or pass another --out"
        )
    data = ModelCardData(model_name=model, eval_results=evals)
    body = (
        f"# Evaluation results\n\nFrom {SOURCE_NAME} (`harness export --to "
        "model-index`): the `model-index` in this card's metadata.\n"
    )
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}"))


def _latest(jobs: list[ExportedJob]) -> list[ExportedJob]:
    """One job per model x task x suite x protocol preset (or none): the latest recorded
    (harness/store/recency.py); a protocol's number never gives way to one made without it."""
    exported = {id(job.job): job for job in jobs}
    best: dict[tuple[str, str, str, str], ExportedJob] = {}
    for _man, stored in oldest_first((job.manifest, job.job) for job in jobs):
        job = exported[id(stored)]
        protocol = stored.record.protocol
        best[(job.model, job.task, job.suite, protocol.label if protocol else "")] = job
    return list(best.values())


def _check_installed() -> None:
    try:
        import huggingface_hub  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            "huggingface_hub", "model-index", "harness export --to model-index"
        ) from None
