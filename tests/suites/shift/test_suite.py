"""The shift suite end to end: conditions, determinism, cache, metrics, bad input, CLI + board."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.adapters.torch_module import TorchModuleAdapter
from harness.cli.main import main
from harness.core.errors import ConfigError, DatasetError
from harness.core.suite import RunContext
from harness.core.task import Task
from harness.data.builtin import digits, digits_shifted
from harness.suites.shift import ShiftSuite
from tests.fixture_models import linear_digits
from tests.suites.shift.small_tasks import image_task

CONFIG = {
    "corruptions": ["gaussian_noise", "fog"],
    "severities": [1, 5],
    "max_samples": 60,
    "shifted_tasks": ["digits-shifted"],
    "ood_sets": [{"generated": "uniform_noise", "n": 40}],
}


@pytest.fixture(scope="module")
def task():
    return digits()


def _adapter(task, seed: int = 0):
    from harness.adapters.torch_module import TorchModuleAdapter

    return TorchModuleAdapter.from_module(
        linear_digits(seed),
        name=f"lin{seed}",
        device=torch.device("cpu"),
        bounds=(0.0, 1.0),
        input_shape=task.input_shape,
        modality="image",
    )


def test_conditions_columns_and_metrics(task) -> None:
    suite = ShiftSuite(CONFIG)
    result = suite.run(_adapter(task), task, RunContext(seed=3, bootstrap_resamples=50))
    frame = result.table.frame
    conds = frame.groupby("condition").size().to_dict()
    assert conds == {
        "clean": 60,
        "corruption=fog/severity=1": 60,
        "corruption=fog/severity=5": 60,
        "corruption=gaussian_noise/severity=1": 60,
        "corruption=gaussian_noise/severity=5": 60,
        "shifted=digits-shifted": 60,
        "ood=uniform_noise": 40,
    }
    assert {"msp", "energy"} <= set(frame.columns)
    # digits-shifted holds the digits test images (shifted) under their ids: the evaluated ones
    shifted_ids = frame[frame.condition == "shifted=digits-shifted"].sample_id
    assert set(shifted_ids) == set(frame[frame.condition == "clean"].sample_id)
    m = {r.key: r for r in result.metrics}
    cells = [
        frame[frame.condition == c].correct.mean() for c in conds if c.startswith("corruption=")
    ]
    assert m["mean_corruption_acc"].value == pytest.approx(np.mean(cells))
    assert m["mean_corruption_acc"].ci is not None and m["mean_corruption_acc"].headline
    clean = frame[frame.condition == "clean"].correct.mean()
    assert m["relative_corruption_drop"].value == pytest.approx(1 - np.mean(cells) / clean)
    fog = [frame[frame.condition == f"corruption=fog/severity={s}"].correct.mean() for s in (1, 5)]
    assert m["corruption_error[corruption=fog]"].value == pytest.approx(1 - np.mean(fog))
    gap = m["shift_acc_gap[shifted=digits-shifted,n_clean=60]"]
    assert gap.value == pytest.approx(
        clean - frame[frame.condition == "shifted=digits-shifted"].correct.mean()
    )
    from harness.suites.shift.ood import scores as ood

    ood_rows = frame[frame.condition == "ood=uniform_noise"]
    clean_rows = frame[frame.condition == "clean"]
    assert m["ood_auroc[ood=uniform_noise,score=energy]"].value == pytest.approx(
        ood.auroc(clean_rows.energy.to_numpy(), ood_rows.energy.to_numpy())
    )


def test_bit_identical_rerun_and_cache_reuse(task) -> None:
    ctx = RunContext(seed=3, bootstrap_resamples=20)
    suite = ShiftSuite(CONFIG)
    first = suite.run(_adapter(task), task, ctx).table.frame
    assert suite._cache.inputs  # the corrupted inputs were cached for the next model
    fresh = ShiftSuite(CONFIG).run(_adapter(task), task, ctx).table.frame
    cached = suite.run(_adapter(task), task, ctx).table.frame
    assert first.equals(fresh) and first.equals(cached)
    torch.manual_seed(12345)  # global RNG state must not matter
    np.random.seed(1)
    assert ShiftSuite(CONFIG).run(_adapter(task), task, ctx).table.frame.equals(first)
    other_seed = ShiftSuite(CONFIG).run(
        _adapter(task), task, RunContext(seed=4, bootstrap_resamples=20)
    )
    assert not other_seed.table.frame.confidence.equals(first.confidence)


def test_recycled_output_buffers_change_no_result(task, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a cache smaller than a model's cells, new cells evict old ones, and the next
    corruption of a batch of the same shape is written into the evicted batch's memory
    (`CorruptionCache.recycled`). Buffers were recycled; every entry still in the cache holds its own
    cell's images (a buffer recycled while cached would hold another's); and two models run one
    after the other on one instance give the tables of fresh instances that never recycle."""
    import harness.suites.shift.cache as cache_module
    import harness.suites.shift.perturbations as perturbations_module
    from harness.core.seeding import sample_seeds

    config = {**CONFIG, "max_samples": 300, "shifted_tasks": [], "ood_sets": []}  # batches 256, 44
    ctx = RunContext(seed=3, bootstrap_resamples=20)
    monkeypatch.setattr(cache_module, "CACHE_BYTES", 2 * 256 * 64 * 4 + 1)
    recycled: list[int] = []
    apply = perturbations_module.apply

    def spy(*args, out=None, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        if out is not None:
            recycled.append(out.data_ptr())
        result = apply(*args, out=out, **kw)
        assert out is None or result.data_ptr() == out.data_ptr()
        return result

    monkeypatch.setattr(perturbations_module, "apply", spy)
    suite = ShiftSuite(config)
    first = suite.run(_adapter(task), task, ctx).table.frame
    assert recycled  # the fourth big cell went into the first one's memory
    evaluated = task.subset(300, seed=ctx.seed, purpose="shift/rows")
    batches = {b.sample_ids[0]: b for b in evaluated.batches(256)}
    assert len(suite._cache.inputs) >= 3
    for (_fp, family, severity, seed, _start, _n), (ids, cached) in suite._cache.inputs.items():
        seeds = sample_seeds(seed, ids, "image", family, severity)
        own = apply(batches[ids[0]].inputs, family, severity, seeds, evaluated)
        assert torch.equal(cached, own), (family, severity, len(ids))
    second = suite.run(_adapter(task, seed=1), task, ctx).table.frame
    assert len(recycled) >= 2
    monkeypatch.setattr(cache_module.CorruptionCache, "recycled", lambda self, inputs: None)
    assert first.equals(ShiftSuite(config).run(_adapter(task), task, ctx).table.frame)
    assert second.equals(ShiftSuite(config).run(_adapter(task, seed=1), task, ctx).table.frame)


def test_tabular_task_rows() -> None:
    from harness.adapters.torch_module import TorchModuleAdapter
    from harness.data.builtin import diabetes
    from tests.fixture_models import linear_tabular

    tab = diabetes()
    adapter = TorchModuleAdapter.from_module(
        linear_tabular(),
        name="lt",
        device=torch.device("cpu"),
        bounds=(0.0, 1.0),
        input_shape=tab.input_shape,
        modality="tabular",
    )
    res = ShiftSuite({"severities": [2], "shifted_tasks": ["digits-shifted"]}).run(
        adapter, tab, RunContext(bootstrap_resamples=20)
    )
    assert set(res.table.conditions()) == {
        "clean",
        "tabular=gaussian_noise/severity=2",
        "tabular=feature_dropout/severity=2",
    }
    assert any("does not apply" in n for n in res.notes)
    assert "mean_tabular_shift_acc" in {r.key for r in res.metrics}


def test_bad_config_names_key_and_close_match() -> None:
    with pytest.raises(ConfigError, match=r"suites\.shift\.corruptions.*did you mean 'fog'"):
        ShiftSuite({"corruptions": ["fogg"]})
    with pytest.raises(ConfigError, match=r"suites\.shift\.severities.*1\.\.5"):
        ShiftSuite({"severities": [0, 6]})
    with pytest.raises(ConfigError, match=r"suites\.shift\.tabular.*'fog' is a image perturbation"):
        ShiftSuite({"tabular": ["fog"]})
    with pytest.raises(ConfigError, match=r"suites\.shift\.ood_sets"):
        ShiftSuite({"ood_sets": [{"generated": "pink_noise"}]})


def test_wrong_channel_count_and_ood_shape_are_clear_errors(task) -> None:
    four = replace(task, input_shape=(4, 8, 8))
    with pytest.raises(DatasetError, match=r"images have 4 channels.*1 \(grey\) or 3 \(RGB\)"):
        ShiftSuite({"corruptions": ["fog"]}).run(_adapter(task), four, RunContext())
    suite = ShiftSuite({"corruptions": [], "ood_sets": ["digits-shifted"]})
    suite._sources.tasks["digits-shifted"] = replace(digits_shifted(), input_shape=(1, 4, 16))
    with pytest.raises(
        DatasetError,
        match=r"has input shape \(1, 4, 16\) but task 'digits' has input shape \(1, 8, 8\)",
    ):
        suite.run(_adapter(task), task, RunContext())


def test_images_too_small_to_corrupt_are_one_line_naming_the_task(task) -> None:
    """4x4 images (a user's folder of thumbnails): the corruptions' 8x8 floor is a DatasetError
    naming the task and what to declare, not the ValueError from inside `corrupt` (whose
    traceback the runner logged)."""
    import datasets

    from harness.adapters.torch_module import TorchModuleAdapter
    from harness.core.task import Task

    gen = np.random.default_rng(0)
    small = Task(
        name="thumbs",
        modality="image",
        num_classes=2,
        class_names=("a", "b"),
        input_shape=(3, 4, 4),
        bounds=(0.0, 1.0),
        data=datasets.Dataset.from_dict(
            {
                "sample_id": [f"t-{i}" for i in range(12)],
                "input": gen.random((12, 3, 4, 4)).astype(np.float32).tolist(),
                "label": [i % 2 for i in range(12)],
            }
        ),
    )
    adapter = TorchModuleAdapter.from_module(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48, 2)),
        name="thumb-net",
        device=torch.device("cpu"),
        bounds=(0.0, 1.0),
        input_shape=(3, 4, 4),
        modality="image",
    )
    with pytest.raises(DatasetError, match=r"task 'thumbs': images are 4x4 pixels.*at least 8x8"):
        ShiftSuite({"corruptions": ["fog"]}).run(adapter, small, RunContext())
    # without corruptions the rest of the suite still runs on such images
    result = ShiftSuite({"corruptions": []}).run(adapter, small, RunContext())
    assert any(r.metric == "clean_acc" for r in result.metrics)


