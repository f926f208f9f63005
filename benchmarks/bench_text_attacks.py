"""The text attacks vs TextAttack 0.3.11 on the same model, texts and budget, in one process.

Model: the zoo's rt-bert; texts: a seeded, label-stratified set of rotten-tomatoes test texts it
classifies correctly (`--set`; tests/suites/adversarial/text/reference_model.py). Two comparisons,
ours as the suite runs them (`TextAttack.search_settings`: the attack's ranking, last-place tries
and stages, preset standard):
- character level: `char_greedy` (4 candidates per word) vs TextAttack's DeepWordBug recipe held to
  the same share of words and query budget;
- word level: `word_greedy` vs TextFooler's greedy search (word importance by deletion) over the
  same candidate set (the model's embedding neighbours, computed before either side is timed),
  same budget.
Default: timing. Per comparison the two sides run alternately (ours, TextAttack, ours, ...), each
seeded 0 (every repeat does the same work) and started alike (`cold`), and the script prints
success rates, model queries per successful attack (the clean text included on both sides; all
queries / successful attacks, and the mean over the broken texts alone), and the wall-time and
CPU-time ratios per repeat.
`--seeds K`: strength only, K seeds of each side (ours: sample seeds shifted by SEED_STRIDE;
TextAttack: `random` and numpy seeded), texts broken per seed and queries per text broken.
TextAttack attacks one text at a time (batching only one text's candidates); ours advances every
text in lockstep. `--threads` sets torch's threads and the tokenizers' pool (1: off) on both sides.

Usage: python benchmarks/bench_text_attacks.py [--texts 100] [--set 0] [--repeats 2] [--seeds 0]
       [--threads 1] [--only char|word]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.suites.adversarial.text.attacks import CharGreedy, TextAttack, WordGreedy
from harness.suites.adversarial.text.budget import TextBudget
from harness.suites.adversarial.text.config import TEXT_PRESETS
from harness.suites.adversarial.text.constraints import WordRules
from harness.suites.adversarial.text.search import greedy_search
from harness.suites.adversarial.text.sources import CharEdits, EmbeddingNeighbours
from harness.suites.adversarial.text.verify import verify_texts
from harness.suites.adversarial.text.words import segment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests package
from tests.suites.adversarial.text import textattack_setup as ta_setup  # noqa: E402
from tests.suites.adversarial.text.reference_model import Reference, reference  # noqa: E402

STANDARD = TEXT_PRESETS["standard"]
SEED_STRIDE = 100_003  # our seed k gives text i the sample seed i + k * SEED_STRIDE


def cold(ref: Reference) -> None:
    """Forget the word pieces hf-text's encoder has tokenized: every timed run, on either side,
    starts from the same empty store (the model, tokenizer and texts are shared). Then a full
    garbage collection, so that no side pays for the objects the runs before it left (one
    full collection of this process takes about 0.25 s, half of the char search)."""
    encoder = ref.adapter._fast
    if encoder is not None:
        encoder.clear()
    gc.collect()


def ours(
    ref: Reference, budget: TextBudget, source: Any, attack: type[TextAttack], seed: int = 0
) -> dict[str, float]:
    cold(ref)
    t0, c0 = time.perf_counter(), time.process_time()
    settings = attack.search_settings(budget, query_budget=STANDARD["query_budget"])
    seeds = [i + SEED_STRIDE * seed for i in range(len(ref.texts))]
    out = greedy_search(
        ref.score, ref.texts, ref.labels, ref.probs, seeds, source, WordRules(), settings
    )
    v = verify_texts(
        ref.score,
        ref.texts,
        out.texts,
        ref.labels,
        budget,
        WordRules(),
        clean_prediction=ref.probs.argmax(1),
        clean_confidence=ref.probs.max(1),
    )
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    hit = v.adversarial
    return {
        "success": float(hit.mean()),
        "queries_per_success": float(out.queries.sum() / hit.sum()) if hit.any() else float("nan"),
        "queries_of_successes": float(out.queries[hit].mean()) if hit.any() else float("nan"),
        "queries_all": float(out.queries.mean()),
        "words": float(v.words[hit].mean()) if hit.any() else float("nan"),
        "wall_s": wall,
        "cpu_s": cpu,
        "texts": float(len(ref.texts)),
    }


def theirs(ta: Any, attack: Any, ref: Reference, seed: int = 0) -> dict[str, float]:
    random.seed(seed)  # DeepWordBug's random character edits draw from both
    np.random.seed(seed)
    cold(ref)
    t0, c0 = time.perf_counter(), time.process_time()
    results = ta_setup.run_attack(ta, attack, ref.texts, ref.labels.tolist())
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    hit = np.asarray([ta_setup.succeeded(ta, r) for r in results])
    queries = np.asarray([r.num_queries for r in results], dtype=float)
    return {
        "success": float(hit.mean()),
        "queries_per_success": float(queries.sum() / hit.sum()) if hit.any() else float("nan"),
        "queries_of_successes": float(queries[hit].mean()) if hit.any() else float("nan"),
        "queries_all": float(queries.mean()),
        "wall_s": wall,
        "cpu_s": cpu,
        "texts": float(len(ref.texts)),
    }


def compare(name: str, run_ours: Any, run_theirs: Any, repeats: int) -> None:
    """Both sides alternately, seed 0 each (every repeat the same work), timed."""
    rows: dict[str, list[dict[str, float]]] = {"ours": [], "textattack": []}
    for _ in range(repeats):
        rows["ours"].append(run_ours(0))
        rows["textattack"].append(run_theirs(0))
    print(f"\n{name}")
    for side, runs in rows.items():
        r = runs[-1]
        walls = ", ".join(f"{x['wall_s']:.2f}" for x in runs)
        cpus = ", ".join(f"{x['cpu_s']:.2f}" for x in runs)
        print(
            f"  {side:10s} success {r['success']:.3f}  queries per success "
            f"{r['queries_per_success']:.1f} (all queries / successes; "
            f"{r['queries_of_successes']:.1f} on a broken text)  queries/text "
            f"{r['queries_all']:.1f}  wall s [{walls}]  cpu s [{cpus}]"
        )
    for clock in ("wall", "cpu"):
        ratios = [
            t[f"{clock}_s"] / o[f"{clock}_s"]
            for o, t in zip(rows["ours"], rows["textattack"], strict=True)
        ]
        print(
            f"  {clock}-time ratio textattack/ours per repeat: "
            f"{', '.join(f'{x:.1f}x' for x in ratios)}"
        )


def strength(name: str, run_ours: Any, run_theirs: Any, seeds: int) -> None:
    """Texts broken and queries per text broken over `seeds` seeds of each side (no timing)."""
    print(f"\n{name}")
    for side, run in (("ours", run_ours), ("textattack", run_theirs)):
        runs = [run(k) for k in range(seeds)]
        hits = [round(r["success"] * r["texts"]) for r in runs]
        queries = sum(r["queries_all"] * r["texts"] for r in runs)
        print(
            f"  {side:10s} texts broken per seed {hits}: mean {np.mean(hits):.1f} of "
            f"{int(runs[0]['texts'])}, queries per text broken {queries / max(sum(hits), 1):.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=100)
    parser.add_argument("--set", type=int, default=0, help="seed of the set of texts")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=0, help="strength over seeds, no timing")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", choices=["char", "word"], default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ta = ta_setup.import_textattack(Path(tempfile.mkdtemp(prefix="bench-textattack-")))
    if ta is None:
        raise SystemExit(ta_setup.SKIP_REASON)
    # textattack's import turns the tokenizers' thread pool on; --threads sets both sides' threads
    os.environ["TOKENIZERS_PARALLELISM"] = "true" if args.threads > 1 else "false"
    ref = reference(args.texts, seed=args.set)
    model = ta_setup.wrapper(ta, ref.score)
    print(
        f"rt-bert, {len(ref.texts)} correctly classified rotten-tomatoes test texts (set "
        f"{args.set}), {args.threads} thread(s), query budget {STANDARD['query_budget']}"
    )
    budget = STANDARD["query_budget"]
    sides: list[tuple[str, Any, Any]] = []
    if args.only != "word":
        char = TextBudget("char", 0.1, 1)
        edits = CharEdits(count=STANDARD["char_candidates"], edits=1)
        sides.append(
            (
                "character level, 10% of words, 1 edit per word: char_greedy vs DeepWordBug",
                lambda k: ours(ref, char, edits, CharGreedy, k),
                lambda k: theirs(
                    ta, ta_setup.deepwordbug(ta, model, share=0.1, query_budget=budget), ref, k
                ),
            )
        )
    if args.only != "char":
        word = TextBudget("word", 0.2)
        neighbours = EmbeddingNeighbours(
            vectors=ref.adapter.word_vectors(), count=STANDARD["word_candidates"], min_cosine=0.5
        )
        for text in ref.texts:  # the shared candidate set, computed before either side is timed
            for w in segment(text).words:
                neighbours.neighbours(w)
        sides.append(
            (
                "word level, 20% of words, same embedding neighbours: word_greedy vs TextFooler "
                "search",
                lambda k: ours(ref, word, neighbours, WordGreedy, k),
                lambda k: theirs(
                    ta,
                    ta_setup.textfooler_style(
                        ta, model, neighbours.neighbours, share=0.2, query_budget=budget
                    ),
                    ref,
                    k,
                ),
            )
        )
    for name, run_ours, run_theirs in sides:
        if args.seeds:
            strength(name, run_ours, run_theirs, args.seeds)
        else:
            compare(name, run_ours, run_theirs, args.repeats)


if __name__ == "__main__":
    main()
