"""Metric keys in words for figure axes, titles and the report's column headers
(`top1_acc` -> `clean accuracy`, `group_by=sex` -> `by sex`).

Terminal tables, CSV and JSON keep the exact keys (users grep for them); figures and the HTML
report's headers use the labels the suites declare on their boards (`MetricSpec.label`, handed
in as `harness.core.suite_board.SuiteBoard`s), with the key in the header's tooltip. A metric
no installed suite labels reads as its key with spaces.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from harness.core.suite_board import SuiteBoard, metric_labels
from harness.core.threat_model import NORM_WORDS, eps_text
from harness.present.attack_names import attack_words
from harness.present.leaderboard_view import split_key, split_qualifiers

# qualifiers that describe the machine or the run, not the quantity
_QUIET = ("device=", "device_name=", "threads=", "copy_mode=", "variant=eager", "precision=fp32")


@dataclass(frozen=True)
class MetricWords:
    """Metric keys in words, with the labels of the suites' boards (metric name -> label)."""

    labels: Mapping[str, str]

    @classmethod
    def of(cls, boards: Iterable[SuiteBoard]) -> MetricWords:
        return cls(metric_labels(boards))

    def readable(self, key: str) -> str:
        """`robust_acc[attack=ensemble/norm=linf/eps=0.1]` -> `robust accuracy (linf, eps 0.1)`."""
        metric, quals = split_key(key)
        parts = []
        for part in quals:
            for q in split_qualifiers(part, "/"):
                if not q or q.startswith(_QUIET) or q == "attack=ensemble":
                    continue
                name, _, value = q.partition("=")
                parts.append(
                    value if name in ("norm", "attack") else f"{name.replace('_', ' ')} {value}"
                )
        base = self.labels.get(metric, metric)
        return f"{base} ({', '.join(parts)})" if parts else base

    def short(self, key: str) -> str:
        """The metric part of a key in words (`robust accuracy`)."""
        metric = split_key(key)[0]
        return self.labels.get(metric, metric.replace("_", " "))


def qualifier_words(quals: list[str]) -> list[str]:
    """A key's qualifiers in words: `group_by=sex` -> `by sex`, `attack=ensemble/norm=linf/
    eps=0.1` -> `worst case over attacks`, `L-inf 0.1`, `attack=linf_apgd_ce` -> `APGD-CE`."""
    parts = dict(q.partition("=")[::2] for part in quals for q in split_qualifiers(part, "/") if q)
    out: list[str] = []
    attack = parts.pop("attack", None)
    if attack is not None:
        out.append("worst case over attacks" if attack == "ensemble" else attack_words(attack))
    norm, eps = parts.pop("norm", None), parts.pop("eps", None)
    if norm is not None or eps is not None:
        try:
            budget = eps_text(float(eps)) if eps is not None else ""
        except ValueError:
            budget = str(eps)
        out.append(" ".join(x for x in (NORM_WORDS.get(norm or "", norm or ""), budget) if x))
    if "group_by" in parts:
        out.append(f"by {parts.pop('group_by')}")
    out += [f"{k.replace('_', ' ')} {v}" for k, v in parts.items()]
    return out
