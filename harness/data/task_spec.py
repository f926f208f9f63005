"""A task entry of a spec (`TaskSpec`): where a task's data is and how to read it.

The loaders of this stage take it (`harness.data.loader.load_task`); the run spec lists it among
its tasks (`harness.config.spec.RunSpec`). Every key is described in docs/tasks.md.
"""

from __future__ import annotations

import codecs
import difflib
import math
import unicodedata
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from harness.core.bin_edges import edges_problem
from harness.core.input_types import loose_value
from harness.core.validation import (
    NAME_PATTERN,
    RESERVED_COLUMNS,
    StrictModel,
    group_column_problem,
)

ImageTransformName = Literal["imagenet-eval"]
DEFAULT_MISSING: tuple[str, ...] = ("", "?")
# what a catalogue recipe decides itself (TaskSpec.recipe)
_RECIPE_FIXES = frozenset(
    {
        "input_column",
        "feature_columns",
        "label_column",
        "id_column",
        "group_columns",
        "group_bins",
        "num_classes",
        "class_names",
        "bounds",
        "feature_bounds",
        "one_hot",
        "ordinal",
        "column_names",
        "missing_values",
        "delimiter",
        "missing_rows",
        "split",
        "train_split",
        "subset",
        "revision",
    }
)
# task keys added after results existed: left out of the spec hash while at their defaults, so
# a spec that does not use them hashes as it did before they existed (baselines match)
LATER_TASK_KEYS: dict[str, Any] = {
    "column_names": None,
    "missing_values": list(DEFAULT_MISSING),
    "delimiter": None,
    "encoding": "utf-8",
    "one_hot": {},
    "ordinal": {},
    "missing_rows": "refuse",
    "recipe": None,
    "layout": "auto",
    "override": False,
}
MAX_SIZE = 1 << 15
INT64 = 1 << 63  # whole numbers in -INT64..INT64-1 are read as integers (`table_columns`)
MAX_CLASSES = 1_000_000  # ImageNet-21k has 21,841; more is a typo that would size every array
Size = Annotated[int, Field(ge=1, le=MAX_SIZE)]


def _size_or_pair(key: str, value: Any) -> Any:
    """`resize` / `center_crop`: N or [height, width], each a whole number of pixels 1..32768.
    Checked before the union is tried, so a bad value is one line saying what the key takes
    (not the union's member-by-member errors)."""
    try:
        if loose_value(value, _SIZE_TYPE):
            raise ValueError(value)
        _SIZES.validate_python(value)
    except (ValidationError, ValueError):
        single = "the shorter side" if key == "resize" else "an N x N crop"
        raise ValueError(
            f"{key} takes N ({single}) or [height, width], in pixels: whole numbers 1..{MAX_SIZE}"
        ) from None
    return value


_SIZE_TYPE: Any = Size | tuple[Size, Size] | None
_SIZES: TypeAdapter[Any] = TypeAdapter(_SIZE_TYPE)


