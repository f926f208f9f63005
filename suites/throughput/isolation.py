"""Measure one model in a fresh subprocess, so allocator state, cuDNN algorithm choices and
compiled kernels of one model never leak into the next (the default on GPU).

The parent saves the adapter, the sample inputs and the config with `torch.save` into a private
temporary directory; the child (`python -m harness.suites.throughput.isolation PAYLOAD OUT`) runs
`measure` and writes plain JSON, which the parent reads back.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from harness.core import errors
from harness.core.adapter import ModelAdapter
from harness.core.errors import HarnessError, ModelLoadError
from harness.store.atomic import write_json
from harness.suites.throughput.config import ThroughputConfig
from harness.suites.throughput.forward import Samples
from harness.suites.throughput.measure import measure

log = logging.getLogger(__name__)


class IsolationUnavailableError(ModelLoadError):
    """The model cannot be handed to a subprocess (it does not pickle)."""


def measure_isolated(
    adapter: ModelAdapter,
    samples: Samples,
    config: ThroughputConfig,
    *,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """`measure(adapter, samples, config)` in a fresh Python process; returns its JSON."""
    with tempfile.TemporaryDirectory(prefix="harness-throughput-") as tmp:
        payload, out = Path(tmp) / "payload.pt", Path(tmp) / "result.json"
        try:
            torch.save(
                {"adapter": adapter, "samples": samples, "config": config.model_dump(mode="json")},
                payload,
            )
        except (pickle.PicklingError, AttributeError, TypeError) as err:
            raise IsolationUnavailableError(
                f"model {adapter.name!r} cannot be sent to a measurement subprocess ({err}); "
                "set suites.throughput.isolation: inprocess"
            ) from err
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        proc = subprocess.run(
            [sys.executable, "-m", "harness.suites.throughput.isolation", str(payload), str(out)],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout_s,
            check=False,
        )
        failure = out.with_suffix(".error.json")
        if proc.returncode == USER_ERROR and failure.is_file():
            raise user_error(json.loads(failure.read_text()))
        if proc.returncode != 0 or not out.is_file():
            tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
            raise RuntimeError(
                f"throughput subprocess for model {adapter.name!r} failed (exit {proc.returncode}):\n{tail}"
            )
        result = json.loads(out.read_text())
    result["isolation"] = "subprocess"
    return result


def main(argv: list[str]) -> int:
    """Child entry point: PAYLOAD (torch.save file written by the parent) and OUT (JSON path)."""
    payload_path, out_path = Path(argv[0]), Path(argv[1])
    # The payload was written a moment ago by our parent process in a private temp directory.
    payload = torch.load(payload_path, weights_only=False)
    config = ThroughputConfig.model_validate(payload["config"])
    try:
        result = measure(payload["adapter"], payload["samples"], config)
    except HarnessError as err:  # one line for the user, as in-process: no child traceback
        write_json(
            out_path.with_suffix(".error.json"), {"type": type(err).__name__, "message": str(err)}
        )
        return USER_ERROR
    write_json(out_path, result)
    return 0


USER_ERROR = 3
"""The child's exit status when `measure` raised a HarnessError (a model that fails at its first
batch size, or returns fewer rows than its batch): its type and line are in OUT.error.json."""


def user_error(failure: dict[str, str]) -> HarnessError:
    """The child's HarnessError raised again in the parent, as the same type of `errors` (else a
    HarnessError), with its one line."""
    kind = getattr(errors, failure.get("type", ""), None)
    message = failure.get("message", "the throughput measurement failed")
    if isinstance(kind, type) and issubclass(kind, HarnessError):
        try:
            return kind(message)
        except TypeError:  # a type built from other arguments (ClassCountError's counts)
            pass
    return HarnessError(message)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(main(sys.argv[1:]))
