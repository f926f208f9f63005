"""TextAttack 0.3.11 as a reference, set up to run offline (tests and benchmarks/ only).

What does not work here and how it is worked around (nothing of it is used by the recipes we
compare with):
- its import runs a one-time "post install" that downloads NLTK data: a marker file in a private
  cache folder (TA_CACHE_DIR) says it already ran;
- `StopwordModification` reads NLTK's English stop-word corpus (a download): a private NLTK_DATA
  folder holds our own stop-word list under that name, so both attacks freeze the same words;
- `flair` (part-of-speech and NER tagging; its install pulls gensim and boto3 and its taggers are
  downloads) is imported at module level but only used by POS/NER constraints: a stand-in module
  that raises when used takes its place when flair is not installed;
- its import configures logging with `disable_existing_loggers` left on, which silences every
  logger already created in the process (ours included, so later tests' `caplog` saw nothing):
  the loggers enabled before the import are enabled again after it;
- TextFooler's counter-fitted embeddings and Universal Sentence Encoder (downloads) are not used:
  the word-level comparison gives TextAttack our candidate set through a `WordSwap` subclass.
Install (Makefile, `make install`): pip install --no-deps textattack==0.3.11 plus the few
packages its imports need (listed in the Makefile).
"""

from __future__ import annotations

import logging
import os
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np

from harness.suites.adversarial.text.constraints import STOP_WORDS

SKIP_REASON = (
    "textattack 0.3.11 is not installed (make install puts it in with --no-deps; see "
    "tests/suites/adversarial/text/textattack_setup.py)"
)


def _flair_stand_in() -> None:
    flair = types.ModuleType("flair")
    data = types.ModuleType("flair.data")
    models = types.ModuleType("flair.models")

    class Unavailable:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("flair is not installed: POS/NER constraints are unavailable")

        @classmethod
        def load(cls, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("flair is not installed: POS/NER constraints are unavailable")

    class Tokenizer:  # base class TextAttack subclasses at import
        pass

    data.Sentence = Unavailable  # type: ignore[attr-defined]
    data.Tokenizer = Tokenizer  # type: ignore[attr-defined]
    models.SequenceTagger = Unavailable  # type: ignore[attr-defined]
    flair.data = data  # type: ignore[attr-defined]
    flair.models = models  # type: ignore[attr-defined]
    flair.device = None  # type: ignore[attr-defined]
    sys.modules.update({"flair": flair, "flair.data": data, "flair.models": models})


def import_textattack(folder: Path) -> Any | None:
    """The `textattack` module set up offline under `folder`, or None when it is not installed."""
    import importlib.util

    if importlib.util.find_spec("textattack") is None:
        return None
    cache = folder / "textattack-cache"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "post_install_check_3").touch()
    stop = folder / "nltk_data" / "corpora" / "stopwords"
    stop.mkdir(parents=True, exist_ok=True)
    (stop / "english").write_text("\n".join(sorted(STOP_WORDS)) + "\n")
    os.environ["TA_CACHE_DIR"] = str(cache)
    os.environ["NLTK_DATA"] = str(folder / "nltk_data")
    try:
        import flair  # noqa: F401
    except ImportError:
        _flair_stand_in()
    import nltk

    nltk.data.path.insert(0, str(folder / "nltk_data"))
    enabled = [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.disabled
    ]
    import textattack

    for logger in enabled:  # its dictConfig disabled every logger that existed
        logger.disabled = False
    return textattack


def wrapper(textattack: Any, score: Any) -> Any:
    """A TextAttack model wrapper around our score function (texts -> probabilities)."""

    class ScoreWrapper(textattack.models.wrappers.ModelWrapper):  # type: ignore[misc]
        def __init__(self) -> None:
            self.model = None

        def __call__(self, texts: list[str]) -> np.ndarray:
            return np.asarray(score(list(texts)))

    return ScoreWrapper()


def deepwordbug(textattack: Any, model: Any, *, share: float, query_budget: int) -> Any:
    """TextAttack's DeepWordBug recipe (`DeepWordBugGao2018.build`: its four character
    transformations, no repeated edit of a word, no stop words, Levenshtein distance 30, greedy
    search with "unk" word importance) plus the suite's budget: at most ceil(share * n) words
    (MaxWordsPerturbed) and the query budget."""
    from textattack import Attack
    from textattack.attack_recipes import DeepWordBugGao2018
    from textattack.constraints.overlap import MaxWordsPerturbed

    recipe = DeepWordBugGao2018.build(model)
    recipe.goal_function.query_budget = query_budget
    constraints = [
        *recipe.pre_transformation_constraints,
        *recipe.constraints,
        MaxWordsPerturbed(max_percent=share),
    ]
    return Attack(recipe.goal_function, constraints, recipe.transformation, recipe.search_method)


def textfooler_style(
    textattack: Any, model: Any, neighbours: Any, *, share: float, query_budget: int
) -> Any:
    """TextFooler's search (greedy, word importance by deletion) and its offline constraints
    (no repeated edit, no stop words) over the suite's candidate set, within the budget."""
    from textattack import Attack
    from textattack.constraints.overlap import MaxWordsPerturbed
    from textattack.constraints.pre_transformation import (
        RepeatModification,
        StopwordModification,
    )
    from textattack.goal_functions import UntargetedClassification
    from textattack.search_methods import GreedyWordSwapWIR
    from textattack.transformations import WordSwap

    class SameCandidates(WordSwap):  # type: ignore[misc]
        def _get_replacement_words(self, word: str) -> list[str]:
            return list(neighbours(word))

    goal = UntargetedClassification(model, query_budget=query_budget)
    constraints = [
        RepeatModification(),
        StopwordModification(),
        MaxWordsPerturbed(max_percent=share),
    ]
    return Attack(goal, constraints, SameCandidates(), GreedyWordSwapWIR(wir_method="delete"))


def run_attack(textattack: Any, attack: Any, texts: list[str], labels: list[int]) -> list[Any]:
    """Attack results, one per text, in order (TextAttack attacks one text at a time)."""
    return [attack.attack(t, int(y)) for t, y in zip(texts, labels, strict=True)]


def succeeded(textattack: Any, result: Any) -> bool:
    return isinstance(result, textattack.attack_results.SuccessfulAttackResult)
