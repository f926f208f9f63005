"""Protocol presets: named, versioned settings that reproduce a published leaderboard.

A protocol fixes the tasks (and which of their rows count), the suites and their configs, and the
run settings that move numbers (`limit`). A spec says `protocol: <name>` (or the CLI
`harness run --protocol <name> --models ...`) and `apply_protocol` fills those in; a spec that
sets one of them to another value is refused, naming the key. Every job of such a run records
the protocol (`JobHeader.protocol`), which enters its job key and its leaderboard board, so
numbers made under a protocol are compared only with numbers made under the same protocol.

Bump a protocol's `version` whenever a change to it could move a number. What each preset
reproduces, the RobustBench code it was checked against and what differs are in docs/protocols.md.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from harness.core.errors import SpecError
from harness.core.manifest import ProtocolRef

# RobustBench's `CORRUPTIONS` (robustbench/data.py): the 15 benchmark corruptions of
# Hendrycks & Dietterich 2019 (the 4 extra ones of CIFAR-10-C are not in the benchmark)
BENCHMARK_CORRUPTIONS: tuple[str, ...] = (
    "shot_noise",
    "motion_blur",
    "snow",
    "pixelate",
    "gaussian_noise",
    "defocus_blur",
    "brightness",
    "fog",
    "zoom_blur",
    "frost",
    "glass_blur",
    "impulse_noise",
    "contrast",
    "jpeg_compression",
    "elastic_transform",
)
SEVERITIES: tuple[int, ...] = (1, 2, 3, 4, 5)

IMAGENET_IDS_HINT = (
    "RobustBench's list of 5,000 ImageNet validation images, robustbench/data/"
    "imagenet_test_image_ids.txt in https://github.com/RobustBench/robustbench (one "
    "<wnid>/ILSVRC2012_val_<n>.JPEG per line)"
)


@dataclass(frozen=True, kw_only=True)
class ProtocolTask:
    """A catalogue task and the rows of it the protocol evaluates.

    `corruptions` keeps only the cells of those corruptions (a task with a `corruption` cell
    column); `sample_ids` says the rows come from a user-supplied list of image file names
    (`hint` says where to get it), matched on the file name of each row's source image."""

    name: str
    corruptions: tuple[str, ...] | None = None
    severities: tuple[int, ...] | None = None
    sample_ids: bool = False
    ids_hint: str = ""
    expected_rows: int | None = None  # rows after selection (per cell for a cell task)


@dataclass(frozen=True, kw_only=True)
class Protocol:
    """A named, versioned preset: the tasks, suites (with configs) and run settings it fixes."""

    name: str
    version: int
    description: str
    source: str  # what it reproduces (a citable address)
    tasks: tuple[ProtocolTask, ...]
    suites: dict[str, dict[str, Any]]
    settings: dict[str, Any] = field(default_factory=lambda: {"limit": None})

    @property
    def ref(self) -> ProtocolRef:
        return ProtocolRef(name=self.name, version=self.version)

    @property
    def task_names(self) -> list[str]:
        return [t.name for t in self.tasks]

    @property
    def needs_sample_ids(self) -> bool:
        return any(t.sample_ids for t in self.tasks)

    def task(self, name: str) -> ProtocolTask | None:
        return next((t for t in self.tasks if t.name == name), None)


def _adversarial(norm: str, eps: str) -> dict[str, dict[str, Any]]:
    """AutoAttack standard (our preset `standard`) at one budget, on every sample."""
    return {
        "adversarial": {
            "preset": "standard",
            "attacks": None,
            "params": {},
            "epsilons": {norm: [eps]},
            "max_samples": None,
        }
    }


_RB_EVAL = "https://github.com/RobustBench/robustbench (robustbench/eval.py, robustbench/data.py)"
_STANDARD_AT = "attack preset standard (AutoAttack strength), eps"


def _cifar_attack(name: str, title: str, task: str, norm: str, eps: str) -> Protocol:
    """A RobustBench CIFAR attack leaderboard: AutoAttack strength at one budget, whole test set."""
    return Protocol(
        name=name,
        version=1,
        description=f"RobustBench {title}: {_STANDARD_AT} {eps}, all 10,000 test images, "
        "pixels in [0, 1]",
        source=_RB_EVAL,
        tasks=(ProtocolTask(name=task, expected_rows=10_000),),
        suites=_adversarial(norm, eps),
    )


PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        _cifar_attack("robustbench-cifar10-linf", "CIFAR-10 Linf", "cifar10", "linf", "8/255"),
        _cifar_attack("robustbench-cifar10-l2", "CIFAR-10 L2", "cifar10", "l2", "0.5"),
        _cifar_attack("robustbench-cifar100-linf", "CIFAR-100 Linf", "cifar100", "linf", "8/255"),
        Protocol(
            name="robustbench-cifar10-corruptions",
            version=1,
            description="RobustBench CIFAR-10 common corruptions: CIFAR-10-C, the 15 benchmark "
            "corruptions x 5 severities x 10,000 images, mean accuracy over all cells",
            source=_RB_EVAL,
            tasks=(
                ProtocolTask(
                    name="cifar10-c",
                    corruptions=BENCHMARK_CORRUPTIONS,
                    severities=SEVERITIES,
                    expected_rows=10_000,
                ),
            ),
            suites={"accuracy": {}},
        ),
        Protocol(
            name="robustbench-imagenet-linf",
            version=1,
            description=f"RobustBench ImageNet Linf: {_STANDARD_AT} 4/255, RobustBench's 5,000 "
            "validation images (your id list), resize 256 / centre crop 224",
            source=_RB_EVAL,
            tasks=(
                ProtocolTask(
                    name="imagenet-val",
                    sample_ids=True,
                    ids_hint=IMAGENET_IDS_HINT,
                    expected_rows=5_000,
                ),
            ),
            suites=_adversarial("linf", "4/255"),
        ),
        Protocol(
            name="robustbench-imagenet-corruptions",
            version=1,
            description="RobustBench ImageNet common corruptions: ImageNet-C (224 px, no resize), "
            "15 corruptions x 5 severities x RobustBench's 5,000 images (your id list), mean "
            "accuracy over all cells",
            source=_RB_EVAL,
            tasks=(
                ProtocolTask(
                    name="imagenet-c",
                    corruptions=BENCHMARK_CORRUPTIONS,
                    severities=SEVERITIES,
                    sample_ids=True,
                    ids_hint=IMAGENET_IDS_HINT,
                    expected_rows=5_000,
                ),
            ),
            suites={"accuracy": {}},
        ),
    )
}


def get_protocol(name: str) -> Protocol:
    """The protocol called `name`; an unknown name is a SpecError with the closest match."""
    if name in PROTOCOLS:
        return PROTOCOLS[name]
    close = difflib.get_close_matches(name, list(PROTOCOLS), n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise SpecError(
        f"protocol: unknown protocol {name!r}; {hint}`harness list protocols` shows them "
        f"({', '.join(PROTOCOLS)})"
    )
