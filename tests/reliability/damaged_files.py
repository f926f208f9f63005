"""Files that are not what they claim, built on demand for the bad-input catalogue.

`FILES[name](folder)` writes one damaged (or hostile) model file or folder under `folder` and
returns nothing; the catalogue names the generator in a case's `files:` section. Every generator
is seeded and small (a few KB), so the cases run in milliseconds.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import save as safetensors_bytes

from tests.fixture_models import linear_digits


class Payload:
    """Unpickling this runs `touch <sentinel>` (the sentinel proves whether code ran)."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.sentinel}",))


def _good_weights() -> bytes:
    return safetensors_bytes({k: v.contiguous() for k, v in linear_digits().state_dict().items()})


def _header_file(header: object, data: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def st_truncated(folder: Path, name: str) -> None:
    good = _good_weights()
    (folder / name).write_bytes(good[: len(good) // 2])


def st_cut_header(folder: Path, name: str) -> None:
    (folder / name).write_bytes(_good_weights()[:40])


def st_empty(folder: Path, name: str) -> None:
    (folder / name).write_bytes(b"")


def st_short(folder: Path, name: str) -> None:
    (folder / name).write_bytes(b"\x05\x00\x00")


def st_broken_header(folder: Path, name: str) -> None:
    junk = b"{not json at all" + b"\xff" * 20
    (folder / name).write_bytes(struct.pack("<Q", len(junk)) + junk + b"\x00" * 64)


def st_huge_length(folder: Path, name: str) -> None:
    (folder / name).write_bytes(struct.pack("<Q", 2**63 - 1) + b'{"a": 1}' + b"\x00" * 64)


def st_claims_40gb(folder: Path, name: str) -> None:
    """A header claiming a 40 GB float32 tensor in a 200-byte file."""
    n = 10_000_000_000
    header = {"1.weight": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}}
    (folder / name).write_bytes(_header_file(header, b"\x00" * 64))


def st_overlap(folder: Path, name: str) -> None:
    header = {
        "1.weight": {"dtype": "F32", "shape": [10, 64], "data_offsets": [0, 2560]},
        "1.bias": {"dtype": "F32", "shape": [10], "data_offsets": [2520, 2560]},
    }
    (folder / name).write_bytes(_header_file(header, b"\x00" * 2560))


def st_bad_dtype(folder: Path, name: str) -> None:
    header = {"1.bias": {"dtype": "F128", "shape": [10], "data_offsets": [0, 160]}}
    (folder / name).write_bytes(_header_file(header, b"\x00" * 160))


def st_shape_mismatch(folder: Path, name: str) -> None:
    """The byte range does not match the shape and dtype it claims."""
    header = {"1.bias": {"dtype": "F32", "shape": [10], "data_offsets": [0, 8]}}
    (folder / name).write_bytes(_header_file(header, b"\x00" * 8))


def st_nested_header(folder: Path, name: str) -> None:
    """A header that is JSON nested 100 000 deep (json.loads recurses)."""
    raw = b"[" * 100_000 + b"]" * 100_000
    (folder / name).write_bytes(struct.pack("<Q", len(raw)) + raw)


def st_not_a_dict(folder: Path, name: str) -> None:
    (folder / name).write_bytes(_header_file([1, 2, 3]))


def st_int32(folder: Path, name: str) -> None:
    """linear_digits' weights stored as int32 (values truncated to integers)."""
    state = {k: v.to(torch.int32).contiguous() for k, v in linear_digits().state_dict().items()}
    (folder / name).write_bytes(safetensors_bytes(state))


def st_float16(folder: Path, name: str) -> None:
    """linear_digits' weights stored as float16: accepted, with a note in the job record."""
    state = {k: v.half().contiguous() for k, v in linear_digits().state_dict().items()}
    (folder / name).write_bytes(safetensors_bytes(state))


def st_wrong_shape(folder: Path, name: str) -> None:
    state = {"1.weight": torch.zeros(10, 32), "1.bias": torch.zeros(10)}
    (folder / name).write_bytes(safetensors_bytes(state))


def st_complex(folder: Path, name: str) -> None:
    state = {k: v.contiguous() for k, v in linear_digits().state_dict().items()}
    state["1.bias"] = torch.zeros(10, dtype=torch.complex64)
    torch.save(state, folder / name)


def pickle_as_skops(folder: Path, name: str) -> None:
    """A pickle (with a payload) renamed to .skops."""
    (folder / name).write_bytes(pickle.dumps(Payload(folder / "PWNED")))


def zip_as_skops(folder: Path, name: str) -> None:
    """A zip archive that is not a skops file."""
    with zipfile.ZipFile(folder / name, "w") as z:
        z.writestr("hello.txt", "not a model")


def truncated_skops(folder: Path, name: str) -> None:
    import skops.io as sio  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression

    x = torch.rand(40, 10, generator=torch.Generator().manual_seed(0)).numpy()
    est = LogisticRegression().fit(x, (x[:, 0] > 0.5).astype(int))
    raw = sio.dumps(est)
    (folder / name).write_bytes(raw[: len(raw) // 2])


def untrusted_skops(folder: Path, name: str) -> None:
    """A whole skops file holding a type skops does not trust by default (a tree)."""
    import skops.io as sio  # type: ignore[import-untyped]
    from sklearn.tree import DecisionTreeClassifier

    x = torch.rand(40, 10, generator=torch.Generator().manual_seed(0)).numpy()
    est = DecisionTreeClassifier(random_state=0).fit(x, (x[:, 0] > 0.5).astype(int))
    sio.dump(est, folder / name)


def _hf_folder(folder: Path, name: str) -> Path:
    """A tiny ViT image classifier folder (config, processor, weights) for 8x8 digits."""
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    config = ViTConfig(
        image_size=8,
        patch_size=4,
        num_channels=1,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=8,
        num_labels=10,
        id2label={i: str(i) for i in range(10)},
        label2id={str(i): i for i in range(10)},
    )
    path = folder / name
    ViTForImageClassification(config).save_pretrained(path)
    ViTImageProcessor(
        size={"height": 8, "width": 8}, image_mean=[0.5], image_std=[0.5], do_rescale=False
    ).save_pretrained(path)
    return path


def hf_pickle_payload(folder: Path, name: str) -> None:
    """A Hugging Face folder whose weights are a pytorch_model.bin carrying a payload."""
    path = _hf_folder(folder, name)
    (path / "model.safetensors").unlink()
    torch.save({"weight": Payload(folder / "PWNED")}, path / "pytorch_model.bin")


def hf_truncated_safetensors(folder: Path, name: str) -> None:
    path = _hf_folder(folder, name)
    raw = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(raw[: len(raw) // 2])


def hf_claims_40gb(folder: Path, name: str) -> None:
    path = _hf_folder(folder, name)
    st_claims_40gb(path, "model.safetensors")


def hf_broken_config(folder: Path, name: str) -> None:
    path = _hf_folder(folder, name)
    (path / "config.json").write_text('{"model_type": "vit", "hidden_size": ')


def onnx_truncated(folder: Path, name: str) -> None:
    (folder / name).write_bytes(b"\x08\x07\x12\x04test" + b"\xff" * 10)


def onnx_garbage(folder: Path, name: str) -> None:
    (folder / name).write_bytes(bytes(range(256)) * 4)


def onnx_8x8(folder: Path, name: str) -> None:
    """A whole graph for 1x8x8 digits (a dynamic batch), to run on a task of another shape."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            linear_digits(),
            (torch.rand(1, 1, 8, 8),),
            folder / name,
            input_names=["pixels"],
            dynamic_axes={"pixels": {0: "batch"}},
            dynamo=False,
        )


def torchscript_garbage(folder: Path, name: str) -> None:
    with zipfile.ZipFile(folder / name, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")


FILES: dict[str, Callable[[Path, str], None]] = {
    f.__name__.replace("_", "-"): f
    for f in (
        st_truncated,
        st_cut_header,
        st_empty,
        st_short,
        st_broken_header,
        st_huge_length,
        st_claims_40gb,
        st_overlap,
        st_bad_dtype,
        st_shape_mismatch,
        st_nested_header,
        st_not_a_dict,
        st_int32,
        st_float16,
        st_wrong_shape,
        st_complex,
        pickle_as_skops,
        zip_as_skops,
        truncated_skops,
        untrusted_skops,
        hf_pickle_payload,
        hf_truncated_safetensors,
        hf_claims_40gb,
        hf_broken_config,
        onnx_truncated,
        onnx_garbage,
        onnx_8x8,
        torchscript_garbage,
    )
}
