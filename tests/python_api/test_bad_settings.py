"""Bad run settings passed from Python (`harness.evaluate`, `harness.run_spec`): one
`HarnessError` line naming the argument, as the same key in a spec or a flag on the command line
is refused, never a ValueError or TypeError from deep inside a suite, and never a setting
silently read as another (a string iterated as suite names, a fractional seed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import harness
from harness.core.errors import HarnessError
from tests.fixture_models import linear_digits

X = torch.rand(20, 1, 8, 8)
Y = torch.arange(20) % 10

CASES: dict[str, tuple[dict[str, Any], str]] = {
    "limit 0": (dict(limit=0), r"^limit: .*greater than or equal to 1"),
    "negative limit": (dict(limit=-3), r"^limit: .*greater than or equal to 1"),
    "fractional limit": (dict(limit=0.5), r"^limit: expected a whole number \(got 0\.5\)$"),
    "limit as text": (dict(limit="ten"), r"^limit: "),
    "limit true": (dict(limit=True), r"^limit: expected a whole number, not true/false"),
    "batch size 0": (dict(batch_size=0), r"^batch_size: .*greater than or equal to 1"),
    "negative batch size": (dict(batch_size=-1), r"^batch_size: .*greater than or equal to 1"),
    "fractional batch size": (dict(batch_size=1.5), r"^batch_size: expected a whole number"),
    "negative seed": (dict(seed=-1), r"^seed: .*greater than or equal to 0"),
    "fractional seed": (dict(seed=1.5), r"^seed: expected a whole number \(got 1\.5\)$"),
    "huge seed": (dict(seed=2**70), r"^seed: .*less than"),
    "negative resamples": (
        dict(bootstrap_resamples=-1),
        r"^bootstrap_resamples: .*greater than or equal to 0",
    ),
    "suites as one string": (
        dict(suites="accuracy"),
        r"^suites: got the string 'accuracy'; pass a list of suite names \(suites=\['accuracy'\]\)",
    ),
    "feature columns as one string": (
        dict(feature_columns="age"),
        r"^feature_columns: got the string 'age'; pass a list of names \(feature_columns=\['age'\]\)$",
    ),
    "class names as one string": (
        dict(class_names="ab"),
        r"^class_names: got the string 'ab'; pass a list of names",
    ),
    "suites none": (
        dict(suites=None),
        r"^suites: got None; pass a list of suite names \(suites=\['accuracy'\]\) or a mapping",
    ),
    "a suite name that is not text": (
        dict(suites=[None]),
        r"^suites: a suite name is text, got None$",
    ),
    "name not text": (dict(name=5), r"^name: expected a string, got int 5$"),
    "model name not text": (dict(model_name=5), r"^model_name: expected a string, got int 5$"),
    "suite settings not a mapping": (
        dict(suites={"accuracy": 3}),
        r"^suites\.accuracy: settings are a mapping of the suite's keys \(or None\), got 3$",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_setting_is_one_line_naming_the_argument(case: str) -> None:
    kwargs, pattern = CASES[case]
    with pytest.raises(HarnessError) as err:
        harness.evaluate(linear_digits(), data=(X, Y), device="cpu", **kwargs)
    message = str(err.value)
    assert "\n" not in message and "validation error" not in message, message
    assert re.search(pattern, message), message


def test_numpy_integers_are_whole_numbers() -> None:
    seed = np.random.default_rng(0).integers(0, 10)  # np.int64, as a notebook often has
    result = harness.evaluate(
        linear_digits(), data=(X, Y), device="cpu", seed=seed, limit=np.int64(10)
    )
    assert result.metric("top1_acc").n == 10


@pytest.mark.parametrize("key", ["models", "tasks", "suites"])
def test_run_spec_refuses_a_string_as_a_list_of_names(key: str, tmp_path: Path) -> None:
    spec = {"tasks": ["digits"], "models": ["digits-mlp"], "suites": {"accuracy": {}}}
    with pytest.raises(HarnessError) as err:
        harness.run_spec(spec, out=tmp_path, **{key: "digits"})
    assert str(err.value).startswith(f"{key}: got the string 'digits'; pass a list"), err.value
    assert not (tmp_path / "runs").exists()


def test_errors_can_be_caught_as_harness_harness_error() -> None:
    """docs/python-api.md: bad input raises a `HarnessError`; a notebook catches it by the
    package's own name."""
    with pytest.raises(harness.HarnessError):
        harness.evaluate(linear_digits(), data=(X, Y), device="cpu", limit=0)
    assert harness.HarnessError is HarnessError


