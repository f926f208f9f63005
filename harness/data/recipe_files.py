"""Catalogue recipes on local files: the raw public files of Adult, COMPAS and German credit.

A spec task with `recipe: adult | compas | german-credit` and a local `source` gets the catalogue
task's preparation (labels, groups, encodings, scaling: `hub_recipes`) on files the user has:

| recipe | layout | files | split |
|---|---|---|---|
| adult | `uci` | UCI's `adult.data` and `adult.test`: no header, `, ` between fields, `?` missing, the test file's first line `|1x3 Cross validator` and its labels `<=50K.` / `>50K.` | `adult.data` trains and `adult.test` tests (the literature's split); `adult.data` alone: the hub task's 30% holdout |
| compas | `propublica` | ProPublica's `compas-scores-two-years.csv` | ProPublica's filter (days_b_screening_arrest in [-30, 30], is_recid != -1, c_charge_degree != 'O', score_text != 'N/A'), label `two_year_recid`; seeded stratified 30% holdout |
| german-credit | `statlog` | Statlog's `german.data`: space-separated `A11`-style codes, label 1 good / 2 bad | 30% holdout, as the hub task |
| any | `hub` | the hub dataset's own columns, as CSV, Parquet or JSON lines | as the hub task |

Each raw layout is turned into the hub layout's columns (`to_hub_*`: renamed columns, trimmed
text, codes mapped to the hub's words), then prepared exactly as the hub task is
(`HubTask.prepared`), so the same rows give the same task, fingerprint included, whichever layout
they come in and in whatever order (the holdout sorts rows by content first). The layout is
detected from the first line of the file (`layout:` declares it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from harness.core.errors import DatasetError
from harness.core.task import Task
from harness.data.hub import ADULT_RECIPE, COMPAS_RECIPE, HUB_TASKS, HubTask
from harness.data.hub_recipes import TabularRecipe
from harness.data.table_reader import WHITESPACE, TableOptions, read_table
from harness.data.table_sources import folder_splits, folder_tables
from harness.data.task_spec import TaskSpec

ADULT_UCI_COLUMNS = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
)
STATLOG_COLUMNS = (
    "checking_status",
    "duration",
    "credit_history",
    "purpose",
    "credit_amount",
    "savings",
    "employment_since",
    "installment_rate",
    "personal_status_sex",
    "other_debtors",
    "residence_since",
    "property",
    "age",
    "other_installment_plans",
    "housing",
    "existing_credits",
    "job",
    "people_liable",
    "telephone",
    "foreign_worker",
    "class",
)
# Statlog's codes in the words of the hub's copy (Kaggle's german_credit_data: the same 1,000
# rows in the same order); None: the hub's missing value
STATLOG_CODES: dict[str, dict[str, str | int | None]] = {
    "personal_status_sex": {
        "A91": "male",
        "A92": "female",
        "A93": "male",
        "A94": "male",
        "A95": "female",
    },
    "job": {"A171": 0, "A172": 1, "A173": 2, "A174": 3},
    "housing": {"A151": "rent", "A152": "own", "A153": "free"},
    "savings": {
        "A61": "little",
        "A62": "moderate",
        "A63": "quite rich",
        "A64": "rich",
        "A65": None,
    },
    "checking_status": {"A11": "little", "A12": "moderate", "A13": "rich", "A14": None},
    "purpose": {
        "A40": "car",
        "A41": "car",
        "A42": "furniture/equipment",
        "A43": "radio/TV",
        "A44": "domestic appliances",
        "A45": "repairs",
        "A46": "education",
        "A47": "vacation/others",
        "A48": "education",
        "A49": "business",
        "A410": "vacation/others",
    },
    "class": {"1": "good", "2": "bad"},
}
PROPUBLICA_RACES = (
    "African-American",
    "Asian",
    "Caucasian",
    "Hispanic",
    "Native American",
    "Other",
)
# the raw files' names, which a folder source is searched for (train first when there are two)
RAW_FILES: dict[str, tuple[str, ...]] = {
    "adult": ("adult.data", "adult.test"),
    "compas": ("compas-scores-two-years.csv",),
    "german-credit": ("german.data",),
}
HUB_MISSING = ("", "NA", "N/A", "NaN", "nan", "null", "None")  # pandas' usual markers
# the literature's COMPAS label on the raw file: two-year recidivism (the hub's imodels copy
# has `is_recid` only); its single file gets the seeded 30% holdout
COMPAS_TWO_YEAR_RECIPE = replace(COMPAS_RECIPE, label="two_year_recid", holdout=0.3)


@dataclass(frozen=True)
class RecipeFiles:
    """The files a recipe task reads, and their layout."""

    test: tuple[Path, ...]
    train: tuple[Path, ...] | None
    layout: str


def load_recipe_task(spec: TaskSpec, base_dir: Path) -> Task:
    """The catalogue task `spec.recipe` prepared from the spec's local files."""
    assert spec.recipe is not None
    definition = HUB_TASKS[spec.recipe]
    files = recipe_files(spec, base_dir)
    reader = READERS[files.layout]
    test = reader(files.test, f"task {spec.name!r}: source")
    train = None
    if files.train is not None:
        key = "train_source" if spec.train_source is not None else "source"
        train = reader(files.train, f"task {spec.name!r}: {key}")
    named = ", ".join(str(p) for p in files.test)
    task = definition.prepared(_recipe(definition, files, train is None), train, test, files=named)
    about = f"{definition.about}; from {named} ({files.layout})"
    return replace(task, name=spec.name, source=spec.source, description=about)


