"""Text attack core: words, budgets, edits, constraints, the batched search and the verifier."""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.errors import ConfigError, DatasetError
from harness.suites.adversarial.text.budget import TextBudget, check_edits, check_share
from harness.suites.adversarial.text.config import TextConfig, resolve_text
from harness.suites.adversarial.text.constraints import WordRules
from harness.suites.adversarial.text.edits import char_candidates, osa_distance
from harness.suites.adversarial.text.inputs import check_texts, input_notes
from harness.suites.adversarial.text.search import SearchSettings, greedy_search
from harness.suites.adversarial.text.sources import CharEdits, Substitutes
from harness.suites.adversarial.text.verify import check_edit, verify_texts
from harness.suites.adversarial.text.words import is_word, segment
from tests.suites.adversarial.text.planted import SYNONYMS, bag_of_words_scores

TEXTS = [
    "A good, great film: 10 out of 10!",
    "The plot was awful and boring.",
    "superb",
    "",
    "It is what it is.",
    "Fine acting; the script is good but slow, and the ending is great.",
]


@pytest.mark.parametrize(
    "text", [*TEXTS, "  don't stop\tbelieving ", "naïve café—très bien", "¿Qué?", "a-b c_d"]
)
def test_words_round_trip_exactly(text: str) -> None:
    words = segment(text)
    assert words.join() == text
    assert len(words.gaps) == len(words) + 1
    for i in range(len(words)):
        assert segment(words.replace(i, words.words[i]).join()) == words
        before, after = words.around(i)
        assert before + "Zq" + after == words.replace(i, "Zq").join()


def test_word_segmentation_keeps_contractions_and_hyphens() -> None:
    assert segment("don't well-made film").words == ("don't", "well-made", "film")
    assert is_word("good") and not is_word("two words") and not is_word("")


@pytest.mark.parametrize(
    ("a", "b", "d"),
    [
        ("good", "good", 0),
        ("good", "godo", 1),
        ("good", "god", 1),
        ("good", "goods", 1),
        ("good", "gxod", 1),
        ("abcd", "badc", 2),
        ("ca", "abc", 3),
        ("", "ab", 2),
    ],
)
def test_osa_distance(a: str, b: str, d: int) -> None:
    assert osa_distance(a, b) == d == osa_distance(b, a)


@pytest.mark.parametrize("edits", [1, 2, 3])
def test_char_candidates_are_words_within_the_edit_budget(edits: int) -> None:
    for word in ("movie", "Great", "don't", "ab", "a"):
        cands = char_candidates(word, np.random.default_rng(0), count=12, edits=edits)
        assert len(set(cands)) == len(cands) and word not in cands
        for c in cands:
            assert is_word(c) and 1 <= osa_distance(word, c) <= edits
        again = char_candidates(word, np.random.default_rng(0), count=12, edits=edits)
        assert cands == again  # seeded


def test_char_edits_fall_in_the_first_two_thirds_of_the_word() -> None:
    # where a subword tokenizer splits the word's stem; late edits leave the stem one token.
    # An edit at letter i <= 2 (n - 1) / 3 leaves the letters after i + 1 as they were
    for word in ("wonderful", "movie", "Great", "fun"):
        last = 2 * (len(word) - 1) // 3
        for seed in range(20):
            for cand in char_candidates(word, np.random.default_rng(seed), count=4, edits=1):
                assert cand.endswith(word[last + 2 :]), (word, cand)
    late = {
        c[-2:]
        for s in range(50)
        for c in char_candidates("wonderful", np.random.default_rng(s), count=4, edits=1)
    }
    assert late == {"ul"}


def test_budget_words_follow_textattack_ceil_rule() -> None:
    b = TextBudget("char", 0.1, 1)
    assert [b.max_words(n) for n in (0, 1, 10, 11, 20)] == [0, 1, 1, 2, 2]
    assert TextBudget("word", 0.3).max_words(10) == 3
    assert b.label == "words=0.1/edits=1" and TextBudget("word", 0.25).label == "words=0.25"