def test_saving_into_a_file_names_the_python_argument(tmp_path) -> None:
    import torch

    import harness

    x, y = torch.rand(20, 1, 8, 8), torch.arange(20) % 10
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    result = harness.evaluate(model, data=(x, y), device="cpu", bootstrap_resamples=0)
    (tmp_path / "afile").write_text("mine")
    with pytest.raises(harness.HarnessError, match=r"afile: .*save\(out=\.\.\.\) in Python"):
        result.save(tmp_path / "afile")
    assert (tmp_path / "afile").read_text() == "mine"


def test_a_metric_two_suites_report_needs_its_suite() -> None:
    """`clean_acc` comes from adversarial (on its `max_samples`) and shift (on every sample):
    the lookup must not hand back whichever came first."""
    x, y = torch.rand(24, 1, 8, 8), torch.arange(24) % 10
    result = harness.evaluate(
        linear_digits(),
        data=(x, y),
        suites={"adversarial": {"max_samples": 12}, "shift": {}},
        device="cpu",
        bootstrap_resamples=0,
    )
    with pytest.raises(HarnessError) as err:
        result.metric("clean_acc")
    assert str(err.value) == (
        "key: metric 'clean_acc' is reported by suites adversarial, shift; pick one with "
        "suite= (e.g. result.metric('clean_acc', suite='adversarial'))"
    )
    assert result.metric("clean_acc", suite="adversarial").n == 12
    assert result.metric("clean_acc", suite="shift").n == 24
    with pytest.raises(KeyError) as missing:  # a HarnessError and a KeyError, one line
        result.metric("top1_acc")
    assert isinstance(missing.value, HarnessError)
    assert re.match(r"^key: no metric 'top1_acc'; have ", str(missing.value)), str(missing.value)
    with pytest.raises(HarnessError, match=r"^suite: no results of suite 'accuracy'; have "):
        result.metric("clean_acc", suite="accuracy")


def _fairness_result(group_by: list[str]) -> Any:
    """The fairness suite on 60 random digits-shaped inputs, grouped by `group_by` of g
    (alternating a/b) and h (p then q)."""
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((60, 1, 8, 8)).astype(np.float32))
    y = torch.arange(60) % 10
    groups = {"g": np.where(np.arange(60) % 2 == 0, "a", "b"), "h": np.repeat(["p", "q"], 30)}
    return harness.evaluate(
        linear_digits(),
        data=(x, y),
        groups={name: groups[name] for name in group_by},
        suites={"fairness": {"group_by": group_by}},
        device="cpu",
        bootstrap_resamples=0,
    )


def test_a_metric_name_of_records_with_a_context_names_their_keys() -> None:
    """`result.metric("worst_group_acc")` on a fairness result with two groupings said "no
    metric 'worst_group_acc'; have demographic_parity_difference[group_by=g], ..., ...": the
    first 20 keys in alphabetical order, which left out every worst_group_acc key (probe95).
    A metric name whose records carry a context names those records' keys; a key with its
    context in another order names the key it meant."""
    result = _fairness_result(["g", "h"])
    with pytest.raises(HarnessError) as err:
        result.metric("worst_group_acc")
    assert str(err.value) == (
        "key: 'worst_group_acc' is the metric of 2 records, each named by its key with its "
        "context: worst_group_acc[group_by=g], worst_group_acc[group_by=h]; pick one (e.g. "
        "result.metric('worst_group_acc[group_by=g]'))"
    )
    with pytest.raises(HarnessError) as err:
        result.metric("group_acc[group_by=g,group=a]")
    assert "did you mean 'group_acc[group=a,group_by=g]'?" in str(err.value)
    assert result.metric("group_acc[group=a,group_by=g]").n == 30


def test_device_takes_a_torch_device_and_refuses_other_objects() -> None:
    """A training script holds `torch.device("cpu")`; `None` is one line naming `device`."""
    got = harness.evaluate(
        linear_digits(), data=(X, Y), device=torch.device("cpu"), bootstrap_resamples=0
    )
    assert got.provenance is not None and got.provenance.device == "cpu"
    with pytest.raises(HarnessError, match=r"^device: expected 'cpu', 'cuda', 'cuda:N' or 'auto'"):
        harness.evaluate(linear_digits(), data=(X, Y), device=None)


