"""Metric keys in words for figure axes and titles (`top1_acc` -> `clean accuracy`).

Tables keep the exact keys (users grep for them); figures use these labels, with only the
qualifiers that tell two columns apart (the machine is named in the caption or panel title).
"""

from __future__ import annotations

from harness.present.leaderboard_view import split_key

LABELS: dict[str, str] = {
    "top1_acc": "clean accuracy",
    "robust_acc": "robust accuracy",
    "mean_corruption_acc": "mean corruption accuracy",
    "mean_tabular_shift_acc": "mean accuracy under shift",
    "throughput_samples_per_s": "throughput (samples/s)",
    "ece": "calibration error (ECE)",
    "worst_group_acc": "worst-group accuracy",
    "latency_p50_ms": "median latency (ms)",
    "peak_memory_mb": "peak memory (MiB)",
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
    return LABELS.get(split_key(key)[0], split_key(key)[0])
