"""One way to build each registered adapter kind for the contract test, with its task."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from harness.core.adapter import ModelAdapter
from harness.core.task import Task
from harness.data.builtin import diabetes, digits
from harness.data.loader import load_task
from harness.data.task_spec import TaskSpec
from harness.run.plugins import adapter_registry
from tests.fixture_models import linear_digits

CPU = torch.device("cpu")


def with_processor(src: Path, tmp_path: Path, processor: Any) -> Path:
    """A copy of the saved Hugging Face model folder `src` with `processor` as its image
    processor (`tmp_path / "model"`)."""
    folder = tmp_path / "model"
    shutil.copytree(src, folder)
    (folder / "preprocessor_config.json").unlink()
    processor.save_pretrained(folder)
    return folder


def build(
    kind: str, fields: dict[str, Any], base_dir: Path, name: str | None = None
) -> ModelAdapter:
    """Validate spec fields with the adapter's config model and build it, as the runner does."""
    cls = adapter_registry().load(kind)
    config = cls.config_model.model_validate(fields)
    return cls.build(name=name or f"{kind}-model", config=config, device=CPU, base_dir=base_dir)


def text_task(csv: Path) -> Task:
    spec = TaskSpec(
        name="reviews",
        source=str(csv),
        split="test",
        modality="text",
        input_column="text",
        label_column="label",
        group_columns=["source"],
        class_names=["neg", "pos"],
    )
    return load_task(spec, base_dir=csv.parent)


def contract_cases(
    request: pytest.FixtureRequest,
) -> dict[str, Callable[[], tuple[ModelAdapter, Task]]]:
    """kind -> builder; the fixtures are only created for the kind under test."""
    fx = request.getfixturevalue

    def torch_case() -> tuple[ModelAdapter, Task]:
        from harness.adapters.torch_module import TorchModuleAdapter
        from tests.fixture_models import linear_digits

        return TorchModuleAdapter.from_module(
            linear_digits(), name="torch-model", input_shape=(1, 8, 8)
        ), digits()

    def variant_case() -> tuple[ModelAdapter, Task]:
        from harness.adapters.variants.adapter import VariantAdapter
        from harness.config.variants import parse_variant

        parent, task = torch_case()  # int8: black-box, CPU-only, one sample at a time
        variant = parse_variant("int8", where="contract")
        return VariantAdapter("torch-model@int8", parent, variant, device=CPU), task

    return {
        "torch": torch_case,
        "variant": variant_case,
        "hf-image": lambda: (
            build(
                "hf-image", {"path": str(fx("hf_image_dir")), "input_shape": [1, 8, 8]}, Path(".")
            ),
            digits(),
        ),
        "hf-text": lambda: (
            build("hf-text", {"path": str(fx("hf_text_dir"))}, Path(".")),
            text_task(fx("text_csv")),
        ),
        "onnx": lambda: (
            build("onnx", {"path": str(fx("onnx_path")), "input_shape": [1, 8, 8]}, Path(".")),
            digits(),
        ),
        "torchscript": lambda: (
            build(
                "torchscript",
                {"path": str(fx("torchscript_path")), "input_shape": [1, 8, 8]},
                Path("."),
            ),
            digits(),
        ),
        "sklearn": lambda: (
            build(
                "sklearn",
                {"path": str(fx("sklearn_paths")["skops"]), "input_shape": [10]},
                Path("."),
            ),
            diabetes(),
        ),
        "callable": lambda: (
            build(
                "callable",
                {
                    "callable": "tests.adapters.callables:tabular_probabilities",
                    "outputs": "probabilities",
                    "input_shape": [10],
                },
                Path("."),
            ),
            diabetes(),
        ),
    }


class _DigitsHead(torch.nn.Module):
    def __init__(self, last: torch.nn.Module) -> None:
        super().__init__()
        self.net = linear_digits().eval().requires_grad_(False)
        self.last = last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last(self.net(x)).reshape(-1, 10)


def export_onnx(
    module: torch.nn.Module, example: torch.Tensor, path: Path, *, names: tuple[str, str]
) -> Path:
    """`module` exported to ONNX at `path` from an example batch: (input, output) `names`, a
    dynamic batch dimension, opset 17, TorchScript exporter."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example,),
            str(path),
            input_names=[names[0]],
            output_names=[names[1]],
            dynamic_axes={names[0]: {0: "batch"}},
            dynamo=False,
            opset_version=17,
        )
    return path


def export_digits_head(tmp_path: Path, last: torch.nn.Module) -> Path:
    """linear_digits followed by `last`, exported to ONNX (input `pixels`, dynamic batch; output
    `output`) as `tmp_path / "<type of last>.onnx"`."""
    path = tmp_path / f"{type(last).__name__}.onnx"
    return export_onnx(_DigitsHead(last), torch.zeros(2, 1, 8, 8), path, names=("pixels", "output"))


def word_level_tokenizer(specials: list[str], words: list[str], **options: Any) -> Any:
    """A transformers fast tokenizer over a WordLevel vocabulary: `specials` (which must hold
    [PAD], [UNK], [CLS] and [SEP]) at the first ids, then `words`; `[CLS] text [SEP]` per text.
    `options` go to `PreTrainedTokenizerFast` (e.g. `model_max_length`)."""
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    vocab = {tok: i for i, tok in enumerate([*specials, *words])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        **options,
    )
