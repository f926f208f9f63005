"""Reference model zoo: small plain-torch models for the built-in `digits`, `mnist` and
`diabetes` tasks, and hub checkpoints as zoo entries (`hf:<repo id>[@revision]`, hub_models.py).

`zoo_models()` returns ready-to-use model specs for the torch adapter (absolute weights path and
the sha256 from `weights/SHA256SUMS`, which the adapter verifies at load). Weights are produced
reproducibly by `python -m harness.zoo.train`; see `zoo/README.md`.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

from harness.core.errors import ModelLoadError
from harness.zoo.catalogue import CATALOGUE
from harness.zoo.hub_models import hub_model_spec, model_name

WEIGHTS_DIR: Path = Path(__file__).parent / "weights"
SHA256SUMS: Path = WEIGHTS_DIR / "SHA256SUMS"

__all__ = [
    "SHA256SUMS",
    "WEIGHTS_DIR",
    "hub_model_spec",
    "model_name",
    "read_sha256sums",
    "zoo_models",
]


def read_sha256sums(path: Path | None = None) -> dict[str, str]:
    """Parse a `sha256sum`-format file (default `SHA256SUMS`) into {file name: hex digest}."""
    path = SHA256SUMS if path is None else path
    sums: dict[str, str] = {}
    if not path.is_file():
        return sums
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        digest, _, name = line.partition("  ")
        sums[name.lstrip("*").strip()] = digest.strip().lower()
    return sums


def zoo_models() -> dict[str, dict[str, Any]]:
    """Fresh model-spec dicts, name -> spec, for every zoo model (weights path absolute).

    Raises `ModelLoadError` when SHA256SUMS lacks a model: weights are never loaded unverified.
    """
    sums = read_sha256sums()
    models: dict[str, dict[str, Any]] = {}
    for name, entry in CATALOGUE.items():
        if entry["adapter"] == "hf-text":
            models[name] = _model_folder_spec(name, entry, sums)
            continue
        if entry["weights"] not in sums:
            raise ModelLoadError(
                f"zoo model {name!r}: no sha256 for {entry['weights']} in {SHA256SUMS}; "
                "run `python -m harness.zoo.train` to (re)generate the zoo weights and their hashes"
            )
        spec = copy.deepcopy(entry)
        spec["weights"] = str(WEIGHTS_DIR / entry["weights"])
        spec["sha256"] = sums[entry["weights"]]
        models[name] = spec
    return models


def _model_folder_spec(name: str, entry: dict[str, Any], sums: dict[str, str]) -> dict[str, Any]:
    """The spec of a zoo model kept as a Hugging Face folder, every file checked against the
    `<folder>/<file>` hashes in SHA256SUMS (a file without a hash, or a changed one, is refused)."""
    folder = WEIGHTS_DIR / entry["weights"]
    listed = {k: v for k, v in sums.items() if k.startswith(f"{entry['weights']}/")}
    files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    if not listed or not files:
        raise ModelLoadError(
            f"zoo model {name!r}: no files or no sha256 for {folder} in {SHA256SUMS}; run "
            "`python -m harness.zoo.train_text` to (re)generate it"
        )
    for path in files:
        key = f"{entry['weights']}/{path.name}"
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if listed.get(key) != digest:
            raise ModelLoadError(
                f"zoo model {name!r}: {path} does not match its sha256 in {SHA256SUMS} "
                f"({'no entry' if key not in listed else 'changed'}); run `python -m "
                "zoo.train_text` or restore the file"
            )
    spec = {k: copy.deepcopy(v) for k, v in entry.items() if k != "weights"}
    spec["path"] = str(folder)
    return spec
