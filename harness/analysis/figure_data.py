"""The numbers behind the report's figures, read from stored records and per-sample tables.

Every point carries its 95% interval and, when the number must not be compared (an upper bound,
a reliability flag, unstable timing), the caveat that says so: the drawing code shows such
points hollow and leaves them out of fronts. Per-group accuracies, accuracy per corruption and
severity (Wilson intervals), accuracy vs severity averaged over corruptions (`intervals.cell_mean`,
as the shift suite's mean corruption accuracy), robust accuracy vs budget, throughput vs batch size, Pareto views with
intervals on both axes, and the image galleries (corruptions per severity, adversarial examples)
stored as array artifacts. No drawing here, no torch.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.api.types import is_float_dtype

from harness.analysis import pareto
from harness.analysis.caveats import caveats
from harness.analysis.leaderboard import Board
from harness.analysis.paired_forms import rows_cell_mean
from harness.core.group_context import GroupContext
from harness.core.group_order import group_names, value_order
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import GROUP_PREFIX, SampleTable
from harness.core.suite_board import Curve
from harness.core.threat_model import ThreatContext
from harness.core.timing_context import TimingContext
from harness.store.run_store import StoredJob

_CORRUPTION = re.compile(r"^corruption=(?P<name>[^/]+)/severity=(?P<sev>\d+)$")
Interval = tuple[float, float]
# throughput whose 95% interval is wider than this fraction of the estimate reads as unstable
UNSTABLE_RELATIVE_WIDTH = 0.5
MAX_SERIES = 8  # series per axis; more go to further panels


@dataclass(frozen=True)
class FigPoint:
    """A point of a line or dot figure: y with its interval, and a caveat that excludes it."""

    x: float
    y: float
    ci: Interval | None
    caveat: str = ""  # short caveat ("upper bound", "unreliable", "unstable timing"); "" if none
    n: int | None = None


Series = dict[str, list[FigPoint]]  # series name -> points


def wilson(k: int, n: int, z: float = 1.96) -> Interval | None:
    """Wilson score interval of a proportion (for per-group accuracies drawn in figures)."""
    if n == 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def group_accuracy(table: SampleTable) -> dict[str, dict[str, tuple[float, Interval | None]]]:
    """Clean accuracy per group value, per group column: {column: {value: (acc, wilson CI)}}."""
    out: dict[str, dict[str, tuple[float, Interval | None]]] = {}
    columns = [c for c in table.frame.columns if c.startswith(GROUP_PREFIX)]
    if not columns:  # no groups: the clean rows are not selected (a report asks of every job)
        return out
    frame = table.condition("clean")
    for col in columns:
        if is_float_dtype(frame[col]):  # a continuous attribute: one bar per value
            continue
        per: dict[str, tuple[float, Interval | None]] = {}
        for value, rows in frame.groupby(col, dropna=True, observed=True):
            k, n = int(rows["correct"].sum()), len(rows)
            per[str(value)] = (k / n, wilson(k, n))
        if per:
            out[col[len(GROUP_PREFIX) :]] = per
    return out


@dataclass(frozen=True)
class GroupFigure:
    """Accuracy per group value of one grouping, per model: values in display order, labels
    readable (declared on the task), each point with its interval and n."""

    grouping: str
    values: list[str]  # raw group values, in display order
    labels: dict[str, str]  # raw value -> label shown
    per_model: dict[str, dict[str, FigPoint]]  # model -> value -> point (x unused)
    source: str  # where the numbers come from, in words


def group_figures(
    per_model_records: Mapping[str, Sequence[MetricRecord]],
    per_model_tables: Mapping[str, SampleTable],
    labels: Mapping[str, Mapping[str, str]],
) -> list[GroupFigure]:
    """Per-group accuracy figures: the fairness suite's `group_acc` records (bootstrap intervals)
    where they exist, else clean accuracy per group from the per-sample tables (Wilson)."""
    found: dict[str, dict[str, dict[str, FigPoint]]] = defaultdict(lambda: defaultdict(dict))
    source: dict[str, str] = {}
    for model, records in per_model_records.items():
        for suite, by, value, point in _group_records(records):
            found[by][model][value] = point
            source[by] = f"{suite} suite group_acc (bootstrap within groups)"
    from_records = set(source)
    for model, table in per_model_tables.items():
        for by, value, point in _group_table(table):
            if by not in from_records:
                source[by] = "clean accuracy per group from the per-sample table (Wilson)"
                found[by][model][value] = point
    out = []
    for by in sorted(found):
        per_model = {m: dict(v) for m, v in sorted(found[by].items())}
        declared = labels.get(by, {})
        values = value_order({v for per in per_model.values() for v in per}, list(declared))
        shown = group_names(values, declared)
        out.append(GroupFigure(by, values, shown, per_model, source[by]))
    return out


def _group_records(records: Sequence[MetricRecord]) -> list[tuple[str, str, str, FigPoint]]:
    """(suite, grouping, value, point) of per-group accuracy records (`group_acc` with its
    `GroupContext`: the fairness suite's)."""
    out = []
    for r in records:
        ctx = GroupContext.of(r.context)
        if r.metric != "group_acc" or ctx.group_by is None or ctx.group is None:
            continue
        if r.value is not None:
            point = FigPoint(0.0, r.value, r.ci, _caveat(r), r.n)
            out.append((r.suite, ctx.group_by, ctx.group, point))
    return out


def _group_table(table: SampleTable) -> list[tuple[str, str, FigPoint]]:
    """(grouping, value, point) of clean accuracy per group of a per-sample table."""
    out: list[tuple[str, str, FigPoint]] = []
    per_group = group_accuracy(table)
    if not per_group:
        return out
    frame = table.condition("clean")
    for by, per in per_group.items():
        counts = frame[GROUP_PREFIX + by].astype(str).value_counts()
        for value, (acc, ci) in per.items():
            out.append((by, value, FigPoint(0.0, acc, ci, "", int(counts.get(value, 0)))))
    return out


def corruption_points(table: SampleTable) -> dict[str, list[FigPoint]]:
    """Accuracy per corruption and severity with Wilson intervals and n (corruption order kept
    as the suite ran them)."""
    out: dict[str, list[FigPoint]] = {}
    frame = table.frame
    order = list(dict.fromkeys(frame["condition"]))
    for condition in order:
        m = _CORRUPTION.match(str(condition))
        if not m:
            continue
        rows = frame[frame["condition"] == condition]
        k, n = int(rows["correct"].sum()), len(rows)
        out.setdefault(m["name"], []).append(FigPoint(float(m["sev"]), k / n, wilson(k, n), n=n))
    return {name: sorted(pts, key=lambda p: p.x) for name, pts in out.items()}


def severity_curve(table: SampleTable) -> list[FigPoint]:
    """Accuracy vs severity averaged over corruptions: at each severity, the mean over the
    corruption cells of each cell's accuracy with Wilson's interval at Kish's effective n over the
    source images (`intervals.cell_mean`, the shift suite's `mean_corruption_acc` restricted to
    one severity). Rows pair across cells by `source_id` where the table has it, else by
    `sample_id` (a published set's rows carry their source image there); `n` is the number of
    source images. The interval never collapses to [1, 1] when every image is right. When no id
    recurs across a severity's cells (a published set without source ids), rows pair by position,
    as the suite pairs them, and cells of unequal size get no interval."""
    frame = table.frame
    parsed = frame["condition"].astype(str).str.extract(_CORRUPTION)
    rows = frame.assign(_sev=parsed["sev"]).dropna(subset=["_sev"])
    out = []
    for sev, part in rows.groupby("_sev"):
        mean = rows_cell_mean(part)
        if mean is None:  # unequal cells that name no shared image: the point, no interval
            cells = [c["correct"] for _c, c in part.groupby("condition", observed=True)]
            accs = float(np.mean([c.mean() for c in cells]))
            out.append(FigPoint(float(sev), accs, None, n=min(len(c) for c in cells)))
            continue
        out.append(FigPoint(float(sev), mean.value, mean.ci, n=mean.clusters))
    return sorted(out, key=lambda p: p.x)


def _caveat(record: MetricRecord) -> str:
    return next((c.short for c in caveats(record) if c.excludes), "")


def _preferred(curve: Curve, record: MetricRecord) -> bool:
    return bool(curve.prefer) and record.condition.startswith(curve.prefer)


def _words(curve: Curve, record: MetricRecord) -> str:
    return curve.words(record.context) if curve.words else "?"


def robust_series(
    per_model: Mapping[str, Sequence[MetricRecord]], curve: Curve
) -> dict[str, Series]:
    """A `budget` curve's metric (robust accuracy) vs budget per norm (panel), per model
    (series): the preferred records (the per-sample worst case over attacks) when the suite
    stored them, else one series per model and `curve.words` (attack)."""
    panels: dict[str, Series] = defaultdict(lambda: defaultdict(list))
    for model, records in per_model.items():
        robust = [r for r in records if r.metric == curve.metric and r.value is not None]
        preferred = [r for r in robust if _preferred(curve, r)]
        for r in preferred or robust:
            threat = ThreatContext.of(r.context)
            if math.isnan(threat.eps):
                continue
            name = model if preferred else f"{model} ({_words(curve, r)})"
            point = FigPoint(threat.eps, float(r.value or 0.0), r.ci, _caveat(r), r.n)
            panels[threat.norm][name].append(point)
    return {p: {k: sorted(v, key=lambda q: q.x) for k, v in s.items()} for p, s in panels.items()}


def attack_series(records: Sequence[MetricRecord], curve: Curve) -> dict[str, Series]:
    """One model's `budget` curve (robust accuracy) vs budget per norm (panel) and
    `curve.words` (attack; series), the preferred records as `curve.preferred`."""
    panels: dict[str, Series] = defaultdict(lambda: defaultdict(list))
    for r in records:
        threat = ThreatContext.of(r.context)
        if r.metric != curve.metric or r.value is None or math.isnan(threat.eps):
            continue
        name = curve.preferred if _preferred(curve, r) else _words(curve, r)
        panels[threat.norm][name].append(FigPoint(threat.eps, r.value, r.ci, _caveat(r)))
    return {p: {k: sorted(v, key=lambda q: q.x) for k, v in s.items()} for p, s in panels.items()}


@dataclass(frozen=True)
class TimingPanel:
    """Throughput vs batch size on one machine and precision: the machine said in words."""

    machine: str
    series: Series = field(default_factory=dict)


def _timing_caveat(record: MetricRecord) -> str:
    if record.flags:
        return (
            "unstable timing"
            if any("timing" in f or "unstable" in f for f in record.flags)
            else "unreliable"
        )
    if record.ci and record.value:
        width = (record.ci[1] - record.ci[0]) / abs(record.value)
        if width > UNSTABLE_RELATIVE_WIDTH:
            return "unstable timing"
    return ""


def throughput_panels(
    per_model: Mapping[str, Sequence[MetricRecord]], curve: Curve
) -> list[TimingPanel]:
    """A `batch_size` curve's metric (throughput) vs batch size, one panel per (device, device
    name, precision, threads)."""
    panels: dict[str, Series] = defaultdict(lambda: defaultdict(list))
    for model, records in per_model.items():
        for r in records:
            if r.metric != curve.metric or r.value is None:
                continue
            timing = TimingContext.of(r.context)
            if timing.batch_size is None:
                continue
            panels[timing.machine][model].append(
                FigPoint(float(timing.batch_size), r.value, r.ci, _timing_caveat(r), r.n)
            )
    return [
        TimingPanel(machine, {m: sorted(p, key=lambda q: q.x) for m, p in s.items()})
        for machine, s in sorted(panels.items())
    ]


@dataclass(frozen=True)
class ParetoPoint:
    x: float
    y: float
    x_ci: Interval | None
    y_ci: Interval | None
    caveat: str  # "" when the point may be on the front


@dataclass(frozen=True)
class ParetoFigure:
    """Two board columns per model with intervals; the front among comparable points only."""

    x_key: str
    y_key: str
    x_higher: bool
    y_higher: bool
    points: dict[str, ParetoPoint]
    front: list[str]
    timing_x: bool = False  # x is a measured rate: log axis (`TradeOff.timing`)


def pareto_figures(board: Board) -> list[ParetoFigure]:
    """The suites' trade-offs (`pareto.standard_views`: accuracy vs throughput, clean vs each
    robust / corruption accuracy), with intervals; a
    point whose caveat excludes it is drawn but never on the front."""
    out = []
    for view in pareto.standard_views(board):
        points: dict[str, ParetoPoint] = {}
        for row in board.rows:
            xr, yr = row.cell(view.x_key), row.cell(view.y_key)
            if xr is None or yr is None or xr.value is None or yr.value is None:
                continue
            cav = _caveat(yr) or _caveat(xr)
            if view.timing_x:
                cav = cav or _timing_caveat(xr)
            points[row.model] = ParetoPoint(xr.value, yr.value, xr.ci, yr.ci, cav)
        comparable = {m: (p.x, p.y) for m, p in points.items() if not p.caveat}
        x_higher, y_higher = board.units[view.x_key][1], board.units[view.y_key][1]
        front = pareto.pareto_front(comparable, higher_x=x_higher, higher_y=y_higher)
        out.append(
            ParetoFigure(
                view.x_key, view.y_key, x_higher, y_higher, points, front, timing_x=view.timing_x
            )
        )
    return out


# ---- galleries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CorruptionGallery:
    """Seeded samples per corruption and severity (severity 0 = clean), with the model's
    prediction on each image when the per-sample table has it."""

    corruptions: list[str]
    severities: list[int]
    sample_ids: list[str]
    images: np.ndarray  # (n_corruptions, n_severities, k, *input_shape), in task bounds
    labels: list[int | None]  # per sample
    predictions: dict[tuple[int, int, int], int]  # (corruption, severity, sample) index -> pred
    bounds: tuple[float, float]


@dataclass(frozen=True)
class AdversarialGallery:
    """Stored adversarial examples: clean and perturbed inputs with labels and predictions."""

    clean: np.ndarray  # (k, *input_shape)
    perturbed: np.ndarray
    labels: list[int]
    clean_pred: list[int]
    perturbed_pred: list[int]
    sample_ids: list[str]
    attacks: list[str]  # per example: the attack that broke it ('' when not stored)
    norm: str
    eps: float | None
    condition: str
    bounds: tuple[float, float]


def _bounds(job: StoredJob) -> tuple[float, float]:
    b = job.record.task_summary.bounds
    return (float(b[0]), float(b[1])) if b is not None else (0.0, 1.0)


def _is_image(shape: Sequence[int]) -> bool:
    return len(shape) in (2, 3) and (len(shape) == 2 or shape[0] in (1, 3))


def corruption_gallery(job: StoredJob) -> CorruptionGallery | None:
    """The job's corruption gallery (`gallery_images` + artifacts `corruption_gallery`), or None."""
    meta = job.artifacts().get("corruption_gallery")
    if not isinstance(meta, dict):
        return None
    images = job.arrays().get("gallery_images")
    if images is None or images.ndim < 4 or not _is_image(images.shape[3:]):
        return None
    corruptions = [str(c) for c in meta.get("corruptions", [])]
    severities = [int(s) for s in meta.get("severities", [])]
    ids = [str(s) for s in meta.get("sample_ids", [])]
    if images.shape[:3] != (len(corruptions), len(severities), len(ids)):
        return None
    labels: list[int | None] = [None] * len(ids)
    preds: dict[tuple[int, int, int], int] = {}
    if job.has_table:
        labels, preds = _gallery_predictions(job.table().frame, corruptions, severities, ids)
    return CorruptionGallery(corruptions, severities, ids, images, labels, preds, _bounds(job))


def _gallery_predictions(
    frame: pd.DataFrame, corruptions: list[str], severities: list[int], ids: list[str]
) -> tuple[list[int | None], dict[tuple[int, int, int], int]]:
    """Labels of the gallery's samples and the model's prediction on each gallery image
    (severity 0 is the clean condition), from the per-sample table."""
    where = {sid: i for i, sid in enumerate(ids)}
    cells: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for ci, c in enumerate(corruptions):
        for si, sev in enumerate(severities):
            cells["clean" if sev == 0 else f"corruption={c}/severity={sev}"].append((ci, si))
    labels: list[int | None] = [None] * len(ids)
    preds: dict[tuple[int, int, int], int] = {}
    rows = frame[frame["sample_id"].isin(ids)][["sample_id", "condition", "label", "prediction"]]
    for sid, cond, label, pred in rows.itertuples(index=False):
        j = where[str(sid)]
        labels[j] = int(label)
        for ci, si in cells.get(str(cond), []):
            preds[(ci, si, j)] = int(pred)
    return labels, preds


def adversarial_gallery(job: StoredJob) -> AdversarialGallery | None:
    """The job's stored adversarial examples (`adv_*` arrays + `adversarial_examples`), or None."""
    meta = job.artifacts().get("adversarial_examples")
    if not isinstance(meta, dict):
        return None
    arrays = job.arrays()
    names = ("adv_clean", "adv_perturbed", "adv_label", "adv_clean_pred", "adv_perturbed_pred")
    if any(n not in arrays for n in names):
        return None
    clean, perturbed = arrays["adv_clean"], arrays["adv_perturbed"]
    k = len(clean)
    if perturbed.shape != clean.shape or k == 0 or any(len(arrays[n]) != k for n in names):
        return None
    try:
        eps: float | None = float(meta.get("eps"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        eps = None
    ids = [str(s) for s in meta.get("sample_ids", [])]
    attack = meta.get("attack", "")
    attacks = [str(a) for a in attack] if isinstance(attack, list) else [str(attack)] * k
    return AdversarialGallery(
        clean=clean,
        perturbed=perturbed,
        labels=[int(x) for x in arrays["adv_label"]],
        clean_pred=[int(x) for x in arrays["adv_clean_pred"]],
        perturbed_pred=[int(x) for x in arrays["adv_perturbed_pred"]],
        sample_ids=ids if len(ids) == k else [f"#{i}" for i in range(k)],
        attacks=attacks if len(attacks) == k else [""] * k,
        norm=str(meta.get("norm", "")),
        eps=eps,
        condition=str(meta.get("condition", "")),
        bounds=_bounds(job),
    )


def displayable(shape: Sequence[int]) -> bool:
    """Whether per-sample inputs of this shape can be shown as images (C x H x W or H x W)."""
    return _is_image(tuple(shape))
