"""Protocol presets: spec expansion, keys that contradict a protocol, job keys, row selection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.config.plan import job_key
from harness.config.protocol_rows import read_id_file, select_rows
from harness.config.protocols import PROTOCOLS, ProtocolTask, get_protocol
from harness.config.spec import RunSpec, parse_spec_text
from harness.core.errors import DatasetError, SpecError
from harness.core.manifest import ProtocolRef
from harness.core.task import Task
from harness.data.loader import load_task
from harness.data.task_spec import TaskSpec
from tests.data.layouts import cifar_c, imagenet_c


def spec(**raw: object) -> RunSpec:
    return RunSpec.model_validate({"models": ["digits-cnn"], **raw})


def test_protocol_fills_in_tasks_suites_and_name() -> None:
    s = spec(protocol="robustbench-cifar10-linf", suites={"adversarial": {"examples": 0}})
    assert s.name == "robustbench-cifar10-linf" and s.tasks == ["cifar10"]
    adv = s.suites["adversarial"]
    assert adv is not None
    assert adv["epsilons"] == {"linf": ["8/255"]} and adv["preset"] == "standard"
    assert adv["max_samples"] is None and adv["examples"] == 0  # a key it does not fix is kept
    # re-validating the dumped spec (what CLI overrides do) changes nothing
    assert RunSpec.model_validate(s.model_dump(exclude_unset=True)) == s
    assert spec(protocol="robustbench-cifar10-l2").suites["adversarial"] == {
        **PROTOCOLS["robustbench-cifar10-l2"].suites["adversarial"]
    }


def test_every_builtin_protocol_expands_into_valid_suite_configs() -> None:
    from harness.run.plugins import suite_registry

    for name, protocol in PROTOCOLS.items():
        extra = {"protocol_sample_ids": "ids.txt"} if protocol.needs_sample_ids else {}
        s = spec(protocol=name, **extra)
        for suite, config in s.suites.items():
            suite_registry().load(suite)(config or {})  # the suite accepts the fixed config
        assert s.tasks == protocol.task_names


@pytest.mark.parametrize(
    ("yaml", "key"),
    [
        ("suites: {adversarial: {epsilons: {linf: [0.1]}}}\n", "suites.adversarial.epsilons"),
        ("suites: {adversarial: {preset: fast}}\n", "suites.adversarial.preset"),
        ("suites: {throughput: {}}\n", "suites.throughput"),
        ("tasks: [cifar100]\n", "tasks"),
        ("limit: 1000\n", "limit"),
    ],
)
def test_a_key_the_protocol_fixes_is_refused_by_name(yaml: str, key: str) -> None:
    text = "protocol: robustbench-cifar10-linf\nmodels: [digits-cnn]\n" + yaml
    with pytest.raises(SpecError) as err:
        parse_spec_text(text, source="s.yaml")
    message = str(err.value)
    assert message.startswith(f"s.yaml: {key}: protocol robustbench-cifar10-linf")
    assert "\n" not in message


def test_an_inline_entry_of_the_protocols_task_is_refused_not_dropped() -> None:
    """`tasks: [{name: cifar10, source: ./my-copy, override: true}]` passed the name check and
    was then replaced by the catalogue task: the run read the hub's CIFAR-10 (or failed offline
    naming the hub) while the spec said it read the local copy."""
    text = (
        "protocol: robustbench-cifar10-linf\nmodels: [digits-cnn]\n"
        "tasks: [{name: cifar10, source: ./c10/test.parquet, override: true}]\n"
    )
    with pytest.raises(SpecError) as err:
        parse_spec_text(text, source="s.yaml")
    message = str(err.value)
    assert message.startswith("s.yaml: tasks[0](cifar10): protocol robustbench-cifar10-linf")
    assert "source" in message and "\n" not in message


@pytest.mark.parametrize(
    "tasks",
    ["5", "[[1]]", "[5]", "[{name: cifar10, 1: x}]", "{cifar10: {}}", "cifar10"],
)
def test_a_malformed_tasks_key_under_a_protocol_is_one_line(tasks: str) -> None:
    """`tasks: 5`, `tasks: [[1]]` and an entry with a number key raised a TypeError or an
    AttributeError traceback from the protocol's task check; a plain string was read letter
    by letter ('the spec sets ['c', 'i', ...]')."""
    text = f"protocol: robustbench-cifar10-linf\nmodels: [digits-cnn]\ntasks: {tasks}\n"
    with pytest.raises(SpecError) as err:
        parse_spec_text(text, source="s.yaml")
    message = str(err.value)
    assert message.startswith("s.yaml: tasks"), message
    assert "\n" not in message and "'c', 'i'" not in message


def test_same_values_as_the_protocol_are_accepted() -> None:
    text = (
        "protocol: robustbench-cifar10-linf\nmodels: [digits-cnn]\ntasks: [cifar10]\n"
        "suites: {adversarial: {preset: standard, epsilons: {linf: ['8/255']}}}\n"
    )
    assert parse_spec_text(text, source="s.yaml").tasks == ["cifar10"]


@pytest.mark.parametrize("eps", ["0.03137254901960784", "8/255", "'16/510'", "' 8/255'"])
def test_the_protocols_budget_in_another_spelling_is_accepted(eps: str) -> None:
    """`epsilons: {linf: [0.03137254901960784]}` (Python's 8/255, as AutoAttack code writes it)
    was refused as if it contradicted the protocol's `8/255`; the protocol's own value runs."""
    text = (
        "protocol: robustbench-cifar10-linf\nmodels: [digits-cnn]\n"
        f"suites: {{adversarial: {{epsilons: {{linf: [{eps}]}}}}}}\n"
    )
    adv = parse_spec_text(text, source="s.yaml").suites["adversarial"]
    assert adv is not None and adv["epsilons"] == {"linf": ["8/255"]}


@pytest.mark.parametrize("eps", ["0.0313725", "0.031", "8"])
def test_another_budget_than_the_protocols_is_still_refused(eps: str) -> None:
    text = (
        "protocol: robustbench-cifar10-linf\nmodels: [digits-cnn]\n"
        f"suites: {{adversarial: {{epsilons: {{linf: [{eps}]}}}}}}\n"
    )
    with pytest.raises(SpecError, match="suites.adversarial.epsilons: protocol"):
        parse_spec_text(text, source="s.yaml")


def test_unknown_protocol_suggests_the_closest() -> None:
    with pytest.raises(SpecError, match="did you mean 'robustbench-cifar10-linf'"):
        get_protocol("robustbench-cifar10-lin")


def test_imagenet_protocols_need_the_id_list_and_say_where_to_get_it() -> None:
    for name in ("robustbench-imagenet-linf", "robustbench-imagenet-corruptions"):
        with pytest.raises(SpecError) as err:
            spec(protocol=name)
        assert "protocol_sample_ids" in str(err.value)
        assert "robustbench/data/imagenet_test_image_ids.txt" in str(err.value)
    with pytest.raises(SpecError, match="only used with a protocol"):
        spec(tasks=["digits"], suites={"accuracy": {}}, protocol_sample_ids="ids.txt")
    with pytest.raises(SpecError, match="evaluates no listed images"):
        spec(protocol="robustbench-cifar10-linf", protocol_sample_ids="ids.txt")


def test_the_protocol_enters_the_job_key() -> None:
    from harness.suites.accuracy import AccuracySuite

    common = {
        "model_identity": "m",
        "task_fingerprint": "f",
        "suite": AccuracySuite({}),
        "seed": 0,
        "device_type": "cpu",
        "bootstrap_resamples": 10,
        "harness_version": "1",
        "batch_size": 64,
    }
    plain = job_key(**common)  # type: ignore[arg-type]
    assert job_key(**common, protocol=None) == plain  # type: ignore[arg-type]
    v1 = job_key(**common, protocol=ProtocolRef(name="p", version=1))  # type: ignore[arg-type]
    v2 = job_key(**common, protocol=ProtocolRef(name="p", version=2))  # type: ignore[arg-type]
    assert len({plain, v1, v2}) == 3


def _load(base: Path, source: str) -> Task:
    return load_task(
        TaskSpec.model_validate({"name": "c", "modality": "image", "source": source}),
        base_dir=base,
    )


def test_corruption_cells_of_the_protocol_are_kept(tmp_path: Path) -> None:
    cifar_c(tmp_path / "c10c", ("fog", "snow", "spatter"), per_severity=4)
    task = _load(tmp_path, "c10c")
    rows = ProtocolTask(name="c", corruptions=("fog", "snow"), severities=(1, 2, 3, 4, 5))
    kept = select_rows(task, rows, None)
    assert len(kept) == 2 * 5 * 4
    assert set(kept.cells()["corruption"]) == {"fog", "snow"}
    assert kept.fingerprint != task.fingerprint
    with pytest.raises(DatasetError, match="lacks 5 of the protocol's corruption cells"):
        select_rows(task, ProtocolTask(name="c", corruptions=("fog", "frost")), None)
    with pytest.raises(DatasetError, match="has 4 of the protocol's 10,000 images"):
        select_rows(task, ProtocolTask(name="c", corruptions=("fog",), expected_rows=10_000), None)


def test_listed_images_are_selected_in_every_cell(tmp_path: Path) -> None:
    imagenet_c(tmp_path / "inc", ("fog", "snow"), (1, 2))
    task = _load(tmp_path, "inc")
    images = sorted(set(task.cells()["source_id"]))
    assert len(images) == 3 and "n01/0.png" in images and "n02/0.png" in images
    chosen = ["n01/0.JPEG", "n02/0.JPEG"]  # class folder + file name, the extension ignored
    rows = ProtocolTask(name="c", corruptions=("fog",), sample_ids=True)
    kept = select_rows(task, rows, chosen)
    assert len(kept) == 2 * 2  # 2 images x (fog, severities 1 and 2)
    assert set(kept.cells()["source_id"]) == {"n01/0.png", "n02/0.png"}
    with pytest.raises(DatasetError, match="has 2 of the protocol's 3 images"):
        select_rows(task, rows, [*chosen, "ILSVRC2012_val_99999999"])
    with pytest.raises(DatasetError, match="none of its images is in the protocol's id list"):
        select_rows(task, rows, ["ILSVRC2012_val_99999999"])


def test_id_file_is_read_and_checked(tmp_path: Path) -> None:
    protocol = PROTOCOLS["robustbench-imagenet-linf"]
    ids = tmp_path / "ids.txt"
    ids.write_text("n01440764/ILSVRC2012_val_00000293.JPEG\n\n")
    with pytest.raises(SpecError, match="lists 1 images; protocol robustbench-imagenet-linf"):
        read_id_file(ids, protocol)
    lines = [f"n0/ILSVRC2012_val_{i:08d}.JPEG" for i in range(5000)]
    ids.write_text("\n".join(lines))
    assert read_id_file(ids, protocol)[:2] == [
        "n0/ILSVRC2012_val_00000000",
        "n0/ILSVRC2012_val_00000001",
    ]
    ids.write_text("\n".join([*lines[:-1], lines[0]]))
    with pytest.raises(SpecError, match="more than once"):
        read_id_file(ids, protocol)
    with pytest.raises(SpecError, match="file not found"):
        read_id_file(tmp_path / "missing.txt", protocol)


def test_hub_style_rows_are_matched_on_their_image_path(tmp_path: Path) -> None:
    """Rows named by index whose {bytes, path} images carry the original file names."""
    import pandas as pd

    from tests.data.layouts import png_bytes

    gen = np.random.default_rng(0)
    images = [
        {"bytes": png_bytes(gen.integers(0, 256, (5, 5, 3), dtype=np.uint8)), "path": p}
        for p in ("ILSVRC2012_val_00000001.JPEG", "ILSVRC2012_val_00000002.JPEG", None)
    ]
    pd.DataFrame({"image": images, "label": [0, 1, 0]}).to_parquet(tmp_path / "val.parquet")
    task = load_task(
        TaskSpec.model_validate(
            {"name": "v", "modality": "image", "source": "val.parquet", "input_column": "image"}
        ),
        base_dir=tmp_path,
    )
    rows = ProtocolTask(name="v", sample_ids=True)
    kept = select_rows(task, rows, ["n01/ILSVRC2012_val_00000002"])
    assert len(kept) == 1 and kept.labels.tolist() == [1]


def test_spec_hash_without_a_protocol_is_unchanged_and_with_one_differs() -> None:
    import hashlib
    import json

    plain = spec(tasks=["digits"], suites={"accuracy": {}})
    # how jobs run (execution, threads, timeout) is never in the hash
    legacy = plain.model_dump(mode="json", exclude={"execution", "threads", "timeout"})
    del legacy["protocol"], legacy["protocol_sample_ids"], legacy["headline"]  # unset: left out
    payload = json.dumps(legacy, sort_keys=True).encode()
    assert plain.spec_hash() == hashlib.sha256(payload).hexdigest()  # baselines still match
    under = spec(protocol="robustbench-cifar10-linf")
    same = spec(tasks=under.tasks, suites=under.suites, name=under.name)
    assert under.spec_hash() != same.spec_hash()


def test_an_id_list_saved_with_a_byte_order_mark_reads_its_first_image(tmp_path: Path) -> None:
    """A list saved by a Windows editor starts with U+FEFF: it had stayed on the first image's
    name, which no row matched, so the job stopped after loading ImageNet with one image missing."""
    protocol = get_protocol("robustbench-imagenet-linf")
    ids = tmp_path / "ids.txt"
    lines = [f"n0/ILSVRC2012_val_{i:08d}.JPEG" for i in range(5000)]
    ids.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode())
    assert read_id_file(ids, protocol)[0] == "n0/ILSVRC2012_val_00000000"


def test_the_plan_summary_says_the_budget_is_the_protocols(tmp_path: Path) -> None:
    """`harness run` announced a protocol's budget as "linf 8/255 (from the spec)": the user's
    spec names no budget, the protocol fixes it. It now names the protocol; a plain spec's
    budget is still from the spec."""
    from harness.config.planner import build_plan
    from harness.run.plugins import installed_plugins

    model = "models: [{name: m, factory: 'harness.zoo.factories:digits_mlp'}]\n"
    under = parse_spec_text(f"protocol: robustbench-cifar10-linf\n{model}", source="s.yaml")
    plain = parse_spec_text(
        f"name: p\ntasks: [digits]\n{model}suites: {{adversarial: {{epsilons: {{linf: [0.1]}}}}}}\n",
        source="s.yaml",
    )
    lines = {
        name: " ".join(
            build_plan(s, base_dir=tmp_path, plugins=installed_plugins()).suite_summaries()
        )
        for name, s in (("under", under), ("plain", plain))
    }
    assert "linf 8/255 (from protocol robustbench-cifar10-linf)" in lines["under"], lines
    assert "from the spec" not in lines["under"]
    assert "linf 0.1 (from the spec)" in lines["plain"], lines


def test_a_plugin_suites_plan_summary_of_one_argument_still_runs(tmp_path: Path) -> None:
    """`Suite.plan_summary` took `headlines` only until 8aaaec59 added `protocol`; the plan
    passed it positionally to every suite, so an installed suite overriding the documented
    one-argument form raised a TypeError traceback at every `harness run` and `validate`.
    A protocol runs only its own built-in suites, so a plain plan passes `headlines` alone."""
    import dataclasses

    from harness.config.planner import build_plan
    from harness.core.suite import Suite
    from harness.run.plugins import installed_plugins

    class OldSuite(Suite):
        name = "old"

        def plan_summary(self, headlines):  # type: ignore[no-untyped-def,override]
            return [f"{len(headlines)} task(s)"]

    text = "name: p\ntasks: [digits]\nmodels: [digits-cnn]\nsuites: {accuracy: {}}\n"
    plan = build_plan(
        parse_spec_text(text, source="s.yaml"), base_dir=tmp_path, plugins=installed_plugins()
    )
    plan = dataclasses.replace(plan, suites={"old": OldSuite({})})
    assert plan.suite_summaries() == ["old: 1 task(s)"]
