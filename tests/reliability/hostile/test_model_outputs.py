"""Model outputs of every tensor kind that is not logits (meta, sparse, mkldnn, nested,
quantized, bool, complex; numpy true/false, complex and object arrays), through a torch module
and through a plain callable: one line naming the model, never a traceback that does not.

Before, a meta-device or sparse tensor passed the shape check and failed later, inside a suite,
with a traceback that named neither the model nor what it returned.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch

from harness.adapters.python_callable import CallableAdapter, CallableConfig
from harness.adapters.torch_module import TorchModuleAdapter
from harness.core.errors import HarnessError
from harness.core.model_calls import CheckedAdapter
from harness.core.task import Task
from harness.data.builtin import digits
from tests.reliability.hostile.corpus import cli
from tests.reliability.hostile.output_models import ARRAY_KINDS, TENSOR_KINDS, emitting

# torch warns that sparse CSR, nested and quantized tensors are beta, prototype or deprecated
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

WORDS = {
    "meta": "a tensor on the meta device",
    "sparse": "a sparse_coo tensor",
    "sparse_csr": "a sparse_csr tensor",
    "mkldnn": "a mkldnn tensor",
    "nested": "a nested tensor",
    "quantized": "a quantized tensor (qint8)",
    "bool": "a bool tensor",
    "complex": "complex logits (complex64)",
    "numpy-bool": "an array of true/false values",
    "numpy-complex": "an array of complex numbers",
    "numpy-object": "not an array of numbers",
}


@pytest.fixture(scope="module")
def task() -> Task:
    return digits().subset(20, seed=0)


def _refusal(adapter: object, task: Task) -> str:
    checked = CheckedAdapter(adapter, task)  # type: ignore[arg-type]
    with pytest.raises(HarnessError) as caught:
        checked.probe()
    return str(caught.value)


@pytest.mark.parametrize("kind", TENSOR_KINDS)
def test_a_torch_module_returning_the_wrong_kind(kind: str, task: Task) -> None:
    adapter = TorchModuleAdapter.from_module(emitting(kind), name="odd-net", input_shape=(1, 8, 8))
    message = _refusal(adapter, task)
    assert message.startswith("model 'odd-net' returned ") and WORDS[kind] in message, message
    assert "\n" not in message


@pytest.mark.parametrize("kind", TENSOR_KINDS + ARRAY_KINDS)
def test_a_callable_returning_the_wrong_kind(kind: str, task: Task) -> None:
    config = CallableConfig.model_validate(
        {
            "callable": "tests.reliability.hostile.output_models:scoring",
            "factory": True,
            "args": {"kind": kind},
            "input_shape": [1, 8, 8],
            "modality": "image",
        }
    )
    adapter = CallableAdapter.build(
        name="odd-fn", config=config, device=torch.device("cpu"), base_dir=Path.cwd()
    )
    message = _refusal(adapter, task)
    assert "model 'odd-fn'" in message and WORDS[kind] in message, message
    assert "\n" not in message


SPEC = """\
seed: 0
limit: 40
bootstrap_resamples: 20
tasks: [digits]
models:
  - {{name: odd, factory: 'tests.reliability.hostile.output_models:emitting',
     factory_args: {{kind: {kind}}}, input_shape: [1, 8, 8]}}
  - {{name: good, factory: 'tests.fixture_models:linear_digits', input_shape: [1, 8, 8]}}
suites: {{accuracy: {{}}}}
"""


@pytest.mark.parametrize("kind", ["meta", "sparse"])
def test_a_run_fails_only_that_models_job_with_one_line(kind: str, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(SPEC.format(kind=kind)))
    code, _out, err = cli("run", spec, "--out", tmp_path / "out")
    assert code == 1 and "Traceback" not in err, err
    (line,) = [ln for ln in err.splitlines() if ln.startswith("error: job ")]
    assert line.startswith("error: job odd × digits × accuracy failed: model 'odd' returned ")
    assert WORDS[kind] in line
    assert "1 of 2 jobs failed" in err


def test_a_run_where_every_job_fails_says_each_reason_once(tmp_path: Path) -> None:
    """With no job completed, the end of the run said "(no leaderboard: no completed jobs ...
    (failed jobs: <every job's reason>))" on one very long line before the error lines that
    say the same: now the error lines alone carry the reasons."""
    spec = tmp_path / "spec.yaml"
    text = textwrap.dedent(SPEC.format(kind="meta")).replace(
        "  - {name: good, factory: 'tests.fixture_models:linear_digits', input_shape: [1, 8, 8]}\n",
        "",
    )
    spec.write_text(text)
    code, _out, err = cli("run", spec, "--out", tmp_path / "out")
    assert code == 1 and "Traceback" not in err, err
    assert "(no leaderboard: no job completed)" in err.splitlines(), err
    assert err.count("model 'odd' returned ") == 2, err  # the job's progress line and its error
