"""The fairness suite on the diabetes task with a tiny linear model; bad input paths; the CLI."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from harness.adapters.torch_module import TorchModuleAdapter
from harness.cli.main import main
from harness.core.errors import ConfigError, DatasetError
from harness.core.suite import RunContext
from harness.data.builtin import diabetes, digits
from harness.suites.fairness import FairnessSuite
from tests.fixture_models import linear_digits, linear_tabular


@pytest.fixture(scope="module")
def task():  # noqa: ANN201
    return diabetes()


def adapter():  # noqa: ANN201
    return TorchModuleAdapter.from_module(
        linear_tabular(), name="tab", bounds=(0.0, 1.0), input_shape=(10,)
    )


CTX = RunContext(seed=0, bootstrap_resamples=100)


def test_suite_matches_groupby_of_its_table(task) -> None:  # noqa: ANN001
    suite = FairnessSuite({"group_by": ["sex", ["sex", "age_band"], "age"]})
    result = suite.run(adapter(), task, CTX)
    frame = result.table.frame
    assert {"group:sex", "group:age_band", "group:age_bin"} <= set(frame.columns)
    by_hand = frame.groupby("group:sex")["correct"].mean()
    recs = {
        (r.metric, r.context.get("group_by"), r.context.get("group")): r for r in result.metrics
    }
    for g, acc in by_hand.items():
        assert recs[("group_acc", "sex", g)].value == pytest.approx(acc)
    sel = frame.assign(p=frame["prediction"] == 1).groupby("group:sex")["p"].mean()
    dp = recs[("demographic_parity_difference", "sex", None)]
    assert dp.value == pytest.approx(sel.max() - sel.min()) and dp.headline and dp.ci is not None
    assert recs[("worst_group_acc", "sex", None)].value == pytest.approx(by_hand.min())
    # age binned by the task's group_bins (0, 40, 50, 60, 200)
    assert set(frame["group:age_bin"]) <= {"[0, 40)", "[40, 50)", "[50, 60)", "[60, 200)"}
    small = [r for r in result.metrics if r.metric == "group_acc" and 0 < r.n < 20]
    assert small and all("insufficient_group_size" in r.flags for r in small)


def test_no_group_columns_is_skipped() -> None:
    a = TorchModuleAdapter.from_module(
        linear_digits(), name="lin", bounds=(0.0, 1.0), input_shape=(1, 8, 8)
    )
    reason = FairnessSuite({}).skip_reason(a, digits())
    assert reason and "no group columns" in reason


def test_missing_column_nan_and_unbinned(task) -> None:  # noqa: ANN001
    with pytest.raises(
        DatasetError,
        match=r"'race' is not in the evaluation split of task 'diabetes'; available columns: "
        r"sex, age_band, age",
    ):
        FairnessSuite({"group_by": ["race", "sex"]}).run(adapter(), task, CTX)
    no_bins = replace(task, group_bins={})
    with pytest.raises(
        ConfigError, match=r"'age' is continuous; give bin edges in suites.fairness.bins.age"
    ):
        FairnessSuite({"group_by": ["age"]}).run(adapter(), no_bins, CTX)
    # a 0/1 indicator stored as floats (pandas writes one so after a missing value) is still
    # refused as continuous, with the values it holds and the way to group by them
    flags = [float(i % 2) for i in range(len(task))]
    indicator = replace(task, data=task.data.add_column("smoker", flags), group_bins={})
    with pytest.raises(
        ConfigError,
        match=r"'smoker' is continuous; .* it holds 2 distinct whole values \(0, 1\): write "
        r"them as integers or text to group by each value",
    ):
        FairnessSuite({"group_by": ["smoker"]}).run(adapter(), indicator, CTX)
    sex = list(task.data["sex"])
    sex[5] = None
    holey = replace(task, data=task.data.remove_columns("sex").add_column("sex", sex))
    with pytest.raises(
        DatasetError, match=r"'sex' has 1 missing values in the evaluation split of task 'diabetes'"
    ):
        FairnessSuite({"group_by": ["sex"]}).run(adapter(), holey, CTX)
    with pytest.raises(ConfigError, match="suites.fairness.min_group_size"):
        FairnessSuite({"min_group_size": 0})


def test_group_absent_from_test_is_reported(task) -> None:  # noqa: ANN001
    keep = [i for i, b in enumerate(task.data["age_band"]) if b != "<40"]
    t = replace(task, data=task.data.select(keep))
    result = FairnessSuite({"group_by": ["age_band"]}).run(adapter(), t, CTX)
    assert result.artifacts["absent_in_test"] == {"age_band": ["<40"]}
    assert any("absent from the test split: <40" in n for n in result.notes)


def test_a_bin_without_samples_is_reported(task) -> None:  # noqa: ANN001
    """Edges [0, 10, 40, ...] on ages 19-69: the bin [0, 10) holds no sample, and it vanished
    without a word (three age groups reported where four were declared, the worst group taken
    over the three); an empty intersection is listed as a group of 0. Its note names it."""
    edges = [0, 10, 40, 50, 60, 200]
    result = FairnessSuite({"group_by": ["age"], "bins": {"age": edges}}).run(adapter(), task, CTX)
    groups = {r.context["group"] for r in result.metrics if r.metric == "group_acc"}
    assert "[0, 10)" not in groups and len(groups) == 4
    assert result.artifacts["absent_in_test"] == {}
    assert any(
        n.startswith(
            "age_bin: bins of suites.fairness.bins.age that hold no sample of the test "
            "split: [0, 10)"
        )
        for n in result.notes
    ), result.notes


def test_group_labels_that_name_no_value_are_pointed_out(task) -> None:  # noqa: ANN001
    """`group_labels: {sex: {f: female, m: male}}` on cells 1 / 2 (or `F` / `M`) labelled
    nothing, silently: the boards showed the raw codes as if no labels had been declared. A
    column whose labels name none of its values, or a label whose value is there in another
    case or spacing, is named in the notes with the values the column holds."""
    labels = {**task.group_labels, "sex": {"f": "female", "m": "male"}}
    t = replace(task, group_labels=labels)
    result = FairnessSuite({"group_by": ["sex", "age_band"]}).run(adapter(), t, CTX)
    said = [n for n in result.notes if n.startswith("group_labels")]
    assert said == [
        "group_labels.sex: 'f', 'm' name no value of group column 'sex' (its values: '1', '2'), "
        "so they label nothing; a label names a value exactly as the column holds it"
    ], result.notes
    upper = replace(task, data=task.data.map(lambda r: {"sex": "F" if r["sex"] == "1" else "M"}))
    near = FairnessSuite({"group_by": ["sex"]}).run(
        adapter(), replace(upper, group_labels=labels), CTX
    )
    (note,) = [n for n in near.notes if n.startswith("group_labels")]
    assert "'f' (the column holds 'F')" in note and "'m' (the column holds 'M')" in note
    clean = FairnessSuite({"group_by": ["sex", "age_band"]}).run(adapter(), task, CTX)
    assert not any(n.startswith("group_labels") for n in clean.notes)


def test_a_group_named_like_a_missing_value_is_pointed_out(task) -> None:  # noqa: ANN001
    """R writes a missing cell as NA, and pandas' `astype(str)` turns NaN into "nan": either
    became a group of its own, reported beside the real groups without a word (a CSV's "NA"
    cells are text unless missing_values lists them). The notes now say which group it is."""
    sex = ["nan" if i % 10 == 0 else v for i, v in enumerate(task.data["sex"])]
    t = replace(task, data=task.data.remove_columns("sex").add_column("sex", sex))
    result = FairnessSuite({"group_by": ["sex", ["sex", "age_band"]]}).run(adapter(), t, CTX)
    assert "nan" in {r.context["group"] for r in result.metrics if r.metric == "group_acc"}
    said = [n for n in result.notes if "a common marker of a missing value" in n]
    assert len(said) == 1 and said[0].startswith("group column 'sex' holds 'nan' (18 samples)")
    clean = FairnessSuite({"group_by": ["sex"]}).run(adapter(), task, CTX)
    assert not any("missing value" in n for n in clean.notes)


def test_a_group_left_out_by_the_limit_is_not_called_absent_from_the_test_split(
    task,  # noqa: ANN001
) -> None:
    """With a limit on a task whose test split holds every group, the groups the sample
    missed were reported as "present in the training split but absent from the test split",
    a false statement about the user's data: they are absent from the evaluated sample."""
    small = task.subset(6, seed=0)  # misses the 40-49 band
    result = FairnessSuite({"group_by": ["age_band"]}).run(adapter(), small, CTX)
    absent = result.artifacts["absent_in_test"].get("age_band")
    assert absent == ["40-49"]
    assert not any("absent from the test split" in n for n in result.notes)
    assert any(
        "absent from the 6 test samples evaluated (limit 6; the test split may hold them)" in n
        for n in result.notes
    )


