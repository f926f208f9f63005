"""The hub task definitions, loaded offline from fixtures that mimic each dataset's schema exactly.

`datasets.load_dataset` is replaced by a fake hub holding, per (repo, config, split), a small
`datasets.Dataset` with the same features as the dataset card declares (column names, feature
types, ClassLabel names). Every definition then goes through the real loader, so a wrong column
name, config, split or label map in the catalogue fails here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pytest
from PIL import Image

from harness.core.errors import DatasetError
from harness.data import hub
from harness.data.catalogue import BUILTIN_INFO, BUILTIN_TASKS, task_registry
from harness.data.task_spec import TaskSpec
from tests.data.layouts import cifar_c, image_folder, imagenet_c

CIFAR100_FINE = [f"fine{i}" for i in range(100)]
WNIDS_1K = [f"n{i:08d}" for i in range(1000)]
WNIDS_200 = sorted(f"n{i:08d}" for i in range(0, 2000, 10))


def _images(n: int, size: int, mode: str, seed: int) -> list[Image.Image]:
    gen = np.random.default_rng(seed)
    channels = 3 if mode == "RGB" else 1
    arrays = gen.integers(0, 256, (n, size, size, channels), dtype=np.uint8)
    return [Image.fromarray(a if channels == 3 else a[..., 0], mode=mode) for a in arrays]


def _cycle(values: list[Any], n: int) -> list[Any]:
    return [values[i % len(values)] for i in range(n)]


def _image_set(n: int, size: int, mode: str, column: str, names: list[str]) -> datasets.Dataset:
    return datasets.Dataset.from_dict(
        {column: _images(n, size, mode, seed=n), "label": _cycle(list(range(len(names))), n)},
        features=datasets.Features(
            {column: datasets.Image(), "label": datasets.ClassLabel(names=names)}
        ),
    )


def _cifar100() -> datasets.Dataset:
    n = 12
    return datasets.Dataset.from_dict(
        {
            "img": _images(n, 32, "RGB", 1),
            "fine_label": _cycle([0, 26, 99], n),
            "coarse_label": _cycle([4, 13, 19], n),
        },
        features=datasets.Features(
            {
                "img": datasets.Image(),
                "fine_label": datasets.ClassLabel(names=CIFAR100_FINE),
                "coarse_label": datasets.ClassLabel(names=[f"coarse{i}" for i in range(20)]),
            }
        ),
    )


def _imagenet_r(wnid_set: list[str] | None = None) -> datasets.Dataset:
    """axiong/imagenet-r: image, wnid, class_name (no integer label); rows in an unsorted order."""
    wnid_set = wnid_set or list(reversed(WNIDS_200))
    n = len(wnid_set) + 4
    wnids = _cycle(wnid_set, n)
    names = {w: f"class-{w}" for w in wnid_set}
    return datasets.Dataset.from_dict(
        {"image": _images(n, 8, "RGB", 2), "wnid": wnids, "class_name": [names[w] for w in wnids]},
        features=datasets.Features(
            {
                "image": datasets.Image(),
                "wnid": datasets.Value("string"),
                "class_name": datasets.Value("string"),
            }
        ),
    )


def _text(column: str, names: list[str], n: int, with_idx: bool = False) -> datasets.Dataset:
    feats: dict[str, Any] = {}
    data: dict[str, list[Any]] = {}
    if with_idx:
        feats["idx"] = datasets.Value("int32")
        data["idx"] = list(range(100, 100 + n))
    feats[column] = datasets.Value("string")
    data[column] = [f"text number {i}" for i in range(n)]
    feats["label"] = datasets.ClassLabel(names=names)
    data["label"] = _cycle(list(range(len(names))), n)
    return datasets.Dataset.from_dict(data, features=datasets.Features(feats))


ADULT_FEATURES = datasets.Features(
    {
        "age": datasets.Value("int64"),
        "workclass": datasets.Value("string"),
        "fnlwgt": datasets.Value("int64"),
        "education": datasets.Value("string"),
        "education.num": datasets.Value("int64"),
        "marital.status": datasets.Value("string"),
        "occupation": datasets.Value("string"),
        "relationship": datasets.Value("string"),
        "race": datasets.Value("string"),
        "sex": datasets.Value("string"),
        "capital.gain": datasets.Value("int64"),
        "capital.loss": datasets.Value("int64"),
        "hours.per.week": datasets.Value("int64"),
        "native.country": datasets.Value("string"),
        "income": datasets.Value("string"),
    }
)


def _adult(n: int = 40) -> datasets.Dataset:
    gen = np.random.default_rng(3)
    return datasets.Dataset.from_dict(
        {
            "age": gen.integers(17, 90, n).tolist(),
            "workclass": _cycle(["Private", "?", "State-gov", "Self-emp-inc"], n),
            "fnlwgt": gen.integers(10_000, 500_000, n).tolist(),
            "education": _cycle(["HS-grad", "Bachelors"], n),
            "education.num": gen.integers(1, 16, n).tolist(),
            "marital.status": _cycle(["Never-married", "Married-civ-spouse", "Divorced"], n),
            "occupation": _cycle(["Sales", "?", "Exec-managerial"], n),
            "relationship": _cycle(["Husband", "Not-in-family", "Own-child"], n),
            "race": _cycle(["White", "Black", "Asian-Pac-Islander"], n),
            "sex": _cycle(["Male", "Female"], n),
            "capital.gain": _cycle([0, 0, 0, 99999], n),
            "capital.loss": _cycle([0, 1902], n),
            "hours.per.week": gen.integers(1, 99, n).tolist(),
            "native.country": _cycle(["United-States", "Mexico"], n),
            "income": _cycle(["<=50K", "<=50K", ">50K"], n),
        },
        features=ADULT_FEATURES,
    )


COMPAS_NUMERIC = ["age", "priors_count", "days_b_screening_arrest", "c_jail_time"]
COMPAS_COUNTS = ["juv_fel_count", "juv_other_count", "juv_misd_count"]
COMPAS_DUMMIES = [
    "c_charge_degree:F",
    "c_charge_degree:M",
    "race:African-American",
    "race:Asian",
    "race:Caucasian",
    "race:Hispanic",
    "race:Native_American",
    "race:Other",
    "age_cat:25_-_45",
    "age_cat:Greater_than_45",
    "age_cat:Less_than_25",
    "sex:Female",
    "sex:Male",
]


def _compas(n: int, seed: int) -> datasets.Dataset:
    """The imodels CSV: the ProPublica columns kept, get_dummies(prefix_sep=':'), is_recid last."""
    gen = np.random.default_rng(seed)
    data: dict[str, list[Any]] = {
        "age": gen.integers(18, 70, n).tolist(),
        "priors_count": gen.integers(0, 20, n).tolist(),
        "days_b_screening_arrest": gen.integers(-30, 30, n).astype(float).tolist(),
        "c_jail_time": gen.integers(0, 100, n).astype(float).tolist(),
    }
    for col in COMPAS_COUNTS:
        data[col] = gen.integers(0, 3, n).tolist()
    charge = gen.integers(0, 2, n)
    race = np.arange(n) % 6
    age_cat = gen.integers(0, 3, n)
    sex = np.arange(n) % 2
    for j, col in enumerate(COMPAS_DUMMIES[:2]):
        data[col] = (charge == j).astype(int).tolist()
    for j, col in enumerate(COMPAS_DUMMIES[2:8]):
        data[col] = (race == j).astype(int).tolist()
    for j, col in enumerate(COMPAS_DUMMIES[8:11]):
        data[col] = (age_cat == j).astype(int).tolist()
    for j, col in enumerate(COMPAS_DUMMIES[11:]):
        data[col] = (sex == j).astype(int).tolist()
    data["is_recid"] = _cycle([0, 1, 1], n)
    feats = {c: datasets.Value("int64") for c in data}
    feats.update({c: datasets.Value("float64") for c in COMPAS_NUMERIC[2:]})
    return datasets.Dataset.from_dict(data, features=datasets.Features(feats))


def _german(n: int = 30) -> datasets.Dataset:
    gen = np.random.default_rng(4)
    return datasets.Dataset.from_dict(
        {
            "Age": _cycle([19, 22, 35, 60], n),
            "Sex": _cycle(["male", "female"], n),
            "Job": gen.integers(0, 4, n).tolist(),
            "Housing": _cycle(["own", "free", "rent"], n),
            "Saving accounts": _cycle(["little", None, "quite rich"], n),
            "Checking account": _cycle([None, "moderate", "rich"], n),
            "Credit amount": gen.integers(250, 18_000, n).tolist(),
            "Duration": gen.integers(4, 72, n).tolist(),
            "Purpose": _cycle(["radio/TV", "car", "vacation/others"], n),
            "Risk": _cycle(["good", "good", "bad"], n),
        },
        features=datasets.Features(
            {
                "Age": datasets.Value("int64"),
                "Sex": datasets.Value("string"),
                "Job": datasets.Value("int64"),
                "Housing": datasets.Value("string"),
                "Saving accounts": datasets.Value("string"),
                "Checking account": datasets.Value("string"),
                "Credit amount": datasets.Value("int64"),
                "Duration": datasets.Value("int64"),
                "Purpose": datasets.Value("string"),
                "Risk": datasets.Value("string"),
            }
        ),
    )


# (repo, config, split) -> fixture, exactly as each card declares them
FAKE_HUB: dict[tuple[str, str | None, str], Callable[[], datasets.Dataset]] = {
    ("uoft-cs/cifar10", "plain_text", "test"): lambda: _image_set(
        12, 32, "RGB", "img", list(hub.CIFAR10_CLASSES)
    ),
    ("uoft-cs/cifar100", "cifar100", "test"): _cifar100,
    ("ylecun/mnist", "mnist", "test"): lambda: _image_set(
        12, 28, "L", "image", list(hub.DIGIT_CLASSES)
    ),
    ("ufldl-stanford/svhn", "cropped_digits", "test"): lambda: _image_set(
        12, 32, "RGB", "image", list(hub.DIGIT_CLASSES)
    ),
    ("ILSVRC/imagenet-1k", None, "validation"): lambda: _image_set(10, 8, "RGB", "image", WNIDS_1K),
    ("songweig/imagenet_sketch", None, "train"): lambda: _image_set(
        10, 8, "RGB", "image", WNIDS_1K
    ),
    ("Tsomaros/imagenet-a", None, "train"): lambda: _image_set(10, 8, "RGB", "image", WNIDS_200),
    ("axiong/imagenet-r", "test", "test"): _imagenet_r,
    ("stanfordnlp/sst2", None, "validation"): lambda: _text(
        "sentence", ["negative", "positive"], 9, with_idx=True
    ),
    ("stanfordnlp/imdb", "plain_text", "test"): lambda: _text("text", ["neg", "pos"], 8),
    ("fancyzhx/ag_news", None, "test"): lambda: _text(
        "text", ["World", "Sports", "Business", "Sci/Tech"], 8
    ),
    ("AiresPucrs/adult-census-income", None, "train"): _adult,
    ("imodels/compas-recidivism", None, "train"): lambda: _compas(36, 5),
    ("imodels/compas-recidivism", None, "test"): lambda: _compas(12, 6),
    ("AiresPucrs/german-credit-data", None, "train"): _german,
}


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[tuple[Any, ...]]]:
    """`datasets.load_dataset` answers hub ids from FAKE_HUB (and refuses anything else);
    local builders (parquet) pass through. Prepared splits go to a temporary cache."""
    real = datasets.load_dataset
    calls: list[tuple[Any, ...]] = []

    def load_dataset(path: str, name: str | None = None, **kw: Any) -> datasets.Dataset:
        if path in {"parquet", "csv", "json", "imagefolder"}:
            return real(path, name, **kw)
        calls.append((path, name, kw.get("split"), kw.get("revision")))
        key = (path, name, kw.get("split"))
        if key not in FAKE_HUB:
            raise ValueError(f"Unknown split or config {key}")
        return FAKE_HUB[key]()

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    monkeypatch.setenv(hub.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    yield calls


def _load(name: str) -> Any:
    return task_registry().load(name)()


@pytest.mark.parametrize(
    ("name", "n", "shape", "k"),
    [
        ("cifar10", 12, (3, 32, 32), 10),
        ("cifar100", 12, (3, 32, 32), 100),
        ("mnist-full", 12, (1, 28, 28), 10),
        ("svhn", 12, (3, 32, 32), 10),
    ],
)
def test_small_image_benchmarks_load_from_their_schema(
    fake_hub: list[tuple[Any, ...]], name: str, n: int, shape: tuple[int, ...], k: int
) -> None:
    task = _load(name)
    assert (task.name, len(task), task.input_shape, task.num_classes) == (name, n, shape, k)
    assert task.modality == "image" and task.bounds == (0.0, 1.0)
    assert task.source == hub.HUB_TASKS[name].spec.source
    inputs = task.all_inputs()
    assert float(inputs.min()) >= 0.0 and float(inputs.max()) <= 1.0
    repo, config = task.source[3:], hub.HUB_TASKS[name].spec.subset
    assert fake_hub == [(repo, config, hub.HUB_TASKS[name].spec.split, None)]


def test_cifar10_labels_and_classes(fake_hub: list[tuple[Any, ...]]) -> None:
    task = _load("cifar10")
    assert task.class_names == hub.CIFAR10_CLASSES
    assert list(task.labels) == _cycle(list(range(10)), 12)


def test_cifar100_reads_the_fine_labels(fake_hub: list[tuple[Any, ...]]) -> None:
    task = _load("cifar100")
    assert task.class_names == tuple(CIFAR100_FINE)
    assert sorted(set(task.labels)) == [0, 26, 99]


@pytest.mark.parametrize(
    ("name", "n", "k"),
    [("imagenet-val", 10, 1000), ("imagenet-sketch", 10, 1000), ("imagenet-a", 10, 200)],
)
def test_imagenet_family_loads_and_asks_for_the_eval_transform(
    fake_hub: list[tuple[Any, ...]], name: str, n: int, k: int
) -> None:
    definition = hub.HUB_TASKS[name]
    assert definition.transform == "imagenet-eval"
    assert definition._spec().transform == "imagenet-eval"
    task = _load(name)  # 8x8 fixture images come out 224x224, as ImageNet images do
    assert (len(task), task.num_classes, task.input_shape) == (n, k, (3, 224, 224))


def test_imagenet_r_labels_are_sorted_wnids_named_by_class_name(
    fake_hub: list[tuple[Any, ...]],
) -> None:
    task = _load("imagenet-r")
    # classes: the 200 wnids in sorted order (the official evaluation's); names from class_name
    assert task.num_classes == 200
    assert task.class_names == tuple(f"class-{w}" for w in WNIDS_200)
    rows = _cycle(list(reversed(WNIDS_200)), 204)
    assert list(task.labels) == [WNIDS_200.index(w) for w in rows]
    assert task.source == "hf:axiong/imagenet-r"


def test_imagenet_r_with_classes_missing_is_refused(
    fake_hub: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    partial = lambda: _imagenet_r(WNIDS_200[:3])  # noqa: E731
    monkeypatch.setitem(FAKE_HUB, ("axiong/imagenet-r", "test", "test"), partial)
    with pytest.raises(DatasetError, match="num_classes 200 but 3 class names"):
        _load("imagenet-r")


@pytest.mark.parametrize(
    ("name", "n", "classes"),
    [
        ("sst2", 9, ("negative", "positive")),
        ("imdb", 8, ("neg", "pos")),
        ("ag-news", 8, ("World", "Sports", "Business", "Sci/Tech")),
    ],
)
def test_text_benchmarks(
    fake_hub: list[tuple[Any, ...]], name: str, n: int, classes: tuple[str, ...]
) -> None:
    task = _load(name)
    assert (task.modality, len(task), task.class_names, task.bounds) == ("text", n, classes, None)
    batch = next(task.batches(4))
    assert batch.inputs[0] == "text number 0"
    if name == "sst2":  # GLUE's idx names the samples
        assert task.sample_ids[:2] == ["100", "101"]


def test_adult_encodes_scales_and_declares_sensitive_groups(
    fake_hub: list[tuple[Any, ...]],
) -> None:
    task = _load("adult")
    recipe = hub.ADULT_RECIPE
    assert task.modality == "tabular" and task.class_names == ("<=50K", ">50K")
    assert task.group_columns == ("sex", "race")
    assert task.input_shape == (len(recipe.feature_names()),) == (5 + 8 + 7 + 14 + 6,)
    assert len(task) == 12 and task.train is not None and len(task.train) == 28  # 30% holdout
    x = task.all_inputs().numpy()
    assert x.min() >= 0.0 and x.max() <= 1.0 and task.bounds == (0.0, 1.0)
    # one-hot blocks: at most one category set ("?" is the all-zero vector)
    workclass = x[:, 5:13]
    assert set(workclass.sum(axis=1)) <= {0.0, 1.0} and workclass.sum() > 0
    assert set(task.groups()["sex"]) == {"Male", "Female"}
    # the holdout keeps the label mix: 1/3 of rows are >50K in both splits
    assert abs(task.labels.mean() - 1 / 3) < 0.1


def test_compas_decodes_race_and_sex_from_one_hot_columns(
    fake_hub: list[tuple[Any, ...]],
) -> None:
    task = _load("compas")
    assert task.group_columns == ("race", "sex")
    assert len(task) == 12 and len(task.train) == 36  # the published train/test files
    groups = task.groups()
    expected_race = _cycle(
        ["African-American", "Asian", "Caucasian", "Hispanic", "Native_American", "Other"], 12
    )
    assert list(groups["race"]) == expected_race
    assert list(groups["sex"]) == _cycle(["Female", "Male"], 12)
    assert task.input_shape == (9,) and task.class_names == ("no recidivism", "recidivism")
    assert list(task.labels) == _cycle([0, 1, 1], 12)


def test_german_credit_groups_sex_and_age_band(fake_hub: list[tuple[Any, ...]]) -> None:
    task = _load("german-credit")
    assert task.group_columns == ("Sex", "Age_band")
    assert task.class_names == ("bad", "good")
    assert set(task.groups()["Age_band"]) == {"<25", "25+"}
    assert task.input_shape == (4 + 3 + 4 + 3 + 8,)
    assert len(task) + len(task.train) == 30


def test_a_renamed_hub_column_is_one_clear_error(
    fake_hub: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    renamed = lambda: _adult().rename_column("income", "target")  # noqa: E731
    monkeypatch.setitem(FAKE_HUB, ("AiresPucrs/adult-census-income", None, "train"), renamed)
    with pytest.raises(DatasetError, match=r"'income'.*not found.*target"):
        _load("adult")


def test_changed_upstream_classes_are_refused(
    fake_hub: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    other = lambda: _image_set(12, 32, "RGB", "img", [f"c{i}" for i in range(10)])  # noqa: E731
    monkeypatch.setitem(FAKE_HUB, ("uoft-cs/cifar10", "plain_text", "test"), other)
    with pytest.raises(DatasetError, match="differ from the catalogue"):
        _load("cifar10")


def test_prepared_splits_are_cached_by_content(
    fake_hub: list[tuple[Any, ...]], tmp_path: Path
) -> None:
    first = _load("german-credit")
    folders = list((tmp_path / "cache" / "hub-tasks").iterdir())
    second = _load("german-credit")
    assert list((tmp_path / "cache" / "hub-tasks").iterdir()) == folders
    assert first.fingerprint == second.fingerprint


def _npy_layout(folder: Path, n: int = 4) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    gen = np.random.default_rng(0)
    for corruption in ("gaussian_noise", "fog"):
        np.save(
            folder / f"{corruption}.npy", gen.integers(0, 256, (5 * n, 32, 32, 3), dtype=np.uint8)
        )
    np.save(folder / "labels.npy", np.tile(np.arange(n) % 10, 5).astype(np.int64))


def test_cifar10_c_fetches_the_published_files_and_hands_the_folder_to_the_loader(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    snapshot = tmp_path / "snapshot"
    _npy_layout(snapshot)
    asked: list[tuple[Any, ...]] = []

    def fake_snapshot(repo: str, **kw: Any) -> str:
        asked.append((repo, kw.get("repo_type"), kw.get("allow_patterns")))
        return str(snapshot)

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    seen: list[TaskSpec] = []
    monkeypatch.setattr(hub, "_load", lambda spec: seen.append(spec) or _stop())
    with pytest.raises(_Stop):
        hub.CIFAR10_C()
    assert asked == [("YashP54/cifar10-c", "dataset", ["*.npy"])]
    assert seen[0].source == str(snapshot) and seen[0].modality == "image"


def test_cifar10_c_loads_the_published_layout_as_corruption_cells(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    snapshot = tmp_path / "snapshot"
    _npy_layout(snapshot, n=4)
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda repo, **kw: str(snapshot))
    task = _load("cifar10-c")
    assert (task.name, task.source, task.num_classes) == ("cifar10-c", "hf:YashP54/cifar10-c", 10)
    assert len(task) == 2 * 5 * 4  # 2 corruptions x 5 severities x 4 images
    assert task.cell_columns == ("corruption", "severity")
    cells = task.data.select_columns(["corruption", "severity"]).to_pandas()
    assert set(cells["corruption"]) == {"gaussian_noise", "fog"}
    assert sorted(set(cells["severity"].astype(int))) == [1, 2, 3, 4, 5]


def test_imagenet_c_loads_the_users_folders_as_cells(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = tmp_path / "ImageNet-C"
    for corruption in ("fog", "snow"):
        for severity in (1, 5):
            for wnid in WNIDS_1K[:1000]:
                folder = root / corruption / str(severity) / wnid
                folder.mkdir(parents=True)
                if wnid in WNIDS_1K[:2]:
                    _images(1, 8, "RGB", severity)[0].save(folder / "img.png")
    monkeypatch.setenv("HARNESS_IMAGENET_C", str(root))
    task = _load("imagenet-c")
    assert len(task) == 2 * 2 * 2 and task.num_classes == 1000
    assert task.cell_columns == ("corruption", "severity")


class _Stop(Exception):
    pass


def _stop() -> None:
    raise _Stop


@pytest.mark.parametrize(
    ("name", "env"), [("cifar100-c", "HARNESS_CIFAR100_C"), ("imagenet-c", "HARNESS_IMAGENET_C")]
)
def test_user_supplied_corruption_sets_say_where_to_get_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, env: str
) -> None:
    monkeypatch.delenv(env, raising=False)
    with pytest.raises(DatasetError, match=f"set {env}=<that folder>"):
        _load(name)
    monkeypatch.setenv(env, str(tmp_path / "missing"))
    with pytest.raises(DatasetError, match="is not a folder"):
        _load(name)
    monkeypatch.setenv(env, str(tmp_path))
    seen: list[TaskSpec] = []
    monkeypatch.setattr(hub, "_load", lambda spec: seen.append(spec) or _stop())
    with pytest.raises(_Stop):
        _load(name)
    assert seen[0].source == str(tmp_path)


@pytest.mark.parametrize(
    ("name", "env"), [("cifar100-c", "HARNESS_CIFAR100_C"), ("imagenet-c", "HARNESS_IMAGENET_C")]
)
def test_validate_says_what_the_run_says_of_a_missing_download(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    env: str,
) -> None:
    """`harness validate` refuses a user-supplied corruption set whose folder is not set or does
    not exist, with the run's own line (exit 2), instead of passing a spec whose every job
    fails; a folder of the published layout passes, a folder of something else does not."""
    from harness.cli.main import main

    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"tasks: [{name}]\nmodels: [{{name: m, factory: 'tests.fixture_models:linear_digits'}}]\n"
        "suites: {accuracy: {}}\n"
    )

    def validate() -> tuple[int, list[str]]:
        code = main(["validate", str(spec)])
        err = capsys.readouterr().err
        return code, [line for line in err.splitlines() if line.startswith("error:")]

    for folder in (None, tmp_path / "missing"):
        if folder is None:
            monkeypatch.delenv(env, raising=False)
        else:
            monkeypatch.setenv(env, str(folder))
        with pytest.raises(DatasetError) as ran:
            _load(name)
        assert validate() == (2, [f"error: {ran.value}"])
    image_folder(tmp_path / "pictures", {"cat": 1})
    monkeypatch.setenv(env, str(tmp_path / "pictures"))
    code, lines = validate()
    assert code == 2 and lines[0].startswith(
        f"error: task {name!r}: {env}={tmp_path / 'pictures'} holds neither labels.npy nor a "
        "corruption's file or folder; download "
    )
    published = tmp_path / "published"
    if name == "cifar100-c":
        cifar_c(published, ("fog",))
    else:
        imagenet_c(published, ("fog",), (1, 2, 3, 4, 5))
    monkeypatch.setenv(env, str(published))
    assert validate() == (0, [])
    if name == "imagenet-c":  # one corruption's folder, as an inline task may name
        monkeypatch.setenv(env, str(published / "fog"))
        assert validate() == (0, [])


def test_every_hub_definition_is_registered_and_described() -> None:
    registry = task_registry()
    for name, definition in hub.HUB_TASKS.items():
        assert registry.entry(name).target == BUILTIN_TASKS[name]
        assert registry.load(name) is definition
        assert definition.spec.name == name and definition.size and definition.card
        assert definition.card.startswith("https://")
        assert definition.access in ("public", "gated", "local files")
    assert set(BUILTIN_INFO) | set(hub.HUB_TASKS) == set(BUILTIN_TASKS)


@pytest.mark.parametrize(("clean", "corrupted"), [("cifar10", "cifar10-c"), ("cifar100", None)])
def test_cifar_sample_ids_pair_with_the_corrupted_sets_source_ids(
    fake_hub: list[tuple[Any, ...]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    clean: str,
    corrupted: str | None,
) -> None:
    """CIFAR-10-C row i is made from clean test image i % n; its `source_id` (`00042`) is the
    clean catalogue task's sample id of that image, so the two tasks' rows pair."""
    task = _load(clean)
    n = len(task)
    assert task.sample_ids == [f"{i:05d}" for i in range(n)]
    if corrupted is None:
        return
    snapshot = tmp_path / "snapshot"
    _npy_layout(snapshot, n=n)
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda repo, **kw: str(snapshot))
    cells = _load(corrupted).cells()
    for (_name, _severity), frame in cells.groupby(["corruption", "severity"]):
        assert list(frame["source_id"]) == task.sample_ids
