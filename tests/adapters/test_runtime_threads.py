"""Runtimes outside torch follow the job's thread count, as torch's and BLAS's pools do."""

from __future__ import annotations

from pathlib import Path

import torch

from tests.adapters.builders import build


def _session_threads(adapter: object) -> int:
    session = adapter._session  # type: ignore[attr-defined]
    return int(session.get_session_options().intra_op_num_threads)


def test_an_onnx_session_runs_with_the_jobs_threads(onnx_path: Path) -> None:
    """A session opened without `threads:` took ONNX Runtime's default pool (the machine's
    physical cores) while `harness run` gave the job one thread and the throughput records said
    `threads=1`: the same graph read 90,278 samples/s at the default and 172,594 with
    `threads: 1` on a busy 2-core machine, in one column labelled threads=1. It now runs with
    the job's count (torch's intra-op threads), and `threads:` still wins."""
    old = torch.get_num_threads()
    x = torch.rand(3, 1, 8, 8)
    try:
        adapter = build("onnx", {"path": str(onnx_path), "input_shape": [1, 8, 8]}, Path("."))
        for n in (1, 2, 1):
            torch.set_num_threads(n)
            adapter.logits(x)
            assert _session_threads(adapter) == n
        fixed = build(
            "onnx", {"path": str(onnx_path), "input_shape": [1, 8, 8], "threads": 3}, Path(".")
        )
        torch.set_num_threads(1)
        fixed.logits(x)
        assert _session_threads(fixed) == 3
    finally:
        torch.set_num_threads(old)


def test_a_parallel_sklearn_estimator_runs_with_the_jobs_threads(tmp_path: Path) -> None:
    """A random forest saved with `n_jobs=-1` predicted on every core through joblib threads
    (threadpoolctl does not reach them: 7 threads seen under threadpool_limits(1)) while the
    job had one thread and the throughput records said threads=1. Its `n_jobs` (at any depth
    of a pipeline) now follows the job's count; an estimator left at n_jobs=None is untouched."""
    import joblib
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = torch.rand(40, 10, generator=torch.Generator().manual_seed(0))
    y = (x[:, 0] > 0.5).long().numpy()
    forest = RandomForestClassifier(n_estimators=3, n_jobs=-1, random_state=0)
    joblib.dump(make_pipeline(StandardScaler(), forest).fit(x.numpy(), y), tmp_path / "rf.joblib")
    joblib.dump(LogisticRegression().fit(x.numpy(), y), tmp_path / "lr.joblib")
    fields = {"allow_pickle": True, "input_shape": [10], "modality": "tabular"}
    old = torch.get_num_threads()
    try:
        rf = build("sklearn", {"path": str(tmp_path / "rf.joblib"), **fields}, Path("."))
        lr = build("sklearn", {"path": str(tmp_path / "lr.joblib"), **fields}, Path("."))
        for n in (1, 2):
            torch.set_num_threads(n)
            rf.logits(x)
            lr.logits(x)
            assert rf._estimator.get_params()["randomforestclassifier__n_jobs"] == n  # type: ignore[attr-defined]
            assert lr._estimator.n_jobs is None  # type: ignore[attr-defined]
    finally:
        torch.set_num_threads(old)


def test_throughput_records_the_threads_an_onnx_model_is_set_to_run(onnx_path: Path) -> None:
    """An ONNX model with `threads: 3` runs its session on 3 threads whatever the job's count,
    yet its throughput records said `threads=1` (torch's count), in the board column of the
    one-thread torch models beside it; they now say the session's 3."""
    import harness

    spec = {"name": "m", "adapter": "onnx", "path": str(onnx_path), "threads": 3}
    suites = {"throughput": {"batch_sizes": [8], "warmup_iters": 1, "timed_iters": 2}}
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        result = harness.evaluate(spec, task="digits", limit=16, suites=suites, device="cpu")
    finally:
        torch.set_num_threads(old)
    timed = [m for m in result.metrics if m.metric == "throughput_samples_per_s"]
    assert timed and all(m.context["threads"] == 3 for m in timed)


def _float16_graph(path: Path) -> Path:
    """x (batch, 1, 8, 8) float16 -> Flatten -> Gemm(64 -> 10), all float16."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.full((64, 10), 0.01, dtype=np.float16), "w")
    nodes = [
        helper.make_node("Flatten", ["x"], ["f"]),
        helper.make_node("Gemm", ["f", "w"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT16, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT16, ["batch", 10])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_throughput_records_an_onnx_float16_graph_apart_from_float32_models(
    tmp_path: Path,
) -> None:
    """A float16 graph runs in float16 whatever the condition's `precision`; its records sat in
    the precision=fp32 column of float32 models with nothing to tell them apart. They now hold
    `weights: fp16`, as a torch model's float16 weights do."""
    import harness

    spec = {"name": "m", "adapter": "onnx", "path": str(_float16_graph(tmp_path / "h.onnx"))}
    suites = {"throughput": {"batch_sizes": [8], "warmup_iters": 1, "timed_iters": 2}}
    result = harness.evaluate(spec, task="digits", limit=16, suites=suites, device="cpu")
    timed = [m for m in result.metrics if m.metric == "throughput_samples_per_s"]
    assert timed and all(m.context.get("weights") == "fp16" for m in timed)