def test_cli_groups_on_a_stored_run(tmp_path, capsys, task) -> None:  # noqa: ANN001
    from harness.store.run_store import RunStore
    from tests.store.records import job_entry, job_record, run_manifest

    result = FairnessSuite({"group_by": ["sex"]}).run(adapter(), task, CTX)
    table = result.table.with_groups(task.groups())
    store = RunStore.open_for_writing(tmp_path, "r1")
    record = job_record("tab", "fairness", task="diabetes", summary=task.summary(), key="k" * 16)
    path = store.write_job(record=record, table=table, metrics=result.metrics, artifacts={})
    store.write_manifest(run_manifest("r1", [job_entry(record, path.name)]))
    assert (
        main(["groups", str(tmp_path), "--by", "sex", "--format", "csv", "--resamples", "50"]) == 0
    )
    out = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    acc = out[(out.metric == "acc")].set_index("group")["value"]
    by_hand = table.frame.groupby("group:sex")["correct"].mean()
    assert acc.to_dict() == pytest.approx(by_hand.to_dict())
    assert main(["groups", str(tmp_path), "--by", "race"]) == 2
    assert "its group columns: age_band, sex" in capsys.readouterr().err
    assert main(["groups", str(tmp_path), "--model", "nope"]) == 2


def test_group_by_for_another_task_skips_a_task_without_groups() -> None:
    """One spec, diabetes + digits: `group_by: [sex]` skips digits, but a typo on diabetes fails."""
    suite = FairnessSuite({"group_by": ["sex", "age_band"]})
    img = TorchModuleAdapter.from_module(linear_digits(), name="lin", input_shape=(1, 8, 8))
    assert "has no group columns" in suite.skip_reason(img, digits())
    tab = TorchModuleAdapter.from_module(linear_tabular(), name="tab", input_shape=(10,))
    with pytest.raises(ConfigError, match="'sexx'"):
        FairnessSuite({"group_by": ["sexx"]}).skip_reason(tab, diabetes())


