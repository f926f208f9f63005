"""The shift suite's shifted tasks and OOD sets are in its jobs' keys: editing their files reruns
the job (its results were computed from the old data), in the same run folder and through the
job cache across run folders alike; an unchanged re-run still reuses the results."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from harness.cli.main import main
from harness.data.builtin import digits
from harness.store.run_store import StoredJob, read_job
from tests.fixture_models import linear_digits

CLASSES = ", ".join(f"'{i}'" for i in range(10))
SPEC = f"""\
name: {{name}}
seed: 0
device: cpu
limit: 40
bootstrap_resamples: 20
tasks: [digits]
models:
  - name: lin-a
    factory: tests.fixture_models:linear_digits
    weights: linear.safetensors
    input_shape: [1, 8, 8]
suites:
  shift:
    corruptions: []
    shifted_tasks:
      - {{{{name: moved, source: ./moved, modality: image, channels: 1, input_shape: [1, 8, 8],
         class_names: [{CLASSES}]}}}}
"""
JOB = "lin-a × digits × shift"


def _shifted_folder(root: Path, n: int = 24) -> list[Path]:
    """`root/<class>/<i>.png`: digits test images, each filed under the class the fixture model
    predicts for it (so its shifted accuracy is 1.0); returns the files."""
    images = digits().all_inputs()[:n]
    pixels = (images.numpy()[:, 0] * 255).round().astype(np.uint8)
    with torch.no_grad():
        predicted = linear_digits()(torch.from_numpy(pixels).float().div(255)[:, None]).argmax(1)
    files = []
    for i, (array, label) in enumerate(zip(pixels, predicted.tolist(), strict=True)):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(array, "L").save(root / str(label) / f"{i:03d}.png")
        files.append(root / str(label) / f"{i:03d}.png")
    return files


def _relabel(files: list[Path]) -> None:
    """File every image under the next class: the model now gets every one wrong."""
    for path in files:
        target = path.parent.parent / str((int(path.parent.name) + 1) % 10) / path.name
        target.parent.mkdir(exist_ok=True)
        path.rename(target)


def _run(spec: Path, out: Path, name: str) -> tuple[dict, StoredJob]:
    """Run the spec under `name`; (its manifest's one job entry, the stored job)."""
    spec.write_text(SPEC.format(name=name))
    assert main(["run", str(spec), "--out", str(out)]) == 0
    (run_dir,) = [p for p in (out / "runs").iterdir() if p.name.startswith(f"{name}-")]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    (entry,) = manifest["jobs"]
    return entry, read_job(run_dir / "jobs" / entry["dir"])


def _shift_acc(job: StoredJob) -> float:
    (record,) = [m for m in job.metrics if m.metric == "shift_acc"]
    assert record.condition == "shifted=moved"
    assert record.value is not None
    return record.value


def test_editing_a_shifted_task_reruns_its_job_and_an_unchanged_rerun_uses_the_cache(
    weights_dir: Path, tmp_path: Path
) -> None:
    files = _shifted_folder(weights_dir / "moved")
    spec, out = weights_dir / "spec.yaml", tmp_path / "out"
    first, computed = _run(spec, out, "one")
    assert first["status"] == "completed" and _shift_acc(computed) == 1.0
    prints = computed.record.input_fingerprints
    assert list(prints) == ["shifted_tasks/moved"]
    # unchanged data: the same run folder resumes, another run folder reuses (the job cache)
    again, _ = _run(spec, out, "one")
    assert again["status"] == "cached" and again["key"] == first["key"]
    elsewhere, reused = _run(spec, out, "two")
    assert elsewhere["status"] == "cached" and elsewhere["key"] == first["key"]
    assert reused.record.reused_from is not None and reused.record.reused_from.startswith("one-")

    _relabel(files)  # the same spec; the shifted task's files changed
    edited, recomputed = _run(spec, out, "two")
    assert edited["status"] == "completed", edited["message"]
    assert edited["key"] != first["key"]
    assert _shift_acc(recomputed) == 0.0
    assert (
        recomputed.record.input_fingerprints["shifted_tasks/moved"] != prints["shifted_tasks/moved"]
    )
    resumed, stale_folder = _run(spec, out, "one")  # the first run folder holds the old results
    assert resumed["status"] == "cached" and resumed["key"] == edited["key"]
    assert stale_folder.record.reused_from is not None
    assert stale_folder.record.reused_from.startswith("two-") and _shift_acc(stale_folder) == 0.0
    fresh, copied = _run(spec, out, "three")  # the job cache reuses the new results only
    assert fresh["status"] == "cached" and fresh["key"] == edited["key"]
    assert _shift_acc(copied) == 0.0


def test_a_shifted_task_that_cannot_be_read_fails_its_job_in_one_line(
    weights_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Read for the job's key now, before the job runs: the same one-line failure as when the
    suite read it, no traceback, and the run goes on."""
    # its header names the label (validate reads the first line), but no image column: it
    # passes validate and fails to load
    (weights_dir / "moved.csv").write_text("not,label\n1,2\n")
    spec = weights_dir / "spec.yaml"
    spec.write_text(SPEC.format(name="bad").replace("./moved,", "./moved.csv,"))
    assert main(["validate", str(spec)]) == 0
    capsys.readouterr()
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert line.startswith(f"error: job {JOB} failed: task 'moved': set input_column")
    (run_dir,) = (tmp_path / "out" / "runs").iterdir()
    (entry,) = json.loads((run_dir / "manifest.json").read_text())["jobs"]
    assert entry["status"] == "failed" and entry["message"].startswith("task 'moved': ")
    assert "traceback" not in entry
