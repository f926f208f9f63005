"""Text attacks: budgeted character edits and word substitutions against black-box text models.

One concept per module: `words` (a text as words and the gaps between them), `budget` (the threat
models and their budgets), `edits` (character edits and their distance), `constraints` (which words
may change: stop words, protected tokens, sentence similarity), `sources` (where substitute words
come from), `search` (the batched greedy search with word-importance ranking), `verify` (the
re-check of every adversarial text) and `sweep` (the cascade over budgets and its results).
"""
