"""The reliability flags the built-in suites raise, with what each one means.

A flag on a metric record says the number may not be trustworthy. Boards show it as
`UNRELIABLE(flag)` and never rank a flagged number above an unflagged one; `harness check` fails
on any flag in the current run unless the policy accepts that flag for that model
(`accept_flags`, docs/ci-gate.md). A policy may name a flag from this catalogue or one that
appears in the runs it checks; any other name is refused with close matches.
"""

from __future__ import annotations

from harness.stats.groups import INSUFFICIENT, SMALL_DENOMINATOR
from harness.stats.timing import UNSTABLE

KNOWN_FLAGS: dict[str, str] = {
    # adversarial (suites/adversarial: validity checks and attack outcomes)
    "zero_gradients": "input gradients are zero on too many samples",
    "nonfinite_gradients": "input gradients have NaN or inf coordinates on too many samples",
    "nondeterministic_forward": "the forward pass is not deterministic",
    "batch_dependent_forward": "an input's outputs depend on the other inputs of its batch",
    "probability_outputs": "the model returns probabilities, not logits",
    "decision_scores": "the model's scores are decision margins, not probabilities (calibration "
    "numbers are of their softmax)",
    "unbounded_attack_fails": "an attack with an unbounded budget fails to break samples",
    "noise_beats_gradient": "random noise breaks samples the gradient attacks missed",
    "noise_beats_attacks": "random noise breaks samples the black-box attacks missed (no gradients)",
    "stronger_attack_lowers_acc": "a stronger attack breaks samples the ensemble missed",
    "loss_not_increasing": "attack steps do not increase the loss",
    "gradient_obfuscation": "a gradient-free attack breaks samples every gradient attack missed",
    "gradient_masking_suspected": "the gradients look masked",
    "gradient_mismatch": "the input gradient disagrees with finite differences of the model",
    "decision_attack_failed": "the decision-based attack failed on some samples",
    "invalid_adversarials": "attack candidates were rejected by verification",
    "scores_unchanged": "text attacks: no candidate edit moved the model's probabilities on too "
    "many texts",
    # accuracy, shift, fairness and adversarial clean accuracy (harness/stats/tie_breaks.py)
    "tied_scores": "the tie-break at the top of the scores moves the number more than half its "
    "interval",
    # fairness
    INSUFFICIENT: "a group has fewer samples than the minimum group size",
    SMALL_DENOMINATOR: "a TPR or FPR rests on fewer positives or negatives than that minimum",
    # throughput
    "untimed_work": "the model enqueued work the per-call timer could not see",
    "cached_outputs": "calls on inputs the model had not seen were far slower: a cache answered",
    UNSTABLE: "the timing rounds vary more than the allowed coefficient of variation",
    "nonfinite_outputs": "the timed forward pass returned NaN or inf logits",
}