def test_paths_from_python_refuse_objects_in_one_line(tmp_path: Path) -> None:
    """A notebook passes the result itself where a folder is meant: one line that says to save
    it first, not a TypeError from pathlib."""
    result = harness.evaluate(linear_digits(), data=(X, Y), device="cpu", bootstrap_resamples=0)
    folder = result.save(tmp_path / "results")
    hint = r"got EvaluationResult; save the result first \(folder = result\.save\('results'\)\)"
    calls = {
        "results": lambda: harness.leaderboard(result),
        "baseline": lambda: harness.check(result, folder),
        "current": lambda: harness.check(folder, result),
        "out": lambda: harness.report(folder, result),
    }
    for key, call in calls.items():
        with pytest.raises(HarnessError, match=rf"^{key}: expected a path .*, {hint}"):
            call()
    with pytest.raises(
        HarnessError, match=r"^policy: expected a path \(str or pathlib\.Path\), got dict$"
    ):
        harness.check(folder, folder, policy={"rules": []})
    with pytest.raises(
        HarnessError, match=r"^out: expected a path \(str or pathlib\.Path\), got NoneType$"
    ):
        result.save(None)  # type: ignore[arg-type]


def test_saving_into_a_runs_or_run_folder_names_the_results_folder(tmp_path: Path) -> None:
    """`save("results/runs")` nested the run in results/runs/runs/, where `harness leaderboard
    results` never looks: the model was missing from the boards without a word."""
    result = harness.evaluate(linear_digits(), data=(X, Y), device="cpu", bootstrap_resamples=0)
    run = result.save(tmp_path / "results")
    runs = tmp_path / "results" / "runs"
    with pytest.raises(HarnessError) as err:
        result.save(runs)
    assert str(err.value) == (
        f"{runs} holds run folders itself (a results folder's runs/); pass the results "
        f"folder ({tmp_path / 'results'}) (--out; save(out=...) in Python)"
    )
    with pytest.raises(HarnessError, match=r" is a run folder, not a results folder; pass the"):
        result.save(run)
    assert sorted(p.name for p in runs.iterdir()) == [run.name]
    assert result.save(tmp_path / "results") == run  # the results folder itself: fine, again


def test_a_catalogue_task_name_for_data_in_memory_is_refused(tmp_path: Path) -> None:
    """A spec refuses an inline task named like a catalogue task unless it says override: true;
    `name="digits"` on the caller's own data made a second "digits" board beside the
    catalogue's (same name, other fingerprint) and is refused the same way, before any run."""
    with pytest.raises(HarnessError) as err:
        harness.evaluate(linear_digits(), data=(X, Y), device="cpu", name="digits")
    message = str(err.value)
    assert "\n" not in message, message
    assert message.startswith("name: 'digits' is a catalogue task's name"), message
    assert "another name" in message, message


def test_a_task_mapping_named_like_a_catalogue_task_needs_override(tmp_path: Path) -> None:
    """A task spec mapping as task= follows the spec's rule: refused without override: true,
    before its source is read."""
    entry = {"name": "digits", "modality": "tabular", "source": str(tmp_path / "absent.csv")}
    with pytest.raises(HarnessError) as err:
        harness.evaluate(linear_digits(), task=entry, device="cpu")
    assert str(err.value).startswith("task 'digits': an inline task with a catalogue"), err.value
    with pytest.raises(HarnessError) as err:  # with override: on to reading the (absent) file
        harness.evaluate(linear_digits(), task={**entry, "override": True}, device="cpu")
    assert "catalogue" not in str(err.value), err.value


def test_a_task_object_with_a_catalogue_name_and_other_data_is_refused() -> None:
    """A `Task` named 'digits' whose rows are not the catalogue's digits made a second 'digits'
    board beside the catalogue's without a word, as name='digits' did; refused the same way.
    The catalogue's own Task, or a subset of its rows, is the catalogue task: accepted."""
    from dataclasses import replace

    from harness.data.builtin import digits

    catalogue = digits()
    other = replace(catalogue, data=catalogue.data.select(range(40)).map(_brighter))
    with pytest.raises(HarnessError) as err:
        harness.evaluate(linear_digits(), task=other, device="cpu", bootstrap_resamples=0)
    message = str(err.value)
    assert "\n" not in message, message
    assert message.startswith(
        "task: a Task named 'digits' (a catalogue task's name) holds other data than the "
        "catalogue's 'digits'"
    ), message
    assert "name='digits-own'" in message, message
    fast = dict(device="cpu", bootstrap_resamples=0)
    assert harness.evaluate(linear_digits(), task=catalogue.head(30), **fast).metrics
    renamed = replace(other, name="digits-own")
    assert harness.evaluate(linear_digits(), task=renamed, **fast).metrics


