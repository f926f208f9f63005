"""Registries (lazy, duplicate-safe, close matches) and spec validation details."""

from __future__ import annotations

import pytest

from harness.config.spec import parse_spec_text
from harness.core.errors import HarnessError, SpecError, UnknownNameError
from harness.core.registry import Registry, load_target


def test_registry_lazy_and_close_matches() -> None:
    reg = Registry(
        "suite",
        {"accuracy": "harness.suites.accuracy:AccuracySuite", "broken": "nowhere.mod:X"},
        "harness.none",
    )
    assert reg.names() == ["accuracy", "broken"]
    assert reg.entry("broken").origin == "builtin"  # nothing imported until load()
    with pytest.raises(HarnessError, match="cannot import module 'nowhere.mod'"):
        reg.load("broken")
    with pytest.raises(UnknownNameError) as err:
        reg.load("acuracy")
    assert err.value.close_matches == ["accuracy"]


def test_load_target_errors() -> None:
    with pytest.raises(HarnessError, match="expected 'package.module:attribute'"):
        load_target("suites.accuracy")
    with pytest.raises(HarnessError, match="has no attribute 'Nope'"):
        load_target("harness.suites.accuracy:Nope")


BASE = "tasks: [digits]\nmodels: [digits-cnn]\nsuites: {accuracy: {}}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "spec is empty"),
        ("- a\n- b\n", "spec must be a mapping"),
        (BASE + "seed: -1\n", "seed: Input should be greater than or equal to 0"),
        (BASE + "batch_size: 0\n", "batch_size: Input should be greater than or equal to 1"),
        (BASE + "device: tpu\n", "device: Input should be 'cpu', 'cuda' or 'auto' (got 'tpu'"),
        (BASE + "device: cdua\n", "(got 'cdua'; did you mean 'cuda'?)"),
        ("models: [digits-cnn]\nsuites: {accuracy: {}}\n", "tasks: required key is missing"),
        (
            "tasks: []\nmodels: [digits-cnn]\nsuites: {accuracy: {}}\n",
            "tasks: List should have at least 1 item",
        ),
        (
            "tasks: [digits, digits]\nmodels: [digits-cnn]\nsuites: {accuracy: {}}\n",
            "duplicate task name 'digits'",
        ),
        (  # a hub reference as a mapping's name (for variants): the name pattern's regex was all
            # it said
            "tasks: [digits]\nsuites: {accuracy: {}}\nmodels:\n"
            "  - {name: 'hf:google/vit-base-patch16-224', variants: [int8]}\n",
            "models.0: name 'hf:google/vit-base-patch16-224' is a hub reference, a list entry of "
            "its own (`- hf:google/vit-base-patch16-224`); a model mapping (for variants, tasks) "
            "names the model and gives adapter: hf-image (or hf-text), path: "
            "google/vit-base-patch16-224",
        ),
        (  # one folder on a case-insensitive disk: the second model's jobs would replace the first's
            "tasks: [digits]\nsuites: {accuracy: {}}\nmodels:\n"
            "  - {name: Net, factory: 'harness.zoo.factories:digits_mlp'}\n"
            "  - {name: net, factory: 'harness.zoo.factories:digits_mlp'}\n",
            "model names 'Net' and 'net' differ only in case",
        ),
        (
            BASE.replace("models: [digits-cnn]", "models: [{name: ../evil, factory: x:y}]"),
            "models.0.name",
        ),
        ("a: &x [1]\nb: *x\n", "YAML aliases"),
        # hub-only keys on a local file were accepted and did nothing (a pinned revision that
        # pins nothing)
        (
            BASE.replace("[digits]", "[{name: t, source: d.csv, modality: tabular, revision: v2}]"),
            "tasks.0: revision is only for Hugging Face hub datasets (source: hf:<id>)",
        ),
        (
            BASE.replace("[digits]", "[{name: t, source: ./imgs, modality: image, subset: x}]"),
            "tasks.0: subset is only for Hugging Face hub datasets",
        ),
        # YAML 1.1 reads these as numbers other than the digits say: seed 15, a 90 s timeout
        (BASE + "seed: 017\n", "line 4, column 7: '017' is an octal number to YAML 1.1 (15)"),
        (BASE + "timeout: 1:30\n", "'1:30' is a base-60 number to YAML 1.1 (90)"),
        (BASE + "timeout: 1:30:00\n", "'1:30:00' is a base-60 number to YAML 1.1 (5400)"),
        (BASE + "headline: {digits: {linf: 0:0.1}}\n", "base-60 number to YAML 1.1"),
        (BASE.replace("{accuracy: {}}", "{accuracy: {ece_bins: 010}}"), "(8); write 10"),
        ("x" * (1 << 20 + 1), "larger than"),
    ],
)
def test_spec_errors_name_the_key(text: str, message: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec_text(text, source="s.yaml")
    assert str(err.value).startswith("s.yaml: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("!!int x", "!!int"),
        ('!!int ""', "!!int"),
        ("!!float x", "!!float"),
        ("!!bool maybe", "!!bool"),
        ('!!timestamp "x"', "!!timestamp"),
        ('!!timestamp "99999-01-01"', "!!timestamp"),
    ],
)
def test_an_explicit_scalar_tag_on_a_wrong_value_is_one_line(value: str, tag: str) -> None:
    """PyYAML's own constructors raised ValueError, IndexError, KeyError or AttributeError on
    these, and `harness validate` showed the traceback."""
    with pytest.raises(SpecError) as err:
        parse_spec_text(BASE + f"seed: {value}\n", source="s.yaml")
    message = str(err.value)
    assert message.startswith("s.yaml: YAML refused at line 4"), message
    assert tag in message and "\n" not in message


