"""`harness report`: a static, self-contained HTML site (index, one page per task and per model).

Pages are plain HTML with inline CSS and no scripts, so they open from disk and can be published
as they are. Figures are PNGs in `figures/`. Every number links to its provenance (run, spec
hash, versions, device, seed, date) on `provenance.html`; reliability flags are shown in red on
the number and listed at the top of the page. All untrusted text goes through
`harness.present.escaping`. No torch here.
"""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
from pandas.api.types import is_float_dtype

from harness.analysis import pareto
from harness.analysis.leaderboard import Board, build_boards
from harness.core.manifest import JobStatus, RunManifest
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import GROUP_PREFIX, SampleTable
from harness.present import figures
from harness.present.escaping import html_text as h
from harness.present.escaping import slug
from harness.present.summary import summary_markdown
from harness.store.run_store import LoadedJob, StoredJob, load_jobs

log = logging.getLogger(__name__)
_CORRUPTION = re.compile(r"^corruption=(?P<name>[^/]+)/severity=(?P<sev>\d+)$")
Loaded = LoadedJob

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#222;padding:0 1rem}
h1,h2,h3{font-weight:600}nav a{margin-right:1rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
td a{color:inherit;text-decoration:none;border-bottom:1px dotted #888}
.flag{color:#b00020;font-weight:600}.banner{background:#fde7ea;border:1px solid #b00020;
padding:.5rem 1rem;margin:1rem 0}.note{color:#555;font-size:.85rem}
figure{display:inline-block;margin:.5rem}figure img{max-width:520px;border:1px solid #ddd}
.scroll{overflow-x:auto}figcaption{font-size:.8rem;color:#555;max-width:520px}code{font-size:.85rem}
"""


def job_anchor(manifest: RunManifest, job: StoredJob) -> str:
    return "job-" + slug(f"{manifest.run_id}/{job.path.name}")


def model_page(model: str) -> str:
    return f"model-{slug(model)}.html"


def task_page(task: str) -> str:
    return f"task-{slug(task)}.html"


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{h(title)}</title>'
        f"<style>{CSS}</style></head><body>"
        '<nav><a href="index.html">Leaderboards</a><a href="provenance.html">Provenance</a></nav>'
        f"<h1>{h(title)}</h1>{body}</body></html>\n"
    )


def _num(value: float | None) -> str:
    if value is None:
        return "undefined"
    return f"{value:.4g}" if abs(value) >= 1000 else f"{value:.3f}"


def _record_cell(record: MetricRecord, href: str) -> str:
    text = _num(record.value)
    if record.ci:
        text += f" [{_num(record.ci[0])}, {_num(record.ci[1])}]"
    title = (
        f"n={record.n}"
        + (f"; {record.ci_method}" if record.ci_method else "")
        + (f"; {record.note}" if record.note else "")
    )
    cell = f'<a href="{href}" title="{h(title)}">{h(text)}</a>'
    if record.flags:
        cell += f' <span class="flag">UNRELIABLE({h(", ".join(record.flags))})</span>'
    return cell


def _board_html(board: Board) -> str:
    ranked = board.rank_metric is not None
    head = "".join(f"<th>{h(c)}</th>" for c in ["#", *(["rank"] if ranked else []), "model"])
    head += "".join(
        f'<th>{h(c)}<br><span class="note">{h(u)}, {"↑" if hi else "↓"}</span></th>'
        for c, (u, hi) in board.units.items()
    )
    rows = []
    for r in board.rows:
        model = r.model
        cells = [str(r.position), *([str(r.rank or "—")] if ranked else [])]
        tds = "".join(f"<td>{h(c)}</td>" for c in cells)
        tds += f'<td><a href="{model_page(model)}">{h(model)}</a></td>'
        for key in board.columns:
            record = board.records.get((model, key))
            if record is None:
                tds += "<td>—</td>"
                continue
            man, job = board.sources[(model, record.suite)]
            tds += f'<td class="num">{_record_cell(record, "provenance.html#" + job_anchor(man, job))}</td>'
        rows.append(f"<tr>{tds}</tr>")
    notes = [board.rank_method, *board.notes]
    suites = ", ".join(f"{s} {v}" for s, v in sorted(board.suites.items()))
    return (
        f'<h2>{h(board.title)}</h2><p class="note">n = {h(board.n)}; task fingerprint '
        f"<code>{h(board.task_fingerprint[:12])}</code>; {h(suites)}; values are estimates with 95% "
        "intervals; click a number for its provenance.</p>"
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
        + "".join(f'<p class="note">{h(n)}</p>' for n in notes if n)
    )


def _flag_banner(records: list[tuple[str, MetricRecord]]) -> str:
    flagged = [(m, r) for m, r in records if r.flags]
    if not flagged:
        return ""
    items = "".join(f"<li>{h(m)}: {h(r.key)} — {h(', '.join(r.flags))}</li>" for m, r in flagged)
    return f'<div class="banner"><strong>Reliability flags raised</strong><ul>{items}</ul></div>'


def _figure(path: Path | None, out: Path, caption: str) -> str:
    if path is None:
        return ""
    rel = path.relative_to(out).as_posix()
    return f'<figure><img src="{h(rel)}" alt="{h(caption)}"><figcaption>{h(caption)}</figcaption></figure>'


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """Wilson score interval of a proportion (for per-group accuracies drawn in figures)."""
    if n == 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def group_accuracy(
    table: SampleTable,
) -> dict[str, dict[str, tuple[float, tuple[float, float] | None]]]:
    """Clean accuracy per group value, per group column: {column: {value: (acc, wilson CI)}}."""
    frame = table.condition("clean")
    out: dict[str, dict[str, tuple[float, tuple[float, float] | None]]] = {}
    for col in [c for c in frame.columns if c.startswith(GROUP_PREFIX)]:
        if is_float_dtype(frame[col]):  # a continuous attribute: one bar per value
            continue
        per: dict[str, tuple[float, tuple[float, float] | None]] = {}
        for value, rows in frame.groupby(col, dropna=True, observed=True):
            k, n = int(rows["correct"].sum()), len(rows)
            per[str(value)] = (k / n, wilson(k, n))
        if per:
            out[col[len(GROUP_PREFIX) :]] = per
    return out


def corruption_accuracy(
    table: SampleTable,
) -> dict[str, list[tuple[float, float, tuple[float, float] | None]]]:
    """Accuracy per corruption (series) and severity (x) from the per-sample table."""
    series: dict[str, list[tuple[float, float, tuple[float, float] | None]]] = defaultdict(list)
    frame = table.frame
    for condition, rows in frame.groupby("condition"):
        m = _CORRUPTION.match(str(condition))
        if m:
            k, n = int(rows["correct"].sum()), len(rows)
            series[m["name"]].append((float(m["sev"]), k / n, wilson(k, n)))
    return dict(series)


def _eps(record: MetricRecord) -> float | None:
    try:
        return float(record.context["eps"])
    except (KeyError, TypeError, ValueError):
        return None


def build_site(results: Path, out: Path) -> Path:
    """Write the site under `out`; returns the index path."""
    boards = build_boards(results)
    loaded = load_jobs(results)
    out.mkdir(parents=True, exist_ok=True)
    figdir = out / "figures"
    figdir.mkdir(exist_ok=True)
    by_model: dict[str, list[Loaded]] = defaultdict(list)
    for man, job in loaded:
        by_model[job.record.model].append((man, job))
    tasks = sorted({b.task for b in boards})
    _write(out / "provenance.html", _page("Provenance", _provenance_html(loaded)))
    for task in tasks:
        _write(
            out / task_page(task),
            _page(
                f"Task {task}",
                _task_html(task, [b for b in boards if b.task == task], loaded, out, figdir),
            ),
        )
    for model, jobs in sorted(by_model.items()):
        _write(
            out / model_page(model), _page(f"Model {model}", _model_html(model, jobs, out, figdir))
        )
    all_records = [(m, r) for b in boards for (m, _k), r in b.records.items()]
    body = _flag_banner(all_records)
    body += "<p>Tasks: " + " ".join(f'<a href="{task_page(t)}">{h(t)}</a>' for t in tasks) + "</p>"
    body += (
        "<p>Models: "
        + " ".join(f'<a href="{model_page(m)}">{h(m)}</a>' for m in sorted(by_model))
        + "</p>"
    )
    body += "".join(_board_html(b) for b in boards)
    _write(out / "index.html", _page("Leaderboards", body))
    _write(out / "summary.md", summary_markdown(boards))
    log.info("report written to %s", out)
    return out / "index.html"


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _provenance_html(loaded: list[Loaded]) -> str:
    runs: dict[str, RunManifest] = {}
    for man, _job in loaded:
        runs.setdefault(man.run_id, man)
    parts = [
        "<h2>Runs</h2><table><tr><th>run</th><th>spec</th><th>spec hash</th><th>created</th><th>seed</th><th>device</th><th>git sha</th><th>versions</th></tr>"
    ]
    for run_id, man in sorted(runs.items()):
        versions = ", ".join(f"{k} {v}" for k, v in sorted(man.versions.items()))
        device = ", ".join(f"{k}={v}" for k, v in sorted(man.device.items()))
        parts.append(
            f'<tr id="run-{h(slug(run_id))}"><td>{h(run_id)}</td><td>{h(man.spec_name)}</td>'
            f"<td><code>{h(man.spec_hash[:16])}</code></td><td>{h(man.created)}</td>"
            f"<td>{h(man.seed)}</td><td>{h(device)}</td><td><code>{h(str(man.git_sha)[:12])}</code></td>"
            f"<td>{h(versions)}</td></tr>"
        )
    parts.append(
        "</table><h2>Jobs</h2><table><tr><th>job</th><th>status</th><th>run</th><th>suite</th><th>seed / device</th><th>finished</th><th>model weights</th></tr>"
    )
    for man, job in loaded:
        r = job.record
        weights = r.model_description.weights_sha256 or "—"
        parts.append(
            f'<tr id="{job_anchor(man, job)}"><td>{h(r.model)} × {h(r.task)} × {h(r.suite)}<br>'
            f'<span class="note">key <code>{h(r.key[:16])}</code></span></td><td>{h(r.status)}'
            f"{(' — ' + h(r.reason)) if r.reason else ''}</td>"
            f'<td><a href="#run-{h(slug(man.run_id))}">{h(man.run_id)}</a><br>'
            f'<span class="note">spec {h(man.spec_hash[:12])}</span></td>'
            f"<td>{h(r.suite)} v{h(r.suite_version)} config <code>{h(r.suite_config_hash[:8])}</code></td>"
            f"<td>{h(r.seed)} / {h(r.device)}</td><td>{h(r.finished or r.started)}</td>"
            f"<td><code>{h(str(weights)[:16])}</code></td></tr>"
        )
    parts.append("</table>")
    return "".join(parts)


def _task_html(
    task: str, boards: list[Board], loaded: list[Loaded], out: Path, figdir: Path
) -> str:
    body = _flag_banner([(m, r) for b in boards for (m, _k), r in b.records.items()])
    body += "".join(_board_html(b) for b in boards)
    figs: list[str] = []
    tag = slug(task)
    for bi, board in enumerate(boards):
        for vi, view in enumerate(pareto.standard_views(board)):
            path = figures.pareto(
                view.points,
                view.front,
                figdir / f"{tag}-pareto-{bi}-{vi}.png",
                title=f"{task}: Pareto front",
                xlabel=view.x_key,
                ylabel=view.y_key,
                logx=view.x_key.startswith("throughput"),
            )
            figs.append(
                _figure(
                    path,
                    out,
                    f"Pareto view {view.x_key} vs {view.y_key} (front in red: {', '.join(view.front)})",
                )
            )
    jobs = [(m, j) for m, j in loaded if j.record.task == task and j.status == JobStatus.COMPLETED]
    robust: dict[str, list[tuple[float, float, tuple[float, float] | None]]] = defaultdict(list)
    speed: dict[str, list[tuple[float, float, tuple[float, float] | None]]] = defaultdict(list)
    groups: dict[str, dict[str, dict[str, tuple[float, tuple[float, float] | None]]]] = defaultdict(
        dict
    )
    severity: dict[str, list[tuple[float, float, tuple[float, float] | None]]] = defaultdict(list)
    for _man, job in jobs:
        model = job.record.model
        for rec in job.metrics:
            eps = _eps(rec)
            if rec.metric == "robust_acc" and eps is not None and rec.value is not None:
                name = " ".join(
                    [model, *(str(rec.context[k]) for k in ("attack", "norm") if k in rec.context)]
                )
                robust[name].append((eps, rec.value, rec.ci))
            if (
                rec.metric == "throughput_samples_per_s"
                and rec.value is not None
                and "batch_size" in rec.context
            ):
                name = " ".join(
                    [
                        model,
                        *(str(rec.context[k]) for k in ("device", "precision") if k in rec.context),
                    ]
                )
                speed[name].append((float(rec.context["batch_size"]), rec.value, rec.ci))
        if (job.path / "samples.parquet").is_file():
            table = job.table()
            if job.record.suite == "accuracy":
                for col, per in group_accuracy(table).items():
                    groups[col][model] = per
            per_sev: dict[float, list[float]] = defaultdict(list)
            for pts in corruption_accuracy(table).values():
                for sev, acc, _ci in pts:
                    per_sev[sev].append(acc)
            severity[model] = [(s, float(np.mean(v)), None) for s, v in sorted(per_sev.items())]
    figs.append(
        _figure(
            figures.lines(
                robust,
                figdir / f"{tag}-robust-eps.png",
                title=f"{task}: robust accuracy vs epsilon",
                xlabel="epsilon",
                ylabel="robust accuracy",
                unit_interval=True,
            ),
            out,
            "Robust accuracy vs perturbation budget (95% intervals)",
        )
    )
    figs.append(
        _figure(
            figures.lines(
                severity,
                figdir / f"{tag}-severity.png",
                title=f"{task}: accuracy vs corruption severity",
                xlabel="severity",
                ylabel="accuracy (mean over corruptions)",
                unit_interval=True,
            ),
            out,
            "Accuracy vs corruption severity, averaged over corruptions",
        )
    )
    figs.append(
        _figure(
            figures.lines(
                speed,
                figdir / f"{tag}-throughput.png",
                title=f"{task}: throughput vs batch size",
                xlabel="batch size",
                ylabel="samples/s",
                logx=True,
            ),
            out,
            "Throughput vs batch size (per device and precision)",
        )
    )
    for col, per_model in sorted(groups.items()):
        path = figures.grouped_bars(
            {m: per for m, per in per_model.items()},
            figdir / f"{tag}-group-{slug(col)}.png",
            title=f"{task}: clean accuracy by {col}",
            ylabel="accuracy",
        )
        figs.append(_figure(path, out, f"Clean accuracy by {col} (95% Wilson intervals)"))
    figs = [f for f in figs if f]
    body += _variants_html(task, loaded)
    return body + (("<h2>Figures</h2>" + "".join(figs)) if figs else "")


def _variants_html(task: str, loaded: list[Loaded]) -> str:
    """'Variants vs parent': paired deltas, size and where the harm concentrates (docs/variants.md)."""
    from harness.analysis.variant_deltas import compare_variants, harm_line

    parts = []
    worse = '<span class="flag">worse</span>'
    for c in compare_variants(loaded, task=task):
        title = f'<h3><a href="{model_page(c.variant_model)}">{h(c.variant_model)}</a> vs {h(c.parent)}</h3>'
        if c.status != "compared":
            parts.append(f"{title}<p>{h(c.status)}: {h(c.reason)}</p>")
            continue
        s = c.size
        size = (
            f"size {h(s.size_bytes)} B ({h(s.size_format)}) vs parent "
            f"{h(s.parent_size_bytes)} B; {h(s.nonzero_parameters)} of "
            f"{h(s.parameters)} parameters nonzero; gradients: {'yes' if s.gradients else 'no (black-box paths)'}"
        )
        rows = "".join(
            f'<tr><td>{h(d.suite)}</td><td>{h(d.metric)}</td><td class="num">{_num(d.parent_value)}</td>'
            f'<td class="num">{_num(d.variant_value)}</td><td class="num">{_num(d.delta)}</td>'
            f'<td>{h(d.test)}</td><td class="num">{h(d.n)}</td><td class="num">{_num(d.p_holm)}</td>'
            f"<td>{worse if d.significant_harm else ''}</td></tr>"
            for d in c.deltas
        )
        harm = "".join(f"<li>{h(line)}</li>" for line in harm_line(c))
        parts.append(
            f'{title}<p class="note">{size}</p>'
            + "".join(f'<p class="note">{h(n)}</p>' for n in c.notes)
            + '<div class="scroll"><table><tr><th>suite</th><th>metric</th><th>parent</th><th>variant</th>'
            f"<th>delta</th><th>test</th><th>n</th><th>Holm p</th><th></th></tr>{rows}</table></div>"
            + (f"<p>Where the harm is concentrated:</p><ul>{harm}</ul>" if harm else "")
        )
    if not parts:
        return ""
    return (
        '<h2>Variants vs parent</h2><p class="note">delta = variant - parent; exact McNemar for '
        "accuracies, paired bootstrap for other per-sample metrics, 95%-interval overlap otherwise; "
        "Holm-adjusted per variant and task.</p>" + "".join(parts)
    )


def _model_html(model: str, jobs: list[Loaded], out: Path, figdir: Path) -> str:
    body = _flag_banner([(model, r) for _m, j in jobs for r in j.metrics])
    for man, job in sorted(jobs, key=lambda mj: (mj[1].record.task, mj[1].record.suite)):
        r = job.record
        anchor = "provenance.html#" + job_anchor(man, job)
        body += f'<h2>{h(r.task)} · {h(r.suite)} <span class="note">(<a href="{anchor}">provenance</a>, <a href="{task_page(r.task)}">task page</a>)</span></h2>'
        if job.status != JobStatus.COMPLETED:
            body += f"<p>{h(job.status)}: {h(r.reason or '')}</p>"
            continue
        rows = "".join(
            f'<tr><td>{h(m.key)}</td><td class="num">{_record_cell(m, anchor)}</td><td>{h(m.unit)}</td><td>{h(m.n)}</td></tr>'
            for m in job.metrics
        )
        body += f"<table><tr><th>metric</th><th>value [95% CI]</th><th>unit</th><th>n</th></tr>{rows}</table>"
        jtag = job_anchor(man, job)
        figs = []
        bins = job.artifacts().get("reliability_diagram")
        if isinstance(bins, list):
            figs.append(
                _figure(
                    figures.reliability_diagram(
                        bins, figdir / f"{jtag}-reliability.png", f"{model} on {r.task}"
                    ),
                    out,
                    "Reliability diagram (bin counts above points)",
                )
            )
        if (job.path / "samples.parquet").is_file():
            table = job.table()
            figs.append(
                _figure(
                    figures.lines(
                        corruption_accuracy(table),
                        figdir / f"{jtag}-corruptions.png",
                        title=f"{model}: accuracy by corruption and severity",
                        xlabel="severity",
                        ylabel="accuracy",
                        unit_interval=True,
                    ),
                    out,
                    "Accuracy by corruption and severity (95% Wilson intervals)",
                )
            )
            if r.suite in {"accuracy", "fairness"}:
                for col, per in group_accuracy(table).items():
                    figs.append(
                        _figure(
                            figures.grouped_bars(
                                {model: per},
                                figdir / f"{jtag}-group-{slug(col)}.png",
                                title=f"{model}: accuracy by {col}",
                                ylabel="accuracy",
                            ),
                            out,
                            f"Clean accuracy by {col} (95% Wilson intervals)",
                        )
                    )
        body += "".join(f for f in figs if f)
    return body
