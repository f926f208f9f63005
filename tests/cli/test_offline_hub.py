"""With the network blocked, every entry that needs the hub (task, protocol, model) fails at once
with one line naming it, saying it is neither reachable nor cached and how to cache it: the hub
is probed once (a socket that refuses every connection), nothing retries or sleeps, no traceback.
`harness validate` lists those entries and whether each is cached."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.cli.main import main
from harness.data import hub_access

REAL_PROBE = hub_access._probe.__wrapped__  # the autouse fixture stands a fake in for it

Spec = Callable[..., Path]
MODEL = """\
models:
  - {name: m, adapter: torch, factory: "torch.nn:Identity", input_shape: [3, 32, 32]}
"""


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, list[Any]]]:
    """Every connection and name lookup refused (counted); sleeps recorded; empty hub caches."""
    seen: dict[str, list[Any]] = {"connect": [], "sleep": []}

    def refuse(*args: Any, **kwargs: Any) -> Any:
        seen["connect"].append(args[:1])
        raise OSError(101, "Network is unreachable (blocked by the test)")

    real_sleep = time.sleep
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(
        time, "sleep", lambda s: seen["sleep"].append(s) or real_sleep(min(s, 0.01))
    )
    monkeypatch.setattr(hub_access, "_probe", REAL_PROBE)
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-home" / "datasets"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-home" / "hub"))
    yield seen
    assert not [s for s in seen["sleep"] if s >= 0.5], "something retried with a sleep"


def lines_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_hub_tasks_fail_at_once_in_one_line_each(
    write_spec: Spec, no_network: dict[str, list[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec("tasks: [cifar10, adult]\n" + MODEL + "suites: {accuracy: {}}\n")
    code = main(["run", str(spec), "--out", str(spec.parent / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err and "Retrying" not in err and "ConnectionError" not in err
    failed = [line for line in lines_of(err) if line.startswith("error: job")]
    assert len(failed) == 2
    assert (
        "task 'cifar10': hub dataset uoft-cs/cifar10 (config plain_text) split 'test' is neither "
        "reachable (huggingface.co cannot be reached: Network is unreachable"
    ) in failed[0]
    assert "nor cached; connect once and run the task to cache it in" in failed[0]
    assert "task 'adult': hub dataset AiresPucrs/adult-census-income" in failed[1]
    assert len(no_network["connect"]) == 1  # one probe for the whole run, no retries


def test_a_protocol_task_fails_in_one_line(
    write_spec: Spec, no_network: dict[str, list[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec("protocol: robustbench-cifar10-linf\n" + MODEL)
    code = main(["run", str(spec), "--out", str(spec.parent / "out")])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    failed = [line for line in lines_of(err) if line.startswith("error: job")]
    assert len(failed) == 1 and "task 'cifar10': hub dataset uoft-cs/cifar10" in failed[0]
    assert "is neither reachable" in failed[0]


def test_a_hub_model_fails_at_once_in_one_line(
    no_network: dict[str, list[Any]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(
        ["run", "--models", "hf:org/absent", "--tasks", "digits", "--out", str(tmp_path / "o")]
    )
    err = lines_of(capsys.readouterr().err)
    assert code == 2 and len(err) == 1
    assert err[0].startswith("error: model 'hf:org/absent': config.json is not in the local hub")
    assert len(no_network["connect"]) == 1


def test_validate_lists_what_needs_the_network_and_what_is_cached(
    write_spec: Spec,
    no_network: dict[str, list[Any]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    cached = (
        tmp_path / "hf-home" / "datasets" / "uoft-cs___cifar10" / "plain_text" / "0.0.0" / "abc"
    )
    cached.mkdir(parents=True)
    models = (
        "models:\n"
        '  - {name: m, adapter: torch, factory: "torch.nn:Identity", input_shape: [3, 32, 32],'
        " tasks: [cifar10]}\n"
        '  - {name: t, adapter: torch, factory: "torch.nn:Identity", tasks: [adult, digits]}\n'
    )
    spec = write_spec("tasks: [cifar10, adult, digits]\n" + models + "suites: {accuracy: {}}\n")
    assert main(["validate", str(spec), "--width", "0"]) == 0
    out = capsys.readouterr().out
    assert (
        "network: 2 entries read from the Hugging Face hub (NOT reachable: huggingface.co cannot "
        "be reached"
    ) in out
    assert (
        f"task cifar10: hub dataset uoft-cs/cifar10 (config plain_text): cached in {cached}" in out
    )
    assert "task adult: hub dataset AiresPucrs/adult-census-income: NOT cached" in out
    assert "digits" not in out.split("network:")[1].split("code:")[0]


def test_a_local_spec_needs_no_network(
    write_spec: Spec, no_network: dict[str, list[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(
        "tasks: [digits]\n" + MODEL.replace("3, 32, 32", "1, 8, 8") + "suites: {accuracy: {}}\n"
    )
    assert main(["validate", str(spec), "--width", "0"]) == 0
    assert "network: none needed" in capsys.readouterr().out
    assert no_network["connect"] == []  # nothing to fetch: the hub is not even probed


def test_validate_lists_a_hub_model_and_its_cached_snapshot(
    write_spec: Spec,
    no_network: dict[str, list[Any]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    spec = write_spec(
        "tasks: [digits]\nmodels:\n  - {name: hm, adapter: hf-image, path: org/m}\n"
        "suites: {accuracy: {}}\n"
    )
    assert main(["validate", str(spec), "--width", "0"]) == 0
    assert "model hm: hub model org/m: NOT cached" in capsys.readouterr().out
    snapshot = tmp_path / "hf-home" / "hub" / "models--org--m" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (snapshot / "model.safetensors").write_bytes(b"")
    assert main(["validate", str(spec), "--width", "0"]) == 0
    assert f"model hm: hub model org/m: cached in {snapshot}" in capsys.readouterr().out