def test_an_inline_ood_set_or_shifted_task_of_another_shape_is_told_what_to_declare(
    tmp_path: Path,
) -> None:
    """Grey OOD images beside an RGB task: the error suggests `channels: 3` on the entry (and a
    transform for another size). Validate cannot tell: it lists the folder, decoding no image."""
    from PIL import Image

    from harness.adapters.torch_module import TorchModuleAdapter
    from harness.data.loader import load_task
    from harness.data.task_spec import TaskSpec
    from tests.data.layouts import image_folder

    image_folder(tmp_path / "rgb", {"a": 3, "b": 3}, size=(8, 8))
    gen = np.random.default_rng(0)
    for folder, size in (("grey", (8, 8)), ("big", (9, 12))):
        (tmp_path / folder / "x").mkdir(parents=True)
        for i in range(4):
            pixels = gen.integers(0, 256, size, dtype=np.uint8)
            Image.fromarray(pixels, "L").save(tmp_path / folder / "x" / f"{i}.png")
    task = load_task(
        TaskSpec.model_validate({"name": "t", "source": "rgb", "modality": "image"}),
        base_dir=tmp_path,
    )
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 2))
    adapter = TorchModuleAdapter.from_module(model, name="m", input_shape=(3, 8, 8))
    cases = [
        (
            "ood_sets",
            {"label_column": None},
            "grey",
            "OOD set 'o' has input shape (1, 8, 8) but "
            "task 't' has input shape (3, 8, 8); the model can only score inputs of its task's "
            "shape; declare channels: 3 (decode as RGB) on the OOD set's entry",
        ),
        (
            "shifted_tasks",
            {"class_names": ["a", "x"]},
            "big",
            "; a shifted task needs the same "
            "input shape and label space; declare channels: 3 (decode as RGB) and a transform giving "
            "8 x 8 (resize: [8, 8], or resize: N with center_crop: 8) on the shifted task's entry",
        ),
    ]
    # the same shape and fewer classes (a folder holding some of the task's): the advice was
    # an empty "; declare  on the shifted task's entry"
    image_folder(tmp_path / "some", {"a": 3}, size=(8, 8))
    cases.append(
        (
            "shifted_tasks",
            {"channels": 3},
            "some",
            "has input shape (3, 8, 8) and 1 classes, but task 't' has (3, 8, 8) and 2; a shifted "
            "task needs the same input shape and label space; declare the task's classes on the "
            "shifted task's entry (class_names: ['a', 'b'], in task 't''s order, or num_classes: 2)",
        )
    )
    for key, extra, folder, expect in cases:
        entry = {"name": "o", "source": folder, "modality": "image", **extra}
        suite = ShiftSuite({"corruptions": [], key: [entry]})
        suite.bind_spec_folder(tmp_path)
        with pytest.raises(DatasetError) as info:
            suite.run(adapter, task, RunContext(bootstrap_resamples=0))
        assert str(info.value).endswith(expect), str(info.value)