def test_cli_groups_condition_picks_the_tables_that_have_it(tmp_path, capsys) -> None:  # noqa: ANN001
    """`harness groups --condition X --by sex` over a whole results folder (README example)."""
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "tasks: [diabetes, digits]\nmodels: [diabetes-logreg, digits-mlp]\nbootstrap_resamples: 20\n"
        "suites:\n  accuracy: {}\n  adversarial: {attacks: [fgsm], epsilons: {linf: [0.1]}, checks: false, max_samples: 40}\n"
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "o")]) == 0
    capsys.readouterr()
    cond = "attack=ensemble/norm=linf/eps=0.1"
    assert (
        main(
            ["groups", str(tmp_path / "o"), "--condition", cond, "--by", "sex", "--format", "json"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "diabetes-logreg" in out and "digits-mlp" not in out and '"accuracy"' not in out
    assert main(["groups", str(tmp_path / "o"), "--condition", "nope", "--by", "sex"]) == 2
    assert "no stored table has condition 'nope'" in capsys.readouterr().err


def test_corruption_cells_and_source_ids_are_never_group_columns(tmp_path) -> None:  # noqa: ANN001
    """On a corruption set, `corruption`, `severity` and `source_id` are not sensitive
    attributes: not taken by default (even when declared), not offered, refused by name."""
    import torch

    from harness.data.loader import load_task
    from harness.data.task_spec import TaskSpec
    from tests.data.layouts import cifar_c

    cifar_c(tmp_path / "c10c", ("fog", "snow"), per_severity=6)
    spec = TaskSpec.model_validate({"name": "c", "modality": "image", "source": "c10c"})
    cells = load_task(spec, base_dir=tmp_path)
    sites = [("north", "south")[i % 2] for i in range(len(cells))]
    task = replace(
        cells,
        data=cells.data.add_column("site", sites),
        group_columns=("site", "severity"),  # severity declared by mistake
    )
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 3))
    img = TorchModuleAdapter.from_module(net, name="lin", bounds=(0.0, 1.0), input_shape=(3, 8, 8))
    suite = FairnessSuite({})
    assert suite.skip_reason(img, task) is None
    result = suite.run(img, task, CTX)
    assert result.artifacts["groupings"] == ["site"]
    assert {r.context.get("group_by") for r in result.metrics} == {"site"}
    for column in ("corruption", "severity", "source_id"):
        with pytest.raises(ConfigError, match=rf"'{column}'.*not a sensitive attribute.*: site$"):
            FairnessSuite({"group_by": [column]}).skip_reason(img, task)
    with pytest.raises(DatasetError, match=r"available columns: site$"):
        FairnessSuite({"group_by": ["region"]}).run(img, task, CTX)
    # without the added attribute the corruption set has no groups: a skip, not a breakdown
    assert "no group columns" in (FairnessSuite({}).skip_reason(img, cells) or "")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"group_by": []}, "group_by: is empty; leave group_by out"),
        ({"group_by": [[]]}, r"group_by: '\[\]': an empty column name or intersection"),
        ({"group_by": ["sex", ["sex", "sex"]]}, "'sex&sex' names a column twice"),
        ({"group_by": ["sex", ["sex"]]}, "'sex' is the same grouping as 'sex', given twice"),
        (
            {"group_by": [["sex", "age_band"], ["age_band", "sex"]]},
            "'age_band&sex' is the same grouping as 'sex&age_band'",
        ),
        ({"group_by": ["sex&age_band"]}, "would read as an intersection; write an intersection"),
        ({"bins": {"age": [50, 10]}}, r"bins: age: bin edges must be at least two increasing"),
    ],
)
def test_group_by_that_would_invent_or_repeat_groups_is_a_config_error(
    config: dict, message: str
) -> None:
    """`[sex, sex]` as an intersection made the empty groups 1&2 and 2&1, a grouping given twice
    recorded each number twice under one name, and `[[]]` failed the job with a ValueError."""
    with pytest.raises(ConfigError, match=message):
        FairnessSuite(config)


