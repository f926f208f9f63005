"""A scikit-learn model and its skl2onnx conversion: the ONNX adapter finds the probability
output (skl2onnx puts the predicted label first), and `harness parity` passes (it compared
log-probabilities before and failed on exact zeros: 2.3e-7 against 0 became 9.46)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.cli.main import main

pytest.importorskip("skl2onnx")
pytest.importorskip("skops")


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import skops.io as sio
    from skl2onnx import to_onnx
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folder = tmp_path_factory.mktemp("sk")
    x, y = load_breast_cancer(return_X_y=True)
    x = x.astype(np.float32)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)
    assert (model.predict_proba(x) == 0).any()  # exact zeros: the case log-probs broke on
    sio.dump(model, folder / "model.skops")
    (folder / "zipmap.onnx").write_bytes(to_onnx(model, x[:1]).SerializeToString())
    plain = to_onnx(model, x[:1], options={"zipmap": False})
    (folder / "plain.onnx").write_bytes(plain.SerializeToString())
    columns = [f"f{i}" for i in range(x.shape[1])]
    lines = [",".join([*columns, "label"])]
    lines += [",".join([*(f"{v:.9g}" for v in row), str(t)]) for row, t in zip(x, y, strict=True)]
    (folder / "cancer.csv").write_text("\n".join(lines) + "\n")
    trusted = sio.get_untrusted_types(file=folder / "model.skops")
    (folder / "spec.yaml").write_text(
        f"""
device: cpu
tasks:
  - name: cancer
    source: cancer.csv
    modality: tabular
    feature_columns: {json.dumps(columns)}
    bounds: [0, 5000]
models:
  - {{name: sk, adapter: sklearn, path: model.skops, trusted: {json.dumps(trusted)}}}
  - {{name: onnx-zipmap, adapter: onnx, path: zipmap.onnx, modality: tabular, bounds: [0, 5000]}}
  - name: onnx-named
    adapter: onnx
    path: plain.onnx
    output: probabilities
    modality: tabular
    bounds: [0, 5000]
suites: {{accuracy: {{}}}}
"""
    )
    return folder


@pytest.mark.parametrize("onnx_model", ["onnx-zipmap", "onnx-named"])
def test_parity_between_sklearn_and_its_onnx_conversion_passes(
    converted: Path, onnx_model: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = converted / "spec.yaml"
    args = ["parity", str(spec), "--models", f"sk,{onnx_model}", "--task", "cancer"]
    assert main([*args, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and report["n"] == 569 and report["disagreements"] == 0
    assert report["max_abs_prob_diff"] < 1e-5
    assert main(args) == 0
    assert "PASS" in capsys.readouterr().out


def test_the_onnx_conversion_evaluates_like_the_estimator(converted: Path, tmp_path: Path) -> None:
    from harness.store.run_store import load_jobs

    out = tmp_path / "out"
    assert main(["run", str(converted / "spec.yaml"), "--out", str(out)]) == 0
    jobs = {j.record.model: j for _, j in load_jobs(out)}
    acc = {name: job.metrics[0].value for name, job in jobs.items()}
    assert acc["sk"] == acc["onnx-zipmap"] == acc["onnx-named"]
    described = jobs["onnx-zipmap"].record.model_description.model_dump()
    assert described["output"] == "output_probability" and described["outputs"] == "probabilities"


def test_an_ambiguous_or_unknown_output_is_named(converted: Path, tmp_path: Path) -> None:
    from harness.core.errors import ModelLoadError
    from tests.adapters.builders import build

    with pytest.raises(ModelLoadError, match=r"output 'scores' is not an output of plain.onnx"):
        build("onnx", {"path": str(converted / "plain.onnx"), "output": "scores"}, tmp_path)
    labels = build(
        "onnx",
        {"path": str(converted / "plain.onnx"), "output": "label", "outputs": "logits"},
        tmp_path,
    )
    assert labels.describe()["output"] == "label"


def test_unreadable_task_data_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.csv").write_text("f0,label\n1,0\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        """
device: cpu
tasks:
  - {name: t, source: bad.csv, modality: image, input_column: f0, input_shape: [1, 8, 8], num_classes: 10}
models:
  - {name: digits-mlp, tasks: [t]}
  - {name: digits-cnn, tasks: [t]}
suites: {accuracy: {}}
"""
    )
    assert main(["parity", str(spec), "--models", "digits-mlp,digits-cnn", "--task", "t"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