def test_cli_run_and_board_columns(write_spec, tmp_path: Path) -> None:
    models = "".join(
        f"  - name: lin{i}\n    factory: tests.fixture_models:linear_digits\n"
        f"    factory_args: {{seed: {i}}}\n    input_shape: [1, 8, 8]\n"
        for i in range(3)
    )
    spec = write_spec(
        "name: shift-cli\nseed: 0\ndevice: cpu\nbootstrap_resamples: 50\ntasks: [digits]\n"
        f"models:\n{models}"
        "suites:\n  shift:\n    corruptions: [fog, contrast]\n    severities: [1, 3]\n"
        "    max_samples: 80\n    shifted_tasks: [digits-shifted]\n    mce_baseline: lin0\n"
    )
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out)]) == 0
    from harness.analysis.leaderboard import build_boards
    from harness.run.suite_boards import installed_suite_boards

    board = build_boards(out, suite_boards=installed_suite_boards())[0]
    assert {"mce", "relative_mce", "effective_robustness[shifted=digits-shifted]"} <= set(
        board.columns
    )
    row = {r.model: r for r in board.rows}
    assert row["lin0"].value("mce") == pytest.approx(1.0)
    # random linear models barely degrade: relative mCE may be undefined, and then says why
    rel = row["lin0"].cell("relative_mce")
    assert rel is not None
    assert (
        rel.value == pytest.approx(1.0)
        if rel.value is not None
        else "undefined" in (rel.note or "")
    )
    mce = row["lin1"].cell("mce")
    assert mce is not None and mce.ci is not None and "severities 1, 3" in (mce.note or "")
    assert "15 ImageNet-C benchmark corruptions" in (mce.note or "")
    for r in board.rows:
        er = r.cell("effective_robustness[shifted=digits-shifted]")
        assert er is not None and isinstance(er.value, float)
        # no interval only when resamples without a fitted line make it unbounded, said so
        assert er.ci is not None or "no interval" in (er.note or "")
        assert r.model not in (er.note or "").split(": ")[-1]  # never in its own testbed


def test_noop_corruptions_are_not_applicable_and_left_out(task) -> None:
    # On 8x8 digits the CIFAR blurs scaled to a quarter of their size change nothing at all.
    cfg = {"corruptions": ["defocus_blur", "fog"], "severities": [1, 3], "max_samples": 40}
    result = ShiftSuite(cfg).run(_adapter(task), task, RunContext(seed=1, bootstrap_resamples=20))
    conds = set(result.table.conditions())
    assert "corruption=defocus_blur/severity=1" not in conds
    assert "corruption=fog/severity=3" in conds
    m = {r.key: r for r in result.metrics}
    na = m["corruption_error[corruption=defocus_blur]"]
    assert na.value is None and (na.note or "").startswith("not applicable")
    fog = [result.table.condition(f"corruption=fog/severity={s}").correct.mean() for s in (1, 3)]
    assert m["mean_corruption_acc"].value == pytest.approx(np.mean(fog))
    assert "defocus_blur" in (m["mean_corruption_acc"].note or "")
    assert "defocus_blur" in result.artifacts["not_applicable"]


