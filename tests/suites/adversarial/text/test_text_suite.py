"""The adversarial suite on a text task, end to end on a planted bag-of-words `callable` model:
budgets in every condition, cumulative worst case, re-checked adversarial texts, the gallery
artifact, a word source from a synonyms file, and bad input as one line or a note."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest

from harness.cli.main import main
from harness.core.errors import ConfigError
from harness.core.suite import SuiteResult
from harness.run.api import evaluate
from harness.suites.adversarial.text.budget import TextBudget
from harness.suites.adversarial.text.constraints import WordRules
from harness.suites.adversarial.text.verify import check_edit
from tests.suites.adversarial.text.planted import SYNONYMS, bag_of_words_scores

MODEL = {
    "name": "bow",
    "adapter": "callable",
    "callable": "tests.suites.adversarial.text.planted:bag_of_words_scores",
    "outputs": "probabilities",
    "modality": "text",
}
POSITIVE = [
    "a good film",
    "good acting and a great cast",
    "superb",
    "a fine, fine movie",
    "great",
    "the plot is good but the cast is great and superb",
]
NEGATIVE = ["a bad film", "awful", "boring and dull", "the cast was bad"]


@pytest.fixture(scope="module")
def csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("text-suite")
    texts = POSITIVE + NEGATIVE + ["", "the 1999 and the 2000", "ok\x07 good film"]
    labels = [1] * len(POSITIVE) + [0] * len(NEGATIVE) + [0, 0, 1]
    pd.DataFrame({"text": texts, "label": labels}).to_csv(folder / "reviews.csv", index=False)
    (folder / "subs.json").write_text(json.dumps(SYNONYMS))
    return folder / "reviews.csv"


def task_spec(csv: Path) -> dict[str, Any]:
    return {
        "name": "reviews",
        "source": str(csv),
        "split": "test",
        "modality": "text",
        "input_column": "text",
        "label_column": "label",
        "class_names": ["neg", "pos"],
    }


def run(csv: Path, text: dict[str, Any]) -> Any:
    out = evaluate(
        MODEL,
        task=task_spec(csv),
        suites={"adversarial": {"preset": "fast", "text": text}},
        device="cpu",
        bootstrap_resamples=0,
        base_dir=csv.parent,
    )
    return out.results["adversarial"]


def test_text_results_are_budgeted_cumulative_and_rechecked(csv: Path) -> None:
    res = run(csv, {"word_source": "synonyms", "synonyms_file": "subs.json"})
    robust = {r.condition: r for r in res.metrics if r.metric == "robust_acc" and r.headline}
    assert set(robust) == {
        "attack=ensemble/threat=char/words=0.1/edits=1",
        "attack=ensemble/threat=char/words=0.2/edits=1",
        "attack=ensemble/threat=word/words=0.1",
        "attack=ensemble/threat=word/words=0.2",
    }
    clean = next(r for r in res.metrics if r.metric == "clean_acc")
    for threat in ("char", "word"):
        small, large = (robust[c] for c in sorted(robust) if f"threat={threat}" in c)
        assert large.value <= small.value <= clean.value  # cumulative over budgets
        assert small.ci is not None and small.n == clean.n
    frame = res.table.frame
    originals = _originals(csv, frame)
    hits = frame[frame["attack_success"]]
    assert len(hits) >= 4
    for row in hits.itertuples():
        parts = dict(p.split("=") for p in row.condition.split("/")[1:])
        budget = TextBudget(parts["threat"], float(parts["words"]), int(parts.get("edits", 1)))
        size, reason = check_edit(
            originals[row.sample_id], row.adversarial_text, budget, WordRules()
        )
        assert reason is None and size.words == row.words_changed >= 1
        fresh = bag_of_words_scores([row.adversarial_text])[0]
        assert int(fresh.argmax()) == row.prediction != row.label
    rate = next(
        r
        for r in res.metrics
        if r.metric == "attack_success_rate" and r.condition.endswith("threat=word/words=0.2")
    )
    assert rate.n == int(clean.value * clean.n)
    examples = res.artifacts["text_examples"]
    assert {e["threat"] for e in examples} == {"char", "word"}
    for e in examples:
        ((start, end),) = e["adversarial_spans"][:1]
        assert (
            e["adversarial"][start:end]
            != e["original"][e["original_spans"][0][0] : e["original_spans"][0][1]]
        )
    notes = " ".join(res.notes)
    assert "no sentence-similarity model configured" in notes
    assert "1 text(s) hold control characters" in notes
    assert "have no word an attack may change" in notes


def _originals(csv: Path, frame: pd.DataFrame) -> dict[str, str]:
    from harness.data.loader import load_task
    from harness.data.task_spec import TaskSpec

    task = load_task(TaskSpec.model_validate(task_spec(csv)), base_dir=csv.parent)
    return dict(zip(task.sample_ids, task.data[task.input_column], strict=True))


def test_a_model_without_embeddings_runs_the_char_attacks_and_says_how_to_add_words(
    csv: Path,
) -> None:
    res = run(csv, {})
    conditions = {r.condition for r in res.metrics if r.metric == "robust_acc"}
    assert all("threat=char" in c for c in conditions)
    assert any("word-level attacks did not run" in n and "synonyms_file" in n for n in res.notes)
    with pytest.raises(ConfigError, match="'embedding' needs the input-embedding matrix"):
        run(csv, {"attacks": ["word_greedy"], "char": None})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{char: {words: [0]}}",
            "suites.adversarial.text.char.words: a share of words must be in (0, 1]",
        ),
        (
            "{word: {words: [1.5]}}",
            "suites.adversarial.text.word.words: a share of words must be in (0, 1]",
        ),
        (
            "{char: {edits: 0}}",
            "suites.adversarial.text.char.edits: edits per word must be a positive",
        ),
        (
            "{word_source: synonyms, synonyms_file: nope.json}",
            "suites.adversarial.text.synonyms_file: file not found: ",
        ),
        # a folder was "does not exist"
        (
            "{word_source: synonyms, synonyms_file: .}",
            "suites.adversarial.text.synonyms_file: is a folder, not a synonyms file: ",
        ),
        # a device was "file not found"
        (
            "{word_source: synonyms, synonyms_file: /dev/null}",
            "suites.adversarial.text.synonyms_file: is a special file (a device, pipe or "
            "socket), not a synonyms file: /dev/null;",
        ),
        # two shares with one condition name: the job failed with a traceback on the
        # sample table's duplicate (sample_id, condition) rows
        (
            "{word: {words: [0.2, 0.20000000001]}}",
            "suites.adversarial.text.word.words: 0.2 and 0.20000000001 both name the budget "
            "'words=0.2'",
        ),
        (
            "{char: {words: [0.1, 0.1000000001]}}",
            "suites.adversarial.text.char.words: 0.1 and ",
        ),
        # a synonyms file beside the default word source was silently ignored: the word attack
        # drew embedding neighbours (or, for a callable, did not run) and the file went unread
        (
            "{synonyms_file: subs.json}",
            "suites.adversarial.text.synonyms_file: given, but word_source is 'embedding'",
        ),
        (
            "{word_source: embedding, synonyms_file: subs.json}",
            "suites.adversarial.text.synonyms_file: given, but word_source is 'embedding'",
        ),
        # a similarity threshold without an encoder, or an embedding-cosine floor beside a
        # synonyms table, went unread: the attacks ran without the constraint the spec asked for
        (
            "{min_similarity: 0.5}",
            "suites.adversarial.text.min_similarity: given, but no similarity_model",
        ),
        (
            "{word_source: synonyms, synonyms_file: subs.json, min_cosine: 0.9}",
            "suites.adversarial.text.min_cosine: given, but word_source is 'synonyms'",
        ),
    ],
)
def test_bad_text_config_is_one_line_and_exit_2(
    csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"name: t\ntasks:\n  - {json.dumps(task_spec(csv))}\nmodels:\n  - {json.dumps(MODEL)}\n"
        f"suites:\n  adversarial: {{preset: fast, text: {text}}}\n"
    )
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err


def test_validate_refuses_a_word_attack_the_model_cannot_run(
    csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`attacks: [word_greedy]` on a callable model (no input embeddings) and no synonyms file:
    validate said "valid" and every job then failed at run time. Now validate refuses it in one
    line naming the model, the attack and the two ways out; with a synonyms file, or with
    char_greedy beside it (the word attack is then left out with a note), it is valid."""
    spec = tmp_path / "spec.yaml"
    (tmp_path / "subs.json").write_text(json.dumps(SYNONYMS))

    def validate(text: str) -> tuple[int, list[str]]:
        spec.write_text(
            f"name: t\ntasks:\n  - {json.dumps(task_spec(csv))}\nmodels:\n"
            f"  - {json.dumps(MODEL)}\nsuites:\n  adversarial: {{preset: fast, text: {text}}}\n"
        )
        code = main(["validate", str(spec)])
        return code, capsys.readouterr().err.strip().splitlines()

    code, err = validate("{attacks: [word_greedy], char: null}")
    assert code == 2 and len(err) == 1, err
    assert "'bow'" in err[0] and "word_greedy" in err[0] and "synonyms_file" in err[0], err
    assert "char_greedy" in err[0], err
    assert (
        validate("{attacks: [word_greedy], word_source: synonyms, synonyms_file: subs.json}")[0]
        == 0
    )
    assert validate("{attacks: [char_greedy, word_greedy]}")[0] == 0


