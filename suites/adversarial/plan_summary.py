"""What the adversarial suite will run and its worst-case cost, before the first job starts.

`harness run` prints these lines (`Suite.plan_summary`) so that a costly configuration is visible
up front. The budgets are the spec's `epsilons` when it gives them; otherwise each task's
headline threat model (`default_budgets`), known from the plan without loading data. Tasks that
get the same budgets share a line; the cost is counted in gradient and forward passes per sample
that no attack breaks, over all budgets of a task, the worst case for one model.

A model known to give no gradients before it is built (scikit-learn, ONNX, a callable: its
adapter's `planned_gradients`) gets the gradient-free attacks `attack_plan` picks for it, the
decision every job makes (config.py), so its lines say what runs on it and what that costs;
when a spec mixes both kinds, each kind gets its own lines, named by its models.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

from harness.core.suite import CONTINUED
from harness.core.threat_model import Headline
from harness.suites.adversarial.budgets import budgets_text, headline_budgets
from harness.suites.adversarial.config import (
    AdversarialConfig,
    ResolvedConfig,
    attack_plan,
    refused_without_gradients,
    resolve_budgets,
    resolve_config,
)
from harness.suites.adversarial.escalation import worst_case_passes
from harness.suites.adversarial.text.config import resolve_text

_CHOOSE = "set suites.adversarial.epsilons to choose"
FROM_SPEC = "from the spec"
FROM_HEADLINE = f"the task's headline threat model; {_CHOOSE}"
NO_HEADLINE = f"the suite's default for a task without a headline threat model; {_CHOOSE}"
TASK_DECIDES = (
    "the task's headline threat model if its task object declares one, else the suite's "
    f"default; {_CHOOSE}"
)


def plan_summary(
    cfg: AdversarialConfig,
    headlines: Mapping[str, Headline | None],
    text_tasks: Collection[str] = (),
    gradients: Mapping[str, Mapping[str, bool | None]] | None = None,
    *,
    protocol: str | None = None,
) -> list[str]:
    """Lines per group of tasks with the same budgets and the same models: what runs, what it
    costs and what the escalation adds, for the models with gradients and for the black-box
    ones; one line for the text tasks (`text_tasks`), which get the black-box text attacks
    instead.

    `headlines` maps each task of the plan to its headline threat model(s) (`()`: none; None:
    the task object says, when loaded). `gradients` maps each task that runs the suite to its
    models and whether each gives input gradients (None when only the built model says; such a
    model is counted with the models that give them); a task it leaves out runs no job of the
    suite and gets no line. Without it (None), every task is summarised for models with
    gradients. Budgets from `suites.adversarial.epsilons` are said to come from the spec, or
    from `protocol` when a protocol preset filled them in."""
    if gradients is not None:
        headlines = {t: h for t, h in headlines.items() if t in gradients}
    groups: dict[tuple[str, tuple[tuple[str, bool], ...]], _Group] = {}
    for task, headline in headlines.items():
        if task in text_tasks:
            continue
        resolved, origin = _budgets_of(cfg, headline, protocol)
        kinds = tuple(_model_kinds(gradients[task] if gradients is not None else {}))
        key = (f"{budgets_text(resolved.epsilons)} ({origin})", kinds)
        groups.setdefault(key, _Group([], resolved, origin, kinds)).tasks.append(task)
    text = [t for t in headlines if t in text_tasks]
    if not groups and not text:  # no task: what the config says on its own
        resolved, origin = _budgets_of(cfg, (), protocol)
        groups[("", ())] = _Group([], resolved, origin, tuple(_model_kinds({})))
    several = len(groups) + bool(text) > 1
    lines: list[str] = []
    if text:
        lines.append((f"{', '.join(text)}: " if several else "") + _text_runs(cfg))
    said: dict[tuple[str, ...], str] = {}  # cost and escalation lines -> the first group's name
    for group in groups.values():
        prefix = f"{', '.join(group.tasks)}: " if several else ""
        for label, white_box in group.kinds:
            what, *more = _attack_lines(cfg, group.resolved, group.origin, white_box=white_box)
            lines.append(prefix + label + what)
            if not more:  # skipped, or a cost not counted: nothing to name or repeat
                continue
            if tuple(more) in said:  # a long paragraph, word for word: named, not repeated
                lines.append(f"{CONTINUED}cost and escalation: as for {said[tuple(more)]}")
                continue
            said[tuple(more)] = ", ".join(group.tasks) + (f": {label[:-2]}" if label else "")
            lines.extend(CONTINUED + line for line in more)
    return lines


@dataclass(frozen=True)
class _Group:
    """Tasks summarised together: the same budgets (`resolved`, from `origin`) and the same
    kinds of model (`_model_kinds`)."""

    tasks: list[str]
    resolved: ResolvedConfig
    origin: str
    kinds: tuple[tuple[str, bool], ...]


def _model_kinds(gradients: Mapping[str, bool | None]) -> list[tuple[str, bool]]:
    """(label, white-box) for each kind of model the plan holds: one unlabelled kind when no
    model is known to be black-box (the lines read as they always have)."""
    black = [m for m, g in gradients.items() if g is False]
    if not black:
        return [("", True)]
    kinds = [(f"black-box models ({_names(black)}): ", False)]
    white = [m for m, g in gradients.items() if g is not False]
    if white:
        known = all(gradients[m] for m in white)
        label = "models with gradients" if known else "the other models"
        kinds.insert(0, (f"{label} ({_names(white)}): ", True))
    return kinds


def _names(models: list[str], shown: int = 4) -> str:
    more = f" and {len(models) - shown} more" if len(models) > shown else ""
    return ", ".join(models[:shown]) + more


def _attack_lines(
    cfg: AdversarialConfig, resolved: ResolvedConfig, origin: str, *, white_box: bool
) -> list[str]:
    """What runs on a model of one kind, then its cost and the escalation's (`attack_plan`:
    without gradients, the gradient-free attacks and a decision-based stand-in; or the skip,
    when `allow_blackbox_fallback` is false, as `AdversarialSuite.skip_reason` decides). The
    caller names the tasks and models on the first line only: the others continue it."""
    if white_box:
        runs, dropped = resolved, ""
    else:
        refused = refused_without_gradients(resolved, cfg)
        if refused:
            return [
                f"skipped: no gradients, and attacks {', '.join(refused)} need them "
                "(suites.adversarial.allow_blackbox_fallback is false)"
            ]
        plan = attack_plan(resolved, cfg, gradients=False, model="")
        runs = replace(resolved, attacks=plan.infos, params=plan.params)
        gone = [i.name for i in resolved.attacks if i.gradients]
        dropped = (
            f"; no gradients: {', '.join(gone)} {'does' if len(gone) == 1 else 'do'} not run, "
            "robust accuracy is an upper bound"
            if gone
            else ""
        )
    lines = [_what_runs(runs, origin) + dropped]
    cost = _cost(cfg, runs)
    if cost is not None:
        lines.append(cost[0])
        lines.append(_escalation_cost(cfg, runs, cost[1]))
    return lines


def _text_runs(cfg: AdversarialConfig) -> str:
    """What a text task gets: the text attacks at their budgets, black-box (no gradient, no
    norm ball), and the queries each text may spend (suites/adversarial/text)."""
    plan = resolve_text(cfg.text, cfg.preset)
    parts = [
        f"{', '.join(names)} at {', '.join(b.label for b in plan.budgets[threat])}"
        for threat, names in plan.attacks.items()
        if names and threat in plan.budgets
    ]
    return (
        f"text attacks, preset {cfg.preset} ({'; '.join(parts) or 'none'}; each on the texts "
        f"still unbroken; black-box, class scores only): up to {plan.query_budget:,} queries "
        "per text"
    )


def _budgets_of(
    cfg: AdversarialConfig, headline: Headline | None, protocol: str | None
) -> tuple[ResolvedConfig, str]:
    if cfg.epsilons is not None:
        return resolve_config(cfg), FROM_SPEC if protocol is None else f"from protocol {protocol}"
    if headline is None:
        return resolve_config(cfg), TASK_DECIDES
    if not headline:
        return resolve_config(cfg), NO_HEADLINE
    return resolve_budgets(cfg, headline_budgets(headline)), FROM_HEADLINE


def _what_runs(resolved: ResolvedConfig, origin: str) -> str:
    count = sum(len(v) for v in resolved.epsilons.values())
    attacks = ", ".join(i.name for i in resolved.attacks)
    return (
        f"preset {resolved.preset} ({attacks}; each on the samples still unbroken) at "
        f"{count} budget(s): {budgets_text(resolved.epsilons)} ({origin})"
    )


def _cost(cfg: AdversarialConfig, resolved: ResolvedConfig) -> tuple[str, int] | None:
    """The worst-case passes per sample (the line, and the passes of a randomised model), or
    None when an attack's cost is not fixed (a decision-based attack runs until its own
    stopping rule) and the attacks hold no gradient ones: a black-box model's attacks are
    counted whatever runs beside them (the open-ended ones named, not counted)."""
    draws = cfg.eot_draws
    randomised = 0
    grad = fwd = 0
    open_ended = [i.name for i in resolved.attacks if i.kind != "fixed"]
    if open_ended and any(i.gradients for i in resolved.attacks):
        return None  # as before: a white-box list with a minimisation or decision attack
    for info in resolved.attacks:
        if info.kind != "fixed":
            continue
        passes = info.make(resolved.params[info.name]).worst_case_passes()
        if passes is None:
            continue
        budgets = len(resolved.epsilons[info.norm])
        grad += passes[0] * budgets
        fwd += passes[1] * budgets
        paired = 2 if info.score_based else 1  # Square scores two points per query (EOT)
        randomised += draws * (passes[0] + paired * passes[1]) * budgets
    malt = sum(
        len(resolved.epsilons[i.norm])
        for i in resolved.attacks
        if resolved.params[i.name].get("target_order") == "malt"
    )
    ranking = f" plus {malt} per class for MALT's target ranking" if malt else ""
    checks = f" plus validity checks on {cfg.check_samples} samples" if cfg.checks else ""
    stopping = (
        f"the queries of {', '.join(open_ended)} (decision-based: "
        f"{'its' if len(open_ended) == 1 else 'each its'} own stopping rule sets how many)"
    )
    if any(i.gradients for i in resolved.attacks):  # no open-ended attack among them
        spent, stopping = f"up to {grad:,} gradient{ranking} and {fwd:,} forward passes", ""
    elif fwd or not open_ended:  # a black-box model's: queries of its scores or decisions only
        spent = f"up to {fwd:,} forward passes (no gradient passes)"
        stopping = f", plus {stopping}" if open_ended else ""
    else:
        spent, stopping = stopping, ""
    line = (
        f"cost per model and task: {spent} per sample that no attack breaks (over all "
        f"budgets){stopping}{checks}; samples broken early cost less"
    )
    return line, randomised


def _escalation_cost(cfg: AdversarialConfig, resolved: ResolvedConfig, randomised: int) -> str:
    """What a masking flag and a randomised model add, in passes per sample left unbroken."""
    rounds, draws = cfg.escalation_rounds, cfg.eot_draws
    det = rand = 0
    for norm, budgets in resolved.epsilons.items():
        queries = int(resolved.params.get(f"{norm}_square", {}).get("queries", 0))
        det += worst_case_passes(queries, rounds, 1) * len(budgets)
        rand += worst_case_passes(queries, rounds, draws) * len(budgets)
    aside = (
        " (the decision-based attacks' queries aside)"
        if any(i.kind != "fixed" for i in resolved.attacks)
        else ""
    )
    model = (
        f"a randomised model (nondeterministic forward pass) costs eot_draws ({draws}) passes "
        f"per pass, two per Square query (up to {randomised:,} passes{aside})"
    )
    if rounds == 0:
        return f"escalation is off (escalation_rounds: 0); {model}"
    return (
        f"a masking flag adds up to {rounds} escalation round(s): up to {det:,} forward passes "
        "per sample still unbroken (over all budgets; round 1's transfer attack adds 2 per input "
        f"feature); {model}, and 2^r x {draws} per pass of escalation round r: up to "
        f"{randomised + rand:,} passes per sample still unbroken, the escalation included"
    )
