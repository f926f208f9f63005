"""Sharding over samples: shard plans, the deterministic merge, and sharded == unsharded runs."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from harness.cli.main import main
from harness.config.planner import build_plan
from harness.config.spec import ExecutionSpec, load_spec, parse_spec_text
from harness.core.errors import SpecError
from harness.core.sample_table import SampleTable
from harness.run.executors.sharding import is_shardable, merge_tables, plan_shards
from harness.run.plugins import installed_plugins
from harness.run.runner import Runner
from harness.store.run_store import load_jobs
from harness.suites.accuracy import AccuracySuite
from harness.suites.fairness.suite import FairnessSuite

SPEC = """\
name: shard
seed: 5
device: cpu
batch_size: 16
limit: 150
bootstrap_resamples: 100
tasks: [digits]
models:
  - name: lin-a
    factory: tests.fixture_models:linear_digits
    weights: linear.safetensors
    input_shape: [1, 8, 8]
  - name: lin-b
    factory: tests.fixture_models:linear_digits
    factory_args: {seed: 1}
    weights: linear1.safetensors
    input_shape: [1, 8, 8]
suites:
  accuracy: {}
"""


def run(spec_path: Path, out: Path, execution: ExecutionSpec | None = None) -> Runner:
    plan = build_plan(load_spec(spec_path), base_dir=spec_path.parent, plugins=installed_plugins())
    runner = Runner(plan, out_dir=out, execution=execution)
    outcome = runner.run()
    assert outcome.exit_code == 0, [o.message for o in outcome.failed]
    return runner


def stored(out: Path) -> dict[str, tuple[pd.DataFrame, list, dict, dict]]:
    return {
        job.record.model: (job.table().frame, job.metrics, job.artifacts(), job.record)
        for _, job in load_jobs(out)
    }


def assert_same_results(a: Path, b: Path) -> None:
    left, right = stored(a), stored(b)
    assert sorted(left) == sorted(right)
    for model in left:
        pd.testing.assert_frame_equal(left[model][0], right[model][0], check_exact=True)
        assert left[model][1] == right[model][1]
        assert left[model][2] == right[model][2]


def test_shards_are_contiguous_whole_batches() -> None:
    shards = plan_shards(150, batch_size=16, shards=4)
    assert shards is not None
    assert [(s.start, s.stop) for s in shards] == [(0, 48), (48, 96), (96, 144), (144, 150)]
    assert all(s.start % 16 == 0 and s.count == 4 for s in shards)
    small = plan_shards(150, batch_size=16, shard_size=10)  # rounded up to one batch
    assert small is not None and len(small) == 10 and small[-1].stop == 150
    assert plan_shards(150, batch_size=16, shards=1) is None
    assert plan_shards(150, batch_size=256, shards=3) is None  # one batch cannot be split
    assert plan_shards(150, batch_size=16) is None


def test_merge_restores_task_order_whatever_the_finish_order() -> None:
    ids = [f"s{i}" for i in range(10)]

    def shard(lo: int, hi: int) -> SampleTable:
        rows = [(c, i) for c in ("clean", "attack=x") for i in range(lo, hi)]
        return SampleTable.build(
            {
                "sample_id": [ids[i] for _, i in rows],
                "condition": [c for c, _ in rows],
                "label": [i % 3 for _, i in rows],
                "prediction": [i % 2 for _, i in rows],
                "correct": [i % 3 == i % 2 for _, i in rows],
                "confidence": [i / 10 for _, i in rows],
            }
        )

    parts = {0: shard(0, 4), 1: shard(4, 8), 2: shard(8, 10)}
    expected = merge_tables(parts, ids).frame
    assert expected["condition"].tolist() == ["clean"] * 10 + ["attack=x"] * 10
    assert expected["sample_id"].tolist() == ids + ids
    for _ in range(5):
        keys = list(parts)
        random.Random(_).shuffle(keys)
        pd.testing.assert_frame_equal(
            merge_tables({k: parts[k] for k in keys}, ids).frame, expected
        )
    with pytest.raises(ValueError, match="not in the task"):
        merge_tables(parts, ids[:5])


def test_shardable_protocol() -> None:
    assert is_shardable(AccuracySuite({}))
    assert not is_shardable(FairnessSuite({}))


def test_sharded_local_run_equals_unsharded(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    spec = write_spec(SPEC)
    run(spec, tmp_path / "whole")
    run(spec, tmp_path / "sharded", ExecutionSpec(shards=3))
    run(spec, tmp_path / "by-size", ExecutionSpec(shard_size=20))  # 2 batches per shard: 5 shards
    assert_same_results(tmp_path / "whole", tmp_path / "sharded")
    assert_same_results(tmp_path / "whole", tmp_path / "by-size")
    assert {r[3].shards for r in stored(tmp_path / "by-size").values()} == {5}
    assert all(
        r[3].shards is None and "shards" not in r[3].to_json()
        for r in stored(tmp_path / "whole").values()
    )


def test_shards_flag_shards_a_local_run(write_spec: Callable[..., Path], tmp_path: Path) -> None:
    """`harness run --shards N` reaches the runner: every shardable job in N shards, same results."""
    spec = write_spec(SPEC)
    run(spec, tmp_path / "whole")
    flagged = ["run", str(spec), "--out", str(tmp_path / "flag"), "--shards", "3", "--no-cache"]
    assert main(flagged) == 0
    assert {r[3].shards for r in stored(tmp_path / "flag").values()} == {3}
    assert_same_results(tmp_path / "whole", tmp_path / "flag")


def test_execution_settings_do_not_change_the_run_or_the_keys(
    write_spec: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(SPEC)
    run(spec, tmp_path)
    sharded = write_spec(SPEC + "execution: {shards: 2}\n", name="sharded.yaml")
    assert load_spec(sharded).spec_hash() == load_spec(spec).spec_hash()
    capsys.readouterr()
    assert main(["run", str(sharded), "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().err.count("cached (same key; skipped)") == 2


def test_execution_spec_errors(
    write_spec: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SpecError, match="execution: .*set either shards or shard_size, not both"):
        parse_spec_text(SPEC + "execution: {shards: 2, shard_size: 10}\n", source="s.yaml")
    with pytest.raises(SpecError, match=r"execution\.resources\.gpus: unknown key"):
        parse_spec_text(SPEC + "execution: {resources: {gpus: 1}}\n", source="s.yaml")
    with pytest.raises(SpecError, match=r"execution\.shards"):
        parse_spec_text(SPEC + "execution: {shards: 0}\n", source="s.yaml")
    spec = write_spec(SPEC)
    assert main(["run", str(spec), "--out", str(tmp_path), "--address", "10.0.0.1:6379"]) == 2
    assert (
        "error: --address is the address of a Ray cluster; use it with --executor ray"
        in capsys.readouterr().err
    )
    assert not (tmp_path / "runs").exists()


def test_unreachable_ray_address_is_one_clear_error() -> None:
    """A host:port nobody listens on is refused at once (Ray itself would retry for minutes)."""
    import socket

    import pytest

    from harness.core.errors import HarnessError
    from harness.run.executors.ray_executor import check_reachable

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nothing listens there
    with pytest.raises(
        HarnessError, match=f"cannot reach a Ray cluster at --address 127.0.0.1:{port}"
    ):
        check_reachable(f"127.0.0.1:{port}", timeout_s=1.0)
    check_reachable("auto")  # left to Ray


def test_an_address_without_host_or_port_number_is_refused_by_its_form() -> None:
    """`:6379` made Ray log a traceback before refusing it: the form is checked first, for the
    spec's `execution.address` and for `RAY_ADDRESS` alike (the flag: test_no_traceback.py)."""
    import pytest

    from harness.config.spec import ExecutionSpec
    from harness.core.errors import HarnessError
    from harness.run.executors.ray_executor import check_reachable

    for bad, words in [
        (":6379", "names no host"),
        ("ray://", "names no host"),
        ("node:abc", "port 'abc' is not a port number"),
        ("node:70000", "port '70000' is not a port number"),
        ("node", "is not host:port"),
        ("  ", "the address is empty"),
    ]:
        with pytest.raises(ValueError, match=words):
            ExecutionSpec(executor="ray", address=bad)
        with pytest.raises(HarnessError, match=f"^RAY_ADDRESS={bad}: .*{words}"):
            check_reachable(bad, f"RAY_ADDRESS={bad}")
    for good in ["auto", "local", "ray://head:10001", "ray://head", "10.0.0.5:6379"]:
        assert ExecutionSpec(executor="ray", address=good).address == good


