"""`hf:<repo id>[@revision]` zoo entries, offline: a tiny model saved with `save_pretrained` into a
temporary folder laid out as the hub cache stands in for the hub (HF_HUB_OFFLINE=1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from harness.cli.main import main
from harness.config.planner import build_plan, with_selected_entries
from harness.config.spec import parse_spec_text
from harness.core.errors import ModelLoadError, SpecError
from harness.run.plugins import installed_plugins
from harness.zoo import hub_models
from harness.zoo.hub_models import model_name, parse_ref

REPO = Path(__file__).resolve().parents[2]
COMMIT = "0123456789abcdef0123456789abcdef01234567"
CLASSES = [f"class-{i}" for i in range(4)]


def _fake_hub_cache(root: Path, repo: str, *, labels: list[str]) -> Path:
    """`root` laid out as HF_HUB_CACHE with one model repo whose main branch is COMMIT."""
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    folder = root / f"models--{repo.replace('/', '--')}"
    snapshot = folder / "snapshots" / COMMIT
    torch.manual_seed(0)
    config = ViTConfig(
        image_size=8,
        patch_size=4,
        num_channels=3,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={lab: i for i, lab in enumerate(labels)},
    )
    ViTForImageClassification(config).save_pretrained(snapshot)
    ViTImageProcessor(
        size={"height": 8, "width": 8}, image_mean=[0.5] * 3, image_std=[0.5] * 3
    ).save_pretrained(snapshot)
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(COMMIT)
    return snapshot


def test_parse_and_name() -> None:
    assert parse_ref("hf:org/model") == ("org/model", None)
    assert parse_ref("hf:org/model@v1.0") == ("org/model", "v1.0")
    assert model_name("hf:org/model") == "org--model"
    assert model_name("hf:org/model@" + COMMIT) == "org--model+" + COMMIT
    for bad in ("hf:model-without-org", "hf:org/model@", "hf:org/a/b", "hf:/model"):
        if bad.endswith("@"):
            assert parse_ref(bad) == ("org/model", None)
            continue
        with pytest.raises(SpecError, match="expected hf:<organisation>/<model>"):
            parse_ref(bad)


def test_spec_from_a_cached_config_pins_the_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot = tmp_path / "models--org--m" / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(
        json.dumps({"architectures": ["ViTForImageClassification"], "id2label": {"0": "a"}})
    )
    monkeypatch.setattr(hub_models, "_config_file", lambda *a: snapshot / "config.json")
    spec = hub_models.hub_model_spec("hf:org/m")
    assert spec["adapter"] == "hf-image" and spec["revision"] == COMMIT
    assert spec["path"] == "org/m" and spec["name"] == "org--m"
    (snapshot / "config.json").write_text(
        json.dumps({"architectures": ["BertForSequenceClassification"]})
    )
    assert hub_models.hub_model_spec("hf:org/m")["adapter"] == "hf-text"
    (snapshot / "config.json").write_text(json.dumps({"architectures": ["GPT2LMHeadModel"]}))
    with pytest.raises(ModelLoadError, match="not an image classifier"):
        hub_models.hub_model_spec("hf:org/m")


def test_uncached_model_offline_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelLoadError, match="not in the local hub cache"):
        hub_models.hub_model_spec("hf:org/not-cached")


def test_cli_selection_adds_hub_models_and_catalogue_tasks(tmp_path: Path) -> None:
    spec = parse_spec_text(
        "tasks: [digits]\nmodels: [digits-mlp]\nsuites: {accuracy: {}}\n", source="t"
    )
    plugins = replace(
        installed_plugins(),
        hub_model_spec=lambda ref: {
            "name": model_name(ref),
            "adapter": "hf-image",
            "path": parse_ref(ref)[0],
        },
    )
    grown, models = with_selected_entries(spec, ["hf:org/m@v2", "digits-mlp"], ["cifar10"], plugins)
    assert grown.models == ["digits-mlp", "hf:org/m@v2"] and grown.tasks == ["digits", "cifar10"]
    assert models == ["org--m+v2", "digits-mlp"]
    plan = build_plan(
        spec, base_dir=tmp_path, plugins=plugins, models=["hf:org/m@v2"], tasks=["cifar10"]
    )
    assert [(j.model, j.task, j.suite) for j in plan.jobs] == [("org--m+v2", "cifar10", "accuracy")]
    assert plan.models["org--m+v2"].origin == "hub"
    assert plan.models["org--m+v2"].config.path == "org/m"  # type: ignore[attr-defined]


def _image_task(folder: Path, names: list[str]) -> Path:
    """A parquet image task of 8x8 RGB images whose label names are `names`."""
    gen = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "image": [gen.random((3, 8, 8)).astype(np.float32).tolist() for _ in range(8)],
            "label": np.arange(8) % len(names),
        }
    )
    path = folder / f"{names[0]}.parquet"
    frame.to_parquet(path)
    return path


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(
    "fresh_interpreter",
    [
        False,
        # the same runs in a fresh `python -m harness` with the variables set before any import
        # (two interpreters with torch and transformers: ~10 s of CPU): CI runs it (-m slow)
        pytest.param(True, marks=pytest.mark.slow),
    ],
    ids=["in-process", "fresh-interpreter"],
)
def test_harness_run_with_a_cached_hub_model_offline(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fresh_interpreter: bool,
) -> None:
    """`harness run --models hf:<id>` end to end with HF_HUB_OFFLINE=1: the model resolves from the
    cache, its revision is pinned to the cached commit; a task whose class names differ from
    config.id2label is refused while planning, from the cached config.json, with the label
    check's message, and the matching task runs. In process, the hub library's settings (read
    from the environment when it is first imported) are set as the variables would set them
    (as tests/reliability/scenarios.py does for its hub cases)."""
    cache = tmp_path / "hub"
    _fake_hub_cache(cache, "tiny-org/tiny-vit", labels=CLASSES)
    good = _image_task(tmp_path, CLASSES)
    bad = _image_task(tmp_path, [f"other-{i}" for i in range(4)])
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        textwrap.dedent(
            f"""\
            device: cpu
            bootstrap_resamples: 0
            tasks:
              - {{name: good, source: {good.name}, split: train, modality: image,
                 input_column: image, class_names: {json.dumps(CLASSES)}}}
              - {{name: bad, source: {bad.name}, split: train, modality: image,
                 input_column: image, class_names: {json.dumps([f"other-{i}" for i in range(4)])}}}
            models: [digits-mlp]
            suites: {{accuracy: {{}}}}
            """
        )
    )
    env = {
        **os.environ,
        "HF_HUB_CACHE": str(cache),
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
    }
    out = tmp_path / "out"

    argv = ["run", str(spec), "--out", str(out), "--models", "hf:tiny-org/tiny-vit"]
    if not fresh_interpreter:
        import huggingface_hub.constants as constants

        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        monkeypatch.setenv("HF_HUB_CACHE", str(cache))

    def run(*more: str) -> subprocess.CompletedProcess[str]:
        if not fresh_interpreter:
            capsys.readouterr()
            code = main([*argv, *more])
            got = capsys.readouterr()
            return subprocess.CompletedProcess(argv, code, got.out, got.err)
        return subprocess.run(
            [sys.executable, "-m", "harness", *argv, *more],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            check=False,
            timeout=300,
        )

    # the cached config.json is read while planning: the task whose classes the model's labels
    # do not match is refused before any job, and nothing is written
    result = run()
    assert result.returncode == 2, result.stdout + result.stderr
    assert "config.id2label" in result.stderr and "'bad'" in result.stderr
    assert not (out / "runs").exists() or not any((out / "runs").iterdir())
    result = run("--tasks", "good")
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads(next((out / "runs").iterdir()).joinpath("manifest.json").read_text())
    status = {j["task"]: j["status"] for j in manifest["jobs"]}
    assert status == {"good": "completed"}
    assert {j["model"] for j in manifest["jobs"]} == {"tiny-org--tiny-vit"}
    (job_file,) = (out / "runs").glob("*/jobs/*/job.json")  # the completed job
    description = json.loads(job_file.read_text())["model_description"]
    assert description["revision"] == COMMIT and description["path"] == "tiny-org/tiny-vit"
