"""Hub checkpoints as zoo entries: `hf:<repo id>[@revision]` in `--models` or a spec's `models:`.

The entry resolves, without loading weights, to a model spec for the `hf-image` or `hf-text`
adapter: `config.json` is fetched (or read from the local hub cache; `HF_HUB_OFFLINE=1` works once
it is cached) and its `architectures` decide the adapter. The revision is pinned to the commit the
cache holds (the snapshot folder is named by its commit sha), so the adapter loads exactly the
files that were resolved, and the model's identity records that commit. Without `@revision` the
hub's default branch is resolved to its current commit and the pin is logged. The label mapping
(`config.id2label`) is checked against the task's class names by the adapter (`check_task`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.core.errors import MissingDependencyError, ModelLoadError, SpecError
from harness.data.hub_access import use_hub

log = logging.getLogger(__name__)
PREFIX = "hf:"
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")
# what git refuses in a ref name (git check-ref-format): `..`, `//`, a trailing `/` or `.`,
# a component starting with `.` or ending with `.lock`; such a revision would also walk out of
# the hub cache's refs/ folder
_BAD_REF = re.compile(r"\.\.|//|/$|\.$|/\.|\.lock(/|$)")
_SHA = re.compile(r"^[0-9a-f]{40}$")
ADAPTERS = {"ForImageClassification": "hf-image", "ForSequenceClassification": "hf-text"}


def parse_ref(ref: str) -> tuple[str, str | None]:
    """`hf:org/name@rev` -> ("org/name", "rev"); a malformed reference is a SpecError."""
    body = ref[len(PREFIX) :]
    repo, _, revision = body.partition("@")
    if not _REPO.match(repo):
        raise SpecError(
            f"model {ref!r}: expected hf:<organisation>/<model>[@revision], "
            "e.g. hf:google/vit-base-patch16-224@main"
        )
    if revision and (not _REVISION.match(revision) or _BAD_REF.search(revision)):
        raise SpecError(f"model {ref!r}: revision {revision!r} is not a branch, tag or commit")
    return repo, revision or None


def model_name(ref: str) -> str:
    """The name results carry: `org--model`, plus `+<revision>` when one was given."""
    repo, revision = parse_ref(ref)
    name = repo.replace("/", "--")
    return f"{name}+{revision.replace('/', '-')}" if revision else name


@contextmanager
def _quiet_hub_logs() -> Iterator[None]:
    """huggingface_hub logs every retry of an unreachable hub as a warning (twice: its own
    handler and ours); the one line that matters is the error raised below."""
    hub_log = logging.getLogger("huggingface_hub")
    level = hub_log.level
    hub_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        hub_log.setLevel(level)


def _config_file(repo: str, revision: str | None, ref: str) -> Path:
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import (
            GatedRepoError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )
    except ImportError:
        raise MissingDependencyError("huggingface_hub", "hf", f"model {ref!r}") from None
    use_hub()  # one probe: an unreachable hub means the cache only, at once (no retries)
    try:
        with _quiet_hub_logs():
            return Path(hf_hub_download(repo, "config.json", revision=revision))
    except RevisionNotFoundError:
        raise ModelLoadError(f"model {ref!r}: revision {revision!r} not found on the hub") from None
    except GatedRepoError:
        raise ModelLoadError(
            f"model {ref!r}: the repository is gated; accept its terms on the hub and log in "
            "(huggingface-cli login)"
        ) from None
    except RepositoryNotFoundError:
        raise ModelLoadError(f"model {ref!r}: no such model repository on the hub") from None
    except LocalEntryNotFoundError:
        raise ModelLoadError(
            f"model {ref!r}: config.json is not in the local hub cache and the hub cannot be "
            "reached (offline or HF_HUB_OFFLINE=1); connect once to cache the model"
        ) from None
    except OSError as err:
        raise ModelLoadError(
            f"model {ref!r}: cannot fetch config.json: {str(err).splitlines()[0]}"
        ) from None


def _read_config(path: Path, ref: str) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelLoadError(f"model {ref!r}: unreadable config.json ({err})") from None
    if not isinstance(config, dict):
        raise ModelLoadError(f"model {ref!r}: config.json is not a JSON object")
    return config


def hub_model_spec(ref: str) -> dict[str, Any]:
    """The model spec (name, adapter, path, pinned revision) of a `hf:` reference."""
    repo, revision = parse_ref(ref)
    config_path = _config_file(repo, revision, ref)
    commit = config_path.parent.name if config_path.parent.parent.name == "snapshots" else None
    config = _read_config(config_path, ref)
    architectures = [str(a) for a in config.get("architectures") or []]
    adapter = next(
        (kind for a in architectures for suffix, kind in ADAPTERS.items() if a.endswith(suffix)),
        None,
    )
    if adapter is None:
        raise ModelLoadError(
            f"model {ref!r}: config.json architectures {architectures or '(none)'} are not an "
            "image classifier (*ForImageClassification) or text classifier "
            "(*ForSequenceClassification)"
        )
    pinned = commit if commit and _SHA.match(commit) else revision
    if revision is None and pinned:
        log.info("model %s: pinned to commit %s of the default branch", ref, pinned)
    labels = config.get("id2label") or {}
    return {
        "name": model_name(ref),
        "adapter": adapter,
        "path": repo,
        "revision": pinned,
        "description": (
            f"hub checkpoint {repo}@{(pinned or 'default')[:12]}: {architectures[0]}, "
            f"{len(labels)} labels"
        ),
    }
