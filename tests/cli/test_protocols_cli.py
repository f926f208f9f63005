"""`harness run --protocol`, `protocol:` in a spec, `harness list protocols`: boards never mix a
protocol's numbers with others (a test-only protocol on the offline digits task)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.analysis.leaderboard import build_boards
from harness.cli.main import main
from harness.config import protocols
from harness.config.protocols import Protocol, ProtocolTask
from harness.run.suite_boards import installed_suite_boards

Spec = Callable[..., Path]

MODELS = """\
models:
  - name: lin-a
    factory: tests.fixture_models:linear_digits
    weights: linear.safetensors
    input_shape: [1, 8, 8]
"""
PLAIN = "name: tiny\nseed: 3\ndevice: cpu\nbootstrap_resamples: 50\ntasks: [digits]\n"
PLAIN += MODELS + "suites:\n  accuracy: {}\n"
UNDER = "seed: 3\ndevice: cpu\nbootstrap_resamples: 50\nprotocol: test-digits\n" + MODELS


@pytest.fixture
def digits_protocol(monkeypatch: pytest.MonkeyPatch) -> Protocol:
    protocol = Protocol(
        name="test-digits",
        version=1,
        description="all digits test images, accuracy",
        source="tests",
        tasks=(ProtocolTask(name="digits", expected_rows=719),),
        suites={"accuracy": {"ece_bins": 15}},
    )
    monkeypatch.setitem(protocols.PROTOCOLS, protocol.name, protocol)
    return protocol


def jobs(out: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in sorted(out.glob("runs/*/jobs/*/job.json"))]


def test_protocol_numbers_get_a_board_of_their_own(
    write_spec: Spec, digits_protocol: Protocol, capsys: pytest.CaptureFixture[str]
) -> None:
    out = write_spec(PLAIN).parent / "out"
    assert main(["run", str(write_spec(PLAIN)), "--out", str(out)]) == 0
    assert main(["run", str(write_spec(UNDER, "under.yaml")), "--out", str(out)]) == 0
    records = jobs(out)
    assert sorted(str(r.get("protocol")) for r in records) == [
        "None",
        str({"name": "test-digits", "version": 1}),
    ]
    keys = {r["key"] for r in records}
    assert len(keys) == 2  # same model, task data and suite config: only the protocol differs
    fingerprints = {r["task_summary"]["fingerprint"] for r in records}  # type: ignore[index]
    assert len(fingerprints) == 1
    boards = build_boards(out, suite_boards=installed_suite_boards())
    assert sorted(b.title for b in boards) == ["digits", "digits · protocol test-digits v1"]
    assert {b.protocol for b in boards} == {None, "test-digits v1"}
    assert all(len(b.rows) == 1 for b in boards)
    # the leaderboard command names the protocol in the board title and its JSON
    capsys.readouterr()
    assert main(["leaderboard", str(out), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(str(r.get("protocol")) for r in rows) == ["None", "test-digits v1"]


def test_cli_protocol_builds_the_spec_from_models(
    write_spec: Spec,
    digits_protocol: Protocol,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = write_spec(PLAIN).parent / "out"
    monkeypatch.chdir(out.parent)
    code = main(
        [
            "run",
            "--protocol",
            "test-digits",
            "--models",
            "digits-mlp",
            "--out",
            str(out),
            "--width",
            "0",
        ]
    )
    assert code == 0
    assert "protocol test-digits v1" in capsys.readouterr().err
    (record,) = jobs(out)
    assert record["protocol"] == {"name": "test-digits", "version": 1}
    assert record["suite_config"]["ece_bins"] == 15  # type: ignore[index]
    assert record["task_summary"]["n"] == 719  # type: ignore[index]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--protocol", "robustbench-cifar10-lnf", "--models", "x"], "did you mean"),
        (["--protocol", "test-digits"], "name the models to evaluate with --models"),
        (["--protocol-ids", "ids.txt"], "--protocol-ids: only used with --protocol"),
        # the flag set it, not the spec: 'command line (--device/--limit/--seed): limit: ...,
        # the spec sets 5' named neither the flag nor its value's source
        (
            ["--protocol", "test-digits", "--models", "digits-mlp", "--limit", "5"],
            "--limit 5: protocol test-digits fixes limit to none; drop --limit",
        ),
        (["--protocol", "test-digits", "--models", "digits-mlp", "--tasks", "mnist"], "--tasks"),
        # it said 'unknown suite in this spec 'throughput'; known suites in this spec: ...',
        # naming neither the flag nor the protocol, as if the suite did not exist
        (
            ["--protocol", "test-digits", "--models", "digits-mlp", "--suites", "throughput"],
            "--suites: protocol test-digits runs only accuracy; throughput is not one of them",
        ),
        (
            ["--protocol", "robustbench-imagenet-linf", "--models", "digits-mlp"],
            "imagenet_test_image_ids.txt",
        ),
    ],
)
def test_cli_protocol_errors_are_one_line(
    args: list[str],
    expected: str,
    digits_protocol: Protocol,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    assert main(["run", *args, "--out", str(tmp_path / "out")]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and expected in lines[0]


def test_cli_protocol_with_a_spec_is_refused(
    write_spec: Spec, digits_protocol: Protocol, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_spec(PLAIN)
    assert main(["run", str(path), "--protocol", "test-digits"]) == 2
    assert "write `protocol: test-digits` in it" in capsys.readouterr().err


def test_list_protocols(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "protocols", "--width", "0"]) == 0  # one line per protocol
    out = capsys.readouterr().out
    for name in protocols.PROTOCOLS:
        assert f"{name} v1" in out
    line = next(x for x in out.splitlines() if x.startswith("robustbench-imagenet-linf"))
    assert "imagenet-val" in line and "network, gated; your id list" in line
    line = next(x for x in out.splitlines() if x.startswith("robustbench-cifar10-corruptions"))
    assert "cifar10-c" in line and "accuracy" in line and "network" in line


@pytest.fixture
def model_files(tmp_path: Path) -> Path:
    """A folder holding lr.skops (a logistic regression on the digits) and linear.onnx (the
    seeded linear digits model)."""
    import warnings

    import skops.io as sio  # type: ignore[import-untyped]
    import torch
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    from tests.fixture_models import linear_digits

    folder = tmp_path / "mine"
    folder.mkdir()
    digits = load_digits()
    lr = LogisticRegression(max_iter=200).fit(digits.data[:400] / 16, digits.target[:400])
    sio.dump(lr, folder / "lr.skops")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            linear_digits(),
            (torch.rand(1, 1, 8, 8),),
            folder / "linear.onnx",
            input_names=["x"],
            dynamic_axes={"x": {0: "batch"}},
            dynamo=False,
        )
    return folder


def test_cli_protocol_reads_model_files_by_their_path(
    model_files: Path,
    digits_protocol: Protocol,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--models ./m.onnx,./m.skops` as `harness.evaluate` reads a path: the adapter by the
    suffix, the model named by the file's stem."""
    monkeypatch.chdir(model_files)
    out = model_files.parent / "out"
    args = ["run", "--protocol", "test-digits", "--out", str(out), "--width", "0"]
    assert main([*args, "--models", "./lr.skops,./linear.onnx"]) == 0, capsys.readouterr().err
    records = {str(r["model"]): r for r in jobs(out)}
    assert sorted(records) == ["linear", "lr"]
    assert records["lr"]["model_description"]["adapter"] == "sklearn"  # type: ignore[index]
    assert records["linear"]["model_description"]["adapter"] == "onnx"  # type: ignore[index]
    assert all(r["protocol"] == {"name": "test-digits", "version": 1} for r in records.values())


