"""Where the Hugging Face libraries keep what they downloaded, read without importing them.

`harness validate` says of every entry that needs the hub whether it is cached, and an offline
run names the cache it looked in: both use these rules, the libraries' own (datasets 5.x and
huggingface_hub 1.x), so nothing heavy is imported and nothing touches the network:

- a hub dataset read with `datasets.load_dataset` is cached when its prepared Arrow folder
  `<HF_DATASETS_CACHE>/<org>___<name>/<config>/<version>/<hash>/` exists (what datasets' own
  offline loading looks for; `<name>` in datasets' snake case);
- a hub repository fetched file by file (a model's weights, CIFAR-10-C's `.npy` files) is cached
  when `<HF_HUB_CACHE>/<kind>s--<org>--<name>/snapshots/<commit>/` holds the files it needs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_UPPER_UPPER = re.compile(r"([A-Z]+)([A-Z][a-z])")
_LOWER_UPPER = re.compile(r"([a-z\d])([A-Z])")
WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin", "model*.bin")


def _hf_home() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "huggingface"
    home = os.environ.get("HF_HOME")
    return Path(home).expanduser() if home else default


def datasets_cache_root() -> Path:
    """datasets' cache folder: $HF_DATASETS_CACHE, else $HF_HOME/datasets."""
    root = os.environ.get("HF_DATASETS_CACHE")
    return Path(root).expanduser() if root else _hf_home() / "datasets"


def hub_cache_root() -> Path:
    """huggingface_hub's cache folder: $HF_HUB_CACHE, else $HF_HOME/hub."""
    root = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    return Path(root).expanduser() if root else _hf_home() / "hub"


def _snake(name: str) -> str:
    """datasets' `camelcase_to_snakecase` (its cache folders use it for the dataset name)."""
    return _LOWER_UPPER.sub(r"\1_\2", _UPPER_UPPER.sub(r"\1_\2", name)).lower()


def cached_dataset_folder(repo: str, config: str | None = None) -> Path | None:
    """The prepared Arrow folder of hub dataset `repo` (of `config` when given), if any."""
    parts = repo.split("/")
    parts[-1] = _snake(parts[-1])
    root = datasets_cache_root() / "___".join(parts)
    pattern = f"{config or '*'}/*/*"
    found = sorted(p for p in root.glob(pattern) if p.is_dir()) if root.is_dir() else []
    return found[0] if found else None


def cached_snapshot(repo: str, kind: str, patterns: tuple[str, ...]) -> Path | None:
    """A snapshot folder of hub repository `repo` (`kind`: dataset or model) holding a file
    matching one of `patterns`, if any."""
    folder = hub_cache_root() / f"{kind}s--{repo.replace('/', '--')}" / "snapshots"
    if not folder.is_dir():
        return None
    for snapshot in sorted(folder.iterdir()):
        if any(next(snapshot.rglob(p), None) is not None for p in patterns):
            return snapshot
    return None
