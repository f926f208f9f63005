"""ONNX Runtime's intra-op pool follows the job's thread count, as torch's and BLAS's do."""

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
