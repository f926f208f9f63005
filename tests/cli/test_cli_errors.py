"""Every user-error path of the CLI: one clear line naming the culprit, and the right exit code."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli.main import main
from tests.conftest import TINY_SPEC

Spec = Callable[[str], Path]


def run_err(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    return code, err


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


def test_malformed_yaml(write_spec: Spec, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_spec("tasks: [digits\nmodels: x\n")
    code, err = run_err(capsys, "validate", path)
    assert code == 2
    (line,) = error_lines(err)
    assert "malformed YAML at line" in line and "spec.yaml" in line


def test_unknown_key(write_spec: Spec, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_spec(TINY_SPEC + "bacth_size: 3\n")
    code, err = run_err(capsys, "validate", path)
    assert code == 2
    assert "bacth_size: unknown key" in err


def test_adapter_field_typo_names_model_and_key(
    write_spec: Spec, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_spec(TINY_SPEC.replace("    weights: linear1", "    weigths: linear1"))
    code, err = run_err(capsys, "validate", path)
    assert code == 2
    assert "models[1](lin-b).weigths: unknown key" in err


@pytest.mark.parametrize(
    ("old", "new", "expect"),
    [
        ("tasks: [digits]", "tasks: [digist]", "unknown task 'digist'; did you mean 'digits'"),
        ("  accuracy: {}", "  acuracy: {}", "unknown suite 'acuracy'; did you mean 'accuracy'?"),
        (
            "models:\n",
            "models:\n  - digits-cnnn\n",
            "unknown model 'digits-cnnn'; did you mean 'digits-cnn'",
        ),
    ],
)
def test_unknown_names_suggest_close_matches(
    write_spec: Spec, capsys: pytest.CaptureFixture[str], old: str, new: str, expect: str
) -> None:
    path = write_spec(TINY_SPEC.replace(old, new))
    code, err = run_err(capsys, "run", path, "--out", path.parent / "out")
    assert code == 2
    assert expect in err
    assert not (path.parent / "out").exists()


def test_unknown_filter_name(tiny_spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_err(
        capsys, "run", tiny_spec, "--models", "lin-c", "--out", tiny_spec.parent / "o"
    )
    assert code == 2 and "unknown model in this spec 'lin-c'" in err
    assert "known models in this spec: " in err and "specs" not in err


def test_missing_weights_file(write_spec: Spec, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_spec(TINY_SPEC.replace("linear1.safetensors", "nope.safetensors"))
    code, err = run_err(capsys, "validate", path)
    assert code == 2
    assert "models[1](lin-b).weights: file not found" in err and "nope.safetensors" in err


def test_hash_mismatch_fails_the_job(write_spec: Spec, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_spec(
        TINY_SPEC.replace(
            "    weights: linear1.safetensors",
            "    weights: linear1.safetensors\n    sha256: '" + "0" * 64 + "'",
        )
    )
    code, err = run_err(capsys, "run", path, "--out", path.parent / "out")
    assert code == 1
    (line,) = error_lines(err)
    assert (
        "lin-b × digits × accuracy failed" in line and "sha256" in line and "expected 0000" in line
    )


def test_pickle_without_opt_in_is_refused(
    write_spec: Spec, weights_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    from tests.fixture_models import linear_digits

    torch.save(linear_digits(seed=1).state_dict(), weights_dir / "linear1.pt")
    path = write_spec(TINY_SPEC.replace("linear1.safetensors", "linear1.pt"))
    code, err = run_err(capsys, "validate", path)
    assert code == 2 and "not safetensors" in err and "allow_pickle: true" in err
    # with the opt-in it loads (weights_only=True)
    path = write_spec(
        TINY_SPEC.replace("linear1.safetensors", "linear1.pt\n    allow_pickle: true")
    )
    assert main(["run", str(path), "--out", str(path.parent / "out")]) == 0


def test_malicious_pickle_never_executes(
    write_spec: Spec, weights_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sentinel = weights_dir / "pwned"

    class Payload:
        def __reduce__(self):  # noqa: ANN204
            return (os.system, (f"touch {sentinel}",))

    (weights_dir / "evil.pt").write_bytes(pickle.dumps({"w": Payload()}))
    path = write_spec(TINY_SPEC.replace("linear1.safetensors", "evil.pt\n    allow_pickle: true"))
    code, err = run_err(capsys, "run", path, "--out", weights_dir / "out")
    assert code == 1
    assert "weights_only=True" in err
    assert not sentinel.exists()


def test_output_width_mismatch(write_spec: Spec, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_spec(
        TINY_SPEC.replace(
            "factory_args: {seed: 1}\n    weights: linear1.safetensors",
            "factory_args: {classes: 7}\n    weights: seven.safetensors",
        )
    )
    code, err = run_err(capsys, "run", path, "--out", path.parent / "out")
    assert code == 1
    assert "model 'lin-b' outputs 7 classes but task 'digits' has 10" in err


def test_nan_logits(write_spec: Spec, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_spec(
        TINY_SPEC.replace(
            "factory: tests.fixture_models:linear_digits\n    factory_args: {seed: 1}\n    weights: linear1.safetensors",
            "factory: tests.fixture_models:nan_digits",
        )
    )
    code, err = run_err(capsys, "run", path, "--out", path.parent / "out")
    assert code == 1 and "NaN or inf logits" in err


def test_fail_fast_stops_at_first_failure(
    write_spec: Spec, capsys: pytest.CaptureFixture[str]
) -> None:
    text = TINY_SPEC.replace(
        "  - name: lin-a\n    factory: tests.fixture_models:linear_digits\n    weights: linear.safetensors",
        "  - name: lin-a\n    factory: tests.fixture_models:nan_digits",
    )
    path = write_spec(text)
    code, err = run_err(capsys, "run", path, "--out", path.parent / "out", "--fail-fast")
    assert code == 1
    assert "[2/2]" not in err


def test_empty_dataset(
    write_spec: Spec, weights_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    pd.DataFrame({"x0": pd.Series([], dtype=float), "label": pd.Series([], dtype=int)}).to_parquet(
        weights_dir / "empty.parquet"
    )
    path = write_spec(
        TINY_SPEC.replace(
            "tasks: [digits]",
            "tasks:\n  - {name: empty, source: empty.parquet, split: train, modality: tabular, feature_columns: [x0], num_classes: 10}",
        ).replace("    input_shape: [1, 8, 8]\n", "    tasks: [empty]\n")
    )
    code, err = run_err(capsys, "run", path, "--out", weights_dir / "out")
    assert code == 1
    assert "task 'empty'" in err and "empty (0 rows)" in err


def test_label_out_of_range(
    write_spec: Spec, weights_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    pd.DataFrame({"x0": [0.1, 0.2], "label": [0, 12]}).to_parquet(weights_dir / "bad.parquet")
    path = write_spec(
        TINY_SPEC.replace(
            "tasks: [digits]",
            "tasks:\n  - {name: bad, source: bad.parquet, split: train, modality: tabular, feature_columns: [x0], num_classes: 10}",
        ).replace("    input_shape: [1, 8, 8]\n", "    tasks: [bad]\n")
    )
    code, err = run_err(capsys, "run", path, "--out", weights_dir / "out")
    assert code == 1
    assert "label column 'label' has value 12 outside the class range 0..9" in err


@pytest.mark.parametrize(
    "args",
    [
        ["run", "{spec}", "--out", ""],
        ["run", "{spec}", "--report", ""],
        ["report", "{results}", "--out", ""],
        ["export", "{results}", "--to", "model-index", "--out", ""],
        ["leaderboard", ""],
        ["validate", ""],
    ],
)
def test_an_empty_path_is_refused_not_read_as_the_current_folder(
    args: list[str],
    tiny_spec: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--out "$DIR"` with DIR unset: Path("") is ".", so results or a report site would land in
    the working folder unasked."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    filled = [a.format(spec=tiny_spec, results=tmp_path / "results") for a in args]
    code, err = run_err(capsys, *filled)
    assert code == 2
    (line,) = error_lines(err)
    assert "empty path" in line, line
    assert list(work.iterdir()) == []  # nothing written where the command ran


def test_unwritable_output_folder(
    tiny_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for out in (blocker, blocker / "sub"):  # checked before the plan, nothing created
        code, err = run_err(capsys, "run", tiny_spec, "--out", out)
        assert code == 2
        (line,) = error_lines(err)
        assert f"--out {out}" in line and f"{blocker} is a file, not a folder" in line
    assert blocker.read_text() == "not a folder"


def test_failed_job_keeps_earlier_results(
    write_spec: Spec, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "keep"
    path = write_spec(TINY_SPEC)
    assert main(["run", str(path), "--out", str(out)]) == 0
    before = sorted(p.name for p in out.rglob("samples.parquet"))
    broken = write_spec(
        TINY_SPEC.replace(
            "    weights: linear1.safetensors",
            "    weights: linear1.safetensors\n    sha256: '" + "1" * 64 + "'",
        ),
        name="spec.yaml",
    )
    assert main(["run", str(broken), "--out", str(out)]) == 1
    capsys.readouterr()
    after = sorted(p.name for p in out.rglob("samples.parquet"))
    assert set(before) <= set(after)


def test_cuda_on_cpu_machine(tiny_spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, err = run_err(
        capsys, "run", tiny_spec, "--device", "cuda", "--out", tiny_spec.parent / "o"
    )
    assert code == 2 and "CUDA is not available" in err


def test_spec_file_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_err(capsys, "validate", tmp_path / "missing.yaml")
    assert code == 2 and "spec file not found" in err


def test_debug_shows_traceback(write_spec: Spec) -> None:
    from harness.core.errors import SpecError

    path = write_spec("tasks: [digits\n")
    with pytest.raises(SpecError):
        main(["--debug", "validate", str(path)])


@pytest.mark.parametrize(
    ("setting", "expect"),
    [
        (
            "    shifted_tasks: {digist: [digits-shifted]}\n",
            "suites.shift.shifted_tasks: 'digist' is not a task of this run (tasks: digits); "
            "did you mean 'digits'?",
        ),
        (
            "    ood_sets: {tabular: [{generated: uniform_noise, n: 20}]}\n",
            "suites.shift.ood_sets: 'tabular' is not a task of this run (tasks: digits)",
        ),
        ("    mce_corruptions: []\n", "suites.shift.mce_corruptions: names no corruption"),
        ("    effective_robustness_testbed: []\n", "suites.shift.effective_robustness_testbed"),
    ],
)
def test_shift_settings_that_would_be_ignored_are_refused(
    write_spec: Spec, capsys: pytest.CaptureFixture[str], setting: str, expect: str
) -> None:
    """A per-task setting under a name the spec does not define would never run, and an empty
    mCE or testbed list would give no number: refused by validate and run alike."""
    path = write_spec(TINY_SPEC + "  shift:\n    corruptions: [fog]\n" + setting)
    for command in ("validate", "run"):
        code, err = run_err(
            capsys, command, path, *(["--out", path.parent / "r"] * (command == "run"))
        )
        assert code == 2
        (line,) = error_lines(err)
        assert expect in line
    assert not (path.parent / "r").exists()


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly() -> None:
    """`harness list tasks | head -1`: no BrokenPipeError traceback, exit 141 (SIGPIPE). Every
    command's output goes through the same handler (harness/cli/main.py); `list` needs no torch
    in the child (`validate` here cost 4 s of CPU for its imports)."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the command writes its first line
    try:
        done = subprocess.run(
            [sys.executable, "-m", "harness", "list", "tasks"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 141, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr


def test_weights_that_name_a_folder(write_spec: Spec, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder given as weights is said to be a folder, not 'file not found' (it exists)."""
    path = write_spec(TINY_SPEC.replace("linear1.safetensors", "."))
    code, err = run_err(capsys, "validate", path)
    assert code == 2
    assert "models[1](lin-b).weights: is a folder, not a weights file" in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        # an unknown flag of a subcommand was "harness: unrecognized arguments: --workers (see
        # harness --help)", sending the user to the top-level help, which lists no flags of run
        (
            ["run", "--workers", "2"],
            "error: harness run: unrecognized arguments: --workers (see harness run --help)",
        ),
        (
            ["groups", "results", "--nope"],
            "error: harness groups: unrecognized arguments: --nope (see harness groups --help)",
        ),
        (
            ["cache", "prune", "--all", "--nope"],
            "error: harness cache prune: unrecognized arguments: --nope "
            "(see harness cache prune --help)",
        ),
        (
            ["validate", "a.yaml", "b.yaml"],
            "error: harness validate: unrecognized arguments: b.yaml (see harness validate --help)",
        ),
    ],
)
def test_an_unknown_flag_names_its_subcommand(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    code, err = run_err(capsys, *argv)
    assert code == 2
    assert err.strip().splitlines() == [expected]