def test_a_severity_that_barely_changes_the_inputs_says_so(task) -> None:
    """On 8x8 digits (the quickstart's) motion blur changes the images at severity 5 but not at
    severity 1 (0.01/255 on average), so its severity-1 accuracy was clean accuracy shown as
    `motion_blur severity 1` with nothing said. The corruption stays (it is applicable), and
    that cell's record says the model saw about its clean inputs."""
    cfg = {"corruptions": ["motion_blur"], "severities": [1, 5], "max_samples": 40}
    result = ShiftSuite(cfg).run(_adapter(task), task, RunContext(seed=1, bootstrap_resamples=0))
    m = {r.key: r for r in result.metrics}
    faint = m["corruption_acc[corruption=motion_blur/severity=1]"]
    assert "on average at this severity" in (faint.note or "")
    assert "about its clean accuracy" in (faint.note or "")
    assert m["corruption_acc[corruption=motion_blur/severity=5]"].note is None
    cells = result.artifacts["faint_cells"]
    assert list(cells) == ["motion_blur/severity=1"]
    assert cells["motion_blur/severity=1"]["mean_change_x255"] < 0.5


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bounds", [(0.0, 1.0), (-1.0, 3.0)])
def test_change_sum_in_chunks_is_the_one_shot_sum(task, monkeypatch, bounds, dtype) -> None:
    """The no-op test's change, summed in chunks (small temporaries), is the same float64 sum
    of exact differences as the one-shot formula, chunk edges and bounds included."""
    from harness.suites.shift import sweep as shift_sweep

    gen = torch.Generator().manual_seed(3)
    clean = torch.rand(37, 3, 9, 7, generator=gen, dtype=dtype)
    x = clean + torch.randn(37, 3, 9, 7, generator=gen, dtype=dtype) * 1e-3
    kept = (clean.clone(), x.clone())
    bounded = replace(task, bounds=bounds)
    one_shot = float((x.double() - clean.double()).abs().sum()) / (bounds[1] - bounds[0])
    for values in (1, 189 * 5, 189 * 36, 1 << 20):  # a sample, 5, 36, all of them per chunk
        monkeypatch.setattr(shift_sweep, "_CHANGE_CHUNK_VALUES", values)
        assert shift_sweep.change_sum(clean, x, bounded) == pytest.approx(one_shot, rel=1e-13)
        assert torch.equal(clean, kept[0]) and torch.equal(x, kept[1])  # inputs untouched


def test_gallery_arrays_follow_the_convention(task) -> None:
    cfg = {"corruptions": ["fog", "contrast"], "severities": [2, 4], "max_samples": 50}
    ctx = RunContext(seed=2, bootstrap_resamples=10)
    result = ShiftSuite({**cfg, "gallery_samples": 3}).run(_adapter(task), task, ctx)
    images = result.arrays["gallery_images"]
    meta = result.artifacts["corruption_gallery"]
    assert images.dtype == np.float32 and images.shape == (2, 3, 3, 1, 8, 8)
    assert meta["corruptions"] == ["fog", "contrast"] and meta["severities"] == [0, 2, 4]
    rows = [task.sample_ids.index(sid) for sid in meta["sample_ids"]]
    assert np.array_equal(images[0, 0], task.all_inputs()[rows].numpy())  # clean at index 0
    assert float(images.min()) >= task.bounds[0] and float(images.max()) <= task.bounds[1]
    assert not np.array_equal(images[1, 2], images[1, 0])  # contrast changed the images
    labels = task.labels[rows]
    assert len(set(labels.tolist())) == 3  # stratified: three different classes
    none = ShiftSuite({**cfg, "gallery_samples": 0}).run(_adapter(task), task, ctx)
    assert none.arrays == {} and "corruption_gallery" not in none.artifacts


def test_max_samples_is_a_stratified_subset_not_the_first_rows(task) -> None:
    result = ShiftSuite({"corruptions": ["fog"], "severities": [1], "max_samples": 100}).run(
        _adapter(task), task, RunContext(seed=5, bootstrap_resamples=10)
    )
    ids = list(result.table.condition("clean").sample_id)
    assert ids != task.sample_ids[:100] and len(ids) == 100
    labels = result.table.condition("clean").label.value_counts()
    assert labels.max() - labels.min() <= 2
    assert any("stratified" in n for n in result.notes)


def test_unlabeled_ood_set_and_logit_columns(task) -> None:
    folder = image_task("unlabeled-folder", 30, labelled=False)
    suite = ShiftSuite({"corruptions": [], "ood_sets": ["unlabeled-folder"], "max_samples": 40})
    suite._sources.tasks["unlabeled-folder"] = folder
    result = suite.run(_adapter(task), task, RunContext(seed=0, bootstrap_resamples=10))
    frame = result.table.frame
    ood_rows = frame[frame.condition == "ood=unlabeled-folder"]
    assert len(ood_rows) == 30 and (ood_rows.label == -1).all()
    keys = {r.key for r in result.metrics}
    for score in ("msp", "energy", "max_logit", "neg_entropy"):
        assert f"ood_auroc[ood=unlabeled-folder,score={score}]" in keys
    clean = frame[frame.condition == "clean"].iloc[0]
    assert len(clean.top_logits) == 10 and list(clean.top_logits) == sorted(
        clean.top_logits, reverse=True
    )
    # Every score is recomputable from the kept columns (all 10 logits here).
    top = np.asarray(clean.top_logits, dtype=np.float64)
    assert clean.max_logit == pytest.approx(top[0])
    assert clean.energy == pytest.approx(clean.logsumexp)
    assert clean.msp == pytest.approx(np.exp(top[0] - clean.logsumexp))
    p = np.exp(top - clean.logsumexp)
    assert clean.entropy == pytest.approx(-(p * np.log(p)).sum())


def test_published_corrupted_set_rows_become_cells(task) -> None:
    # The convention with the data loader: cell columns `corruption` / `severity` name each row's
    # cell, `source_id` the clean image it was made from (harness/data/corruption_sets.py).
    n = 20
    cells = [("fog", 1), ("fog", 3), ("snow", 2)]
    published = image_task(
        "published-c",
        n * len(cells),
        extra={
            "corruption": [c for c, _ in cells for _ in range(n)],
            "severity": [s for _, s in cells for _ in range(n)],
            "source_id": [f"img-{i}" for i in range(n)] * len(cells),
        },
        cell_columns=("corruption", "severity"),
    )
    result = ShiftSuite({"max_samples": 12}).run(
        _adapter(task), published, RunContext(seed=0, bootstrap_resamples=10, batch_size=7)
    )
    frame = result.table.frame
    conds = frame.groupby("condition").size().to_dict()
    assert conds == {
        "corruption=fog/severity=1": 12,
        "corruption=fog/severity=3": 12,
        "corruption=snow/severity=2": 12,
    }
    # Rows are reported under their clean image's id: the same 12 images in every cell.
    by_cell = [set(frame[frame.condition == c].sample_id) for c in conds]
    assert by_cell[0] == by_cell[1] == by_cell[2] and by_cell[0] <= {f"img-{i}" for i in range(n)}
    keys = {r.key for r in result.metrics}
    assert "corruption_acc[corruption=snow/severity=2]" in keys and "mean_corruption_acc" in keys
    assert "clean_acc" not in keys and any("published" in note for note in result.notes)


