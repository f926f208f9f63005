"""Metric keys in words for figure axes, titles and the report's column headers
(`top1_acc` -> `clean accuracy`, `group_by=sex` -> `by sex`).

Terminal tables, CSV and JSON keep the exact keys (users grep for them); figures and the HTML
report's headers use these labels, with the key in the header's tooltip. A metric not listed
reads as its key with spaces.
"""

from __future__ import annotations

from harness.core.threat_model import NORM_WORDS, eps_text
from harness.present.attack_names import attack_words
from harness.present.leaderboard_view import split_key

LABELS: dict[str, str] = {
    "top1_acc": "clean accuracy",
    "top5_acc": "top-5 accuracy",
    "balanced_acc": "balanced accuracy",
    "macro_f1": "macro-F1",
    "nll": "negative log-likelihood",
    "brier": "Brier score",
    "class_acc": "class accuracy",
    "robust_acc": "robust accuracy",
    "attack_success_rate": "attack success rate",
    "invalid_adversarials": "invalid adversarials",
    "min_norm_median": "median minimal perturbation",
    "min_norm_q25": "minimal perturbation, 25th percentile",
    "min_norm_q75": "minimal perturbation, 75th percentile",
    "mean_corruption_acc": "mean corruption accuracy",
    "corruption_acc": "corruption accuracy",
    "corruption_error": "corruption error",
    "mce": "mCE",
    "relative_mce": "relative mCE",
    "mean_tabular_shift_acc": "mean accuracy under shift",
    "tabular_shift_acc": "accuracy under shift",
    "mean_text_shift_acc": "mean accuracy under text shift",
    "text_shift_acc": "accuracy under text shift",
    "shift_acc": "accuracy on the shifted set",
    "shift_acc_gap": "clean minus shifted accuracy",
    "effective_robustness": "effective robustness",
    "ood_auroc": "OOD detection AUROC",
    "ood_aupr": "OOD detection AUPR",
    "ood_fpr_at_95_tpr": "OOD false-positive rate at 95% TPR",
    "throughput_samples_per_s": "throughput (samples/s)",
    "throughput_tokens_per_s": "throughput (tokens/s)",
    "ece": "calibration error (ECE)",
    "worst_group_acc": "worst-group accuracy",
    "worst_group_acc_drop": "worst-group accuracy drop",
    "group_acc": "group accuracy",
    "group_clean_acc": "group clean accuracy",
    "group_acc_drop": "group accuracy drop",
    "group_acc_drop_gap": "gap in group accuracy drops",
    "group_acc_gap": "group accuracy gap",
    "group_ece": "group calibration error",
    "group_ece_gap": "group calibration error gap",
    "group_tpr": "group true-positive rate",
    "group_fpr": "group false-positive rate",
    "demographic_parity_difference": "demographic parity difference",
    "demographic_parity_ratio": "demographic parity ratio",
    "equalized_odds_difference": "equalized odds difference",
    "equalized_odds_ratio": "equalized odds ratio",
    "equal_opportunity_difference": "equal opportunity difference",
    "latency_p50_ms": "median latency (ms)",
    "latency_p90_ms": "latency, 90th percentile (ms)",
    "latency_p99_ms": "latency, 99th percentile (ms)",
    "peak_memory_mb": "peak memory (MiB)",
    "flops_per_sample": "FLOPs per sample",
    "achieved_tflops": "achieved TFLOP/s",
    "percent_of_peak": "% of peak FLOP/s",
}
# qualifiers that describe the machine or the run, not the quantity
_QUIET = ("device=", "device_name=", "threads=", "copy_mode=", "variant=eager", "precision=fp32")


def readable(key: str) -> str:
    """`robust_acc[attack=ensemble/norm=linf/eps=0.1]` -> `robust accuracy (linf, eps 0.1)`."""
    metric, quals = split_key(key)
    parts = []
    for part in quals:
        for q in part.split("/"):
            if not q or q.startswith(_QUIET) or q == "attack=ensemble":
                continue
            name, _, value = q.partition("=")
            parts.append(
                value if name in ("norm", "attack") else f"{name.replace('_', ' ')} {value}"
            )
    base = LABELS.get(metric, metric)
    return f"{base} ({', '.join(parts)})" if parts else base


def short(key: str) -> str:
    """The metric part of a key in words (`robust accuracy`)."""
    metric = split_key(key)[0]
    return LABELS.get(metric, metric.replace("_", " "))


def qualifier_words(quals: list[str]) -> list[str]:
    """A key's qualifiers in words: `group_by=sex` -> `by sex`, `attack=ensemble/norm=linf/
    eps=0.1` -> `worst case over attacks`, `L-inf 0.1`, `attack=linf_apgd_ce` -> `APGD-CE`."""
    parts = dict(q.partition("=")[::2] for part in quals for q in part.split("/") if q)
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