def _recipe(definition: HubTask, files: RecipeFiles, single: bool) -> TabularRecipe:
    assert definition.tabular is not None
    if definition.name == "compas" and files.layout == "propublica":
        return COMPAS_TWO_YEAR_RECIPE
    if single and definition.tabular.holdout is None:  # the hub has a split, these files not
        return replace(definition.tabular, holdout=0.3)
    return definition.tabular


def recipe_files(spec: TaskSpec, base_dir: Path) -> RecipeFiles:
    """The test (and training) files of a recipe task and their layout, checked without parsing
    more than a first line (what `harness validate` runs)."""
    assert spec.recipe is not None
    source = _path(spec.source, base_dir, spec, "source")
    test: tuple[Path, ...]
    train: tuple[Path, ...] | None = None
    raw = RAW_FILES[spec.recipe]
    if source.is_dir() and (source / raw[0]).is_file():
        test = (source / raw[-1],) if (source / raw[-1]).is_file() else (source / raw[0],)
        train = (source / raw[0],) if test[0].name != raw[0] else None
    elif source.is_dir():
        where = f"task {spec.name!r}: source {source}"
        test = folder_tables(source, "test", where)
        if "train" in folder_splits(source):
            train = folder_tables(source, "train", where)
    else:
        test = (source,)
    if spec.train_source is not None:
        train_path = _path(spec.train_source, base_dir, spec, "train_source")
        train = (
            (train_path,)
            if train_path.is_file()
            else folder_tables(
                train_path, "train", f"task {spec.name!r}: train_source {train_path}"
            )
        )
    layout = _layout(spec, test[0])
    return RecipeFiles(test=test, train=train, layout=layout)


def _path(text: str, base_dir: Path, spec: TaskSpec, key: str) -> Path:
    if text.startswith("hf:"):
        raise DatasetError(
            f"task {spec.name!r}: {key} {text} is a hub id; recipe {spec.recipe} reads local "
            f"files (for the hub's copy, use the catalogue task {spec.recipe!r} itself)"
        )
    path = Path(text).expanduser()
    path = path if path.is_absolute() else base_dir / path
    if not path.exists():
        raise DatasetError(
            f"task {spec.name!r}: {key} {path} does not exist; fix the path (relative to the "
            "spec's folder)"
        )
    return path