def test_cifar10c_files_load_and_report_corruption_cells(task, tmp_path: Path) -> None:
    # End to end from files in the CIFAR-10-C layout through the data loader to conditions.
    from harness.data.loader import load_task
    from harness.data.task_spec import TaskSpec

    n = 6  # clean test images; each <corruption>.npy stacks the 5 severities
    gen = np.random.default_rng(0)
    for name in ("fog", "contrast"):
        np.save(tmp_path / f"{name}.npy", gen.integers(0, 256, (5 * n, 8, 8, 3), dtype=np.uint8))
    np.save(tmp_path / "labels.npy", np.tile(np.arange(n) % 10, 5).astype(np.int64))
    spec = TaskSpec.model_validate(
        {
            "name": "cifar-c",
            "source": str(tmp_path),
            "modality": "image",
            "class_names": [str(i) for i in range(10)],
            "input_shape": [3, 8, 8],
            "severities": [2, 5],
        }
    )
    loaded = load_task(spec, base_dir=tmp_path)
    assert set(loaded.cell_columns) >= {"corruption", "severity"}
    from harness.adapters.torch_module import TorchModuleAdapter

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 10))
    adapter = TorchModuleAdapter.from_module(
        model,
        name="rgb",
        device=torch.device("cpu"),
        bounds=loaded.bounds,
        input_shape=(3, 8, 8),
        modality="image",
    )
    result = ShiftSuite({}).run(adapter, loaded, RunContext(seed=0, bootstrap_resamples=10))
    conds = result.table.frame.groupby("condition").size().to_dict()
    assert conds == {f"corruption={c}/severity={s}": n for c in ("fog", "contrast") for s in (2, 5)}
    assert set(result.table.frame.sample_id) == {f"{i:05d}" for i in range(n)}
    keys = {r.key for r in result.metrics}
    assert {"corruption_error[corruption=fog]", "mean_corruption_acc"} <= keys


def test_shifted_gap_is_paired_when_the_ids_match(task) -> None:
    same_ids = replace(digits_shifted(), name="digits-moved")
    same_ids = replace(
        same_ids,
        data=same_ids.data.remove_columns("sample_id").add_column("sample_id", task.sample_ids),
    )
    suite = ShiftSuite({"corruptions": [], "shifted_tasks": ["digits-moved"], "max_samples": 80})
    suite._sources.tasks["digits-moved"] = same_ids
    result = suite.run(_adapter(task), task, RunContext(seed=0, bootstrap_resamples=200))
    frame = result.table.frame
    assert list(frame[frame.condition == "shifted=digits-moved"].sample_id) == list(
        frame[frame.condition == "clean"].sample_id
    )
    gap = next(r for r in result.metrics if r.metric == "shift_acc_gap")
    assert "paired" in (gap.note or "") and "unpaired" not in gap.note
    other_ids = replace(digits_shifted(), name="digits-other")
    other_ids = replace(
        other_ids,
        data=other_ids.data.remove_columns("sample_id").add_column(
            "sample_id", [f"other-{i:04d}" for i in range(len(other_ids))]
        ),
    )
    unpaired_suite = ShiftSuite({"corruptions": [], "shifted_tasks": ["digits-other"]})
    unpaired_suite._sources.tasks["digits-other"] = other_ids
    unpaired = unpaired_suite.run(_adapter(task), task, RunContext(seed=0, bootstrap_resamples=200))
    other = next(r for r in unpaired.metrics if r.metric == "shift_acc_gap")
    assert "unpaired" in (other.note or "")
    assert other.ci is not None and "independent proportions" in (other.ci_method or "")
    assert other.ci[0] < other.value < other.ci[1]


def test_a_shifted_task_with_its_classes_in_another_order_is_refused(task) -> None:
    """Only the number of classes was compared: the same task with its class names in another
    order (a folder sorted by name beside a dataset's own order) was scored by index, shift_acc
    0.0 for a model right on every clean sample. Refused; other names get a note instead (they
    may be aligned by index, `car` beside `automobile`); index-only names are not compared."""
    named = replace(task, class_names=tuple(f"c{i}" for i in range(10)))
    order = replace(named, name="digits-renamed", class_names=("c1", "c0", *named.class_names[2:]))
    suite = ShiftSuite({"corruptions": [], "shifted_tasks": ["digits-renamed"]})
    suite._sources.tasks["digits-renamed"] = order
    with pytest.raises(
        DatasetError,
        match=r"'digits-renamed' has task 'digits'.s class names in another order \(class 0 is "
        r"'c1' there, 'c0' here\)",
    ):
        suite.run(_adapter(task), named, RunContext(seed=0, bootstrap_resamples=0))
    other = replace(named, name="digits-other", class_names=("zero", *named.class_names[1:]))
    suite = ShiftSuite({"corruptions": [], "shifted_tasks": ["digits-other"], "max_samples": 40})
    suite._sources.tasks["digits-other"] = other
    result = suite.run(_adapter(task), named, RunContext(seed=0, bootstrap_resamples=0))
    assert any("names its classes differently" in n and "'zero' there" in n for n in result.notes)
    # index names (a task without names) on either side: nothing to compare, no note
    plain = replace(task, name="digits-plain")
    suite = ShiftSuite({"corruptions": [], "shifted_tasks": ["digits-plain"], "max_samples": 40})
    suite._sources.tasks["digits-plain"] = plain
    result = suite.run(_adapter(task), named, RunContext(seed=0, bootstrap_resamples=0))
    assert not any("names its classes" in n for n in result.notes)


