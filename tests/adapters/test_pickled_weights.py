"""`allow_pickle: true` weights that torch.load(weights_only=True) cannot read are refused in one
line that names the model and says why: a class or function the file names (code), or a file
that is empty, cut short or not torch's. Before, each was "could not be loaded with
weights_only=True (UnpicklingError); it may contain code or non-tensor objects", with no model
named: a copy cut short in transfer was accused of holding code."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import pytest
import torch

from harness.core.errors import ModelLoadError
from tests.adapters.builders import build
from tests.fixture_models import linear_digits


class Unlisted:
    """A class torch's weights-only unpickler does not allow."""


class Payload:
    def __reduce__(self):  # noqa: ANN204
        return (os.system, ("true",))


def _saved(obj: object, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf, **kwargs)  # type: ignore[arg-type]
    return buf.getvalue()


def _refusal(
    tmp_path: Path, raw: bytes | None, name: str = "w.pt", allow_pickle: bool = True
) -> str:
    """The refusal of `raw` (None: the file already at `tmp_path / name`) as weights."""
    path = tmp_path / name
    if raw is not None:
        path.write_bytes(raw)
    fields = {
        "factory": "tests.fixture_models:linear_digits",
        "weights": str(path),
        "allow_pickle": allow_pickle,
        "input_shape": [1, 8, 8],
    }
    with pytest.raises(ModelLoadError) as err:
        build("torch", fields, Path("."), name="lin")
    line = str(err.value)
    assert line.startswith(f"model 'lin': weights file {path} ") and "\n" not in line
    return line


STATE = _saved(linear_digits().state_dict())
LEGACY = _saved(linear_digits().state_dict(), _use_new_zipfile_serialization=False)


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        (_saved({"w": torch.zeros(2), "x": Unlisted()}), "Unlisted"),
        (pickle.dumps({"w": Payload()}, protocol=2), "posix.system"),
    ],
    ids=["class", "function"],
)
def test_a_file_naming_code_says_what_it_names(tmp_path: Path, raw: bytes, named: str) -> None:
    line = _refusal(tmp_path, raw)
    assert named in line and "code" in line and "state_dict()" in line


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (b"", "is empty (0 bytes)"),
        (STATE[: len(STATE) // 2], "ends early: truncated or damaged"),
        (LEGACY[: len(LEGACY) // 2], "ends early: truncated or damaged"),
    ],
    ids=["empty", "cut-zip", "cut-legacy"],
)
def test_a_cut_or_empty_file_is_not_accused_of_holding_code(
    tmp_path: Path, raw: bytes, said: str
) -> None:
    line = _refusal(tmp_path, raw)
    assert said in line and "code" not in line


def test_a_file_torch_did_not_write_says_what_the_unpickler_read(tmp_path: Path) -> None:
    line = _refusal(tmp_path, b"not a pickle at all")
    assert "Unsupported operand" in line and "not a file torch.save wrote" in line


def test_a_damaged_class_name_is_not_accused_of_holding_code(tmp_path: Path) -> None:
    """Bytes zeroed inside the pickle's `torch._utils._rebuild_tensor_v2` made torch refuse
    "GLOBAL torch._utils._rebuild_\\x00\\x00...": the file was said to name
    `torch._utils._rebuild_`, code; it is damaged, and the NULs stay out of the line."""
    name = b"_rebuild_tensor_v2"
    assert name in STATE
    raw = STATE.replace(name, b"_rebuild_" + b"\0" * (len(name) - len(b"_rebuild_")), 1)
    line = _refusal(tmp_path, raw)
    assert "damaged" in line and "code" not in line and "\0" not in line


@pytest.mark.parametrize("allow_pickle", [False, True])
@pytest.mark.parametrize("kind", ["gz", "bz2", "xz"])
def test_a_compressed_archive_is_told_to_be_unpacked(
    tmp_path: Path, kind: str, allow_pickle: bool
) -> None:
    """A `.tar.gz` of a checkpoint given as `weights:` was told it is not safetensors and to set
    `allow_pickle: true`, which then failed as "not a file torch.save wrote": it is an archive to
    unpack, and the line says so, naming the kind."""
    import bz2
    import gzip
    import lzma
    import tarfile

    from safetensors.torch import save_file

    inner = tmp_path / "model.safetensors"
    save_file(linear_digits().state_dict(), str(inner))
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as archive:
        archive.add(inner, arcname="model.safetensors")
    raw = tar.getvalue()
    packed = gzip.compress(raw) if kind == "gz" else bz2.compress(raw) if kind == "bz2" else None
    path = tmp_path / f"w.tar.{kind}"
    path.write_bytes(lzma.compress(raw) if packed is None else packed)
    line = _refusal(tmp_path, None, path.name, allow_pickle)
    named = {"gz": "gzip", "bz2": "bzip2", "xz": "xz"}[kind]
    assert f"is a {named}-compressed file" in line and "unpack it" in line, line
    assert "allow_pickle" not in line
