"""The entries of a plan that need the Hugging Face hub, and whether each is already cached.

`harness validate` lists them (with whether the hub can be reached), so a spec that needs the
network says so before it runs; a run whose plan has any probes the hub once before its first
job (`hub_access.use_hub`), so an unreachable hub means the cache only, at once. Entries:

- catalogue tasks read from the hub (`cifar10`, `adult`...; a protocol's tasks among them) and
  inline tasks with an `hf:` source: cached when datasets' prepared folder of the dataset exists;
  CIFAR-10-C's files: cached when a snapshot of the repository holds its `.npy` files;
- models whose weights come from the hub (`hf:` references, `hf-image` / `hf-text` entries with
  a hub id as `path`): cached when a snapshot of the repository holds config.json and weights.
- models a suite loads itself from the hub (`Suite.hub_models`: the text attacks'
  `similarity_model` given as a hub id), cached the same way.

Tasks read from files you download (`cifar100-c`, `imagenet-c`) and local files need no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.data.catalogue import BUILTIN_TASKS
from harness.data.hub_cache import WEIGHT_PATTERNS, cached_dataset_folder, cached_snapshot

if TYPE_CHECKING:
    from harness.config.plan import Plan
    from harness.data.hub import HubTask

HUB_ADAPTERS = ("hf-image", "hf-text")
HUB_TASK_MODULE = "harness.data.hub:"


@dataclass(frozen=True)
class NetworkNeed:
    """One plan entry that reads from the hub: what it is, what it reads, where it is cached."""

    entry: str  # "task cifar10", "model org--name"
    resource: str  # "hub dataset uoft-cs/cifar10 (config plain_text)"
    cached: Path | None
    uncached_hint: str = ""  # shown when not cached: "(no local folder /spec/dir/org/m either)"

    def line(self) -> str:
        where = f"cached in {self.cached}" if self.cached else f"NOT cached{self.uncached_hint}"
        return f"{self.entry}: {self.resource}: {where}"


def network_needs(plan: Plan) -> list[NetworkNeed]:
    """Every task and model of `plan` that reads from the hub (see the module docstring)."""
    needs: list[NetworkNeed] = []
    protocol = f" (protocol {plan.protocol.ref.label})" if plan.protocol is not None else ""
    for entry in plan.spec.tasks:
        if isinstance(entry, str):
            if entry in plan.tasks and BUILTIN_TASKS.get(entry, "").startswith(HUB_TASK_MODULE):
                from harness.data.hub import HUB_TASKS

                needs.extend(_hub_task(HUB_TASKS[entry], f"task {entry}{protocol}"))
        elif (
            entry.name in plan.tasks
            and entry.source.startswith("hf:")
            and not _local(entry.source[3:], plan.base_dir)  # a local folder datasets reads
        ):
            needs.append(_dataset(entry.source[3:], entry.subset, f"task {entry.name}"))
    for name, model in plan.models.items():
        path = getattr(model.config, "path", None)
        hub_path = model.spec.adapter in HUB_ADAPTERS and isinstance(path, str)
        if hub_path and not _local(str(path), plan.base_dir):
            snapshot = cached_snapshot(str(path), "model", WEIGHT_PATTERNS)
            # a mistyped local folder reads as a hub id: say that no such folder is there
            hint = f" (no local folder {_folder(str(path), plan.base_dir)} either)"
            needs.append(NetworkNeed(f"model {name}", f"hub model {path}", snapshot, hint))
    for name, suite in plan.suites.items():
        for setting, repo in suite.hub_models().items():
            snapshot = cached_snapshot(repo, "model", WEIGHT_PATTERNS)
            needs.append(NetworkNeed(f"suite {name}", f"hub model {repo} ({setting})", snapshot))
    return needs


def _hub_task(task: HubTask, entry: str) -> list[NetworkNeed]:
    if task.local_env is not None:
        return []  # files you download yourself
    if task.snapshot is not None:
        cached = cached_snapshot(task.snapshot, "dataset", ("*.npy",))
        return [NetworkNeed(entry, f"files of hub dataset {task.snapshot}", cached)]
    source = task.spec.source
    if not source.startswith("hf:"):
        return []
    return [_dataset(source[3:], task.spec.subset, entry)]


def _dataset(repo: str, subset: str | None, entry: str) -> NetworkNeed:
    config = f" (config {subset})" if subset else ""
    return NetworkNeed(entry, f"hub dataset {repo}{config}", cached_dataset_folder(repo, subset))


def _local(path: str, base_dir: Path) -> bool:
    """A model `path` that names a local folder (the adapters' own rule: it exists)."""
    return _folder(path, base_dir).exists()


def _folder(path: str, base_dir: Path) -> Path:
    """Where a model `path` would be as a local folder (relative to the spec's folder)."""
    local = Path(path).expanduser()
    return local if local.is_absolute() else base_dir / local
