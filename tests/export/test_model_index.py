"""`harness export --to model-index`: model cards whose model-index huggingface_hub reads back."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from huggingface_hub import ModelCard
from huggingface_hub.repocard_data import model_index_to_eval_results

from harness.cli.main import main
from harness.store.run_store import load_jobs, safe_component
from tests.present.synthetic import HOSTILE


def _export(results: Path, out: Path, *extra: str) -> int:
    return main(["export", str(results), "--to", "model-index", "--out", str(out), *extra])


def test_cards_hold_every_headline_metric_read_back_by_huggingface_hub(
    results: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cards"
    assert _export(results, out) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        safe_component(m) for m in ("good-model", HOSTILE)
    )
    card = ModelCard.load(out / "good-model" / "README.md")
    assert card.data.model_name == "good-model"
    name, evals = model_index_to_eval_results(card.data.to_dict()["model-index"])
    assert name == "good-model"
    stored = [
        (job.record.suite, record)
        for _, job in load_jobs(results)
        if job.record.model == "good-model"
        for record in job.metrics
        if record.headline and record.value is not None
    ]
    assert len(evals) == len(stored)
    got = {(e.metric_args["suite"], e.metric_type, e.metric_config): e for e in evals}
    for suite, record in stored:
        qualifier = record.key[len(record.metric) :].strip("[]") or None
        e = got[(suite, record.metric, qualifier)]
        assert e.metric_value == pytest.approx(record.value)
        assert e.task_type == "image-classification" and e.task_name == "image classification"
        assert e.dataset_name == "digits" and e.dataset_type == "test"
        assert e.metric_args is not None
        if record.metric.startswith("worst_group"):  # one group's number (no group record here)
            assert e.metric_args["n_all_groups"] == record.n and "n" not in e.metric_args
        else:
            assert e.metric_args["n"] == record.n
        if record.ci is not None:
            assert (e.metric_args["ci_low"], e.metric_args["ci_high"]) == pytest.approx(record.ci)
        # what the number is in and which way is better (an ECE of 0.02 is good, an accuracy
        # of 0.02 is not): the card said neither
        assert e.metric_args["unit"] == record.unit
        assert e.metric_args["higher_is_better"] is record.higher_is_better
    assert {e.metric_args["higher_is_better"] for e in evals} == {True, False}


def test_all_metrics_adds_the_rest(results: Path, tmp_path: Path) -> None:
    assert _export(results, tmp_path / "a") == 0
    assert _export(results, tmp_path / "b", "--all-metrics") == 0
    few = ModelCard.load(tmp_path / "a" / "good-model" / "README.md").data.eval_results
    every = ModelCard.load(tmp_path / "b" / "good-model" / "README.md").data.eval_results
    assert few is not None and every is not None
    assert len(every) > len(few)  # throughput at batch sizes 1 and 8 are not headline


def test_export_again_rewrites_the_same_card_and_keeps_its_text(
    results: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cards"
    assert _export(results, out) == 0
    path = out / "good-model" / "README.md"
    first = path.read_text()
    assert _export(results, out) == 0
    assert path.read_text() == first
    card = ModelCard.load(path)
    card.text = "# good-model\n\nOur own words about the model.\n"
    card.data.license = "mit"
    card.save(path)
    assert _export(results, out) == 0
    kept = ModelCard.load(path)
    assert "Our own words" in kept.text and kept.data.license == "mit"
    assert kept.data.eval_results is not None and len(kept.data.eval_results) > 0


def test_model_index_needs_out(results: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(results), "--to", "model-index"]) == 2
    assert "--to model-index needs --out DIR" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "model-index", "--out", "c", "--experiment", "x"], "--experiment applies to"),
        (["--to", "mlflow", "--out", "c"], "--out applies to --to model-index only"),
        (["--to", "mlflow", "--all-metrics"], "--all-metrics applies to --to model-index"),
    ],
)
def test_a_flag_of_the_other_target_is_refused(
    results: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(results), *args]) == 2
    assert message in capsys.readouterr().err


def test_without_huggingface_hub_the_extra_is_named(
    results: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    assert _export(results, tmp_path / "cards") == 2
    assert capsys.readouterr().err.strip() == (
        "error: harness export --to model-index needs the optional package 'huggingface_hub'; "
        "install it with: pip install 'robustness-harness[model-index]'"
    )
    assert not (tmp_path / "cards").exists() or not any((tmp_path / "cards").iterdir())


def test_incomplete_results_need_allow_partial_and_are_marked_partial(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = next((results / "runs").glob("*/jobs/good-model--digits--accuracy--*"))
    shutil.rmtree(job)  # a run whose job folder is missing: incomplete results
    out = tmp_path / "cards"
    assert _export(results, out) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: results under") and "--allow-partial" in err
    assert not out.exists() or not any(out.iterdir())  # no card written
    assert _export(results, out, "--allow-partial") == 0
    card = ModelCard.load(out / "good-model" / "README.md")
    _, evals = model_index_to_eval_results(card.data.to_dict()["model-index"])
    assert evals and all(e.metric_args and e.metric_args["partial_results"] for e in evals)
    assert "accuracy" not in {e.metric_args["suite"] for e in evals if e.metric_args}


@pytest.mark.parametrize(
    ("existing", "says"),
    [
        ("---\nfoo: [unclosed\n---\nmy text\n", "its metadata is not valid YAML"),
        ("---\n- a list\n---\nmy text\n", "cannot be read"),
        ("---\nmodel-index: 3\n---\nmy text\n", "cannot be read"),
        (None, "is a folder, not a regular file"),
    ],
)
def test_an_existing_card_that_cannot_be_updated_is_one_line_and_nothing_is_written(
    results: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    existing: str | None,
    says: str,
) -> None:
    out = tmp_path / "cards"
    card = out / "good-model" / "README.md"
    if existing is None:
        card.mkdir(parents=True)  # a folder where the card goes
    else:
        card.parent.mkdir(parents=True)
        card.write_text(existing)
    assert _export(results, out) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: model card {card} ") and says in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert existing is None or card.read_text() == existing  # left as it was
    assert sorted(p.name for p in out.iterdir()) == ["good-model"]  # no other card written


@pytest.mark.parametrize("blocker", ["link", "file"])
def test_a_link_or_a_file_where_a_card_goes_is_one_clear_line(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], blocker: str
) -> None:
    """A README.md that is a link to a file: huggingface_hub read the target first and printed
    "Repo card metadata block was not found" and a WARNING line before the refusal, whose
    words spoke of "a results folder". A file where the model's folder goes: `error: File
    exists: cards/good-model`. Each is now one line naming what is in the way."""
    out = tmp_path / "cards"
    folder = out / "good-model"
    victim = tmp_path / "victim.txt"
    victim.write_text("not a card")
    if blocker == "link":
        folder.mkdir(parents=True)
        (folder / "README.md").symlink_to(victim)
        says = f"error: model card {folder / 'README.md'} is a symbolic link (to {victim})"
    else:
        out.mkdir()
        folder.write_text("not a folder")
        says = f"error: {folder} is a file, not the folder for the card of model 'good-model'"
    assert _export(results, out) == 2
    err = capsys.readouterr().err
    assert err.startswith(says) and err.count("\n") == 1, err
    assert victim.read_text() == "not a card"


@pytest.mark.parametrize("model", ["good-model", HOSTILE])
@pytest.mark.parametrize("target", ["folder", "missing"])
def test_a_link_at_a_card_folder_is_refused_before_any_card_is_written(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], model: str, target: str
) -> None:
    """A link where a model's card folder goes: a link to a folder was refused only when its
    card was written, after the other model's card (exit 2 with one card written, where every
    card's text is built before the first is written); a link to nothing was `error: File
    exists: cards/<model>`. Both are now refused, naming the link, before any card is written."""
    out = tmp_path / "cards"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    if target == "folder":
        elsewhere.mkdir()
    folder = out / safe_component(model)
    folder.symlink_to(elsewhere)
    assert _export(results, out) == 2
    err = capsys.readouterr().err
    says = f"error: refusing to write through symbolic link {folder} (pointing to {elsewhere})"
    assert err.startswith(says) and err.count("\n") == 1, err
    assert [p.name for p in out.iterdir()] == [folder.name]  # no card written, the link kept
    assert folder.is_symlink() and not (elsewhere.exists() and any(elsewhere.iterdir()))


def test_an_error_naming_a_hostile_model_is_one_line(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = next((results / "runs").glob(f"*/jobs/{safe_component(HOSTILE)}--digits--accuracy--*"))
    shutil.rmtree(job)  # the refusal names the missing job's model, whose name holds a newline
    assert _export(results, tmp_path / "cards") == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "\\n" in err and "\x1b" not in err


def test_flagged_numbers_and_upper_bounds_say_so_in_the_card(tmp_path: Path) -> None:
    """A card's result showed a robust accuracy flagged gradient_masking_suspected, or one that
    a decision-based attack only bounds from above, as a plain number: neither the flag nor the
    note reached the model-index, and the hub shows a result's name and value. Both now say so
    in the name, and the args hold the flags, the upper bound and the record's note."""
    from tests.present.synthetic import UPPER_BOUND_NOTE, write_synthetic_run

    write_synthetic_run(
        tmp_path / "res",
        models={"good-model": 0.9, "bb": 0.6},
        flag_model="good-model",
        extras=True,
    )
    assert _export(tmp_path / "res", tmp_path / "cards") == 0
    flagged = ModelCard.load(tmp_path / "cards" / "good-model" / "README.md").data.eval_results
    by_config = {e.metric_config: e for e in flagged if e.metric_type == "robust_acc"}
    masked = by_config["attack=linf_pgd/eps=0.1,norm=linf"]
    assert masked.metric_name.endswith("(flagged: gradient_masking_suspected)")
    assert masked.metric_args["flags"] == ["gradient_masking_suspected"]
    clean = by_config["attack=linf_pgd/eps=0.05,norm=linf"]
    assert "flagged" not in clean.metric_name and "flags" not in clean.metric_args
    bounded = ModelCard.load(tmp_path / "cards" / "bb" / "README.md").data.eval_results
    for e in (e for e in bounded if e.metric_type == "robust_acc"):
        assert e.metric_name.endswith("(upper bound)")
        assert e.metric_args["upper_bound"] is True and e.metric_args["note"] == UPPER_BOUND_NOTE
    assert all(
        "upper_bound" not in (e.metric_args or {}) for e in bounded if e.metric_type != "robust_acc"
    )


def test_a_hub_tasks_dataset_type_is_its_hub_id() -> None:
    """The hub links a result to a dataset by its id: the harness's `hf:` prefix is not part of
    it; a built-in or in-memory source stays as recorded."""
    from harness.export.model_index import _dataset_type

    assert _dataset_type("hf:uoft-cs/cifar10") == "uoft-cs/cifar10"
    assert _dataset_type("builtin:sklearn.datasets.load_digits") == (
        "builtin:sklearn.datasets.load_digits"
    )
    assert _dataset_type("python:in-memory") == "python:in-memory"


@pytest.mark.parametrize(
    ("source", "published"),
    [
        ("/home/user/private/claims_2024.csv", "claims_2024.csv"),
        ("data/train.csv", "train.csv"),
        ("~/data/folder/", "folder"),
        ("C:\\Users\\ana\\data\\train.parquet", "train.parquet"),
    ],
)
def test_a_local_source_publishes_its_file_name_not_its_path(source: str, published: str) -> None:
    """A card is published: a task's local path (/home/<user>/...) is not part of it; the
    file or folder name identifies the dataset."""
    from harness.export.model_index import _dataset_type

    assert _dataset_type(source) == published


def test_failed_jobs_left_out_of_an_export_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failed job has no number to export; the export said nothing of it, so a failed model
    was simply absent from the cards (and from MLflow)."""
    from tests.present.synthetic import write_synthetic_run

    results = tmp_path / "res"
    write_synthetic_run(results, models={"broken": 0.9, "fine": 0.8}, extras=True)
    assert _export(results, tmp_path / "cards") == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "left out: 1 failed job(s), not exported: broken × digits × fairness (failed: "
        "RuntimeError: synthetic failure <b>bold</b>)" in out
    ), out


def test_names_that_differ_only_in_case_get_cards_of_their_own(tmp_path: Path) -> None:
    """`Net` and `net` wrote `Net/README.md` and `net/README.md`: one folder on macOS and
    Windows, where the second card replaced the first and `Net`'s card showed `net`'s numbers.
    Such names now get a hash of the exact name in their folder; other names keep theirs."""
    from harness.export.model_index import card_folders
    from tests.present.synthetic import write_synthetic_run

    folders = card_folders(["Net", "net", "other"])
    assert folders["other"] == "other"
    assert folders["Net"].startswith("Net~") and folders["net"].startswith("net~")
    assert folders["Net"].casefold() != folders["net"].casefold()
    write_synthetic_run(tmp_path / "res", models={"Net": 0.9, "net": 0.6})
    assert _export(tmp_path / "res", tmp_path / "cards") == 0
    cards = {
        ModelCard.load(p).data.model_name: p.parent.name
        for p in (tmp_path / "cards").glob("*/README.md")
    }
    assert cards == {"Net": folders["Net"], "net": folders["net"]}


def _cards(out: Path) -> dict[str, tuple[str, float]]:
    """Each card's model: (its folder, its clean accuracy)."""
    found = {}
    for path in sorted(out.glob("*/README.md")):
        data = ModelCard.load(path).data
        acc = next(r.metric_value for r in data.eval_results if r.metric_type == "top1_acc")
        assert data.model_name not in found, f"two cards of {data.model_name}"
        found[data.model_name] = (path.parent.name, acc)
    return found


def test_a_models_card_stays_in_its_folder_when_a_name_differing_in_case_arrives(
    tmp_path: Path,
) -> None:
    """`Net` exported into cards/Net, its card given the user's own text; later `net` joins
    it: `Net`'s new numbers went to a new cards/Net~<hash>/README.md without that text, and
    cards/Net/README.md stayed, in silence, with the old numbers (two cards of `Net`, one
    stale). And the other way round: a model alone again left its hashed card stale beside a
    new plain one. A model whose own card is in one of its two folders keeps that folder."""
    from harness.export.model_index import card_folders
    from tests.present.synthetic import write_synthetic_run

    cards = tmp_path / "cards"
    write_synthetic_run(tmp_path / "one", models={"Net": 0.9})
    assert _export(tmp_path / "one", cards) == 0
    with (cards / "Net" / "README.md").open("a") as f:
        f.write("\nOur own words about Net.\n")
    write_synthetic_run(tmp_path / "two", models={"Net": 0.5, "net": 0.6})
    assert _export(tmp_path / "two", cards) == 0
    found = _cards(cards)
    assert set(found) == {"Net", "net"} and found["Net"][0] == "Net"
    assert found["Net"][1] != _cards_of(tmp_path / "one", tmp_path / "fresh1")["Net"][1]
    assert "Our own words about Net." in (cards / "Net" / "README.md").read_text()
    assert found["net"][0] == card_folders(["Net", "net"])["net"]
    # the other way round: both hashed first, then `Net` alone keeps its hashed folder
    other = tmp_path / "other"
    assert _export(tmp_path / "two", other) == 0
    assert _export(tmp_path / "one", other) == 0
    again = _cards(other)
    assert again["Net"][0] == card_folders(["Net", "net"])["Net"]
    assert len(list(other.glob("*/README.md"))) == 2  # Net's and net's, no second card of Net


def _cards_of(results: Path, out: Path) -> dict[str, tuple[str, float]]:
    assert _export(results, out) == 0
    return _cards(out)


def test_an_undefined_headline_metric_is_named_not_dropped_in_silence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fairness by a column holding one group: the demographic parity and equalized odds
    differences are undefined (no value). The card left them out and the command said
    nothing, so a published card showed worst_group_acc alone as if the rest were never
    measured; the command now names what it left out and why."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    import harness

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    y = (x[:, 0] > 0).astype(int)
    result = harness.evaluate(
        LogisticRegression().fit(x, y),
        data=(x, y),
        groups=np.array(["one"] * 60),
        name="one-group",
        model_name="lr",
        suites=["fairness"],
        device="cpu",
        bootstrap_resamples=20,
    )
    result.save(tmp_path / "res")
    assert _export(tmp_path / "res", tmp_path / "cards") == 0
    out = capsys.readouterr().out.replace("\n    ", " ")
    assert (
        "left out: 2 headline metric(s) without a value: lr × one-group × fairness: "
        "demographic_parity_difference [group_by=group] (undefined: fewer than two non-empty "
        "groups (1))" in out
    )


def test_a_condition_ending_in_a_bracket_keeps_it(tmp_path: Path) -> None:
    """A class named like a pandas interval, `(0, 10]`: its accuracy's board key is
    `class_acc[class=(0, 10]]`, and the card's config and name dropped the class's `]`
    (`class=(0, 10`), naming a class the task does not have."""
    from harness.core.metric_record import MetricRecord
    from tests.present.synthetic import write_synthetic_run

    record = MetricRecord(
        suite="accuracy",
        metric="class_acc",
        value=0.5,
        unit="fraction",
        higher_is_better=True,
        n=20,
        context={"class": "(0, 10]"},
    )
    more = {("good-model", "accuracy"): [record]}
    write_synthetic_run(tmp_path / "res", models={"good-model": 0.9, "bb": 0.6}, more=more)
    assert _export(tmp_path / "res", tmp_path / "cards", "--all-metrics") == 0
    card = ModelCard.load(tmp_path / "cards" / "good-model" / "README.md")
    (result,) = [e for e in card.data.eval_results if e.metric_type == "class_acc"]
    assert result.metric_config == "class=(0, 10]"
    assert result.metric_name == "class_acc [class=(0, 10]]"


def test_a_jobs_notes_reach_every_result_of_its_card(tmp_path: Path) -> None:
    """The boards print a job's notes under its rows (`evaluated on a seeded label-stratified
    subset of 200 of 719 samples`, `preset fast: ...`) and MLflow runs carry them as their
    description; a model card carried none, so a number on 200 samples read as the whole set's.
    Each result of the job holds them as `job_notes`; a job without notes adds no key."""
    from tests.present.synthetic import write_synthetic_run

    subset = "evaluated on a seeded label-stratified subset of 200 of 719 samples"
    write_synthetic_run(
        tmp_path / "res",
        models={"good-model": 0.9, "bb": 0.6},
        notes={("good-model", "accuracy"): (subset, "second note")},
    )
    assert _export(tmp_path / "res", tmp_path / "cards") == 0
    good = ModelCard.load(tmp_path / "cards" / "good-model" / "README.md").data.eval_results
    noted = [e for e in good if e.metric_args["suite"] == "accuracy"]
    assert noted and all(e.metric_args["job_notes"] == [subset, "second note"] for e in noted)
    others = [e for e in good if e.metric_args["suite"] != "accuracy"]
    assert others and all("job_notes" not in e.metric_args for e in others)
    bb = ModelCard.load(tmp_path / "cards" / "bb" / "README.md").data.eval_results
    assert all("job_notes" not in e.metric_args for e in bb)