def test_an_ipv6_or_http_address_is_read_as_ray_reads_it() -> None:
    """`[::1]:6379` (as Ray reads it) was refused as unreachable with a cluster listening
    there: the socket was asked for the host `[::1]`, brackets and all ('Name or service not
    known'). An HTTP address (a dashboard's, as `ray job submit` takes; Ray refuses it) said
    'cannot reach a Ray cluster ... start one with `ray start --head` there'; `[::1]` said
    "port '1]' is not a port number"; `::1:6379` (Ray: 'Invalid address format') passed;
    a client module's scheme (`anyscale://name`, which Ray imports) was refused as a port."""
    import socket

    import pytest

    from harness.config.spec import ExecutionSpec
    from harness.core.errors import HarnessError
    from harness.run.executors.ray_executor import check_reachable

    try:
        listener = socket.socket(socket.AF_INET6)
        listener.bind(("::1", 0))
    except OSError:
        listener = None  # no IPv6 loopback on this machine
    if listener is not None:
        with listener:
            listener.listen()
            check_reachable(f"[::1]:{listener.getsockname()[1]}", timeout_s=1.0)
    for bad, words in [
        ("http://127.0.0.1:8265", "is an HTTP address"),
        ("HTTPS://head:8265", "is an HTTP address"),
        ("[::1]", "is not host:port"),
        ("::1:6379", r"an IPv6 host goes in brackets \(\[::1\]:6379\)"),
        ("[::1]:x", "port 'x' is not a port number"),
    ]:
        with pytest.raises(ValueError, match=words):
            ExecutionSpec(executor="ray", address=bad)
        with pytest.raises(HarnessError, match=words):
            check_reachable(bad, f"RAY_ADDRESS={bad}")
    for good in ["[::1]:6379", "ray://[::1]:10001", "ray://[::1]", "head-node-1.example:6379"]:
        assert ExecutionSpec(executor="ray", address=good).address == good
    for good in ["anyscale://my-cluster", "ray://head-1:10001"]:  # left to Ray
        assert ExecutionSpec(executor="ray", address=good).address == good
        check_reachable(good)