class TaskSpec(StrictModel):
    """An inline task: a hub dataset (`hf:<id>`) or local files, and how to read them
    (every key is described in docs/tasks.md)."""

    name: str = Field(pattern=NAME_PATTERN)
    source: str = Field(
        description="'hf:<dataset id>', a .parquet/.csv/.json(l) file or a folder of them, an "
        "image folder, or a CIFAR-10-C / ImageNet-C folder"
    )
    split: str = "test"
    train_split: str | None = None
    train_source: str | None = Field(
        default=None, description="the training split from another file or folder"
    )
    revision: str | None = None
    subset: str | None = None
    modality: Literal["image", "tabular", "text"]
    input_column: str | None = None
    feature_columns: list[str] | None = Field(
        default=None,
        description="tabular: the feature columns, in order (default: every column except the "
        "label, id and group columns)",
    )
    label_column: str | None = Field(
        default="label", description="null: an unlabeled set (usable only as an OOD set)"
    )
    id_column: str | None = None
    group_columns: list[str] = Field(default_factory=list)
    group_bins: dict[str, list[float]] = Field(default_factory=dict)
    # readable labels of group values for reports: {column: {value: label}}, in display order
    group_labels: dict[str, dict[str, str]] = Field(default_factory=dict)
    num_classes: int | None = Field(default=None, ge=2, le=MAX_CLASSES)
    class_names: list[str] | None = None
    input_shape: list[Annotated[int, Field(ge=1)]] | None = None
    bounds: tuple[float, float] | None = None
    feature_bounds: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="tabular: declared (low, high) per feature; others come from the data",
    )
    transform: ImageTransformName | None = Field(
        default=None, description="imagenet-eval: resize shorter side 256, center crop 224, RGB"
    )
    resize: Size | tuple[Size, Size] | None = Field(
        default=None, description="resize images: shorter side N, or [height, width]"
    )
    center_crop: Size | tuple[Size, Size] | None = Field(
        default=None, description="center-crop images to N x N or [height, width]"
    )
    channels: Literal[1, 3] | None = Field(
        default=None, description="decode images as grey (1) or RGB (3); default: the first image's"
    )
    corruptions: list[str] | None = Field(
        default=None, description="CIFAR-10-C / ImageNet-C: the corruptions to load (default all)"
    )
    severities: list[Annotated[int, Field(ge=1, le=5)]] | None = Field(
        default=None, description="CIFAR-10-C / ImageNet-C: the severities to load (default 1-5)"
    )
    # ---- reading table files and encoding their columns (docs/tasks.md, "Table files") ----
    column_names: list[str] | None = Field(
        default=None, description="the column names of a headerless table file, in order"
    )
    missing_values: list[str] = Field(
        default_factory=lambda: list(DEFAULT_MISSING),
        description="cells that mean missing (after trimming spaces); default '' and '?'",
    )
    delimiter: str | None = Field(
        default=None,
        description="delimited text: one character (',' ';' '\\t' '|') or 'whitespace' "
        "(default: ',' for .csv, a tab for .tsv, else the first line's)",
    )
    encoding: str = Field(default="utf-8", description="text encoding of delimited files")
    one_hot: dict[str, list[str] | None] = Field(
        default_factory=dict,
        description="tabular: one-hot encode these columns: {column: [categories]} (null: the "
        "sorted values found in the splits)",
    )
    ordinal: dict[str, list[str]] = Field(
        default_factory=dict,
        description="tabular: encode these columns as their value's position in the list",
    )
    missing_rows: Literal["refuse", "drop"] = Field(
        default="refuse",
        description="tabular: a row with a missing feature is refused (default) or dropped",
    )
    # ---- a catalogue recipe on local files, and shadowing a catalogue name ----
    recipe: Literal["adult", "compas", "german-credit"] | None = Field(
        default=None,
        description="prepare local files with this catalogue task's recipe (labels, groups, "
        "encodings); source: the raw public files or the hub layout",
    )
    layout: Literal["auto", "hub", "uci", "propublica", "statlog"] = Field(
        default="auto", description="the layout of a recipe's files (default: detected)"
    )
    override: bool = Field(
        default=False, description="this inline task replaces the catalogue task of its name"
    )

    @model_validator(mode="before")
    @classmethod
    def _recipe_is_tabular(cls, data: Any) -> Any:
        """A recipe's task is tabular: `modality` may be left out."""
        if isinstance(data, dict) and data.get("recipe") is not None:
            return {"modality": "tabular", **data}
        return data

    @model_validator(mode="after")
    def _table_keys(self) -> TaskSpec:
        if self.delimiter is not None and not (
            len(self.delimiter) == 1 or self.delimiter == "whitespace"
        ):
            raise ValueError(
                f"delimiter must be one character (',' ';' '\\t' '|') or 'whitespace', got "
                f"{self.delimiter!r}"
            )
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ValueError(
                f"encoding {self.encoding!r} is not a text encoding Python knows (utf-8, "
                "latin-1, cp1252, utf-16, ...)"
            ) from None
        if self.column_names is not None and len(set(self.column_names)) != len(self.column_names):
            raise ValueError("column_names repeats a name; every column needs its own")
        _refuse_repeats(self)
        _refuse_empty_lists(self)
        for column in self.group_columns:
            problem = group_column_problem(column)
            if problem:
                raise ValueError(f"group_columns: {problem}")
            if column == self.label_column:  # read as text groups, the labels broke every job
                raise ValueError(
                    f"group_columns: {column!r} is the label column (label_column); per-class "
                    "results are harness groups --by label, so leave it out of group_columns"
                )
            if column in RESERVED_COLUMNS:  # it replaced the labels, ids or inputs
                raise ValueError(
                    f"group_columns: {column!r} is the name of a column the harness keeps every "
                    f"task's rows in ({', '.join(RESERVED_COLUMNS)}); rename that column of "
                    "your data"
                )
        _refuse_label_as_input(self)
        tabular_only = [k for k in ("one_hot", "ordinal") if getattr(self, k)]
        if self.missing_rows != "refuse":
            tabular_only.append("missing_rows")
        if tabular_only and self.modality != "tabular":
            raise ValueError(f"{tabular_only[0]} is only for tabular tasks")
        both = sorted(set(self.one_hot) & set(self.ordinal))
        if both:
            raise ValueError(f"{both[0]} is in one_hot and in ordinal; encode it one way")
        if self.recipe is not None:
            fixed = sorted(self.model_fields_set & _RECIPE_FIXES)
            if fixed:
                raise ValueError(
                    f"{fixed[0]}: recipe {self.recipe} fixes the features, labels and groups; "
                    "remove it (or drop recipe to describe the table yourself)"
                )
            if self.modality != "tabular":
                raise ValueError(f"recipe {self.recipe} makes a tabular task, not {self.modality}")
        elif "layout" in self.model_fields_set:
            raise ValueError("layout is the layout of a recipe's files; set recipe: as well")
        return self

    @field_validator("one_hot", "ordinal", mode="before")
    @classmethod
    def _values_as_written(cls, value: Any) -> Any:
        """YAML reads `ordinal: {size: [1, 2, 3]}` as numbers; a table's cells are matched as
        the text they read (`table_columns.coded`: a whole number as `1`, not `1.0`), so a
        number is taken as that text. true/false stay refused (YAML's reading of yes/no)."""
        if not isinstance(value, dict):
            return value
        return {
            column: [_cell_text(v) for v in values] if isinstance(values, list) else values
            for column, values in value.items()
        }

    @field_validator("group_labels", mode="before")
    @classmethod
    def _group_values_as_written(cls, value: Any) -> Any:
        """`group_labels: {sex: {1: male, 2: female}}`: YAML reads the values as numbers; a
        group value is its cell's text, so a number names that text (as in `one_hot`)."""
        if not isinstance(value, dict):
            return value
        return {
            column: {_cell_text(k): v for k, v in labels.items()}
            if isinstance(labels, dict)
            else labels
            for column, labels in value.items()
        }

    @field_validator("resize", "center_crop", mode="before")
    @classmethod
    def _sizes(cls, value: Any, info: ValidationInfo) -> Any:
        return _size_or_pair(str(info.field_name), value)

    @model_validator(mode="after")
    def _modality_keys(self) -> TaskSpec:
        if self.modality == "tabular" and self.input_column and self.feature_columns:
            raise ValueError("set feature_columns or input_column (a column of vectors), not both")
        only = {
            "tabular": ("feature_columns", "feature_bounds"),
            "image": (
                "transform",
                "resize",
                "center_crop",
                "channels",
                "corruptions",
                "severities",
            ),
        }
        for modality, keys in only.items():
            used = [k for k in keys if getattr(self, k)] if self.modality != modality else []
            if used:
                raise ValueError(f"{used[0]} is only for {modality} tasks")
        hub = [k for k in ("revision", "subset") if getattr(self, k) is not None]
        if hub and not str(self.source or "").startswith("hf:"):
            raise ValueError(
                f"{hub[0]} is only for Hugging Face hub datasets (source: hf:<id>), and "
                f"{self.source} is a local source: it would change nothing; remove it"
            )
        if self.transform is not None and (self.resize or self.center_crop):
            raise ValueError(
                f"transform {self.transform!r} already resizes and crops; drop resize/center_crop "
                "or the transform"
            )
        return self

    @model_validator(mode="after")
    def _bounds(self) -> TaskSpec:
        boxes = {"bounds": self.bounds} if self.bounds is not None else {}
        boxes.update({f"feature_bounds.{f}": box for f, box in self.feature_bounds.items()})
        for key, (low, high) in boxes.items():
            if not low < high:
                raise ValueError(f"{key} must be [low, high] with low < high, got {[low, high]}")
        if self.bounds is not None:
            outside = [
                f
                for f, (lo, hi) in self.feature_bounds.items()
                if lo < self.bounds[0] or hi > self.bounds[1]
            ]
            if outside:
                raise ValueError(
                    f"feature_bounds of {', '.join(outside)} reach outside bounds "
                    f"{list(self.bounds)}; widen bounds or drop it (it is then the features' hull)"
                )
        return self

    @model_validator(mode="after")
    def _group_labels(self) -> TaskSpec:
        unknown = sorted(set(self.group_labels) - set(self.group_columns))
        if unknown:
            near = {c for u in unknown for c in difflib.get_close_matches(u, self.group_columns)}
            hint = f" (did you mean {', '.join(sorted(near))}?)" if near else ""
            raise ValueError(
                f"group_labels names {', '.join(unknown)}, which is not in group_columns "
                f"{self.group_columns}{hint}; label the values of a declared group column"
            )
        # bins under a name no group column has would never be read: the column they were
        # meant for is then grouped by each of its values
        unbinned = sorted(set(self.group_bins) - set(self.group_columns))
        if unbinned:
            near = {c for u in unbinned for c in difflib.get_close_matches(u, self.group_columns)}
            hint = f" (did you mean {', '.join(sorted(near))}?)" if near else ""
            raise ValueError(
                f"group_bins names {', '.join(unbinned)}, which is not in group_columns "
                f"{self.group_columns}{hint}; bin a declared group column"
            )
        # checked here, so `harness validate` refuses them (the fairness suite refused them
        # job by job), as it does the suite's own `bins`
        for column, edges in self.group_bins.items():
            problem = edges_problem(f"group_bins.{column}", edges)
            if problem:
                raise ValueError(problem)
        return self