@pytest.mark.parametrize("value", [0, 0.0, -0.1, 1.01, 2, float("nan"), True, "0.1"])
def test_a_share_outside_0_1_is_one_line(value: object) -> None:
    with pytest.raises(ConfigError, match=r"^key: .*share of words"):
        check_share(value, key="key")  # type: ignore[arg-type]


def test_zero_edits_is_refused() -> None:
    with pytest.raises(ConfigError, match="0 allows no edit"):
        check_edits(0, key="k")


def test_word_rules() -> None:
    rules = WordRules()
    assert rules.frozen_reason("The") == "stop_word"
    assert rules.frozen_reason("don\u2019t") == "stop_word"
    assert rules.frozen_reason("1999") == "protected"
    assert rules.frozen_reason("film") is None
    assert WordRules(min_length=3).frozen_reason("ok") == "short"
    assert list(rules.editable(segment("the film was good"))) == [False, True, False, True]


def test_words_inside_html_markup_are_frozen() -> None:
    # IMDB reviews hold "<br /><br />", rotten-tomatoes "&amp;": a tag's or an entity's letters
    # are markup, not words a reader sees; "<p>" -> "<rp>" broke a text before
    rules = WordRules()
    text = '<p>a <b class="x">great</b> film</p><br />Tom &amp; Jerry &#39;s <!-- old note -->'
    words = segment(text)
    editable = dict(zip(words.words, rules.editable(words).tolist(), strict=False))
    assert [w for w, ok in editable.items() if ok] == ["great", "film", "Tom", "Jerry"]
    assert rules.frozen_reasons(words)[0] == "markup"
    # a comparison is not a tag, an ampersand without its ";" not an entity
    assert rules.editable(segment("cats < dogs, birds > fish, Procter&Gamble")).all()
    budget = TextBudget("char", 0.5, 1)
    _, reason = check_edit("<p>a great film</p>", "<rp>a great film</p>", budget, rules)
    assert reason == "markup"
    _, reason = check_edit("good &amp; fun", "good &map; fun", budget, rules)
    assert reason == "markup"


def _search(  # noqa: ANN202
    texts: list[str],
    budget: TextBudget,
    *,
    queries: int = 200,
    source=None,  # noqa: ANN001
    score=bag_of_words_scores,  # noqa: ANN001
    accept=None,  # noqa: ANN001
    **settings,  # noqa: ANN003
):
    labels = np.asarray([int(p.argmax()) for p in bag_of_words_scores(texts)])
    probs = bag_of_words_scores(texts)
    config = SearchSettings(budget=budget, query_budget=queries, **settings)
    src = source or CharEdits(count=4, edits=budget.edits)
    seeds = list(range(len(texts)))
    out = greedy_search(score, texts, labels, probs, seeds, src, WordRules(), config, accept)
    return labels, probs, out


def test_search_breaks_what_the_budget_allows_and_nothing_more() -> None:
    texts = ["a good film", "good and great", "good, great and superb", "superb", "bad film"]
    budget = TextBudget("char", 0.34, 1)
    labels, probs, out = _search(texts, budget)
    # "a good film": one positive word, ceil(0.34 * 3) = 2 words may change -> broken
    # "good and great": both positive words misspelt (2 allowed) -> broken
    # "good, great and superb": 3 positive words, ceil(0.34 * 4) = 2 may change -> survives
    # "bad film": negative; misspelling cannot make it positive -> survives
    assert out.found.tolist() == [True, True, False, True, False]
    for text, adv in zip(texts, out.texts, strict=True):
        size, reason = check_edit(text, adv, budget, WordRules())
        assert reason is None and size.words <= budget.max_words(len(segment(text)))
    v = verify_texts(
        bag_of_words_scores,
        texts,
        out.texts,
        labels,
        budget,
        WordRules(),
        clean_prediction=probs.argmax(1),
        clean_confidence=probs.max(1),
    )
    assert v.adversarial.tolist() == out.found.tolist()
    assert (v.words[v.adversarial] >= 1).all() and (v.chars == v.words).all()


