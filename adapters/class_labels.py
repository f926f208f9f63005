"""What to tell a user whose model names its classes where the task has only class ids.

scikit-learn estimators (`classes_`) and ONNX graphs converted from them (their label tensors or
ZipMap keys) may name their classes; a task without declared class names has the ids 0..k-1 as
its names. The fix is then on the task's side: declare the names in the order of its ids.
"""

from __future__ import annotations


def has_only_ids(classes: list[str]) -> bool:
    """Whether a task's class names are its ids 0..k-1 (no names declared)."""
    return classes == [str(i) for i in range(len(classes))]


def declare_names_advice(fit_on_ids: str) -> str:
    """The advice for a model with class names meeting a task with ids only; `fit_on_ids` is
    the other way out, in the model's terms ("fit the model on the class ids")."""
    return (
        "the task has no class names (its labels are the ids 0..k-1): declare them in the order "
        "of its label ids (class_names=[...] for data in memory, class_names: in a task spec), "
        f"or {fit_on_ids}"
    )