def test_an_edited_synonyms_file_reruns_the_job(
    csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The job key held the synonyms file's path only: after the file was edited, `harness
    run` said "cached (same key; skipped)" and served the attack run with the old
    substitutes. Its content is now among the job's input fingerprints."""
    from harness.store.run_store import load_jobs

    spec = tmp_path / "spec.yaml"
    text = "{attacks: [word_greedy], char: null, word_source: synonyms, synonyms_file: s.json}"
    spec.write_text(
        f"name: t\ntasks:\n  - {json.dumps(task_spec(csv))}\nmodels:\n  - {json.dumps(MODEL)}\n"
        f"suites:\n  adversarial: {{preset: fast, text: {text}}}\n"
    )
    out = tmp_path / "out"

    def robust() -> tuple[str, float]:
        assert main(["run", str(spec), "--out", str(out), "--no-cache"]) in (0, 1)
        screen = capsys.readouterr().out
        ((_, job),) = list(load_jobs(out))
        value = min(r.value for r in job.metrics if r.metric == "robust_acc")
        return screen, value

    (tmp_path / "s.json").write_text(json.dumps({"good": ["decent"]}))
    _, before = robust()
    (tmp_path / "s.json").write_text(json.dumps(SYNONYMS))
    screen, after = robust()
    assert "cached" not in screen and after < before, screen


def test_texts_that_are_not_utf8_stop_with_one_line(tmp_path: Path) -> None:
    from harness.core.errors import DatasetError
    from harness.suites.adversarial.text.inputs import check_texts

    with pytest.raises(DatasetError, match=r"sample 's1' is not valid UTF-8 text"):
        check_texts(["ok", "caf\udce9"], ["s0", "s1"], "reviews")
    assert np.isfinite(bag_of_words_scores(["caf\u00e9"])).all()


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BERT encoder with a word-level tokenizer, built offline (similarity plumbing)."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    words = sorted({w for t in POSITIVE + NEGATIVE for w in t.replace(",", "").split()})
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", *words])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]")
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
    )
    out = tmp_path_factory.mktemp("encoder")
    BertModel(config).save_pretrained(out)
    fast.save_pretrained(out)
    return out


def test_sentence_similarity_rejects_candidates_below_the_minimum(csv: Path, encoder: Path) -> None:
    free = run(csv, {"similarity_model": str(encoder), "min_similarity": -1.0})
    strict = run(csv, {"similarity_model": str(encoder), "min_similarity": 1.0})
    broken = [r for r in free.metrics if r.metric == "attack_success_rate"]
    assert any(r.value for r in broken)  # with the constraint off, the attacks break texts
    for r in strict.metrics:
        if r.metric == "attack_success_rate":
            assert r.value == 0.0  # no changed text keeps similarity 1: nothing scored
    rejected = [r for r in strict.metrics if r.metric == "rejected_candidates"]
    assert rejected and all(r.value > 0 for r in rejected)
    assert not any("no sentence-similarity model" in n for n in strict.notes)
    with pytest.raises(ConfigError, match=r"similarity_model: cannot load encoder '.*nope'"):
        run(csv, {"similarity_model": str(csv.parent / "nope")})


def _char_greedy(csv: Path, planted: str) -> SuiteResult:
    """The fast preset's char-level attack on the planted callable `planted`."""
    out = evaluate(
        {**MODEL, "callable": f"tests.suites.adversarial.text.planted:{planted}"},
        task=task_spec(csv),
        suites={"adversarial": {"preset": "fast", "text": {"attacks": ["char_greedy"]}}},
        device="cpu",
        bootstrap_resamples=0,
        base_dir=csv.parent,
    )
    return out.results["adversarial"]


def test_a_model_whose_scores_never_move_is_flagged_not_called_robust(csv: Path) -> None:
    """A model that ignores its input kept every correct text (robust accuracy = clean
    accuracy, attack success 0) with nothing on the records to tell it from a robust model:
    no text the search scored moved its probabilities. The planted bag-of-words model, whose
    scores do move, is not flagged (test above: `checks` raised nothing)."""
    res = _char_greedy(csv, "constant_scores")
    robust = [r for r in res.metrics if r.metric in ("robust_acc", "attack_success_rate")]
    assert robust and all(r.flags == ("scores_unchanged",) for r in robust)
    check = res.artifacts["checks"]["char"]
    assert check["raised"] and check["bad"] == check["n"] > 0
    assert any(
        n.startswith(
            "char-level attacks: the model's class log-probabilities moved by at most 1e-05"
        )
        and f"on {check['n']} of the {check['n']} texts it searched" in n
        for n in res.notes
    )
    moving = run(csv, {"word_source": "synonyms", "synonyms_file": "subs.json"})
    assert not any(c["raised"] for c in moving.artifacts["checks"].values())
    assert not any(r.flags for r in moving.metrics if r.metric == "robust_acc")


def test_a_model_whose_classes_tie_is_never_robust(csv: Path) -> None:
    """Every text's two classes tie: argmax gave each class 0, so the negative texts counted as
    clean-correct and then robust (no edit moved the scores), plain numbers."""
    res = _char_greedy(csv, "tied_scores")
    n = len(POSITIVE) + len(NEGATIVE) + 3
    negatives = len(NEGATIVE) + 2
    clean = next(r for r in res.metrics if r.metric == "clean_acc")
    assert clean.value == pytest.approx(negatives / n)
    assert "tied_scores" in clean.flags and f"{n} of {n} samples tie" in (clean.note or "")
    robust = [r for r in res.metrics if r.metric == "robust_acc"]
    assert robust and all(r.value == 0 for r in robust)
    assert all(
        f"{negatives} of these {n} texts count as not robust" in (r.note or "") for r in robust
    )


def test_a_randomised_model_is_flagged_not_scored_as_robust(csv: Path) -> None:
    """A model whose scores change from call to call (a randomised defence, dropout left on)
    got clean accuracy, robust accuracy 0.271 and attack success rate with no flag: its
    "adversarial" texts are redraws that happened to land on another label. The clean texts are
    scored twice; scores that differ flag every record and a note says so."""
    res = _char_greedy(csv, "random_scores")
    rates = [
        r for r in res.metrics if r.metric in ("clean_acc", "robust_acc", "attack_success_rate")
    ]
    assert {r.metric for r in rates} == {"clean_acc", "robust_acc", "attack_success_rate"}
    assert all("nondeterministic_forward" in r.flags for r in rates)
    check = res.artifacts["checks"]["forward"]
    assert check["raised"] and check["bad"] == check["n"] > 0
    assert any("scored twice" in n and "nondeterministic_forward" in n for n in res.notes)
    steady = _char_greedy(csv, "bag_of_words_scores")
    assert not steady.artifacts["checks"]["forward"]["raised"]
    assert not any("nondeterministic_forward" in r.flags for r in steady.metrics)


def test_a_batch_dependent_model_is_flagged(csv: Path) -> None:
    """A model whose scores of a text depend on the texts beside it (log-odds centred on the
    batch): the clean pass, the search's batches and the re-check batch texts differently (the
    re-check rejected 5 of its adversarial texts; robust accuracy 0.615 at 20% of words, the
    batch-independent model 0.538), shown plain where an image model's robust_acc carries
    `batch_dependent_forward`. Now the text records carry it too, with a note."""
    res = _char_greedy(csv, "batch_centred_scores")
    rates = [r for r in res.metrics if r.metric in ("robust_acc", "attack_success_rate")]
    assert rates and all("batch_dependent_forward" in r.flags for r in rates)
    check = res.artifacts["checks"]["batch"]
    assert check["raised"] and 0 < check["bad"] <= check["n"]
    assert any(
        "batch_dependent_forward" in n and "other texts of its batch" in n for n in res.notes
    )
    steady = _char_greedy(csv, "bag_of_words_scores")
    assert not steady.artifacts["checks"]["batch"]["raised"]
    assert not any("batch_dependent_forward" in r.flags for r in steady.metrics)
    randomised = _char_greedy(csv, "random_scores")  # changes anyway: not probed for batches
    assert not randomised.artifacts["checks"]["batch"]["raised"]


def test_nan_scores_on_attack_texts_are_never_successes(csv: Path) -> None:
    """A model whose scores are NaN on every edited text: argmax read NaN as class 0, so every
    positive text counted as broken, and the job then failed writing a NaN confidence ("Out of
    range float values are not JSON compliant", a traceback). Such texts are scored as the
    clean text in the search, rejected by the re-check (`non_finite_logits`), and a note counts
    them."""
    res = _char_greedy(csv, "nan_on_unknown_words")
    robust = [r for r in res.metrics if r.metric == "robust_acc"]
    clean = next(r for r in res.metrics if r.metric == "clean_acc")
    assert robust and all(r.value == clean.value for r in robust)
    assert any(
        "returned NaN or inf class scores for" in n and "never counted as successes" in n
        for n in res.notes
    ), res.notes


def test_nan_scores_on_the_clean_texts_fail_the_job_in_one_line(csv: Path) -> None:
    from harness.core.errors import ModelOutputError

    with pytest.raises(ModelOutputError, match=r"model 'bow' returned NaN or inf class scores"):
        _char_greedy(csv, "nan_everywhere")


def test_the_similarity_encoder_truncates_at_its_positions(encoder: Path) -> None:
    """The encoder's tokenizer was saved without `model_max_length`, so `truncation=True` cut
    nothing, and a text longer than its 32 positions failed the job: "The expanded size of the
    tensor (82) must match the existing size (32)" with a traceback."""
    import torch

    from harness.suites.adversarial.text.similarity import SentenceSimilarity

    sim = SentenceSimilarity(str(encoder), device=torch.device("cpu"))
    long = " ".join(["a good film"] * 30)
    assert sim([long], [long.replace("good", "bad", 1)]).shape == (1,)


def test_a_similarity_encoder_without_a_pad_token_is_named(encoder: Path, tmp_path: Path) -> None:
    """An encoder whose tokenizer has no pad token failed the job at its first batch with
    transformers' own "ValueError: Asking to pad but the tokenizer does not have a padding
    token...", naming neither the key nor the folder."""
    import shutil

    import torch

    from harness.suites.adversarial.text.similarity import SentenceSimilarity

    folder = tmp_path / "nopad"
    shutil.copytree(encoder, folder)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.pop("pad_token", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError) as info:
        SentenceSimilarity(str(folder), device=torch.device("cpu"))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("suites.adversarial.text.similarity_model: ")
    assert "nopad" in message and "no pad token" in message


def test_a_similarity_encoder_limit_below_its_special_tokens_is_named(tmp_path: Path) -> None:
    """A tokenizer asked to truncate below its special tokens ([CLS] [SEP] at model_max_length
    2) truncates nothing, so the encoder read whole texts past its positions."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    from harness.suites.adversarial.text.similarity import SentenceSimilarity

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "film"])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", model_max_length=2
    )
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=32,
    )  # fmt: skip
    BertModel(config).save_pretrained(tmp_path / "enc")
    fast.save_pretrained(tmp_path / "enc")
    with pytest.raises(ConfigError) as info:
        SentenceSimilarity(str(tmp_path / "enc"), device=torch.device("cpu"))
    message = str(info.value)
    assert message.startswith("suites.adversarial.text.similarity_model: ")
    assert "2 special tokens" in message and "\n" not in message


def test_a_word_source_with_no_substitute_for_any_text_says_so(csv: Path) -> None:
    """A synonyms file that holds none of the task's words gave the word-level attack nothing to
    try on any text: robust accuracy equal to clean accuracy and attack success 0, with no flag
    and no note, read as a model robust to word substitutions. Each record of that threat model
    and the job's notes now count the texts that got no candidate."""
    (csv.parent / "elsewhere.json").write_text(json.dumps({"zebra": ["horse"]}))
    res = run(csv, {"attacks": ["word_greedy"], "word_source": "synonyms",
                    "synonyms_file": "elsewhere.json"})  # fmt: skip
    clean = next(r for r in res.metrics if r.metric == "clean_acc")
    robust = [r for r in res.metrics if r.metric == "robust_acc"]
    assert robust and all(r.value == clean.value for r in robust)
    correct = round(clean.value * clean.n)
    frozen = 2  # the empty text and "the 1999 and the 2000": no editable word (noted apart)
    said = f"{correct - frozen} of the {correct - frozen} texts attacked got no candidate"
    assert all(said in (r.note or "") for r in robust)
    assert any(n.startswith("word-level attacks: " + said) for n in res.notes)
    with_subs = run(csv, {"word_source": "synonyms", "synonyms_file": "subs.json"})
    covered = [r for r in with_subs.metrics if r.metric == "robust_acc"]
    for r in covered:  # "a fine, fine movie": no word of it in subs.json; no char-level note
        word = "threat=word" in r.condition
        assert ("1 of the 11 texts attacked got no candidate" in (r.note or "")) == word


def test_texts_the_query_budget_stopped_are_counted(csv: Path) -> None:
    """A text whose search ran out of queries with candidates left untried counted as robust
    with no word of it: with `query_budget: 3` most searches stop after their first words, and
    the robust accuracy read as the model's. Each record of that threat model and the job's
    notes now count the texts left unbroken that the budget stopped."""
    tight = run(csv, {"attacks": ["word_greedy"], "word_source": "synonyms",
                      "synonyms_file": "subs.json", "query_budget": 3})  # fmt: skip
    robust = [r for r in tight.metrics if r.metric == "robust_acc"]
    said = [n for n in tight.notes if "stopped at the query budget (3 model queries" in n]
    assert len(said) == 1 and said[0].startswith("word-level attacks: ")
    bad, n = (int(w) for w in said[0].split()[2:6:3])  # "word-level attacks: K of the N texts"
    assert 1 <= bad <= n
    unbroken = round(min(r.value for r in robust) * robust[0].n)
    assert n == unbroken  # every text left unbroken, the budget-stopped among them
    assert all(said[0].removeprefix("word-level attacks: ") in (r.note or "") for r in robust)
    roomy = run(csv, {"attacks": ["word_greedy"], "word_source": "synonyms",
                      "synonyms_file": "subs.json"})  # fmt: skip
    assert not any("query budget" in n for n in roomy.notes)
    assert not any("query budget" in (r.note or "") for r in roomy.metrics)
    loose = [r.value for r in roomy.metrics if r.metric == "robust_acc"]
    assert min(loose) < min(r.value for r in robust)  # the stopped texts hid breaks


def test_unattackable_texts_that_tie_are_not_said_to_count_as_robust(csv: Path) -> None:
    """The empty text and "the 1999 and the 2000" (label 0) have no word to edit; when their
    classes tie they are clean-correct by argmax's tie-break only and count as not robust, yet
    a job note said "2 correctly classified text(s) have no word an attack may change ...: they
    count as robust" beside the records' "count as not robust"."""
    tied = _char_greedy(csv, "tied_scores")
    assert not [n for n in tied.notes if "have no word an attack may change" in n], tied.notes
    plain = run(csv, {"word_source": "synonyms", "synonyms_file": "subs.json"})
    assert any("2 correctly classified text(s) have no word" in n for n in plain.notes)


def test_a_model_that_gets_every_text_wrong_has_records_not_a_crash(tmp_path: Path) -> None:
    """With no clean-correct text, mean_queries (an empty mean with its own note) failed the
    job: "TypeError: spec_record() got multiple values for keyword argument 'note'"."""
    csv = tmp_path / "reviews.csv"
    texts = POSITIVE[:3] + NEGATIVE[:3]
    pd.DataFrame({"text": texts, "label": [0] * 3 + [1] * 3}).to_csv(csv, index=False)
    (tmp_path / "subs.json").write_text(json.dumps(SYNONYMS))
    res = run(csv, {"word_source": "synonyms", "synonyms_file": "subs.json"})
    clean = next(r for r in res.metrics if r.metric == "clean_acc")
    assert clean.value == 0
    queries = [r for r in res.metrics if r.metric == "mean_queries"]
    assert queries and all(r.value is None and r.n == 0 for r in queries)
    assert all(r.note == "no correctly classified text to attack" for r in queries)
    robust = [r for r in res.metrics if r.metric == "robust_acc"]
    assert robust and all(r.value == 0 and r.n == 6 for r in robust)


def test_synonyms_that_are_not_one_word_are_counted(csv: Path) -> None:
    """A synonyms file exported with phrases ("very good", WordNet's "look_at") had those
    entries dropped without a word: the job said only that texts got no candidate, as if the
    file missed their vocabulary. The job's notes now count the entries never used."""
    table = {"good": ["very good", "fine"], "great": ["top_notch"], "bad rap": ["slander"]}
    (csv.parent / "phrases.json").write_text(json.dumps(table))
    res = run(csv, {"attacks": ["word_greedy"], "word_source": "synonyms",
                    "synonyms_file": "phrases.json"})  # fmt: skip
    said = [n for n in res.notes if n.startswith("synonyms file phrases.json:")]
    assert len(said) == 1, res.notes
    assert "2 of its 3 substitutes (e.g. 'very good')" in said[0]
    assert "1 of its 3 words (e.g. 'bad rap')" in said[0]
    clean = run(csv, {"attacks": ["word_greedy"], "word_source": "synonyms",
                      "synonyms_file": "subs.json"})  # fmt: skip
    assert not any(n.startswith("synonyms file") for n in clean.notes)


def test_a_similarity_model_saved_again_into_its_folder_changes_the_job_key(
    encoder: Path, tmp_path: Path
) -> None:
    """The similarity model's folder entered the job key by its path only: an encoder saved
    again into the same folder (fine-tuned, another checkpoint) served the results computed
    with the old one. Its files' contents are among the job's input fingerprints."""
    import shutil

    from harness.core.task import Task
    from harness.suites.adversarial.suite import AdversarialSuite

    folder = tmp_path / "enc"
    shutil.copytree(encoder, folder)
    suite = AdversarialSuite({"preset": "fast", "text": {"similarity_model": "enc"}})
    suite.bind_spec_folder(tmp_path)
    task = cast(Task, SimpleNamespace(modality="text"))
    first = suite.input_fingerprints(task)["text.similarity_model"]
    assert suite.input_fingerprints(task)["text.similarity_model"] == first
    config = folder / "config.json"
    config.write_text(config.read_text().replace('"hidden_act": "gelu"', '"hidden_act": "relu"'))
    assert suite.input_fingerprints(task)["text.similarity_model"] != first
    image = cast(Task, SimpleNamespace(modality="image"))
    assert suite.input_fingerprints(image) == {}


def test_a_text_attack_stage_says_its_texts_are_the_unbroken_ones(
    csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The image attacks' stages say 'on N unbroken samples'; a text attack's said
    'word_swap (...): N texts', a count the progress line's 'M/T samples' then followed."""
    from harness.suites.adversarial.progress import StageProgress

    stages: list[str] = []
    original = StageProgress.stage

    def record(self: StageProgress, label: str) -> None:
        stages.append(label)
        original(self, label)

    monkeypatch.setattr(StageProgress, "stage", record)
    run(csv, {"word_source": "synonyms", "synonyms_file": "subs.json"})
    attacks = [s for s in stages if "texts" in s]
    assert attacks and all(s.endswith(" unbroken texts") and ") on " in s for s in attacks), stages
