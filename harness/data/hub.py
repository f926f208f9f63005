"""Standard benchmarks on the Hugging Face hub as catalogue tasks: `--tasks cifar10` just works.

Each `HubTask` is a task definition in the loader's own terms (a `TaskSpec`: hub id, config,
split, column names, class count) plus what the catalogue tells the user before anything is
downloaded (access, size, the dataset card its schema was checked against), and, where the raw
columns are not yet a task, a declared preparation (`harness/data/hub_recipes.py`).
Loading goes through the one reader of a source (`harness/data/source_tasks.py`); a prepared
tabular split goes through the same reader's checks and conversions from memory (and is written
once to a local Parquet folder in the cache, keyed by its content and the recipe).

Nothing here imports `datasets` or torch at import time: `harness list tasks` stays light.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
import pyarrow as pa

from harness.core.errors import DatasetError, MissingDependencyError
from harness.data.hub_recipes import OneHotGroup, StringLabels, TabularRecipe
from harness.data.task_spec import ImageTransformName, TaskSpec

if TYPE_CHECKING:
    import datasets

    from harness.core.task import Task

Access = Literal["public", "gated", "local files"]
CACHE_ENV = "HARNESS_CACHE_DIR"


def cache_root() -> Path:
    """Where prepared hub splits are kept: $HARNESS_CACHE_DIR or ~/.cache/robustness-harness."""
    root = os.environ.get(CACHE_ENV)
    return Path(root) if root else Path.home() / ".cache" / "robustness-harness"


@dataclass(frozen=True, kw_only=True)
class HubTask:
    """A catalogue task read from the hub (or from published files the user downloads).

    `spec` holds the loader's fields. `transform` names the loader's resize/crop transform for
    datasets whose images differ in size (`imagenet-eval`: shorter side 256, centre crop 224).
    `local_env` names the environment
    variable that points at user-supplied files; `snapshot` fetches a hub repository's files for
    a file-layout loader (CIFAR-10-C's `<corruption>.npy` + `labels.npy`).
    """

    name: str
    spec: TaskSpec
    access: Access
    size: str
    card: str
    about: str
    classes: tuple[str, ...] | None = None  # checked against the loaded class names
    transform: ImageTransformName | None = None
    string_labels: StringLabels | None = None
    tabular: TabularRecipe | None = None
    local_env: str | None = None
    local_hint: str = ""
    snapshot: str | None = None
    # sample ids are the row index (`sources.source_image_id`), the `source_id` of the published
    # corrupted set made from this split in this order (CIFAR-10-C, CIFAR-100-C), so rows pair
    row_index_ids: bool = False
    # a published corruption set: its rows carry `corruption`, `severity` and `source_id`
    corruption_cells: bool = False

    @property
    def modality(self) -> str:
        return self.spec.modality

    @property
    def description(self) -> str:
        return self.about

    def __call__(self) -> Task:
        """Fetch (or read), check and convert the evaluation split."""
        if self.tabular is not None:
            task = self._load_tabular(self.tabular)
        elif self.string_labels is not None:
            task = self._load_string_labels(self.string_labels)
        else:
            task = _load(self._spec(source=self._source()))
        self._check_classes(task)
        if self.row_index_ids:
            task = _row_index_ids(task)
        return replace(task, name=self.name, source=self.spec.source, description=self.about)

    def check_available(self) -> None:
        """What `harness validate` can tell without reading data: a task read from files you
        download (`local_env`) needs its variable set to a folder (the run's own message when it
        is not) that holds a published corruption layout: `labels.npy`, a file or folder named
        after a corruption, or severity folders of one corruption's folder, seen in one listing
        of the folder (the load lists the whole tree; a full ImageNet-C tree is 3.75 million
        files, too many to list at every plan)."""
        if self.local_env is None:
            return
        from harness.data.sources import PUBLISHED_CORRUPTIONS

        folder = self._source()
        try:
            names = {Path(entry).stem for entry in os.listdir(folder)}
        except OSError as err:
            raise DatasetError(
                f"task {self.name!r}: cannot list {self.local_env}={folder} "
                f"({err.strerror or err}); check the folder and its permissions"
            ) from None
        one_corruption = Path(folder).name in PUBLISHED_CORRUPTIONS and names & set("12345")
        if "labels" not in names and not names & set(PUBLISHED_CORRUPTIONS) and not one_corruption:
            raise DatasetError(
                f"task {self.name!r}: {self.local_env}={folder} holds neither labels.npy nor a "
                f"corruption's file or folder; {self.local_hint}"
            )

    def _spec(self, **changes: Any) -> TaskSpec:
        data = {**self.spec.model_dump(exclude_unset=True), **changes}
        if self.transform is not None:
            data["transform"] = self.transform
        return TaskSpec.model_validate(data)

    def _source(self) -> str:
        if self.local_env is not None:
            folder = os.environ.get(self.local_env)
            if not folder:
                raise DatasetError(
                    f"task {self.name!r} reads files you download yourself: {self.local_hint}; "
                    f"then set {self.local_env}=<that folder>"
                )
            if not Path(folder).is_dir():
                raise DatasetError(
                    f"task {self.name!r}: {self.local_env}={folder} is not a folder; "
                    f"{self.local_hint}"
                )
            return folder
        if self.snapshot is not None:
            return str(_snapshot(self.snapshot, self.spec.revision, self.name))
        return self.spec.source

    def _check_classes(self, task: Task) -> None:
        if self.classes is not None and tuple(task.class_names) != self.classes:
            raise DatasetError(
                f"task {self.name!r}: the hub data's classes {list(task.class_names)[:10]} differ "
                f"from the catalogue's {list(self.classes)[:10]}; the dataset changed upstream "
                f"(pin a revision, or report it)"
            )

    def _raw(self, split: str) -> datasets.Dataset:
        """One split of the hub dataset as published, through the loader's reader."""
        from harness.data.sources import resolve_source
        from harness.data.splits import read_split

        spec = self._spec()
        return read_split(spec, resolve_source(spec, Path.cwd(), split=split), split)

    def _load_tabular(self, recipe: TabularRecipe) -> Task:
        test_raw = _arrow(self._raw(self.spec.split))
        train_raw = None
        if self.spec.train_split is not None:
            train_raw = _arrow(self._raw(self.spec.train_split))
        return self.prepared(recipe, train_raw, test_raw)

    def prepared(
        self,
        recipe: TabularRecipe,
        train: pa.Table | None,
        test: pa.Table,
        *,
        files: str | None = None,
    ) -> Task:
        """The task `recipe` makes of raw tables in this dataset's hub layout (a seeded holdout
        of `test` when there is no `train`), built from the prepared tables in memory through
        the loader's checks and conversions. The hub's prepared splits are also written once to
        the cache (keyed by content); a recipe on the user's own `files` (`recipe_files`) is
        prepared again at each load, which costs less than writing and hashing it. Sample ids are
        `<catalogue name>-<row>` whoever asks, so the same data gives the same task fingerprint."""
        if train is None:
            train, test = recipe.split(test, self.name)
        train, test = recipe.prepare(train, test, self.name)
        if files is None:
            key = _key(self.name, train, test, recipe)
            files = str(_write_prepared(key, {"train": train, "test": test}))
        spec = TaskSpec(
            name=self.name,
            source=files,
            split="test",
            train_split="train",
            modality="tabular",
            feature_columns=recipe.feature_names(),
            label_column="label",
            group_columns=recipe.group_names(),
            class_names=list(self.classes) if self.classes else None,
            bounds=(0.0, 1.0),
            missing_values=[],
        )
        task = _from_tables(spec, train, test)
        self._check_classes(task)
        return task

    def _load_string_labels(self, labels: StringLabels) -> Task:
        import datasets as hf_datasets

        raw = self._raw(self.spec.split)
        values = pd.Series(raw[labels.column])
        classes = labels.classes(values)
        ids = labels.encode(values, classes, self.name)
        names = classes
        if labels.names_column is not None:
            by_value = dict(
                zip(values.astype(str), map(str, raw[labels.names_column]), strict=True)
            )
            names = tuple(by_value[c] for c in classes)
        keep = [c for c in raw.column_names if c == self.spec.input_column]
        table = raw.select_columns(keep).add_column(
            "label", ids.tolist(), feature=hf_datasets.ClassLabel(names=list(names))
        )
        key = _key(self.name, raw._fingerprint, labels)
        folder = _write_prepared(key, {"test": table})
        return _load(
            self._spec(
                source=str(folder), split="test", subset=None, revision=None, label_column="label"
            )
        )


def _arrow(ds: datasets.Dataset) -> pa.Table:
    """A hub split's rows as one Arrow table."""
    if ds._indices is None:
        return ds.data.table
    table = ds.with_format("arrow")[:]
    assert isinstance(table, pa.Table)
    return table


def _from_tables(spec: TaskSpec, train: pa.Table, test: pa.Table) -> Task:
    """The tabular task of prepared tables, through the loader's checks and conversions (what
    reading them back from the cache's Parquet files would give)."""
    from harness.data.splits import Split
    from harness.data.tabular_tasks import tabular_task

    def rows(table: pa.Table) -> Split:
        return Split(table, lambda row: f"row {row + 1}")

    return tabular_task(spec, rows(test), rows(train))


def _load(spec: TaskSpec) -> Task:
    from harness.data.source_tasks import load_source_task

    return load_source_task(spec, base_dir=Path.cwd())


def _row_index_ids(task: Task) -> Task:
    """The task with sample ids `00000`, `00001`, ... (its row index in the split as published),
    which the published corrupted set gives as `source_id` of the rows made from each image."""
    from harness.core.task import SAMPLE_ID
    from harness.data.sources import source_image_id

    n = len(task)
    ids = [source_image_id(i, n) for i in range(n)]
    columns = task.data.column_names
    data = task.data.remove_columns(SAMPLE_ID).add_column(SAMPLE_ID, ids)
    return replace(task, data=data.select_columns(columns))


def _key(name: str, *parts: Any) -> str:
    """A cache key over the task name and the prepared content (tables) or recipe (anything)."""
    h = hashlib.sha256(name.encode())
    for part in parts:
        if isinstance(part, pa.Table):  # its schema and every column's values, as Arrow IPC
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, part.schema) as writer:
                writer.write_table(part.combine_chunks())
            h.update(sink.getvalue())
        else:
            h.update(json.dumps(repr(part), sort_keys=True).encode())
    return f"{name}-{h.hexdigest()[:16]}"