def _refuse_repeats(spec: TaskSpec) -> None:
    """A list whose entries are positions (features, classes, categories, ordinal values) or
    names (group columns) holds each once: a repeated feature is fed twice, a repeated one-hot
    category is a feature that is always 0, a repeated ordinal value reads as its last
    position (the others never used), a repeated class name makes two classes one, a repeated
    corruption cell is loaded twice (its sample ids twice)."""
    lists: list[tuple[str, Sequence[object] | None, str]] = [
        ("feature_columns", spec.feature_columns, "list each feature once"),
        ("group_columns", spec.group_columns, "list each group column once"),
        ("class_names", spec.class_names, "every class needs its own name"),
        ("corruptions", spec.corruptions, "list each corruption once"),
        ("severities", spec.severities, "list each severity once"),
    ]
    lists += [(f"one_hot.{c}", v, "list each category once") for c, v in spec.one_hot.items()]
    lists += [(f"ordinal.{c}", v, "list each value once") for c, v in spec.ordinal.items()]
    for key, values, fix in lists:
        seen: set[object] = set()
        for value in values or ():
            if value in seen:
                raise ValueError(f"{key} names {value!r} twice; {fix}")
            seen.add(value)
        texts = [v for v in values or () if isinstance(v, str)]
        composed = [unicodedata.normalize("NFC", v) for v in texts]
        if len(set(composed)) < len(composed):  # `café` composed and decomposed print alike
            twice, form = next(
                (v, c)
                for v, c in zip(texts, composed, strict=True)
                if composed.count(c) > 1 and v != c
            )
            raise ValueError(
                f"{key} names {form!r} twice (written two ways that print alike: "
                f"{ascii(twice)} is Unicode's decomposed form of {ascii(form)}); {fix}"
            )