def test_the_positive_class_is_stated_and_groups_counts_the_same_class(
    tmp_path,  # noqa: ANN001
    capsys,  # noqa: ANN001
    task,  # noqa: ANN001
) -> None:
    """With positive_label 0 the suite's per-group rates count class 0; `harness groups` on the
    same stored table counted class 1 (other selection rates, TPR and FPR under the same
    names), and neither said which class was positive."""
    from harness.store.run_store import RunStore
    from tests.store.records import job_entry, job_record, run_manifest

    suite = FairnessSuite({"group_by": ["sex"], "positive_label": 0})
    result = suite.run(adapter(), task, CTX)
    stated = [n for n in result.notes if n.startswith("positive class:")]
    assert stated == [
        "positive class: 0 ('progression<=median') (suites.fairness.positive_label); selection "
        "rate, TPR and FPR count predictions and labels of this class as positive (the ratios, "
        "equal opportunity and the per-group rates depend on this choice; the demographic "
        "parity and equalized odds differences do not)"
    ]
    assert result.artifacts["positive_label"] == 0
    store = RunStore.open_for_writing(tmp_path, "r1")
    record = job_record(
        "tab",
        "fairness",
        task="diabetes",
        summary=task.summary(),
        key="k" * 16,
        suite_config=suite.config.model_dump(),
    )
    path = store.write_job(record=record, table=result.table, metrics=result.metrics, artifacts={})
    store.write_manifest(run_manifest("r1", [job_entry(record, path.name)]))
    args = ["groups", str(tmp_path), "--by", "sex", "--resamples", "0"]
    assert main([*args, "--format", "csv"]) == 0
    captured = capsys.readouterr()
    out = pd.read_csv(__import__("io").StringIO(captured.out))
    shown = out[out.metric == "selection_rate"].set_index("group")["value"].to_dict()
    recorded = {
        r.context["group"]: r.value for r in result.metrics if r.metric == "group_selection_rate"
    }
    assert shown == pytest.approx(recorded)
    assert "diabetes: positive class: 0 ('progression<=median') (the fairness suite's" in (
        captured.err.replace("\n", " ")
    )
    assert main([*args, "--positive-label", "1", "--width", "0"]) == 0
    table = capsys.readouterr().out
    assert "diabetes: positive class: 1 ('progression>median') (--positive-label 1)" in table


