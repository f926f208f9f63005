"""The catalogue recipes `adult`, `compas` and `german-credit` on local files.

Small files are written in each exact public layout (UCI's adult.data / adult.test, ProPublica's
compas-scores-two-years.csv with its repeated column names, Statlog's german.data) and in the hub
layouts; the same rows must give the same task as the catalogue task on the (fake) hub, in any
row order.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from harness.config.planner import build_plan
from harness.config.spec import parse_spec_text
from harness.core.errors import DatasetError, SpecError
from harness.core.task import Task
from harness.data import hub
from harness.data.catalogue import task_registry
from harness.data.loader import load_task
from harness.data.recipe_files import (
    ADULT_UCI_COLUMNS,
    STATLOG_CODES,
    STATLOG_COLUMNS,
    recipe_files,
)
from harness.data.task_spec import TaskSpec
from harness.run.plugins import installed_plugins
from tests.data.test_catalogue_hub import ADULT_FEATURES, FAKE_HUB, _adult, fake_hub  # noqa: F401

pytestmark = pytest.mark.usefixtures("fake_hub")


def recipe(folder: Path, **kw: Any) -> Task:
    return load_task(TaskSpec.model_validate({"name": "mine", **kw}), base_dir=folder)


def same_task(a: Task, b: Task) -> None:
    assert a.fingerprint == b.fingerprint
    assert a.sample_ids == b.sample_ids and a.labels.tolist() == b.labels.tolist()
    np.testing.assert_array_equal(a.all_inputs().numpy(), b.all_inputs().numpy())
    pd.testing.assert_frame_equal(a.groups(), b.groups())
    assert a.feature_names == b.feature_names and a.class_names == b.class_names


# ----------------------------------------------------------------------------- adult


def write_uci(frame: pd.DataFrame, path: Path, *, test_file: bool = False) -> None:
    """UCI's layout: no header, ', ' between fields, the test file's comment line and dots."""
    rows = frame.copy()
    if test_file:
        rows["income"] = rows["income"] + "."
    lines = [", ".join(str(v) for v in row) for row in rows.itertuples(index=False)]
    head = "|1x3 Cross validator\n" if test_file else ""
    path.write_text(head + "\n".join(lines) + "\n\n")


def test_uci_adult_data_gives_the_hub_task_whatever_the_row_order(tmp_path: Path) -> None:
    hub_rows = _adult(40).to_pandas()
    write_uci(hub_rows.sample(frac=1.0, random_state=3), tmp_path / "adult.data")  # reordered
    mine = recipe(tmp_path, recipe="adult", source="adult.data", override=False)
    assert mine.name == "mine" and mine.source == "adult.data"
    same_task(mine, task_registry().load("adult")())
    # the hub layout as a local CSV (in yet another order) gives the same task too
    hub_rows.iloc[::-1].to_csv(tmp_path / "adult.csv", index=False)
    same_task(recipe(tmp_path, recipe="adult", source="adult.csv"), mine)


def test_uci_adult_data_and_test_keep_the_published_split(tmp_path: Path) -> None:
    rows = _adult(40).to_pandas()
    folder = tmp_path / "adult"
    folder.mkdir()
    write_uci(rows.iloc[:30], folder / "adult.data")
    write_uci(rows.iloc[30:], folder / "adult.test", test_file=True)
    task = recipe(tmp_path, recipe="adult", source="adult")
    assert len(task) == 10 and len(task.train) == 30
    assert task.labels.tolist() == [int(v == ">50K") for v in rows["income"].iloc[30:]]
    assert set(task.groups()["sex"]) == {"Male", "Female"} and task.class_names == ("<=50K", ">50K")
    assert (
        recipe_files(TaskSpec(name="m", recipe="adult", source="adult"), tmp_path).layout == "uci"
    )
    # the same two files named one by one
    named = recipe(
        tmp_path, recipe="adult", source="adult/adult.test", train_source="adult/adult.data"
    )
    same_task(named, task)


def test_the_uci_columns_are_the_hub_columns_in_adult_names_order() -> None:
    assert ADULT_UCI_COLUMNS[4] == "education-num" and ADULT_UCI_COLUMNS[-1] == "income"
    assert [c.replace("-", ".") for c in ADULT_UCI_COLUMNS] == list(ADULT_FEATURES)


# ----------------------------------------------------------------------------- compas

PROPUBLICA_HEADER = [
    "id",
    "name",
    "first",
    "last",
    "compas_screening_date",
    "sex",
    "dob",
    "age",
    "age_cat",
    "race",
    "juv_fel_count",
    "decile_score",
    "juv_misd_count",
    "juv_other_count",
    "priors_count",
    "days_b_screening_arrest",
    "c_jail_in",
    "c_jail_out",
    "c_case_number",
    "c_offense_date",
    "c_arrest_date",
    "c_days_from_compas",
    "c_charge_degree",
    "c_charge_desc",
    "is_recid",
    "r_case_number",
    "r_charge_degree",
    "r_days_from_arrest",
    "r_offense_date",
    "r_charge_desc",
    "r_jail_in",
    "r_jail_out",
    "violent_recid",
    "is_violent_recid",
    "vr_case_number",
    "vr_charge_degree",
    "vr_offense_date",
    "vr_charge_desc",
    "type_of_assessment",
    "decile_score",
    "score_text",
    "screening_date",
    "v_type_of_assessment",
    "v_decile_score",
    "v_score_text",
    "v_screening_date",
    "in_custody",
    "out_custody",
    "priors_count",
    "start",
    "end",
    "event",
    "two_year_recid",
]
RACES = ["African-American", "Asian", "Caucasian", "Hispanic", "Native American", "Other"]


def propublica(n: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Raw rows in ProPublica's 53 columns, and which of them ProPublica's filter keeps."""
    gen = np.random.default_rng(7)
    second_decile = PROPUBLICA_HEADER.index("decile_score", 12)
    second_priors = PROPUBLICA_HEADER.index("priors_count", 15)
    rows, keep = [], np.ones(n, dtype=bool)
    for i in range(n):
        days: object = int(gen.integers(-30, 31))
        recid, degree, score = int(gen.integers(0, 2)), ["F", "M"][i % 2], "Low"
        rule = i % 9
        if rule == 3:
            days, keep[i] = 31, False
        elif rule == 5:
            recid, keep[i] = -1, False
        elif rule == 6:
            degree, keep[i] = "O", False
        elif rule == 7:
            score, keep[i] = "N/A", False
        elif rule == 8:
            days, keep[i] = "", False
        values = {
            "id": i,
            "sex": ["Male", "Female"][i % 2],
            "age": 20 + i,
            "race": RACES[i % 6],
            "juv_fel_count": i % 2,
            "juv_misd_count": i % 3,
            "juv_other_count": 0,
            "priors_count": i % 4,
            "days_b_screening_arrest": days,
            "c_jail_in": "2013-01-01 10:00:00",
            "c_jail_out": f"2013-01-{1 + i % 5:02d} 09:00:00",
            "c_charge_degree": degree,
            "c_charge_desc": '"Battery, Domestic"',
            "is_recid": recid,
            "score_text": score,
            "two_year_recid": (i * 7 + i // 3) % 2,
        }
        row = [values.get(c, "x") for c in PROPUBLICA_HEADER]
        row[second_decile], row[second_priors] = 5, 99  # imodels reads the first priors_count
        rows.append(row)
    return pd.DataFrame(rows), keep


def write_propublica(frame: pd.DataFrame, path: Path) -> None:
    lines = [",".join(PROPUBLICA_HEADER)]
    lines += [",".join(str(v) for v in row) for row in frame.itertuples(index=False)]
    path.write_text("\n".join(lines) + "\n")


def test_propublica_file_is_filtered_labelled_two_year_and_grouped(tmp_path: Path) -> None:
    frame, keep = propublica(90)
    write_propublica(frame, tmp_path / "compas-scores-two-years.csv")
    task = recipe(tmp_path, recipe="compas", source=".")
    kept = frame[keep]
    assert len(task) + len(task.train) == len(kept) == 40  # 5 of every 9 rows filtered out
    assert task.group_columns == ("race", "sex") and task.class_names == (
        "no recidivism",
        "recidivism",
    )
    assert set(task.groups()["race"]) <= {r.replace(" ", "_") for r in RACES}
    # labels are two_year_recid of the kept rows (is_recid is not the label)
    assert sorted(task.labels.tolist() + list(_labels(task.train))) == sorted(
        kept.iloc[:, -1].astype(int).tolist()
    )
    assert task.input_shape == (9,)


def _labels(data: Any) -> list[int]:
    return [int(v) for v in data.with_format("arrow")["label"].to_pylist()]


def test_imodels_hub_layout_files_give_the_hub_task(tmp_path: Path) -> None:
    for split in ("train", "test"):
        FAKE_HUB[("imodels/compas-recidivism", None, split)]().to_pandas().to_csv(
            tmp_path / f"{split}.csv", index=False
        )
    same_task(recipe(tmp_path, recipe="compas", source="."), task_registry().load("compas")())


# ----------------------------------------------------------------------------- german


def statlog_rows(n: int) -> pd.DataFrame:
    gen = np.random.default_rng(11)
    data: dict[str, list[Any]] = {}
    for column in STATLOG_COLUMNS:
        if column in STATLOG_CODES:
            codes = list(STATLOG_CODES[column])
            data[column] = [codes[int(gen.integers(0, len(codes)))] for _ in range(n)]
        else:
            data[column] = gen.integers(1, 5, n).tolist()
    data["age"] = gen.integers(19, 70, n).tolist()
    data["duration"] = gen.integers(4, 72, n).tolist()
    data["credit_amount"] = gen.integers(250, 18_000, n).tolist()
    data["class"] = [int(c) for c in data["class"]]
    return pd.DataFrame(data)


def as_kaggle(rows: pd.DataFrame) -> pd.DataFrame:
    """The hub's copy of Statlog rows (Kaggle's german_credit_data columns and words)."""
    word = {c: rows[c].astype(str).map(STATLOG_CODES[c]) for c in STATLOG_CODES}
    return pd.DataFrame(
        {
            "Age": rows["age"],
            "Sex": word["personal_status_sex"],
            "Job": word["job"].astype(int),
            "Housing": word["housing"],
            "Saving accounts": word["savings"],
            "Checking account": word["checking_status"],
            "Credit amount": rows["credit_amount"],
            "Duration": rows["duration"],
            "Purpose": word["purpose"],
            "Risk": word["class"],
        }
    )


def test_statlog_german_data_gives_the_hub_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datasets

    rows = statlog_rows(40)
    kaggle = as_kaggle(rows).sample(frac=1.0, random_state=1)  # the hub's copy, reordered
    monkeypatch.setitem(
        FAKE_HUB,
        ("AiresPucrs/german-credit-data", None, "train"),
        lambda: datasets.Dataset.from_pandas(kaggle, preserve_index=False),
    )
    lines = [" ".join(str(v) for v in row) for row in rows.itertuples(index=False)]
    (tmp_path / "german.data").write_text("\n".join(lines) + "\n")
    task = recipe(tmp_path, recipe="german-credit", source="german.data")
    same_task(task, task_registry().load("german-credit")())
    females = rows["personal_status_sex"].isin(["A92", "A95"])
    assert task.group_columns == ("Sex", "Age_band")
    assert set(task.groups()["Age_band"]) <= {"<25", "25+"}
    assert int(females.sum()) > 0  # both sexes present in the fixture
    # the numeric Statlog file is not german.data: refused by its first code
    (tmp_path / "numeric.data").write_text("1 6 4 12 5 5 3 4 1 67 3 2 1 2 1 0 0 1 0 0 1 0 0 1 1\n")
    with pytest.raises(DatasetError, match=r"numeric.data is in no layout recipe german-credit"):
        recipe(tmp_path, recipe="german-credit", source="numeric.data")


# ----------------------------------------------------------------------------- the spec


SPEC = """
tasks:
  - {{name: {name}, recipe: adult, source: adult.data{extra}}}
models:
  - {{name: m, adapter: torch, factory: "torch.nn:Identity", input_shape: [43]}}
suites: {{accuracy: {{}}}}
"""


def test_a_catalogue_name_needs_override(tmp_path: Path) -> None:
    write_uci(_adult(40).to_pandas(), tmp_path / "adult.data")
    with pytest.raises(SpecError, match=r"task 'adult': an inline task with a catalogue task's na"):
        build_plan(
            parse_spec_text(SPEC.format(name="adult", extra=""), source="s"),
            base_dir=tmp_path,
            plugins=installed_plugins(),
        )
    spec = parse_spec_text(SPEC.format(name="adult", extra=", override: true"), source="s")
    assert list(build_plan(spec, base_dir=tmp_path, plugins=installed_plugins()).tasks) == ["adult"]
    spec = parse_spec_text(SPEC.format(name="adult-uci", extra=""), source="s")
    assert list(build_plan(spec, base_dir=tmp_path, plugins=installed_plugins()).tasks) == [
        "adult-uci"
    ]


def test_recipe_keys_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"label_column: recipe adult fixes the features"):
        TaskSpec.model_validate(
            {"name": "a", "recipe": "adult", "source": "x", "label_column": "y"}
        )
    with pytest.raises(ValueError, match=r"layout is the layout of a recipe's files"):
        TaskSpec.model_validate(
            {"name": "a", "source": "x", "modality": "tabular", "layout": "uci"}
        )
    (tmp_path / "adult.data").write_text("x\n")
    spec = TaskSpec.model_validate(
        {"name": "a", "recipe": "adult", "source": "adult.data", "layout": "statlog"}
    )
    with pytest.raises(DatasetError, match=r"layout statlog is not one recipe adult reads"):
        recipe_files(spec, tmp_path)