def _refuse_label_as_input(spec: TaskSpec) -> None:
    """The label column among the model's inputs (the answer given with the question: any
    accuracy then means nothing; harness.evaluate refuses it too) or as the ids (read as text,
    the labels were then refused as text)."""
    label = spec.label_column
    if label is None:
        return
    if label in (spec.feature_columns or ()):
        raise ValueError(
            f"feature_columns: {label!r} is the label column (label_column); leave it out of "
            "the model's inputs"
        )
    if spec.input_column == label:
        raise ValueError(
            f"input_column: {label!r} is the label column (label_column); name the input column"
        )
    if spec.id_column == label:
        raise ValueError(
            f"id_column: {label!r} is the label column (label_column); name a column of sample "
            "ids, or leave id_column out to number the rows"
        )


def _refuse_empty_lists(spec: TaskSpec) -> None:
    """Lists the spec alone shows cannot describe the task (each refused by the run, job by
    job, while `harness validate` called the spec valid): a one-hot or ordinal list without an
    entry (every cell then unlisted), one class name, a class count its names contradict; and
    a feature list without an entry, which read as every column (as if the key were absent)."""
    if spec.feature_columns is not None and not spec.feature_columns:
        raise ValueError(
            "feature_columns lists no column; list the model's input columns, or leave "
            "feature_columns out for every column except the label, id and group columns"
        )
    for key, values in [*spec.one_hot.items(), *spec.ordinal.items()]:
        if values is not None and not values:
            if key in spec.one_hot:
                raise ValueError(
                    f"one_hot.{key} lists no category; list them, or null for the sorted values "
                    "found in the splits"
                )
            raise ValueError(f"ordinal.{key} lists no value; list them in order")
    names = spec.class_names
    if names is not None and len(names) == 1:
        raise ValueError(
            f"class_names lists 1 class; a classifier needs at least 2 (got {names!r})"
        )
    if names and spec.num_classes is not None and spec.num_classes != len(names):
        raise ValueError(
            f"num_classes is {spec.num_classes} but class_names lists {len(names)} classes; "
            "drop num_classes or make them agree"
        )


def _cell_text(value: Any) -> Any:
    """A listed number as a table's cell reads it (`1`, `1.0` -> '1'; `2.5` -> '2.5'; `0.00001`
    -> '0.00001'; `1.0e20` -> '1e+20': Arrow's text of the float, as `table_columns.coded`
    writes a cell); other values as they are (text kept, true/false, NaN, infinities and
    numbers beyond a float left to the type check)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, int) and -INT64 <= value < INT64:
        return str(value)
    try:
        number = float(value)
    except OverflowError:
        return value
    if not math.isfinite(number):
        return value
    if number.is_integer() and -INT64 <= number < INT64:
        return str(int(number))
    import pyarrow as pa  # only for a listed fraction or a very large number

    return pa.array([number], pa.float64()).cast(pa.string())[0].as_py()