def test_the_advice_for_a_shifted_spec_task_in_another_class_order_covers_a_classlabel(
    task,
) -> None:
    """Told to declare class_names in the other task's order, a shifted task whose labels are a
    ClassLabel column was then refused for class_names that differ from its ClassLabel's (they
    cannot reorder one): the advice says how such a column is reordered."""
    from harness.data.task_spec import TaskSpec
    from harness.suites.shift.shifted import class_name_check

    named = replace(task, class_names=tuple(f"c{i}" for i in range(10)))
    swapped = ("c1", "c0", *named.class_names[2:])
    entry = TaskSpec(name="digits-renamed", source="x.csv", modality="image")
    with pytest.raises(DatasetError) as info:
        class_name_check(replace(named, name="digits-renamed", class_names=swapped), named, entry)
    said = str(info.value)
    assert "declare class_names on its entry in task 'digits''s order" in said
    assert "a ClassLabel label column keeps its own order" in said, said
    # casting the column to a ClassLabel of the names in that order keeps every integer label
    # and so renames each sample's class: the advice names the call that moves the labels
    assert "column cast to that order" not in said, said
    assert "align_labels_with_mapping" in said, said


def test_a_shifted_task_whose_shared_class_moved_is_refused(task) -> None:
    """A folder sorted by name that spells one class differently (`car` for `automobile`) moves
    the classes sorted between the two: only a note said the names differ, and every sample of
    the moved classes was scored against another class. A name both tasks hold at different
    indices is refused."""
    named = replace(task, class_names=tuple(f"c{i}" for i in range(10)))
    moved = replace(named, name="digits-moved", class_names=("c1", "zero", *named.class_names[2:]))
    suite = ShiftSuite({"corruptions": [], "shifted_tasks": ["digits-moved"], "max_samples": 40})
    suite._sources.tasks["digits-moved"] = moved
    with pytest.raises(
        DatasetError,
        match=r"task 'digits-moved' holds class 'c1' at index 0, task 'digits' at index 1; "
        r"labels are compared by index",
    ):
        suite.run(_adapter(task), named, RunContext(seed=0, bootstrap_resamples=0))


def _run_shifted(task, evaluated, shifted):  # type: ignore[no-untyped-def]
    """The shift suite on `evaluated` with `shifted` (a task of its own name) as its shifted task."""
    config = {"corruptions": [], "shifted_tasks": [shifted.name], "max_samples": 40}
    suite = ShiftSuite(config)
    suite._sources.tasks[shifted.name] = shifted
    return suite.run(_adapter(task), evaluated, RunContext(seed=0, bootstrap_resamples=0))


def test_a_shifted_task_whose_classes_moved_in_another_case_is_refused(task) -> None:
    """Names compared case-sensitively: a folder whose class folders are capitalised (`Bee`,
    `ant`: sorted, capitals first) beside a task's `ant`, `bee` got only the note that the names
    differ, and every sample was scored against the other class (/tmp/p94 shift_case). Names
    that differ in case alone at the same indices still get the note."""
    named = replace(task, class_names=tuple(f"c{i}" for i in range(10)))
    swapped = ("C1", "C0", *(n.upper() for n in named.class_names[2:]))
    with pytest.raises(
        DatasetError,
        match=r"'digits-case' has task 'digits'.s class names in another order \(class 0 is "
        r"'C1' there, 'c0' here",
    ):
        _run_shifted(task, named, replace(named, name="digits-case", class_names=swapped))
    one = replace(named, name="digits-one", class_names=("Zero", "C0", *named.class_names[2:]))
    with pytest.raises(
        DatasetError, match=r"holds class 'C0' at index 1, task 'digits' at index 0"
    ):
        _run_shifted(task, named, one)
    upper = tuple(n.upper() for n in named.class_names)
    result = _run_shifted(task, named, replace(named, name="digits-upper", class_names=upper))
    assert any("names its classes differently" in n and "'C0' there" in n for n in result.notes)


def test_a_gap_where_every_pair_agrees_is_not_certain(task) -> None:
    """The shifted task is the clean task itself: every id gets the same prediction, so the gap
    is 0 on every pair. Its interval is Newcombe's paired score interval, which stays wide at
    small n (a bootstrap of the per-pair differences said [0, 0]: certain)."""
    itself = replace(task, name="digits-again")
    suite = ShiftSuite({"corruptions": [], "shifted_tasks": ["digits-again"], "max_samples": 40})
    suite._sources.tasks["digits-again"] = itself
    result = suite.run(_adapter(task), task, RunContext(seed=0, bootstrap_resamples=200))
    gap = next(r for r in result.metrics if r.metric == "shift_acc_gap")
    assert gap.value == 0.0 and gap.n == 40 and "paired" in (gap.note or "")
    assert gap.ci is not None and "paired proportions" in (gap.ci_method or "")
    lo, hi = gap.ci
    assert lo < -0.01 and hi > 0.01  # not a certainty
    assert hi - lo < 0.5  # and not vacuous


def test_clean_inputs_are_streamed_in_batches_not_materialised(task, monkeypatch) -> None:
    from harness.core.task import Task

    cfg = {"corruptions": ["fog", "gaussian_noise"], "severities": [2], "gallery_samples": 2}
    ctx = RunContext(seed=4, bootstrap_resamples=10, batch_size=1024)
    whole = ShiftSuite(cfg).run(_adapter(task), task, ctx)  # 2 batches of 1797 rows

    def refuse(self):  # pragma: no cover - fails the test when called
        raise AssertionError("the shift suite materialised the whole task")

    seen: list[int] = []
    batches = Task.batches

    def counted(self, batch_size):
        for b in batches(self, batch_size):
            seen.append(len(b))
            yield b

    monkeypatch.setattr(Task, "all_inputs", refuse)
    monkeypatch.setattr(Task, "batches", counted)
    small = ShiftSuite(cfg).run(_adapter(task), task, RunContext(seed=4, bootstrap_resamples=10))
    assert max(seen) == 256 and sum(seen) == len(task)
    # Batch composition changes nothing: the same rows, metrics and gallery.
    cols = ["sample_id", "condition", "prediction", "confidence", "energy"]
    assert small.table.frame[cols].equals(whole.table.frame[cols])
    assert [r.value for r in small.metrics] == [r.value for r in whole.metrics]
    assert np.array_equal(small.arrays["gallery_images"], whole.arrays["gallery_images"])