def _brighter(row: dict[str, Any]) -> dict[str, Any]:
    return {"input": (np.asarray(row["input"]) * 0.5).tolist()}


def _count_hashed_rows(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the splits `Task` hashes from now on (a list that fills as they are)."""
    from harness.core.task import Task

    hashed: list[int] = []
    digest = Task._digest

    def counted(self: Task, split: Any) -> str:
        hashed.append(len(split))
        return digest(self, split)

    monkeypatch.setattr(Task, "_digest", counted)
    return hashed


def test_a_part_of_a_catalogue_task_is_compared_on_its_own_rows(monkeypatch) -> None:
    """`head(n)` of a catalogue task hashed the whole catalogue task to compare (its fingerprint
    first): on cifar10-c or imagenet-val a quick `head(100)` read every image. Only the rows
    the Task holds are hashed now. The catalogue's rows in another order are its rows too (they
    were refused as 'other data')."""
    from dataclasses import replace

    from harness.data.builtin import digits

    catalogue = digits()
    hashed = _count_hashed_rows(monkeypatch)
    fast = dict(device="cpu", bootstrap_resamples=0)
    assert harness.evaluate(linear_digits(), task=catalogue.head(30), **fast).metrics
    assert len(catalogue) not in hashed, hashed
    shuffled = replace(catalogue, data=catalogue.data.shuffle(seed=1))
    assert harness.evaluate(linear_digits(), task=shuffled, **fast).metrics


def test_a_model_spec_mapping_with_a_bad_key_is_one_line() -> None:
    """model={'adapter': 'callable', ...} without a name raised pydantic's ValidationError (a
    traceback of four lines) where a task mapping gives one HarnessError line."""
    from harness.core.errors import SpecError

    entry = {"adapter": "callable", "callable": "numpy:zeros", "outputs": "probabilities"}
    with pytest.raises(SpecError) as err:
        harness.evaluate(entry, task="digits", device="cpu", bootstrap_resamples=0)
    message = str(err.value)
    assert "\n" not in message, message
    assert message.startswith("model: name"), message


def test_a_task_mapping_refused_as_a_whole_names_no_empty_key(tmp_path: Path) -> None:
    """A task mapping refused by a check of the whole entry (its label column among its
    features) read `task: : feature_columns: ...`: the empty key path printed as one."""
    from harness.core.errors import SpecError

    entry = {"name": "mine", "source": "x.csv", "modality": "tabular"}
    with pytest.raises(SpecError) as err:
        harness.evaluate(
            linear_digits(), task={**entry, "feature_columns": ["label"]}, device="cpu"
        )
    message = str(err.value)
    assert message.startswith("task: feature_columns: 'label' is the label column"), message


def test_the_catalogue_task_is_compared_once_per_process(monkeypatch) -> None:
    """Every evaluate(task=<the catalogue's own Task>) reloaded the catalogue task and hashed it
    whole to compare: a loop over models on imagenet-val (50,000 streamed images) read every
    image once more per model. A Task found to be the catalogue's is remembered by its print."""
    from harness.data.builtin import digits

    catalogue = digits()
    hashed = _count_hashed_rows(monkeypatch)
    fast = dict(device="cpu", bootstrap_resamples=0)
    assert harness.evaluate(linear_digits(), task=catalogue, **fast).metrics
    first = len(hashed)
    assert harness.evaluate(linear_digits(seed=1), task=catalogue, **fast).metrics
    assert hashed[first:] == [], hashed


def test_a_catalogue_named_task_with_another_training_split_is_refused() -> None:
    """The catalogue's test rows with another training split passed as the catalogue task (the
    fingerprint leaves the training split out): the same estimator scored 0.757 and 0.621 on
    diabetes' mean_tabular_shift_acc, ranked 1 and 2 on one board, since the noise follows the
    training split's spread. Refused like other data; head() keeps the training split."""
    from dataclasses import replace

    from harness.data.builtin import diabetes

    catalogue = diabetes()
    assert catalogue.train is not None
    wider = catalogue.train.map(lambda r: {"input": (np.asarray(r["input"]) * 5).tolist()})
    with pytest.raises(HarnessError) as err:
        harness.evaluate(linear_tabular_model(), task=replace(catalogue, train=wider), device="cpu")
    message = str(err.value)
    assert "\n" not in message, message
    assert message.startswith(
        "task: a Task named 'diabetes' (a catalogue task's name) holds another training split "
        "than the catalogue's 'diabetes'"
    ), message
    fast = dict(device="cpu", bootstrap_resamples=0)
    assert harness.evaluate(linear_tabular_model(), task=catalogue.head(40), **fast).metrics


def linear_tabular_model() -> torch.nn.Module:
    from tests.fixture_models import linear_tabular

    return linear_tabular()


def test_a_missing_task_source_says_where_relative_paths_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # from Python there is no spec: a relative source is read from base_dir (the current folder)
    monkeypatch.chdir(tmp_path)
    spec = {"name": "t", "source": "absent.csv", "modality": "tabular", "label_column": "y"}
    with pytest.raises(HarnessError) as raised:
        harness.evaluate(linear_digits(0), task=spec)
    message = str(raised.value)
    assert "spec's folder" not in message
    assert f"relative to {tmp_path}" in message


def test_a_metric_name_of_one_record_with_a_context_names_it_in_the_singular() -> None:
    """One grouping: the message said "the metric of 1 records, each named ...; pick one"
    (review96)."""
    result = _fairness_result(["g"])
    with pytest.raises(HarnessError) as err:
        result.metric("worst_group_acc")
    assert str(err.value) == (
        "key: 'worst_group_acc' is the metric of one record, named by its key with its "
        "context: ask for result.metric('worst_group_acc[group_by=g]')"
    )


def test_a_metric_name_asked_of_one_suite_is_told_the_call_with_that_suite() -> None:
    """`result.metric("worst_group_acc", suite="fairness")` was told to ask for
    `result.metric('worst_group_acc[group_by=g]')`, without the suite it had named (review99):
    the call it is told to make keeps `suite=`."""
    for named in (["g"], ["g", "h"]):
        result = _fairness_result(named)
        with pytest.raises(HarnessError) as err:
            result.metric("worst_group_acc", suite="fairness")
        assert "result.metric('worst_group_acc[group_by=g]', suite='fairness')" in str(err.value)
        assert result.metric("worst_group_acc[group_by=g]", suite="fairness").n == 60


@pytest.mark.parametrize("kind", ["task", "data"])
@pytest.mark.parametrize("as_path", [False, True])
def test_a_files_path_is_told_how_to_become_a_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, as_path: bool
) -> None:
    """task='my.csv' listed the catalogue ("unknown task 'my.csv'; known tasks: adult, ...")
    and data='my.csv' said it takes arrays or frames: neither told a user holding a file that a
    task mapping with `source:` reads it (probe99)."""
    (tmp_path / "my.csv").write_text("a,label\n0.1,0\n0.9,1\n")
    monkeypatch.chdir(tmp_path)
    given: object = Path("my.csv") if as_path else "my.csv"
    with pytest.raises(HarnessError) as err:
        harness.evaluate(linear_digits(), device="cpu", **{kind: given})
    message = str(err.value)
    assert "\n" not in message, message
    assert f"{kind}: 'my.csv' is a file" in message, message
    assert "task={'name': 'my', 'source': 'my.csv', 'modality': ...}" in message, message


def test_a_path_to_nothing_is_not_called_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """task=Path('gone.csv') (any os.PathLike is refused as a task source) said "'gone.csv' is
    a file" where nothing is there."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(HarnessError) as err:
        harness.evaluate(linear_digits(), device="cpu", task=Path("gone.csv"))
    message = str(err.value)
    assert "is a file" not in message and "does not exist" in message, message
    assert "task={'name': 'gone', 'source': 'gone.csv', 'modality': ...}" in message, message


@pytest.mark.parametrize("given", ["gone.csv", "data/gone.parquet", "gone.jsonl"])
def test_a_table_file_named_as_text_to_nothing_is_not_an_unknown_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    """task='data/gone.csv' (text, not a Path) where nothing is there said "unknown task
    'data/gone.csv'; did you mean 'ag-news'?" beside the catalogue's names: a table file's name
    is a path all the same (the near variant of a Path to nothing, e4479646)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(HarnessError) as err:
        harness.evaluate(linear_digits(), device="cpu", task=given)
    message = str(err.value)
    assert "unknown task" not in message and "does not exist" in message, message
    assert f"'source': {given!r}" in message, message