def test_cli_models_adds_a_model_file_to_a_spec_from_the_current_folder(
    model_files: Path,
    write_spec: Spec,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A path typed on the command line is read from the current folder, not the spec's."""
    spec = write_spec(PLAIN)
    assert spec.parent != model_files
    monkeypatch.chdir(model_files)
    out = model_files.parent / "out"
    code = main(["run", str(spec), "--models", "lr.skops", "--out", str(out), "--limit", "40"])
    assert code == 0, capsys.readouterr().err
    (record,) = jobs(out)
    assert record["model"] == "lr"


@pytest.mark.parametrize("name", ["m.joblib", "m.pkl"])
def test_cli_models_refuses_a_pickle_path(
    name: str,
    digits_protocol: Protocol,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    (tmp_path / name).write_bytes(b"not read")
    args = ["run", "--protocol", "test-digits", "--models", str(tmp_path / name)]
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    assert lines[0].startswith(f"error: --models: {tmp_path / name} is a pickle, and loading")
    assert not (tmp_path / "out").exists()


def test_a_model_card_says_which_numbers_ran_under_the_protocol(
    write_spec: Spec, digits_protocol: Protocol, tmp_path: Path
) -> None:
    """The model-index card carried no protocol: a protocol's number read as any other, and a
    later run of the same model, task and suite without it replaced the protocol's number in
    the card. Each now keeps its own result, the protocol's named where the hub shows it."""
    from huggingface_hub import ModelCard

    out = write_spec(PLAIN).parent / "out"
    assert main(["run", str(write_spec(UNDER, "under.yaml")), "--out", str(out)]) == 0
    assert main(["run", str(write_spec(PLAIN)), "--out", str(out)]) == 0  # the latest run
    cards = tmp_path / "cards"
    assert main(["export", str(out), "--to", "model-index", "--out", str(cards)]) == 0
    evals = ModelCard.load(cards / "lin-a" / "README.md").data.eval_results
    top1 = [e for e in evals if e.metric_type == "top1_acc"]
    assert sorted(str((e.metric_args or {}).get("protocol")) for e in top1) == [
        "None",
        "test-digits v1",
    ]
    (under,) = [e for e in top1 if (e.metric_args or {}).get("protocol")]
    # the qualifiers the hub shows in one pair of brackets: the chance mark, then the protocol
    assert under.metric_name.endswith("protocol test-digits v1)")
    (plain,) = [e for e in top1 if not (e.metric_args or {}).get("protocol")]
    assert "protocol" not in plain.metric_name


@pytest.mark.usefixtures("report_parts_here")  # tests/conftest.py
def test_the_model_page_says_which_job_ran_under_the_protocol(
    write_spec: Spec, digits_protocol: Protocol, tmp_path: Path
) -> None:
    """The report's model page headed both jobs `digits · accuracy`: the protocol's number and
    the same model's number without it stood one above the other, alike. The protocol's job
    now says so in its heading, as its board's title does."""
    import re

    out = write_spec(PLAIN).parent / "out"
    assert main(["run", str(write_spec(PLAIN)), "--out", str(out)]) == 0
    assert main(["run", str(write_spec(UNDER, "under.yaml")), "--out", str(out)]) == 0
    site = tmp_path / "site"
    assert main(["report", str(out), "--out", str(site)]) == 0
    (page,) = site.glob("model-lin-a*.html")
    headings = [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<h2>(.*?)</h2>", page.read_text())]
    assert [h.split(" (")[0] for h in headings] == [
        "digits · accuracy",
        "digits · accuracy · protocol test-digits v1",
    ]


def test_a_protocol_board_does_not_say_the_other_boards_result_is_hidden(
    write_spec: Spec, digits_protocol: Protocol
) -> None:
    """Each board said the other's result of the same model was "not shown" (the protocol's
    board even named its own run), because the hidden-results note ignored the protocol: the
    protocol's job and the plain one are two boards' results, neither hides the other."""
    out = write_spec(PLAIN).parent / "out"
    assert main(["run", str(write_spec(PLAIN)), "--out", str(out)]) == 0
    assert main(["run", str(write_spec(UNDER, "under.yaml")), "--out", str(out)]) == 0
    boards = build_boards(out, suite_boards=installed_suite_boards())
    assert len(boards) == 2
    notes = [note for board in boards for note in board.notes]
    assert not [note for note in notes if "are not shown" in note], notes