def test_ood_set_source_is_relative_to_the_spec_and_checked_at_validate(
    task, write_spec, tmp_path: Path, monkeypatch
) -> None:
    from PIL import Image

    spec_text = (
        "name: shift-ood\nseed: 0\ndevice: cpu\nbootstrap_resamples: 20\ntasks: [digits]\n"
        "models:\n  - name: lin0\n    factory: tests.fixture_models:linear_digits\n"
        "    input_shape: [1, 8, 8]\n"
        "suites:\n  shift:\n    corruptions: []\n    max_samples: 50\n    ood_sets:\n"
        "      - {name: blobs, source: ./ood-images, modality: image, label_column: null,\n"
        "         input_shape: [1, 8, 8], class_names: ['0','1','2','3','4','5','6','7','8','9']}\n"
    )
    spec = write_spec(spec_text)
    assert main(["validate", str(spec)]) == 2  # the folder is missing: refused at validate
    folder = spec.parent / "ood-images"
    folder.mkdir()
    gen = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(gen.integers(0, 256, (8, 8), dtype=np.uint8), "L").save(folder / f"{i}.png")
    assert main(["validate", str(spec)]) == 0
    import yaml

    from harness.config.planner import build_plan
    from harness.config.spec import RunSpec
    from harness.run.plugins import installed_plugins

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the source still resolves against the spec's folder
    plan = build_plan(
        RunSpec.model_validate(yaml.safe_load(spec.read_text())),
        base_dir=spec.parent,
        plugins=installed_plugins(),
    )
    result = plan.suites["shift"].run(_adapter(task), task, RunContext(bootstrap_resamples=20))
    ood_rows = result.table.condition("ood=blobs")
    assert len(ood_rows) == 12 and (ood_rows.label == -1).all()


