"""Every numeric spec key, policy key and command-line flag x {NaN, infinity, true, bytes, a huge
number, a negative number}: refused with one line naming the key (exit 2), or accepted where the
value is in the key's documented range. A flag that overrides a spec key says what the spec says.

Today's lax parsing read `seed: true` and `limit: true` as 1 and let `timeout: .inf` through
validate into a run that crashed; these cases pin the opposite.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.present.synthetic import write_synthetic_run
from tests.reliability.hostile.corpus import cli, one_error_line

KINDS = ("nan", "inf", "bool", "bytes", "huge", "negative")
TOKEN = "HOSTILE_VALUE_TOKEN"


def _yaml(kind: str, number: str) -> str:
    """The YAML text of a hostile value for a key holding `number`s ('int' or 'float')."""
    huge = "1000000000000000000000000000000" if number == "int" else "1.0e+300"
    return {
        "nan": ".nan",
        "inf": ".inf",
        "bool": "true",
        "bytes": "!!binary aGk=",
        "huge": huge,
        "negative": "-1",
    }[kind]


# A valid base spec: the digits task, an inline tabular task on d.csv, a torch model on each.
BASE: dict[str, Any] = {
    "seed": 0,
    "bootstrap_resamples": 20,
    "tasks": [
        "digits",
        {
            "name": "tab",
            "source": "d.csv",
            "modality": "tabular",
            "feature_columns": [f"f{i}" for i in range(10)],
            "label_column": "y",
            "num_classes": 2,
        },
    ],
    "models": [
        {
            "name": "img",
            "factory": "tests.fixture_models:linear_digits",
            "input_shape": [1, 8, 8],
            "normalize": {"mean": [0.5], "std": [0.25]},
            "tasks": ["digits"],
        },
        {
            "name": "tm",
            "factory": "tests.fixture_models:linear_tabular",
            "input_shape": [10],
            "tasks": ["tab"],
        },
    ],
    "suites": {"accuracy": {}, "fairness": {}, "throughput": {}},
}
IMAGE_TASK = {"name": "imgs", "source": "imgs", "modality": "image"}

# key path: (int or float, what a huge value gets, what a negative value gets); NaN, infinity,
# true and bytes are refused everywhere. "image:" keys live on an inline image task (refusals
# only: its folder does not exist, which validate says after the values pass).
SPEC_KEYS: dict[str, tuple[str, str, str]] = {
    "seed": ("int", "refused", "refused"),
    "batch_size": ("int", "refused", "refused"),
    "limit": ("int", "accepted", "refused"),
    "bootstrap_resamples": ("int", "refused", "refused"),
    "threads": ("int", "refused", "refused"),
    "timeout": ("float", "refused", "refused"),
    "execution.shards": ("int", "refused", "refused"),
    "execution.shard_size": ("int", "accepted", "refused"),
    "execution.max_retries": ("int", "refused", "refused"),
    "execution.resources.cpus_per_job": ("float", "refused", "refused"),
    "execution.resources.gpus_per_job": ("float", "refused", "refused"),
    "tasks.1.num_classes": ("int", "refused", "refused"),
    "tasks.1.input_shape.0": ("int", "refused", "refused"),
    "tasks.1.bounds.1": ("float", "accepted", "refused"),
    "tasks.1.feature_bounds.f0.1": ("float", "accepted", "refused"),
    "image:resize": ("int", "refused", "refused"),
    "image:center_crop": ("int", "refused", "refused"),
    "image:channels": ("int", "refused", "refused"),
    "image:severities.0": ("int", "refused", "refused"),
    "models.0.input_shape.0": ("int", "refused", "refused"),
    "models.0.bounds.1": ("float", "accepted", "refused"),
    "models.0.normalize.mean.0": ("float", "refused", "accepted"),
    "models.0.normalize.std.0": ("float", "refused", "refused"),
    "suites.accuracy.ece_bins": ("int", "refused", "refused"),
    "suites.fairness.min_group_size": ("int", "accepted", "refused"),
    "suites.fairness.bootstrap_resamples": ("int", "refused", "refused"),
    "suites.throughput.rounds": ("int", "refused", "refused"),
    "suites.throughput.max_round_cv": ("float", "refused", "refused"),
}


def _expected(kind: str, huge: str, negative: str) -> str:
    return {"huge": huge, "negative": negative}.get(kind, "refused")


def _set(data: Any, path: list[str], value: Any) -> None:
    """Set `value` at `path`, making missing containers on the way (a list of zeros before a
    numeric key: `bounds.1` makes [0.0, value])."""
    for i, part in enumerate(path):
        key: Any = int(part) if part.isdigit() and isinstance(data, list) else part
        if i == len(path) - 1:
            data[key] = value
            return
        if isinstance(data, dict) and key not in data:
            following = path[i + 1]
            data[key] = [0.0] * (int(following) + 1) if following.isdigit() else {}
        data = data[key]


def _spec_text(key: str, literal: str) -> str:
    data = copy.deepcopy(BASE)  # plain dicts, lists and scalars: a YAML round trip's copy
    if key.startswith("image:"):
        data["tasks"].append(dict(IMAGE_TASK))
        path = ["tasks", "2", *key.removeprefix("image:").split(".")]
        if path[-1] == "0":  # a list key
            _set(data, path[:-1], [TOKEN])
        else:
            _set(data, path, TOKEN)
    else:
        _set(data, key.split("."), TOKEN)
    text = yaml.safe_dump(data, sort_keys=False)
    assert TOKEN in text
    return text.replace(TOKEN, literal)


@pytest.fixture(scope="module")
def spec_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile-values")
    rows = ["f0,f1,f2,f3,f4,f5,f6,f7,f8,f9,y"]
    rows += [
        ",".join(f"{(i + j) % 10 / 10:.1f}" for j in range(10)) + f",{i % 2}" for i in range(20)
    ]
    (folder / "d.csv").write_text("\n".join(rows) + "\n")
    (folder / "spec.yaml").write_text(yaml.safe_dump(BASE, sort_keys=False))
    return folder


def test_the_base_spec_is_valid(spec_folder: Path) -> None:
    code, _out, err = cli("validate", spec_folder / "spec.yaml")
    assert code == 0, err


SPEC_CASES = [(key, kind) for key in SPEC_KEYS for kind in KINDS]


@pytest.mark.parametrize(("key", "kind"), SPEC_CASES, ids=[f"{k}-{v}" for k, v in SPEC_CASES])
def test_spec_values(key: str, kind: str, spec_folder: Path) -> None:
    number, huge, negative = SPEC_KEYS[key]
    path = spec_folder / f"{re.sub(r'[^a-z0-9]+', '-', key.lower())}-{kind}.yaml"
    path.write_text(_spec_text(key, _yaml(kind, number)))
    code, _out, err = cli("validate", path)
    if _expected(kind, huge, negative) == "accepted":
        assert code == 0, err
        return
    line = one_error_line(err)
    assert code == 2, err
    shown = key.removeprefix("image:")
    named = shown.rsplit(".", 1)[0] if shown.endswith(".0") or shown.endswith(".1") else shown
    leaf = named.split(".")[-1]
    assert leaf in line, line  # the key (or its list) is named


# text keys given bytes (`!!binary`), which lax parsing decoded into text without a word
TEXT_KEYS = (
    "name",
    "device",
    "tasks.0",
    "tasks.1.source",
    "tasks.1.feature_columns.0",
    "tasks.1.label_column",
    "models.0.name",
    "models.0.factory",
    "models.1.tasks.0",
)


@pytest.mark.parametrize("key", TEXT_KEYS)
def test_bytes_where_text_goes(key: str, spec_folder: Path) -> None:
    path = spec_folder / f"bytes-{re.sub(r'[^a-z0-9]+', '-', key.lower())}.yaml"
    path.write_text(_spec_text(key, "!!binary ZGlnaXRz"))
    code, _out, err = cli("validate", path)
    line = one_error_line(err)
    leaf = key.removesuffix(".0").split(".")[-1]
    assert code == 2 and leaf in line and "(got b'digits')" in line, line


def test_a_bytes_key_is_no_name(spec_folder: Path) -> None:
    path = spec_folder / "bytes-suite-name.yaml"
    path.write_text(
        _spec_text("suites.accuracy", "{}").replace("accuracy:", "!!binary YWNjdXJhY3k=:")
    )
    code, _out, err = cli("validate", path)
    assert code == 2 and "suites.\"b'accuracy'\": expected text, not bytes" in one_error_line(err)


POLICY_KEYS: dict[str, tuple[str, str]] = {
    # key path: (what a huge value gets, what a negative value gets)
    "alpha": ("refused", "refused"),
    "default.alpha": ("refused", "refused"),
    # on a fraction metric (top1_acc), a floor outside [0, 1] fails or passes every run and a
    # max_drop of 1 or more never trips, nor does a max_drop_relative of 1 or more on a
    # higher-is-better fraction: refused (harness.analysis.check_policy.verify_range)
    "default.floor": ("refused", "refused"),
    "default.max_drop": ("refused", "refused"),
    "default.max_drop_relative": ("refused", "refused"),
    "metrics.top1_acc.floor": ("refused", "refused"),
    "metrics.top1_acc.max_drop": ("refused", "refused"),
    "metrics.top1_acc.max_drop_relative": ("refused", "refused"),
    "metrics.ece.max_drop_relative": ("accepted", "refused"),  # lower is better: may rise 3x
}
POLICY_CASES = [(key, kind) for key in POLICY_KEYS for kind in KINDS]


@pytest.fixture(scope="module")
def gate_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_run(
        tmp_path_factory.mktemp("hostile-policy") / "results", models={"m1": 0.9, "m2": 0.8}
    )


@pytest.mark.parametrize(("key", "kind"), POLICY_CASES, ids=[f"{k}-{v}" for k, v in POLICY_CASES])
def test_policy_values(key: str, kind: str, gate_run: Path, tmp_path: Path) -> None:
    huge, negative = POLICY_KEYS[key]
    data: dict[str, Any] = {}
    _set(data, key.split("."), TOKEN)
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(data).replace(TOKEN, _yaml(kind, "float")))
    code, _out, err = cli(
        "check", "--baseline", gate_run, "--current", gate_run, "--policy", policy
    )
    if _expected(kind, huge, negative) == "accepted":
        assert code in (0, 1) and "error:" not in err, err  # a verdict, not a refusal
        return
    line = one_error_line(err)
    assert code == 2 and str(policy) in line and key in line, line


# flag: (the command line before it, int or float, huge, negative); the run's spec is missing,
# so a flag value that is accepted meets "spec file not found" next, never a run
FLAGS: dict[str, tuple[tuple[str, ...], str, str, str]] = {
    "run --seed": (("run", "MISSING.yaml"), "int", "refused", "refused"),
    "run --limit": (("run", "MISSING.yaml"), "int", "accepted", "refused"),
    "run --threads": (("run", "MISSING.yaml"), "int", "refused", "refused"),
    "run --shards": (("run", "MISSING.yaml"), "int", "refused", "refused"),
    "run --job-timeout": (("run", "MISSING.yaml"), "float", "refused", "refused"),
    "run --width": (("run", "MISSING.yaml"), "int", "accepted", "refused"),
    "parity --limit": (
        ("parity", "MISSING.yaml", "--models", "a,b", "--task", "t"),
        "int",
        "accepted",
        "refused",
    ),
    "parity --atol": (
        ("parity", "MISSING.yaml", "--models", "a,b", "--task", "t"),
        "float",
        "accepted",
        "refused",
    ),
    "groups --resamples": (("groups", "MISSING"), "int", "refused", "refused"),
    "groups --min-group-size": (("groups", "MISSING"), "int", "accepted", "refused"),
    "leaderboard --width": (("leaderboard", "MISSING"), "int", "accepted", "refused"),
}
FLAG_TEXT = {
    "nan": "nan",
    "inf": "inf",
    "bool": "true",
    "bytes": "\udcff\udcfe",  # argv bytes that are not UTF-8, as Python hands them over
    "negative": "-1",
}
FLAG_CASES = [(flag, kind) for flag in FLAGS for kind in KINDS]


def _flag_text(kind: str, number: str) -> str:
    if kind == "huge":
        return "1000000000000000000000000000000" if number == "int" else "1.0e+300"
    return FLAG_TEXT[kind]


@pytest.mark.parametrize(("flag", "kind"), FLAG_CASES, ids=[f"{f}-{k}" for f, k in FLAG_CASES])
def test_flag_values(flag: str, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    before, number, huge, negative = FLAGS[flag]
    name = flag.split()[1]
    code, _out, err = cli(*before, name, _flag_text(kind, number))
    line = one_error_line(err)
    assert code == 2, err
    if _expected(kind, huge, negative) == "accepted":
        assert name not in line, line  # the next check speaks, not the flag's
    else:
        assert f"argument {name}:" in line, line


# a flag and the spec key it overrides: the same check, the same words
OVERRIDES = {
    "--seed": "seed",
    "--limit": "limit",
    "--threads": "threads",
    "--job-timeout": "timeout",
}
SAME_CASES = [
    (flag, kind)
    for flag, key in OVERRIDES.items()
    for kind in ("nan", "inf", "bool", "huge", "negative")
    if _expected(kind, *SPEC_KEYS[key][1:]) == "refused"
]


@pytest.mark.parametrize(("flag", "kind"), SAME_CASES, ids=[f"{f}-{k}" for f, k in SAME_CASES])
def test_a_flag_says_what_the_spec_says(flag: str, kind: str, spec_folder: Path) -> None:
    key = OVERRIDES[flag]
    number = SPEC_KEYS[key][0]
    literal = _yaml(kind, number)
    path = spec_folder / f"same-{key}-{kind}.yaml"
    path.write_text(_spec_text(key, literal))
    _code, _out, spec_err = cli("validate", path)
    spec_line = one_error_line(spec_err)
    code, _out, flag_err = cli("run", spec_folder / "spec.yaml", flag, literal)
    flag_line = one_error_line(flag_err)
    assert code == 2
    said = spec_line.split(f"{key}: ", 1)[1]
    assert f"argument {flag}: {said} (see harness run --help)" in flag_line, (spec_line, flag_line)