def test_a_probe_that_changes_the_label_ends_the_search_in_the_ranking_pass() -> None:
    # "edit" ranking probes each word with its first candidate edit: misspelling "superb" leaves
    # no positive word, so the ranking pass itself breaks the text (clean text + 2 probes)
    _, _, out = _search(["superb film"], TextBudget("char", 1.0, 1))
    assert out.found.tolist() == [True] and out.queries.tolist() == [3]
    assert out.texts[0].split()[1] == "film" and out.texts[0].split()[0] != "superb"
    # TextAttack's rankings probe with a deletion or [UNK], no candidates: more queries
    for ranking in ("delete", "unk"):
        _, _, other = _search(["superb film"], TextBudget("char", 1.0, 1), ranking=ranking)
        assert other.found.tolist() == [True] and other.queries[0] > 3


def test_staged_rounds_stop_at_the_first_break() -> None:
    # stage 1: one probe, then two, four...; the first that breaks ends the pass
    budget = TextBudget("char", 1.0, 1)
    _, _, out = _search(["superb film"], budget, stage=1)
    assert out.found.tolist() == [True] and out.queries.tolist() == [2]  # clean + superb's probe
    _, _, out = _search(["film superb"], budget, stage=1)
    assert out.found.tolist() == [True] and out.queries.tolist() == [3]  # film's, then superb's
    # word rounds: no probe breaks "good and great" (clean + 2 probes); great's round keeps its
    # best edit: all 3 other candidates (staged: 1, then 2); good's round on the edited text
    # breaks it: all 4 candidates at once, or staged the first one alone
    text = ["good and great"]
    for stage, queries in ((0, 10), (1, 7)):
        _, _, out = _search(text, budget, stage=stage)
        assert out.found.tolist() == [True] and out.queries.tolist() == [queries]


@pytest.mark.parametrize("edits", [1, 2])
def test_staged_rounds_break_the_same_texts_with_fewer_queries(edits: int) -> None:
    texts = [
        *TEXTS,
        "good great film, fine and superb",
        "a dull, boring and awful film with one good scene",
        "good good great",
        "the superb cast and a great score",
    ]
    for share in (0.2, 0.5, 1.0):
        budget = TextBudget("char", share, edits)
        for tries in (1, 2):
            _, _, all_at_once = _search(texts, budget, last_word_tries=tries)
            _, _, staged = _search(texts, budget, last_word_tries=tries, stage=1)
            assert staged.found.tolist() == all_at_once.found.tolist()
            assert (staged.queries <= all_at_once.queries).all()
            for a, b, t in zip(staged.texts, all_at_once.texts, texts, strict=True):
                assert check_edit(t, a, budget, WordRules())[0].words == (
                    check_edit(t, b, budget, WordRules())[0].words
                )
    assert (staged.queries < all_at_once.queries).any()


def test_the_last_word_allowed_is_kept_only_when_it_changes_the_label() -> None:
    # three positive words, two may change: no edit breaks it. The first place keeps the best
    # edit of the most important word (superb); the last place keeps nothing and tries the next
    # `last_word_tries` words instead. Queries: clean + 3 probes + superb's 3 other candidates
    # (its probe is scored already) + 4 per word tried for the last place
    text = ["good, great and superb"]
    for tries, queries in ((1, 11), (2, 15), (3, 15)):
        _, _, out = _search(text, TextBudget("char", 0.5, 1), last_word_tries=tries)
        assert not out.found[0] and out.queries.tolist() == [queries]
        changed = [a != b for a, b in zip(text[0].split(), out.texts[0].split(), strict=True)]
        assert changed == [False, False, False, True]  # superb only, never a last-place edit


def test_candidates_rejected_by_the_similarity_check_are_counted_once_and_never_scored() -> None:
    seen: list[str] = []

    def score(texts: list[str]) -> np.ndarray:
        seen.extend(texts)
        return bag_of_words_scores(texts)

    def accept(original: str, texts: list[str]) -> np.ndarray:
        return np.asarray(["good" in t.split() for t in texts])  # "good" must stay

    _, _, out = _search(
        ["a good film was great"], TextBudget("char", 1.0, 1), score=score, accept=accept
    )
    assert all("good" in t for t in seen)
    assert out.rejected.tolist() == [4]  # good's 4 candidates, each counted once
    assert out.found.tolist() == [False] and "good" in out.texts[0]