class _Constant(torch.nn.Module):
    """Every class scores 0 on every input: every prediction is a tie, and argmax gives it to
    class 0 under every corruption alike."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(x), 10) * x.flatten(1)[:, :1]


def _adapter_of(module: torch.nn.Module, task):
    from harness.adapters.torch_module import TorchModuleAdapter

    return TorchModuleAdapter.from_module(
        module,
        name="const",
        device=torch.device("cpu"),
        bounds=(0.0, 1.0),
        input_shape=task.input_shape,
        modality="image",
    )


def test_a_constant_model_is_flagged_for_ties_under_every_condition(task) -> None:
    """A constant model scored the share of class 0 under every corruption, so its accuracy
    read as unmoved by any of them (the accuracy suite flags its top-1; the shift suite showed
    plain numbers). Every accuracy now says how many rows the tie-break decides and carries
    `tied_scores`; the per-sample table has `label_tied`."""
    from harness.stats import tie_breaks

    result = ShiftSuite(CONFIG).run(
        _adapter_of(_Constant(), task), task, RunContext(seed=3, bootstrap_resamples=50)
    )
    frame = result.table.frame
    labelled = frame[frame["condition"] != "ood=uniform_noise"]
    assert labelled[tie_breaks.COLUMN].all()
    assert not frame.loc[frame["condition"] == "ood=uniform_noise", tie_breaks.COLUMN].any()
    by_key = {(m.metric, m.condition): m for m in result.metrics}
    clean = by_key[("clean_acc", "clean")]
    assert clean.note is not None and "60 of 60 samples tie" in clean.note
    for key in [
        ("clean_acc", "clean"),
        ("corruption_acc", "corruption=fog/severity=5"),
        ("corruption_error", "corruption=gaussian_noise"),
        ("mean_corruption_acc", "clean"),
        ("relative_corruption_drop", "clean"),
        ("shift_acc", "shifted=digits-shifted"),
        ("shift_acc_gap", "shifted=digits-shifted"),
    ]:
        assert tie_breaks.FLAG in by_key[key].flags, key
    assert "over every tie-break its mean accuracy over the severities lies in [0, 1]" in (
        by_key[("corruption_error", "corruption=gaussian_noise")].note or ""
    )


def test_an_untied_model_gets_no_tie_note(task) -> None:
    from harness.stats import tie_breaks

    result = ShiftSuite(CONFIG).run(
        _adapter(task), task, RunContext(seed=3, bootstrap_resamples=50)
    )
    assert not result.table.frame[tie_breaks.COLUMN].any()
    assert all(tie_breaks.FLAG not in m.flags for m in result.metrics)
    assert all("tie-break" not in (m.note or "") for m in result.metrics)


def _all_categorical_diabetes() -> tuple[Task, TorchModuleAdapter]:
    """Diabetes with every feature declared categorical, and a linear model for it."""
    from harness.data.builtin import diabetes
    from tests.fixture_models import linear_tabular

    tab = diabetes()
    names = tuple(f"code{j}" for j in range(tab.input_shape[0]))
    coded = replace(tab, feature_names=names, categorical_features=names)
    adapter = TorchModuleAdapter.from_module(
        linear_tabular(),
        name="lt",
        device=torch.device("cpu"),
        bounds=(0.0, 1.0),
        input_shape=tab.input_shape,
        modality="tabular",
    )
    return coded, adapter


def test_tabular_noise_on_a_task_without_continuous_features_is_not_applicable() -> None:
    """A task whose features are all categorical (one-hot, binary, codes): gaussian_noise
    leaves every input as it is, so its cells were the clean accuracy under the noise's name,
    with no note, and counted in mean_tabular_shift_acc (a table of 0/1 columns looked robust
    to noise). It is now left out, with a record saying why."""
    coded, adapter = _all_categorical_diabetes()
    res = ShiftSuite({"severities": [2, 4]}).run(adapter, coded, RunContext(bootstrap_resamples=20))
    assert set(res.table.conditions()) == {
        "clean",
        "tabular=feature_dropout/severity=2",
        "tabular=feature_dropout/severity=4",
    }
    noise = [r for r in res.metrics if r.condition == "tabular=gaussian_noise"]
    assert len(noise) == 1 and noise[0].value is None
    assert noise[0].note is not None and noise[0].note.startswith(
        "not applicable: every feature of task 'diabetes' is categorical"
    )
    mean = next(r for r in res.metrics if r.metric == "mean_tabular_shift_acc")
    dropout = [r.value for r in res.metrics if r.condition.startswith("tabular=feature_dropout/")]
    assert mean.value == pytest.approx(np.mean(dropout))
    assert mean.note is not None and "not applicable (left out): gaussian_noise" in mean.note


def test_a_mean_with_every_perturbation_left_out_says_so() -> None:
    """gaussian_noise alone on a task without a continuous feature: no cell, and there was no
    mean record either, so the board showed a model row with no column and no word. The mean
    is now an undefined record naming what was left out."""
    coded, adapter = _all_categorical_diabetes()
    suite = ShiftSuite({"severities": [2], "tabular": ["gaussian_noise"]})
    res = suite.run(adapter, coded, RunContext(bootstrap_resamples=20))
    mean = next(r for r in res.metrics if r.metric == "mean_tabular_shift_acc")
    assert mean.value is None
    assert mean.note == (
        "not applicable (left out): gaussian_noise; no perturbation applies to this task, so "
        "there is no mean"
    )


def test_a_shifted_table_with_the_features_in_another_order_is_refused() -> None:
    """Only the input shape was compared: the task's own rows in a file with its columns
    reordered were fed to the model by position, shift_acc 0.535 where the same rows scored
    1.0, reported as a shift gap of 0.465. A feature both name at another position is refused;
    other names get a note (features are fed by position)."""
    from harness.data.builtin import diabetes

    tab = diabetes()
    names = tuple(f"f{j}" for j in range(tab.input_shape[0]))
    named = replace(tab, feature_names=names)
    model = torch.nn.Sequential(torch.nn.Linear(len(names), 2))
    adapter = TorchModuleAdapter.from_module(model, name="m", input_shape=(len(names),))
    moved = replace(named, name="diabetes-moved", feature_names=(names[1], names[0], *names[2:]))
    suite = ShiftSuite({"tabular": [], "shifted_tasks": ["diabetes-moved"], "max_samples": 40})
    suite._sources.tasks["diabetes-moved"] = moved
    with pytest.raises(
        DatasetError,
        match=r"task 'diabetes-moved' holds feature 'f1' at position 0, task 'diabetes' at "
        r"position 1; features are fed to the model by position",
    ):
        suite.run(adapter, named, RunContext(seed=0, bootstrap_resamples=0))
    renamed = replace(named, name="diabetes-renamed", feature_names=("age", *names[1:]))
    suite = ShiftSuite({"tabular": [], "shifted_tasks": ["diabetes-renamed"], "max_samples": 40})
    suite._sources.tasks["diabetes-renamed"] = renamed
    result = suite.run(adapter, named, RunContext(seed=0, bootstrap_resamples=0))
    assert any("names its features differently" in n and "'age' there" in n for n in result.notes)


def test_a_shifted_table_lacking_a_category_is_told_what_to_declare() -> None:
    """`one_hot: {color: null}` takes the categories each task's files hold: a shifted file
    without `green` has one feature fewer, and the refusal said only the two shapes. It names
    the features it lacks and the categories to declare on its entry."""
    from harness.data.builtin import diabetes
    from harness.data.task_spec import TaskSpec
    from harness.suites.shift.shifted import feature_advice

    tab = diabetes()
    mine = ("age", "color=blue", "color=green", "color=red")
    task = replace(tab, name="t", feature_names=mine)
    shifted = replace(tab, name="s", feature_names=("age", "color=blue", "color=red"))
    entry = TaskSpec(name="s", source="s.csv", modality="tabular", one_hot={"color": None})
    assert feature_advice(entry, shifted, task) == (
        "; task 's' lacks 'color=green' beside task 't''s features; declare the task's "
        "categories on its entry (one_hot: {color: [blue, green, red]})"
    )
    assert (
        feature_advice("s", shifted, task)
        == "; task 's' lacks 'color=green' beside task 't''s features"
    )


def test_a_tabular_ood_set_with_the_features_in_another_order_is_refused() -> None:
    """An OOD table with the task's columns in another order was scored with its values in the
    wrong inputs (its detection numbers are those of scrambled rows). Refused as for a
    shifted table."""
    from harness.data.builtin import diabetes

    tab = diabetes()
    names = tuple(f"f{j}" for j in range(tab.input_shape[0]))
    named = replace(tab, feature_names=names)
    model = torch.nn.Sequential(torch.nn.Linear(len(names), 2))
    adapter = TorchModuleAdapter.from_module(model, name="m", input_shape=(len(names),))
    moved = replace(
        named, name="diabetes-moved", feature_names=(names[1], names[0], *names[2:]), labeled=False
    )
    cfg = {"tabular": [], "ood_sets": ["diabetes-moved"], "max_samples": 40}
    suite = ShiftSuite(cfg)
    suite._sources.tasks["diabetes-moved"] = moved
    with pytest.raises(
        DatasetError,
        match=r"suites.shift.ood_sets: OOD set 'diabetes-moved' holds feature 'f1' at position 0",
    ):
        suite.run(adapter, named, RunContext(seed=0, bootstrap_resamples=0))


def test_a_task_listed_as_its_own_shifted_task_is_left_out() -> None:
    """A `shifted_tasks` list applies to every task of its modality, so a run evaluating
    digits-shifted too scored it against itself: shift_acc = clean_acc and a gap of 0.0 with a
    'paired' note, which reads as a model the shift does not move. Left out with a note."""
    task = digits()
    suite = ShiftSuite({"corruptions": [], "shifted_tasks": ["digits"], "max_samples": 50})
    result = suite.run(_adapter(task), task, RunContext(seed=0, bootstrap_resamples=0))
    assert not any(r.metric in ("shift_acc", "shift_acc_gap") for r in result.metrics)
    assert any("'digits' is the evaluated task itself" in n for n in result.notes)