def _write_prepared(key: str, splits: dict[str, Any]) -> Path:
    """Write each split as `<split>.parquet` in a cache folder (once; atomic rename)."""
    import pyarrow.parquet as pq

    folder = cache_root() / "hub-tasks" / key
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{key}."))
    try:
        for split, table in splits.items():
            if isinstance(table, pa.Table):
                pq.write_table(table, tmp / f"{split}.parquet")
            else:  # a datasets.Dataset keeps its features (ClassLabel, Image) in the file
                table.to_parquet(str(tmp / f"{split}.parquet"))
        os.replace(tmp, folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not folder.is_dir():
            raise
    return folder


def _snapshot(repo: str, revision: str | None, task: str) -> Path:
    """A local copy of a hub dataset repository's data files (downloaded once, then cached)."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    except ImportError:
        raise MissingDependencyError("huggingface_hub", "hf", f"task {task!r}") from None
    from harness.data.hub_access import unreachable_error, use_hub
    from harness.data.hub_cache import hub_cache_root

    status = use_hub()
    try:
        path = snapshot_download(
            repo, repo_type="dataset", revision=revision, allow_patterns=["*.npy"]
        )
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as err:
        if not status.reachable:
            raise unreachable_error(
                f"task {task!r}: hub dataset {repo} (its .npy files)",
                status,
                f"connect once and run the task to cache them in {hub_cache_root()} (or set "
                "HF_HUB_CACHE to a cache that holds them)",
            ) from err
        raise DatasetError(
            f"task {task!r}: cannot fetch the files of hub dataset {repo!r}: "
            f"{str(err).splitlines()[0]}"
        ) from err
    return Path(path)


# ---------------------------------------------------------------------------------------------
# The definitions. Each `card` is the page whose schema (columns, features, splits) was checked.

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
DIGIT_CLASSES = tuple(str(i) for i in range(10))
IMAGENET_EVAL: ImageTransformName = "imagenet-eval"  # resize 256, centre crop 224 (the loader's)


def _image(name: str, source: str, **fields: Any) -> TaskSpec:
    return TaskSpec(name=name, source=source, modality="image", **fields)


def _tabular(name: str, source: str, recipe: TabularRecipe, **fields: Any) -> TaskSpec:
    """The raw hub split's spec: its numeric feature and label columns as published."""
    return TaskSpec(
        name=name,
        source=source,
        modality="tabular",
        feature_columns=list(recipe.numeric),
        label_column=recipe.label,
        **fields,
    )


CIFAR10 = HubTask(
    name="cifar10",
    spec=_image(
        "cifar10",
        "hf:uoft-cs/cifar10",
        subset="plain_text",
        split="test",
        input_column="img",
        num_classes=10,
        input_shape=[3, 32, 32],
    ),
    row_index_ids=True,
    classes=CIFAR10_CLASSES,
    access="public",
    size="10,000 test images 32x32; about 145 MB download (train and test)",
    card="https://huggingface.co/datasets/uoft-cs/cifar10",
    about="CIFAR-10 test split (uoft-cs/cifar10): 10 classes, 32x32 RGB, pixels in [0, 1]",
)

CIFAR100 = HubTask(
    name="cifar100",
    spec=_image(
        "cifar100",
        "hf:uoft-cs/cifar100",
        subset="cifar100",
        split="test",
        input_column="img",
        label_column="fine_label",
        num_classes=100,
        input_shape=[3, 32, 32],
    ),
    row_index_ids=True,
    access="public",
    size="10,000 test images 32x32; about 145 MB download (train and test)",
    card="https://huggingface.co/datasets/uoft-cs/cifar100",
    about="CIFAR-100 test split, the 100 fine labels (uoft-cs/cifar100; coarse_label unused)",
)

CIFAR10_C = HubTask(
    name="cifar10-c",
    spec=_image("cifar10-c", "hf:YashP54/cifar10-c", split="test", num_classes=10),
    snapshot="YashP54/cifar10-c",
    corruption_cells=True,
    access="public",
    size="19 corruptions x 5 severities x 10,000 images (950,000); about 2.9 GB of .npy files",
    card="https://huggingface.co/datasets/YashP54/cifar10-c",
    about=(
        "CIFAR-10-C (Hendrycks & Dietterich 2019), the published files (Zenodo 2535967 mirror): "
        "<corruption>.npy + labels.npy, read as corruption cells"
    ),
)

CIFAR100_C = HubTask(
    name="cifar100-c",
    spec=_image("cifar100-c", "local:cifar100-c", split="test", num_classes=100),
    local_env="HARNESS_CIFAR100_C",
    local_hint=(
        "download CIFAR-100-C (Zenodo record 3555552) and unpack it so the folder holds "
        "<corruption>.npy and labels.npy"
    ),
    corruption_cells=True,
    access="local files",
    size="19 corruptions x 5 severities x 10,000 images; 2.9 GB of .npy files",
    card="https://github.com/hendrycks/robustness (no loadable copy on the hub)",
    about="CIFAR-100-C, the published files (<corruption>.npy + labels.npy) in $HARNESS_CIFAR100_C",
)

MNIST_FULL = HubTask(
    name="mnist-full",
    spec=_image(
        "mnist-full",
        "hf:ylecun/mnist",
        subset="mnist",
        split="test",
        input_column="image",
        num_classes=10,
        input_shape=[1, 28, 28],
    ),
    classes=DIGIT_CLASSES,
    access="public",
    size="10,000 test images 28x28; about 18 MB download (train and test)",
    card="https://huggingface.co/datasets/ylecun/mnist",
    about="MNIST test split, all 10,000 images (ylecun/mnist); offline subset: task 'mnist'",
)

SVHN = HubTask(
    name="svhn",
    spec=_image(
        "svhn",
        "hf:ufldl-stanford/svhn",
        subset="cropped_digits",
        split="test",
        input_column="image",
        num_classes=10,
        input_shape=[3, 32, 32],
    ),
    classes=DIGIT_CLASSES,
    access="public",
    size="26,032 test images 32x32; about 1.1 GB download (train, test and extra)",
    card="https://huggingface.co/datasets/ufldl-stanford/svhn",
    about="SVHN cropped digits, test split (ufldl-stanford/svhn, config cropped_digits)",
)

IMAGENET_VAL = HubTask(
    name="imagenet-val",
    spec=_image(
        "imagenet-val",
        "hf:ILSVRC/imagenet-1k",
        split="validation",
        input_column="image",
        num_classes=1000,
    ),
    transform=IMAGENET_EVAL,
    access="gated",
    size="50,000 validation images, 6.4 GB (the datasets library may fetch the whole config)",
    card="https://huggingface.co/datasets/ILSVRC/imagenet-1k",
    about=(
        "ImageNet-1k validation (ILSVRC/imagenet-1k): accept the terms on the hub and log in "
        "(huggingface-cli login); resize 256, centre crop 224"
    ),
)

IMAGENET_C = HubTask(
    name="imagenet-c",
    spec=_image("imagenet-c", "local:imagenet-c", split="test", num_classes=1000),
    local_env="HARNESS_IMAGENET_C",
    local_hint=(
        "download ImageNet-C (Zenodo record 2235448) and unpack it so the folder holds "
        "<corruption>/<severity>/<wnid>/*.JPEG"
    ),
    corruption_cells=True,
    access="local files",
    size="15 corruptions x 5 severities x 50,000 images; about 65 GB",
    card="https://github.com/hendrycks/robustness (on the hub only as one repo per cell)",
    about=(
        "ImageNet-C, the published folders (<corruption>/<severity>/<wnid>, already 224 px) in "
        "$HARNESS_IMAGENET_C, read as corruption cells"
    ),
)

IMAGENET_R = HubTask(
    name="imagenet-r",
    spec=_image(
        "imagenet-r",
        "hf:axiong/imagenet-r",
        subset="test",
        split="test",
        input_column="image",
        label_column="wnid",
        num_classes=200,
    ),
    string_labels=StringLabels(column="wnid", names_column="class_name"),
    transform=IMAGENET_EVAL,
    access="public",
    size="30,000 renditions of 200 ImageNet classes; about 2.1 GB",
    card="https://huggingface.co/datasets/axiong/imagenet-r",
    about=(
        "ImageNet-R (axiong/imagenet-r): 200 classes, label = index of the wnid in sorted order "
        "(the official evaluation's); a 1000-class model needs label_map for the 200"
    ),
)

IMAGENET_A = HubTask(
    name="imagenet-a",
    spec=_image(
        "imagenet-a",
        "hf:Tsomaros/imagenet-a",
        split="train",
        input_column="image",
        num_classes=200,
    ),
    transform=IMAGENET_EVAL,
    access="public",
    size="7,500 natural adversarial images of 200 ImageNet classes; about 0.7 GB",
    card="https://huggingface.co/datasets/Tsomaros/imagenet-a",
    about=(
        "ImageNet-A (Tsomaros/imagenet-a, its single split): label = one of 200 wnids in sorted "
        "order; a 1000-class model needs label_map for the 200"
    ),
)

IMAGENET_SKETCH = HubTask(
    name="imagenet-sketch",
    spec=_image(
        "imagenet-sketch",
        "hf:songweig/imagenet_sketch",
        split="train",
        input_column="image",
        num_classes=1000,
    ),
    transform=IMAGENET_EVAL,
    access="public",
    size="50,889 sketches of the 1000 ImageNet classes; about 8.4 GB",
    card="https://huggingface.co/datasets/songweig/imagenet_sketch",
    about="ImageNet-Sketch (songweig/imagenet_sketch, its single split), ImageNet-1k label order",
)

ADULT_RECIPE = TabularRecipe(
    label="income",
    label_values=("<=50K", ">50K"),
    numeric=("age", "education.num", "capital.gain", "capital.loss", "hours.per.week"),
    one_hot={
        "workclass": (
            "Private",
            "Self-emp-not-inc",
            "Self-emp-inc",
            "Federal-gov",
            "Local-gov",
            "State-gov",
            "Without-pay",
            "Never-worked",
        ),
        "marital.status": (
            "Married-civ-spouse",
            "Divorced",
            "Never-married",
            "Separated",
            "Widowed",
            "Married-spouse-absent",
            "Married-AF-spouse",
        ),
        "occupation": (
            "Tech-support",
            "Craft-repair",
            "Other-service",
            "Sales",
            "Exec-managerial",
            "Prof-specialty",
            "Handlers-cleaners",
            "Machine-op-inspct",
            "Adm-clerical",
            "Farming-fishing",
            "Transport-moving",
            "Priv-house-serv",
            "Protective-serv",
            "Armed-Forces",
        ),
        "relationship": (
            "Wife",
            "Own-child",
            "Husband",
            "Not-in-family",
            "Other-relative",
            "Unmarried",
        ),
    },
    groups=("sex", "race"),
    holdout=0.3,
)
ADULT = HubTask(
    name="adult",
    spec=_tabular("adult", "hf:AiresPucrs/adult-census-income", ADULT_RECIPE, split="train"),
    tabular=ADULT_RECIPE,
    classes=("<=50K", ">50K"),
    access="public",
    size="32,561 people (30% seeded stratified test split: 9,768); 0.6 MB",
    card="https://huggingface.co/datasets/AiresPucrs/adult-census-income",
    about=(
        "Adult census income >50K; sensitive attributes sex and race (groups, not inputs); "
        "5 numeric features scaled to [0, 1] + one-hot workclass, marital status, occupation, "
        "relationship"
    ),
)

COMPAS_RECIPE = TabularRecipe(
    label="is_recid",
    numeric=(
        "age",
        "priors_count",
        "days_b_screening_arrest",
        "c_jail_time",
        "juv_fel_count",
        "juv_other_count",
        "juv_misd_count",
        "c_charge_degree:F",
        "c_charge_degree:M",
    ),
    one_hot_groups={
        "race": OneHotGroup(
            prefix="race:",
            values=(
                "African-American",
                "Asian",
                "Caucasian",
                "Hispanic",
                "Native_American",
                "Other",
            ),
        ),
        "sex": OneHotGroup(prefix="sex:", values=("Female", "Male")),
    },
)
COMPAS = HubTask(
    name="compas",
    spec=_tabular(
        "compas", "hf:imodels/compas-recidivism", COMPAS_RECIPE, split="test", train_split="train"
    ),
    tabular=COMPAS_RECIPE,
    classes=("no recidivism", "recidivism"),
    access="public",
    size="ProPublica two-year COMPAS data after their filters, train/test as published; 0.5 MB",
    card="https://huggingface.co/datasets/imodels/compas-recidivism",
    about=(
        "COMPAS recidivism (is_recid) as cleaned by imodels; sensitive attributes race and sex "
        "(decoded from their one-hot columns, not inputs); 9 features scaled to [0, 1]"
    ),
)

GERMAN_RECIPE = TabularRecipe(
    label="Risk",
    label_values=("bad", "good"),
    numeric=("Age", "Job", "Credit amount", "Duration"),
    one_hot={
        "Housing": ("own", "free", "rent"),
        "Saving accounts": ("little", "moderate", "quite rich", "rich"),
        "Checking account": ("little", "moderate", "rich"),
        "Purpose": (
            "car",
            "furniture/equipment",
            "radio/TV",
            "domestic appliances",
            "repairs",
            "education",
            "business",
            "vacation/others",
        ),
    },
    groups=("Sex",),
    age_bands=("Age", (0.0, 25.0, 200.0), ("<25", "25+")),
    holdout=0.3,
)
GERMAN_CREDIT = HubTask(
    name="german-credit",
    spec=_tabular(
        "german-credit", "hf:AiresPucrs/german-credit-data", GERMAN_RECIPE, split="train"
    ),
    tabular=GERMAN_RECIPE,
    classes=("bad", "good"),
    access="public",
    size="1,000 applicants (30% seeded stratified test split: 300); 14 kB",
    card="https://huggingface.co/datasets/AiresPucrs/german-credit-data",
    about=(
        "German credit risk (good/bad); sensitive attributes Sex and age band (<25, 25+); "
        "4 numeric features scaled to [0, 1] + one-hot housing, savings, checking, purpose"
    ),
)

SST2 = HubTask(
    name="sst2",
    spec=TaskSpec(
        name="sst2",
        source="hf:stanfordnlp/sst2",
        split="validation",
        modality="text",
        input_column="sentence",
        id_column="idx",
        num_classes=2,
    ),
    classes=("negative", "positive"),
    access="public",
    size="872 validation sentences (the test split has no labels); about 3 MB",
    card="https://huggingface.co/datasets/stanfordnlp/sst2",
    about="SST-2 (GLUE) validation split, the number papers report: negative / positive",
)

IMDB = HubTask(
    name="imdb",
    spec=TaskSpec(
        name="imdb",
        source="hf:stanfordnlp/imdb",
        subset="plain_text",
        split="test",
        modality="text",
        input_column="text",
        num_classes=2,
    ),
    classes=("neg", "pos"),
    access="public",
    size="25,000 test reviews; about 84 MB download (train, test and unsupervised)",
    card="https://huggingface.co/datasets/stanfordnlp/imdb",
    about="IMDB movie reviews, test split: neg / pos",
)

AG_NEWS = HubTask(
    name="ag-news",
    spec=TaskSpec(
        name="ag-news",
        source="hf:fancyzhx/ag_news",
        split="test",
        modality="text",
        input_column="text",
        num_classes=4,
    ),
    classes=("World", "Sports", "Business", "Sci/Tech"),
    access="public",
    size="7,600 test articles; about 19 MB download (train and test)",
    card="https://huggingface.co/datasets/fancyzhx/ag_news",
    about="AG News topic classification, test split: World / Sports / Business / Sci/Tech",
)

HUB_TASKS: dict[str, HubTask] = {
    t.name: t
    for t in (
        CIFAR10,
        CIFAR100,
        CIFAR10_C,
        CIFAR100_C,
        MNIST_FULL,
        SVHN,
        IMAGENET_VAL,
        IMAGENET_C,
        IMAGENET_R,
        IMAGENET_A,
        IMAGENET_SKETCH,
        ADULT,
        COMPAS,
        GERMAN_CREDIT,
        SST2,
        IMDB,
        AG_NEWS,
    )
}