def test_query_budget_is_respected_and_counts_the_clean_text() -> None:
    texts = ["the good great superb fine film was good and great"]
    for q in (2, 3, 5, 9):
        for stage in (0, 1, 3):
            _, _, out = _search(texts, TextBudget("char", 1.0, 1), queries=q, stage=stage)
            assert out.queries[0] <= q


@pytest.mark.parametrize("ranking", ["edit", "delete", "unk"])
def test_a_long_text_builds_only_the_probes_the_query_budget_can_score(
    ranking: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 100k-character text (20,000 words) under a 300-query budget: the ranking pass built
    the probe text of every word (20,000 texts of 100 kB: 2 GB held at once, 2.5 minutes of
    joins per pass on a 2-core machine) though at most 299 could be scored. Now it builds
    the probes in text order until one past the budget; the result is the same."""
    from harness.suites.adversarial.text.words import Words

    joins = 0
    join = Words.join

    def counted(self: Words) -> str:
        nonlocal joins
        joins += 1
        return join(self)

    monkeypatch.setattr(Words, "join", counted)
    # distinct words (deleting one of many equal words gives one text)
    names = ["film" + "".join(chr(97 + int(d)) for d in f"{i:04d}") for i in range(2_000)]
    text = " ".join(names) + " good"
    _, _, out = _search([text], TextBudget("char", 0.1, 1), queries=30, ranking=ranking)
    assert out.queries[0] <= 30 and out.cut.tolist() == [True] and not out.found[0]
    assert joins < 100, joins


def test_a_sample_s_search_does_not_depend_on_its_batch() -> None:
    budget = TextBudget("char", 0.5, 1)
    alone = [_search([t], budget)[2].texts[0] for t in TEXTS[:3]]
    _, _, together = _search(TEXTS[:3], budget)
    # seeds follow the position in _search, so give each text its own seed 0 when alone
    assert together.texts[0] == alone[0]


def test_word_substitutes_from_a_synonyms_table() -> None:
    texts = ["a good film", "a great plot"]
    _, _, out = _search(texts, TextBudget("word", 0.5), source=Substitutes(table=SYNONYMS, count=5))
    assert out.found.all()
    assert out.texts[0].split()[1] in SYNONYMS["good"]


@pytest.mark.parametrize(
    ("word", "expected"),
    [("good", ["bad", "poor"]), ("Good", ["Bad", "Poor"]), ("GOOD", ["BAD", "POOR"])],
)
def test_substitutes_are_cased_like_the_word_they_replace(word: str, expected: list[str]) -> None:
    # a table written in capitals (or title case) must not put "BAD" in place of a lower-case
    # "good" mid-sentence: the substitute takes the replaced word's case
    source = Substitutes(table={"good": ["BAD", "Poor"]}, count=5)
    gen = np.random.default_rng(0)
    assert source(segment(f"a {word} film"), 1, gen) == expected


@pytest.mark.parametrize(
    ("candidate", "reason"),
    [
        ("The good film  was great.", "words_or_gaps_changed"),  # gap changed
        ("Thx gxod film was great.", "over_word_budget"),
        ("Thx good film was great.", "stop_word"),
        ("The gd film was great.", "over_edit_budget"),
        ("The good film was grest.", None),
    ],
)
def test_check_edit_names_the_broken_rule(candidate: str, reason: str | None) -> None:
    budget = TextBudget("char", 0.2, 1)  # ceil(0.2 * 5) = 1 word, 1 edit
    _, got = check_edit("The good film was great.", candidate, budget, WordRules())
    assert got == reason


def test_config_errors_name_their_key() -> None:
    with pytest.raises(ConfigError, match=r"suites\.adversarial\.text\.char\.words"):
        resolve_text(TextConfig.model_validate({"char": {"words": [0]}}), "fast")
    with pytest.raises(ConfigError, match=r"suites\.adversarial\.text\.word\.words.*\(0, 1\]"):
        resolve_text(TextConfig.model_validate({"word": {"words": [1.5]}}), "fast")
    with pytest.raises(ConfigError, match="edits per word"):
        resolve_text(TextConfig.model_validate({"char": {"edits": 0}}), "fast")
    with pytest.raises(ConfigError, match="did you mean 'char_greedy'"):
        resolve_text(TextConfig.model_validate({"attacks": ["char_gredy"]}), "fast")
    with pytest.raises(ConfigError, match="synonyms_file"):
        resolve_text(TextConfig.model_validate({"word_source": "synonyms"}), "fast")
    with pytest.raises(ConfigError, match="protected_pattern: not a valid regular expression"):
        resolve_text(TextConfig.model_validate({"protected_pattern": "("}), "fast")


def test_bad_inputs_are_a_line_or_a_note() -> None:
    with pytest.raises(DatasetError, match=r"sample 'b' is not valid UTF-8"):
        check_texts(["fine", "bad \udcff byte"], ["a", "b"], "t")
    with pytest.raises(DatasetError, match="sample 'a' is int"):
        check_texts([3], ["a"], "t")
    notes = input_notes(
        ["", "the and of", "ok\x07 film", "good"], np.ones(4, bool), WordRules(), 1, 64
    )
    text = " ".join(notes)
    assert "1 text(s) hold control characters" in text
    assert "2 correctly classified text(s) have no word" in text
    assert "maximum length (64 tokens)" in text
    # the share of words is over the whole text, not the part the model reads: "great" and 400
    # more words cut at 16 tokens allow 41 edits at 10% of words, every word the model reads
    assert "the share of words is taken over the whole text" in text


def test_repeated_texts_are_counted_in_a_note() -> None:
    # a review CSV holding copies: each copy is attacked (with its own seed) and counted, and
    # nothing said so; 2 copies of "good film" and 3 of "bad film" are 3 repeats of 2 texts
    texts = ["good film", "bad film", "good film", "bad film", "bad film", "fine plot"]
    text = " ".join(input_notes(texts, np.ones(6, bool), WordRules(), 0, 64))
    assert "3 of the 6 texts attacked repeat another one (2 texts held more than once)" in text
    assert "repeat" not in " ".join(input_notes(texts[:2], np.ones(2, bool), WordRules(), 0, 64))


def test_texts_without_spaces_between_words_are_noted() -> None:
    # "很好看的电影我非常喜欢" is one word (a run of letters): a share of 10% of words and 1 edit
    # per word allow one character edit in the whole review, whatever its length, while the
    # headline reads "character edits to 10% of words"
    texts = [
        "很好看的电影我非常喜欢",
        "这部电影太糟糕了 but fine",
        "good film",
        "映画はとても良かった",
    ]
    text = " ".join(input_notes(texts, np.ones(4, bool), WordRules(), 0, 64))
    assert "3 text(s) hold a script written without spaces between words" in text
    assert "spaces" not in " ".join(
        input_notes(["good film"], np.ones(1, bool), WordRules(), 0, 64)
    )


def test_a_similarity_model_folder_is_read_from_the_spec_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`similarity_model: ./encoder` beside the spec was looked up from the current folder, and
    from anywhere else failed as a hub id ("Repo id must use alphanumeric chars ... './encoder'"),
    while `synonyms_file` and a model's `path` are read from the spec's folder. A hub id stays
    a hub id."""
    (tmp_path / "encoder").mkdir()
    for given in ("./encoder", "encoder"):
        cfg = TextConfig.model_validate({"similarity_model": given})
        assert resolve_text(cfg, "fast", tmp_path).similarity_model == str(tmp_path / "encoder")
    missing = TextConfig.model_validate({"similarity_model": "./gone"})
    assert resolve_text(missing, "fast", tmp_path).similarity_model == str(tmp_path / "gone")
    hub = TextConfig.model_validate({"similarity_model": "sentence-transformers/all-MiniLM-L6-v2"})
    plan = resolve_text(hub, "fast", tmp_path)
    assert plan.similarity_model == "sentence-transformers/all-MiniLM-L6-v2"
