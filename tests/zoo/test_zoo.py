"""Tests of the reference zoo: committed weights, hashes, architectures, accuracy, robustness."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from harness.adapters.torch_module import TorchModuleAdapter, TorchModuleConfig
from harness.core.errors import ModelLoadError
from harness.core.hashing import file_sha256
from harness.zoo import WEIGHTS_DIR, read_sha256sums, zoo_models
from harness.zoo.catalogue import CATALOGUE
from harness.zoo.train import (
    RECIPES,
    accuracy,
    build_network,
    pgd_linf,
    robust_accuracy,
    task_arrays,
    with_normalize,
)

NAMES = sorted(n for n, e in CATALOGUE.items() if e["adapter"] == "torch")
TEXT_NAMES = sorted(n for n, e in CATALOGUE.items() if e["adapter"] == "hf-text")
NUM_CLASSES = {"digits": 10, "mnist": 10, "mnist-seen": 6, "diabetes": 2}
MIN_TEST_ACC = {"digits": 0.9, "mnist": 0.9, "mnist-seen": 0.9, "diabetes": 0.65}
ADAPTER_ONLY = {"adapter", "tasks", "description"}


def _network(name: str) -> torch.nn.Module:
    net = build_network(name)
    net.load_state_dict(load_file(zoo_models()[name]["weights"]), strict=True)
    return net.eval()


def _model(name: str) -> torch.nn.Module:
    model = with_normalize(name, _network(name)).eval()
    model.requires_grad_(False)
    return model


def test_catalogue_and_recipes_cover_the_same_models() -> None:
    assert set(NAMES) == set(RECIPES)
    assert TEXT_NAMES == ["rt-bert"] and set(NAMES) | set(TEXT_NAMES) == set(CATALOGUE)
    assert {
        "digits-mlp",
        "digits-cnn",
        "digits-cnn-adv",
        "mnist-cnn",
        "mnist-cnn-adv",
        "diabetes-logreg",
        "diabetes-mlp",
    } <= set(NAMES)


def test_zoo_models_returns_fresh_dicts_with_absolute_paths() -> None:
    first = zoo_models()
    first["digits-cnn"]["normalize"]["mean"].append(99.0)
    second = zoo_models()
    assert second["digits-cnn"]["normalize"]["mean"] == CATALOGUE["digits-cnn"]["normalize"]["mean"]
    for name, spec in second.items():
        if name in TEXT_NAMES:  # a model folder, every file hashed
            assert Path(spec["path"]).is_absolute() and Path(spec["path"]).parent == WEIGHTS_DIR
            assert "weights" not in spec
        else:
            assert Path(spec["weights"]).is_absolute()
            assert Path(spec["weights"]).parent == WEIGHTS_DIR
        assert spec["description"] and "\n" not in spec["description"]


@pytest.mark.parametrize("name", NAMES)
def test_weights_exist_and_match_sha256sums(name: str) -> None:
    spec = zoo_models()[name]
    path = Path(spec["weights"])
    assert path.is_file()
    assert spec["sha256"] == read_sha256sums()[path.name]
    assert file_sha256(path) == spec["sha256"]


def test_missing_hash_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import zoo

    empty = tmp_path / "SHA256SUMS"
    empty.write_text("")
    monkeypatch.setattr(zoo, "SHA256SUMS", empty)
    with pytest.raises(ModelLoadError, match="no sha256"):
        zoo.zoo_models()


@pytest.mark.parametrize("name", NAMES)
def test_weights_load_strictly_and_output_shape(name: str) -> None:
    spec = zoo_models()[name]
    net = _network(name)  # strict=True: no missing or unexpected keys
    out = net(torch.zeros(3, *spec["input_shape"]))
    assert out.shape == (3, NUM_CLASSES[spec["tasks"][0]])


@pytest.mark.parametrize("name", NAMES)
def test_adapter_builds_zoo_spec_and_verifies_hash(name: str, tmp_path: Path) -> None:
    spec = zoo_models()[name]
    fields = {k: v for k, v in spec.items() if k not in ADAPTER_ONLY}
    config = TorchModuleConfig.model_validate(fields)
    adapter = TorchModuleAdapter.build(
        name=name, config=config, device=torch.device("cpu"), base_dir=tmp_path
    )
    assert adapter.describe()["weights_sha256"] == spec["sha256"]
    x, y = task_arrays(spec["tasks"][0], "test")
    ours = _model(name)(x[:16])
    torch.testing.assert_close(adapter.logits(x[:16]), ours)

    bad = TorchModuleConfig.model_validate({**fields, "sha256": "0" * 64})
    with pytest.raises(ModelLoadError, match="sha256"):
        TorchModuleAdapter.build(
            name=name, config=bad, device=torch.device("cpu"), base_dir=tmp_path
        )


@pytest.mark.parametrize("name", NAMES)
def test_test_accuracy_in_expected_range(name: str) -> None:
    task = CATALOGUE[name]["tasks"][0]
    x, y = task_arrays(task, "test")
    acc = accuracy(_model(name), x, y)
    assert MIN_TEST_ACC[task] < acc <= 1.0


def test_adversarially_trained_cnn_is_more_robust() -> None:
    x, y = task_arrays("digits", "test")
    x, y = x[:200], y[:200]
    plain = robust_accuracy(_model("digits-cnn"), x, y, eps=0.1, steps=10)
    adv = robust_accuracy(_model("digits-cnn-adv"), x, y, eps=0.1, steps=10)
    assert adv > plain + 0.1
    assert adv > 0.8
    # no gradient masking: a large budget breaks nearly everything
    assert robust_accuracy(_model("digits-cnn-adv"), x, y, eps=0.5, steps=10) < 0.05


# ~9 s: the default run's check of the MNIST promise (tests/cli/test_quickstart_gate.py checks it
# on the quickstart, in the slow set)
def test_mnist_adversarially_trained_cnn_is_more_robust_at_eps_0_3() -> None:
    """Madry et al.'s evaluation attack (PGD-40, step 0.01) at the classical MNIST budget."""
    x, y = task_arrays("mnist", "test")
    x, y = x[:120], y[:120]
    kw = {"eps": 0.3, "steps": 40, "step_size": 0.01}
    plain = robust_accuracy(_model("mnist-cnn"), x, y, **kw)
    model = _model("mnist-cnn-adv")
    # robust_accuracy(model, x, y, **kw), with its PGD-40 kept to go on from
    adv40 = pgd_linf(model, x, y, **kw, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        clean = model(x).argmax(1) == y
        adv = float((clean & (model(adv40).argmax(1) == y)).float().mean())
    assert plain < 0.05  # a standard CNN is broken at eps 0.3 ...
    assert adv > 0.6 and adv > plain + 0.5  # ... the adversarially trained one is not
    # no gradient masking: more steps barely move it, a large budget breaks it. PGD-100 is the
    # PGD-40 above and 60 more steps (bit for bit robust_accuracy's steps=100, one PGD-40 less)
    adv100 = pgd_linf(model, x, y, eps=0.3, steps=60, step_size=0.01, start=adv40)
    with torch.no_grad():
        stronger = float((clean & (model(adv100).argmax(1) == y)).float().mean())
    assert stronger > adv - 0.05
    assert robust_accuracy(model, x, y, eps=0.5, steps=40) < 0.1


@pytest.mark.parametrize("name", NAMES)
def test_serializing_the_committed_weights_reproduces_the_committed_file(name: str) -> None:
    """The recipe metadata (with fields added later left out at their default) and the tensors
    give back the committed bytes: adding a recipe field did not change older models' hashes."""
    import hashlib

    from harness.zoo.train import serialize

    blob = serialize(name, _network(name))
    assert hashlib.sha256(blob).hexdigest() == zoo_models()[name]["sha256"]


@pytest.mark.slow  # about 8 CPU-minutes, nearly all of it mnist-cnn-adv
def test_training_reproduces_committed_models() -> None:
    """`python -m harness.zoo.train --check` retrains every model. On an AMD CPU
    (`HASHES_CPU_VENDOR`) it must reproduce the committed sha256 bit for bit: deterministic
    algorithms, one thread, and torch's CPU kernels pinned to the instruction set each model was
    trained with (`Recipe.isa`: AVX2 for digits and diabetes, AVX512 for mnist). Where a hash
    cannot be reproduced (another vendor's CPU, or the mnist models on a CPU without AVX512) the
    retrained network must be EQUIVALENT to the committed one: same test accuracy within the
    paired interval, same predictions, weights close (`zoo.train.tolerance`, zoo/README.md)."""
    from harness.zoo.train import hashes_reproducible

    result = subprocess.run(
        [sys.executable, "-m", "harness.zoo.train", "--check", "--no-eval"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if " isa=" in line}
    assert set(lines) == set(RECIPES), out
    for name, line in lines.items():
        if hashes_reproducible(name) is None:  # an AMD CPU with the model's instruction set
            assert "[match]" in line, out
        else:
            assert "[match]" in line or " EQUIVALENT (hash differs on this CPU" in line, out
    if all(hashes_reproducible(n) is not None for n in RECIPES):
        assert "hashes: none checked" in result.stdout, out
    else:
        assert "hashes: all match" in result.stdout, out


def test_text_model_folder_is_verified_file_by_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from harness import zoo

    spec = zoo_models()["rt-bert"]
    folder = Path(spec["path"])
    sums = read_sha256sums()
    for f in sorted(folder.iterdir()):
        assert sums[f"rt-bert/{f.name}"] == file_sha256(f)
    copy = tmp_path / "weights"
    shutil.copytree(WEIGHTS_DIR, copy)
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", copy)
    monkeypatch.setattr(zoo, "SHA256SUMS", copy / "SHA256SUMS")
    (copy / "rt-bert" / "config.json").write_text("{}")
    with pytest.raises(ModelLoadError, match=r"config\.json does not match its sha256 .*changed"):
        zoo.zoo_models()
    (copy / "rt-bert" / "extra.bin").write_bytes(b"x")
    shutil.copy(folder / "config.json", copy / "rt-bert" / "config.json")
    with pytest.raises(ModelLoadError, match=r"extra\.bin does not match its sha256 .*no entry"):
        zoo.zoo_models()


def test_text_model_accuracy_and_word_vectors() -> None:
    from harness.data.text_tasks import rotten_tomatoes_texts
    from tests.suites.adversarial.text.reference_model import rt_bert

    adapter = rt_bert()
    texts, labels = rotten_tomatoes_texts("test")
    logits = torch.cat([adapter.logits(texts[s : s + 512]) for s in range(0, len(texts), 512)])
    acc = float((logits.argmax(1).numpy() == labels).mean())
    assert 0.68 < acc <= 1.0  # a bag-of-words baseline on these snippets is about 0.75
    vectors = adapter.word_vectors()
    assert len(vectors.words) == vectors.vectors.shape[0] > 1000
    assert all(w.isalpha() and w == w.lower() for w in vectors.words)


@pytest.mark.parametrize("vendor", ["GenuineIntel", "AuthenticAMD"])
def test_a_check_fails_on_the_catalogue_problems_whatever_the_cpu(
    vendor: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The catalogue's normalisation against the training split is no matter of CPU kernels: a
    check fails on it whether it compares hashes (the AMD CPU the hashes were made on) or the
    retrained network (another vendor's CPU), even when the network itself is the committed
    one, and names it in a WARNING line."""
    from harness.zoo import train as zoo_train
    from harness.zoo.train import EQUIVALENT, MATCH, NOT_CHECKED, load_committed

    monkeypatch.setattr(zoo_train, "cpu_vendor", lambda: vendor)
    monkeypatch.setattr(zoo_train, "cpu_has", lambda isa: True)
    monkeypatch.setattr(zoo_train, "train", lambda name: load_committed(name))
    problem = "diabetes-logreg: catalogue normalize differs from diabetes train stats"
    monkeypatch.setattr(zoo_train, "check_normalize_constants", lambda: [problem])
    code = zoo_train.train_one("diabetes-logreg", check=True, evaluate_it=False)
    assert code not in (MATCH, EQUIVALENT, NOT_CHECKED)
    assert f"WARNING {problem}" in capsys.readouterr().out