def test_positive_label_on_a_multiclass_task_says_it_changes_nothing() -> None:
    """`positive_label` counts a class only on binary tasks: set on a three-class task it was
    silently ignored, and a reader expected one-vs-rest rates for that class."""
    import numpy as np
    import torch
    from sklearn.datasets import load_iris

    import harness

    iris = load_iris(as_frame=True).frame
    frame = iris.rename(columns={"target": "label"}).assign(
        site=np.where(np.arange(len(iris)) % 2 == 0, "a", "b")
    )
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)

    def notes(config: dict[str, int]) -> list[str]:
        result = harness.evaluate(
            model,
            data=frame,
            groups=["site"],
            name="iris",
            suites={"fairness": {"group_by": ["site"], **config}},
            device="cpu",
        )
        return list(result.results["fairness"].notes)

    said = (
        "suites.fairness.positive_label (2) applies to binary tasks only: task 'iris' has 3 "
        "classes, so no selection rate, TPR or FPR is computed"
    )
    assert any(note.startswith(said) for note in notes({"positive_label": 2}))
    assert not any("positive_label" in note for note in notes({}))


def test_group_calibration_of_probability_outputs_is_flagged(task) -> None:  # noqa: ANN001
    """A model ending in a softmax hands the suites probabilities as logits: the accuracy
    suite's ECE carries `probability_outputs`, but each group's ECE and the ECE gap between
    groups (the same softmax(probabilities)) went out unflagged. They carry it now; group
    accuracies and rates (argmax only) do not."""
    import torch

    soft = TorchModuleAdapter.from_module(
        torch.nn.Sequential(linear_tabular(), torch.nn.Softmax(dim=1)),
        name="soft",
        input_shape=(10,),
    )
    result = FairnessSuite({"group_by": ["sex"]}).run(soft, task, CTX)
    flagged = {
        (m.metric, m.context.get("group"))
        for m in result.metrics
        if "probability_outputs" in m.flags
    }
    assert flagged and {metric for metric, _ in flagged} == {"group_ece", "group_ece_gap"}
    plain = FairnessSuite({"group_by": ["sex"]}).run(adapter(), task, CTX)
    assert not any("probability_outputs" in m.flags for m in plain.metrics)


class _OneClass(__import__("torch").nn.Module):
    """Predicts class `cls` on every row (a model collapsed by pruning, or a trivial baseline)."""

    def __init__(self, cls: int) -> None:
        super().__init__()
        self.cls = cls

    def forward(self, x):  # noqa: ANN001, ANN201
        import torch

        out = torch.zeros(len(x), 2) + 0.0 * x[:, :1]
        out[:, self.cls] = 1.0
        return out


@pytest.mark.parametrize("cls", [0, 1])
def test_a_model_predicting_one_class_everywhere_is_not_called_fair(task, cls: int) -> None:  # noqa: ANN001
    """Its selection rate, TPR and FPR are equal in every group by construction, so demographic
    parity and equalized odds read 0 (perfectly fair) while saying nothing about fairness; the
    board now carries a caveat that says so (fairlearn gives the same 0s)."""
    from harness.core.board_notes import is_board_note

    model = TorchModuleAdapter.from_module(
        _OneClass(cls), name="flat", bounds=(0.0, 1.0), input_shape=(10,)
    )
    result = FairnessSuite({"group_by": ["sex"]}).run(model, task, CTX)
    dp = next(r for r in result.metrics if r.metric == "demographic_parity_difference")
    assert dp.value == 0.0
    (said,) = [n for n in result.notes if "on every one of the" in n]
    assert is_board_note(said)
    assert f"predicts class {cls} (" in said and "demographic parity" in said
    result = FairnessSuite({"group_by": ["sex"]}).run(adapter(), task, CTX)
    assert not [n for n in result.notes if "on every one of the" in n]


def test_its_bootstrap_resamples_says_it_changes_no_number(tmp_path, capsys) -> None:  # noqa: ANN001
    """`suites.fairness.bootstrap_resamples` is documented and accepted, changes the job's key
    (so the job reran and its board split from the same numbers without it), and changed no
    record: every interval of the suite is a closed form (changed alone on a breast-cancer
    task, 500 vs the spec's 50: all 18 records the same). `harness validate` and `harness run`
    say so before any job."""
    assert FairnessSuite({}).plan_summary({}) == []
    (line,) = FairnessSuite({"bootstrap_resamples": 500}).plan_summary({})
    assert line.startswith("bootstrap_resamples (500) changes no number of this suite"), line
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "tasks: [diabetes]\nmodels: [diabetes-logreg]\n"
        "suites:\n  fairness: {group_by: [sex], bootstrap_resamples: 500}\n"
    )
    assert main(["validate", str(spec)]) == 0
    assert "fairness: bootstrap_resamples (500) changes no number" in capsys.readouterr().out
