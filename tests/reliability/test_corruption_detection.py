"""A damaged results file makes leaderboard, report, check and groups fail closed (exit 2, the file
named), for every file of a run: manifest.json, job.json, metrics.json, samples.parquet, artifacts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.reliability.conftest import cli, error_lines

FILES = ["manifest.json", "job.json", "metrics.json", "samples.parquet", "artifacts.json"]
DAMAGE = ["flip", "truncate", "delete"]


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import TINY_SPEC, save_weights
    from tests.fixture_models import linear_digits

    d = tmp_path_factory.mktemp("good")
    save_weights(linear_digits(), d / "linear.safetensors")
    save_weights(linear_digits(seed=1), d / "linear1.safetensors")
    (d / "spec.yaml").write_text(TINY_SPEC.replace("limit: 120", "limit: 40"))
    code, _, err = cli("run", d / "spec.yaml", "--out", d / "out")
    assert code == 0, err
    return next((d / "out" / "runs").iterdir())


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "flip":
        i = len(data) // 2
        path.write_bytes(data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :])
    elif how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    else:
        path.unlink()


@pytest.mark.parametrize("how", DAMAGE)
@pytest.mark.parametrize("fname", FILES)
def test_every_reader_fails_closed(good_run: Path, tmp_path: Path, fname: str, how: str) -> None:
    run = tmp_path / "damaged"
    shutil.copytree(good_run, run)
    target = run / fname if fname == "manifest.json" else next(run.glob(f"jobs/*/{fname}"))
    _damage(target, how)
    commands = {
        "leaderboard": ["leaderboard", run],
        "report": ["report", run, "--out", tmp_path / "site"],
        "check": ["check", "--baseline", good_run, "--current", run],
        "groups": ["groups", run, "--by", "label"],
    }
    for name, args in commands.items():
        code, out, err = cli(*args)
        lines = error_lines(err)
        assert code == 2, (name, code, out, err)
        assert len(lines) == 1, (name, err)
        if how == "delete" and fname == "manifest.json":
            assert "no runs found" in lines[0] or "manifest" in lines[0], (name, lines)
        else:
            shown = target.parent.name if fname == "job.json" and how == "delete" else fname
            assert shown in lines[0] and str(run) in lines[0], (name, lines[0])
    assert not (tmp_path / "site" / "index.html").exists()