def _first_line(path: Path) -> str:
    """The first line of a text file that is not blank nor a `|` comment (a Parquet file:
    its column names joined by commas)."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return ",".join(pq.read_schema(path).names)
    with path.open("r", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip() and not line.startswith("|"):
                return line.lstrip("\ufeff").strip()
    return ""


DETECT: dict[str, tuple[tuple[str, Callable[[str], bool]], ...]] = {
    "adult": (
        ("uci", lambda line: bool(re.match(r"^\d+\s*,", line))),
        ("hub", lambda line: "education.num" in line and "income" in line),
    ),
    "compas": (
        ("propublica", lambda line: "two_year_recid" in line and "c_jail_in" in line),
        ("hub", lambda line: "is_recid" in line and "race:" in line),
    ),
    "german-credit": (
        ("statlog", lambda line: bool(re.match(r"^A1[1-4]\s", line))),
        ("hub", lambda line: "Credit amount" in line and "Risk" in line),
    ),
}
EXPECTED = {
    "adult": "UCI's adult.data / adult.test (no header, comma-separated, starting with the age) "
    "or the hub layout (a header with education.num and income)",
    "compas": "ProPublica's compas-scores-two-years.csv (a header with two_year_recid and "
    "c_jail_in) or the hub layout of imodels/compas-recidivism (is_recid, race:... columns)",
    "german-credit": "Statlog's german.data (space-separated codes, starting with A11..A14) or "
    "the hub layout (a header with Credit amount and Risk)",
}


def _layout(spec: TaskSpec, file: Path) -> str:
    """The declared layout (one the recipe reads), else the first that matches the file."""
    assert spec.recipe is not None
    known = [name for name, _ in DETECT[spec.recipe]]
    if spec.layout != "auto":
        if spec.layout not in known:
            raise DatasetError(
                f"task {spec.name!r}: layout {spec.layout} is not one recipe {spec.recipe} reads "
                f"({' or '.join(known)})"
            )
        return spec.layout
    line = _first_line(file)
    for name, matches in DETECT[spec.recipe]:
        if matches(line):
            return name
    raise DatasetError(
        f"task {spec.name!r}: source file {file} is in no layout recipe {spec.recipe} reads "
        f"(its first line: {line[:80]!r}); expected {EXPECTED[spec.recipe]}; set layout: if it "
        "is one of them"
    )


# ----------------------------------------------------------------------------- readers


def _read_arrow(
    files: tuple[Path, ...], options: TableOptions, where: str, *, trim: bool = True
) -> pa.Table:
    """The rows of `files` (`where`: `task 't': source`) as an Arrow table, text columns
    without the spaces around each value (UCI writes `, Private`) unless `trim` is False (the
    recipe trims every text it reads: `hub_recipes`)."""
    table = read_table(files, options, where).table
    if not trim:
        return table
    for i, column in enumerate(table.columns):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            table = table.set_column(i, table.field(i), pc.utf8_trim_whitespace(column))
    return table


def _read(files: tuple[Path, ...], options: TableOptions, where: str) -> pd.DataFrame:
    """`_read_arrow` as a pandas frame."""
    return _read_arrow(files, options, where).to_pandas()


def to_hub_adult(files: tuple[Path, ...], where: str) -> pa.Table:
    """UCI's adult.data / adult.test as the hub's columns (`education.num`...), labels without
    the test file's trailing dot."""
    needed = [c.replace(".", "-") for c in ADULT_RECIPE.columns_needed()]
    options = TableOptions(
        column_names=ADULT_UCI_COLUMNS,
        missing_values=None,
        delimiter=",",
        skip_prefix="|",
        columns=tuple(c for c in ADULT_UCI_COLUMNS if c in needed),  # the rest is not read
    )
    table = _read_arrow(files, options, where, trim=False)  # the recipe trims what it reads
    i = table.column_names.index("income")
    income = table.column(i)
    if pa.types.is_string(income.type) or pa.types.is_large_string(income.type):
        trimmed = pc.utf8_trim_whitespace(income)
        table = table.set_column(i, "income", pc.utf8_rtrim(trimmed, characters="."))
    return table.rename_columns([c.replace("-", ".") for c in table.column_names])