@pytest.fixture(autouse=True)
def _hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(hub.CACHE_ENV, str(tmp_path / "cache"))
    yield


def test_new_task_keys_leave_the_spec_hash_alone_at_their_defaults() -> None:
    """A spec that does not use the table keys hashes as before they existed (baselines match)."""
    base = "tasks: [{{name: t, source: d.csv, modality: tabular{extra}}}]\nmodels: [m]\n"
    base += "suites: {{accuracy: {{}}}}\n"
    plain = parse_spec_text(base.format(extra=""), source="s").spec_hash()
    same = parse_spec_text(base.format(extra=", missing_values: ['', '?']"), source="s")
    other = parse_spec_text(base.format(extra=", missing_values: ['-']"), source="s")
    assert same.spec_hash() == plain and other.spec_hash() != plain
    dumped = parse_spec_text(base.format(extra=""), source="s").model_dump(mode="json")
    payload_keys = set(dumped["tasks"][0])
    assert {"missing_values", "one_hot", "recipe", "override"} <= payload_keys  # dumped, not hashed


def test_a_raw_numeric_cell_that_is_missing_drops_its_row_and_text_is_refused(
    tmp_path: Path,
) -> None:
    """UCI marks a missing value `?`: in a numeric column it is missing (the row dropped, as the
    hub task drops a missing number), where pandas' float conversion once raised a traceback.
    A cell that is no number at all is one line naming the column and the cell."""
    rows = _adult(40).to_pandas()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    unknown = rows.copy()
    unknown["age"] = unknown["age"].astype(str)
    unknown.loc[7, "age"] = "?"
    write_uci(unknown, tmp_path / "a" / "adult.data")
    write_uci(rows.drop(index=7), tmp_path / "b" / "adult.data")
    same_task(
        recipe(tmp_path, recipe="adult", source="a"), recipe(tmp_path, recipe="adult", source="b")
    )
    unknown.loc[9, "age"] = "forty"
    write_uci(unknown, tmp_path / "a" / "adult.data")
    with pytest.raises(
        DatasetError,
        match=r"numeric column 'age' holds 1 cell\(s\) that are not numbers \(the first: 'forty'\)",
    ):
        recipe(tmp_path, recipe="adult", source="a")