def test_yaml_numbers_that_read_as_written_are_kept() -> None:
    """Only the YAML 1.1 forms whose value differs from their digits are refused."""
    for text, seed in (("00", 0), ("0x1F", 31), ("1_000", 1000), ("+7", 7), ("0", 0)):
        assert parse_spec_text(BASE + f"seed: {text}\n", source="s").seed == seed


def test_spec_hash_is_stable_and_sensitive() -> None:
    a = parse_spec_text(BASE, source="s")
    assert a.spec_hash() == parse_spec_text(BASE, source="s").spec_hash()
    assert a.spec_hash() != parse_spec_text(BASE + "seed: 1\n", source="s").spec_hash()


def test_a_duration_flag_is_not_read_in_base_60() -> None:
    """`--job-timeout 1:30` went through the same YAML reading as a spec value: 90 seconds."""
    from harness.config.spec import flag_duration

    with pytest.raises(ValueError, match="expected a duration such as 90"):
        flag_duration("1:30")
    assert flag_duration("90") == 90.0 and flag_duration("2h") == 7200.0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        # untagged: YAML 1.1 reads it as a date, and month 13 raised ValueError
        ("name: 2020-13-45\n", "'2020-13-45' is not a valid !!timestamp value; write a valid"),
        # past 4300 digits int() and str() raise ValueError (octal, decimal and hex alike)
        ("seed: 0" + "7" * 5000 + "\n", "written in 5,001 characters; no setting takes one"),
        ("seed: " + "9" * 5000 + "\n", "written in 5,000 characters"),
        ("seed: 0x" + "f" * 5000 + "\n", "written in 5,002 characters"),
    ],
    ids=["date", "octal", "decimal", "hex"],
)
def test_an_untagged_impossible_date_or_huge_number_is_one_line(line: str, message: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec_text(BASE + line, source="s.yaml")
    assert str(err.value).startswith("s.yaml: YAML refused at line 4"), str(err.value)[:200]
    assert message in str(err.value) and "\n" not in str(err.value)