def to_hub_compas(files: tuple[Path, ...], where: str) -> pa.Table:
    """ProPublica's two-year file, filtered as ProPublica did, as imodels' columns (the hub
    layout's features) with the literature's label `two_year_recid`."""
    raw = _read(files, TableOptions(missing_values=("",), pandas_names=True), where)
    needed = [
        "age",
        "priors_count",
        "days_b_screening_arrest",
        "c_jail_in",
        "c_jail_out",
        "juv_fel_count",
        "juv_other_count",
        "juv_misd_count",
        "c_charge_degree",
        "race",
        "sex",
        "is_recid",
        "score_text",
        "two_year_recid",
    ]
    absent = [c for c in needed if c not in raw.columns]
    if absent:
        raise DatasetError(
            f"{where} file {files[0]}: column(s) {absent} not found; recipe compas reads "
            "ProPublica's compas-scores-two-years.csv"
        )
    days = pd.to_numeric(raw["days_b_screening_arrest"], errors="coerce")
    score = raw["score_text"].astype("string").str.strip()
    keep = (
        days.between(-30, 30)
        & (pd.to_numeric(raw["is_recid"], errors="coerce") != -1)
        & (raw["c_charge_degree"].astype("string").str.strip() != "O")
        & score.notna()
        & (score != "N/A")
    ).fillna(False)
    frame = raw[keep.to_numpy()].reset_index(drop=True)
    jail = pd.to_datetime(frame["c_jail_out"], errors="coerce") - pd.to_datetime(
        frame["c_jail_in"], errors="coerce"
    )
    out = {c: frame[c] for c in ("age", "priors_count")}
    out["days_b_screening_arrest"] = days[keep.to_numpy()].reset_index(drop=True)
    out["c_jail_time"] = jail.dt.days
    out.update({c: frame[c] for c in ("juv_fel_count", "juv_other_count", "juv_misd_count")})
    for degree in ("F", "M"):
        out[f"c_charge_degree:{degree}"] = (frame["c_charge_degree"] == degree).astype(int)
    for race in PROPUBLICA_RACES:
        out[f"race:{race.replace(' ', '_')}"] = (frame["race"] == race).astype(int)
    for sex in ("Female", "Male"):
        out[f"sex:{sex}"] = (frame["sex"] == sex).astype(int)
    out["two_year_recid"] = frame["two_year_recid"]
    return pa.Table.from_pandas(pd.DataFrame(out), preserve_index=False)


def to_hub_german(files: tuple[Path, ...], where: str) -> pa.Table:
    """Statlog's german.data as the hub's columns (Kaggle's words for Statlog's codes)."""
    options = TableOptions(column_names=STATLOG_COLUMNS, missing_values=None, delimiter=WHITESPACE)
    frame = _read(files, options, where)
    coded = {c: _decoded(frame, c, where) for c in STATLOG_CODES}
    german = pd.DataFrame(
        {
            "Age": frame["age"],
            "Sex": coded["personal_status_sex"],
            "Job": coded["job"],
            "Housing": coded["housing"],
            "Saving accounts": coded["savings"],
            "Checking account": coded["checking_status"],
            "Credit amount": frame["credit_amount"],
            "Duration": frame["duration"],
            "Purpose": coded["purpose"],
            "Risk": coded["class"],
        }
    )
    return pa.Table.from_pandas(german, preserve_index=False)


def _decoded(frame: pd.DataFrame, column: str, where: str) -> pd.Series:
    """Statlog codes of `column` in the hub's words; a code Statlog does not define is refused."""
    codes = frame[column].astype("string").str.strip()
    table = STATLOG_CODES[column]
    unknown = ~codes.isin(list(table))
    if unknown.any():
        row = int(np.flatnonzero(unknown.to_numpy())[0])
        raise DatasetError(
            f"{where}: column {column!r} (attribute {STATLOG_COLUMNS.index(column) + 1}), row "
            f"{row + 1} reads {codes.iloc[row]!r}, not one of Statlog's codes "
            f"({', '.join(table)}); is it german.data (not german.data-numeric)?"
        )
    values = codes.map(table)
    return values.astype(object).where(values.notna(), None)


def hub_layout(files: tuple[Path, ...], where: str) -> pa.Table:
    """Local files in the hub dataset's own columns (CSV, Parquet, JSON lines)."""
    options = TableOptions(missing_values=HUB_MISSING, pandas_names=True)
    return _read_arrow(files, options, where, trim=False)  # the recipe trims what it reads


READERS: dict[str, Callable[[tuple[Path, ...], str], pa.Table]] = {
    "uci": to_hub_adult,
    "propublica": to_hub_compas,
    "statlog": to_hub_german,
    "hub": hub_layout,
}
