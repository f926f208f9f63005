"""Inline task/model entries report only their own errors, with plain key paths."""

from __future__ import annotations

import pytest

from harness.config.spec import parse_spec_text
from harness.core.errors import ConfigError, SpecError
from harness.data.task_spec import TaskSpec
from harness.suites.shift import ShiftSuite


def _error(text: str) -> str:
    with pytest.raises(SpecError) as info:
        parse_spec_text(text, source="s.yaml")
    return str(info.value)


def test_inline_task_typo_names_only_its_keys() -> None:
    msg = _error(
        "tasks: [{name: t, sorce: ./x.csv, modality: tabular}]\n"
        "models: [digits-mlp]\nsuites: {accuracy: {}}\n"
    )
    # the typo is the one mistake: its key is named, not also reported missing
    assert msg == "s.yaml: tasks.0.sorce: unknown key (did you mean 'source'?)"


def test_inline_task_validator_error_has_no_union_noise() -> None:
    msg = _error(
        "tasks: [{name: t, source: ./x.csv, modality: image, feature_columns: [a]}]\n"
        "models: [digits-mlp]\nsuites: {accuracy: {}}\n"
    )
    assert msg.startswith("s.yaml: tasks.0: feature_columns is only for tabular tasks")
    assert "valid string" not in msg and "function-after" not in msg and ";" not in msg


def test_inline_model_missing_name_and_bad_entry_kind() -> None:
    msg = _error("tasks: [3]\nmodels: [{adapter: torch}]\nsuites: {accuracy: {}}\n")
    assert "tasks.0: Input should be a valid dictionary" in msg
    assert "models.0.name: required key is missing" in msg
    assert "valid string" not in msg


def test_names_and_inline_entries_still_parse() -> None:
    spec = parse_spec_text(
        "tasks: [digits, {name: t, source: ./x.csv, modality: tabular, feature_columns: [a]}]\n"
        "models: [digits-mlp, {name: m, factory: 'a:b'}]\nsuites: {accuracy: {}}\n",
        source="s.yaml",
    )
    assert spec.tasks[0] == "digits" and isinstance(spec.tasks[1], TaskSpec)
    assert spec.models[0] == "digits-mlp" and spec.models[1].name == "m"


@pytest.mark.parametrize(
    ("entry", "expect"),
    [
        ("colour: red", "tasks.0.colour: unknown key (not allowed here)"),  # nothing close
        ("severites: [1]", "tasks.0.severites: unknown key (did you mean 'severities'?)"),
        ("lable_column: y", "tasks.0.lable_column: unknown key (did you mean 'label_column'?)"),
    ],
)
def test_unknown_task_key_names_the_closest_key(entry: str, expect: str) -> None:
    msg = _error(
        f"tasks: [{{name: t, source: ./c, modality: image, {entry}}}]\n"
        "models: [digits-mlp]\nsuites: {accuracy: {}}\n"
    )
    assert msg == f"s.yaml: {expect}"


def test_unknown_top_level_and_suite_keys_name_the_closest_key() -> None:
    msg = _error("tasks: [digits]\nmodels: [digits-mlp]\nsuites: {accuracy: {}}\nseeed: 3\n")
    assert msg == "s.yaml: seeed: unknown key (did you mean 'seed'?)"
    # a key the spec already gives is no suggestion for its typo (`taks` beside `tasks`)
    msg = _error("tasks: [digits]\ntaks: [x]\nmodels: [digits-mlp]\nsuites: {accuracy: {}}\n")
    assert msg == "s.yaml: taks: unknown key (not allowed here)"
    with pytest.raises(ConfigError) as info:
        ShiftSuite({"mce_baselin": "m"})
    assert str(info.value) == "suites.shift.mce_baselin: unknown key (did you mean 'mce_baseline'?)"


@pytest.mark.parametrize(
    ("config", "expect"),
    [
        (
            {"ood_sets": [{"name": "o", "source": "x", "modality": "image", "lable_column": None}]},
            "suites.shift.ood_sets.0.lable_column: unknown key (did you mean 'label_column'?)",
        ),
        (
            {"shifted_tasks": ["digits-shifted", {"name": "s", "sourc": "x", "modality": "image"}]},
            "suites.shift.shifted_tasks.1.sourc: unknown key (did you mean 'source'?)",
        ),
        (
            {"ood_sets": [{"generated": "gaussian_nois", "n": 10}]},
            "suites.shift.ood_sets.0.generated: Input should be 'gaussian_noise' or "
            "'uniform_noise' (got 'gaussian_nois'; did you mean 'gaussian_noise'?)",
        ),
        (  # a key close to `generated` and no task key: a generated set was meant
            {"ood_sets": [{"generatd": "uniform_noise"}]},
            "suites.shift.ood_sets.0.generatd: unknown key (did you mean 'generated'?)",
        ),
        (  # the per-task mapping form: the task name is in the path
            {"ood_sets": {"digits": [{"name": "o", "source": "x", "modality": "imag"}]}},
            "suites.shift.ood_sets.digits.0.modality: Input should be 'image', 'tabular' or "
            "'text' (got 'imag'; did you mean 'image'?)",
        ),
        (
            {"ood_sets": [3]},
            "suites.shift.ood_sets.0: an entry is a task name, a task spec ({name, source, "
            "modality, ...}), a tagged task ({task: <name or spec>, tag: near or far}) or a "
            "generated set ({generated: gaussian_noise or uniform_noise, n: ...}) (got 3)",
        ),
        (  # an inline task spec tagged beside its keys: its own key path, no union tags
            {"ood_sets": [{"name": "o", "sourc": "x", "modality": "image", "tag": "far"}]},
            "suites.shift.ood_sets.0.sourc: unknown key (did you mean 'source'?)",
        ),
        (  # YAML's `name: on` is True
            {"ood_sets": [{"name": True, "source": "x", "modality": "image", "tag": "far"}]},
            "suites.shift.ood_sets.0.name: Input should be a valid string (got True; YAML reads "
            "unquoted yes/no/on/off/true/false as true/false: quote a name to keep it as text)",
        ),
        (  # the explicit tagged form: the spec's key under `task`
            {
                "ood_sets": [
                    {"task": {"name": "o", "sourc": "x", "modality": "image"}, "tag": "near"}
                ]
            },
            "suites.shift.ood_sets.0.task.sourc: unknown key (did you mean 'source'?)",
        ),
        (
            {"ood_sets": [{"task": 3, "tag": "near"}]},
            "suites.shift.ood_sets.0.task: an entry is a task name or a task spec ({name, source, "
            "modality, ...}) (got 3)",
        ),
        (
            {"shifted_tasks": "digits-shifted"},
            "suites.shift.shifted_tasks: a list of shifted tasks (for every task), or a mapping "
            "from task name to such a list (got 'digits-shifted')",
        ),
    ],
)
def test_shift_entry_errors_are_the_meant_kinds_alone(config: dict, expect: str) -> None:
    """An inline OOD set or shifted task reports the errors of the kind it evidently is (a task
    spec, a generated set), with its list index: not every union member's, nor pydantic's
    union tags (a 1-2 KB line before)."""
    with pytest.raises(ConfigError) as info:
        ShiftSuite(config)
    assert str(info.value) == expect


def test_shift_entries_still_parse_in_both_forms() -> None:
    entries = [
        "mnist",
        {"generated": "uniform_noise", "n": 10},
        {"name": "o", "source": "x", "modality": "image", "label_column": None},
    ]
    as_list = ShiftSuite({"ood_sets": entries, "shifted_tasks": ["digits-shifted"]}).config
    per_task = ShiftSuite({"ood_sets": {"digits": entries}}).config
    assert as_list.ood_sets == per_task.ood_sets["digits"]
    assert [type(e).__name__ for e in as_list.ood_sets] == ["str", "GeneratedOOD", "TaskSpec"]
    generated = as_list.model_dump(mode="json")["ood_sets"][1]
    assert generated == {"generated": "uniform_noise", "n": 10, "tag": "far"}  # noise is far OOD


@pytest.mark.parametrize(
    ("config", "expect"),
    [
        ({"severities": [7]}, "suites.shift.severities: severities are 1..5; 7 is not (got [7])"),
        (
            {"severities": [0, 2, 6]},
            "suites.shift.severities: severities are 1..5; 0, 6 are not (got [0, 2, 6])",
        ),
        (
            {"severities": [1, 1]},
            "suites.shift.severities: a severity is listed twice (got [1, 1])",
        ),
        (
            {"corruptions": ["fog", "fog"]},
            "suites.shift.corruptions: fog listed twice (got ['fog', 'fog'])",
        ),
    ],
)
def test_shift_severity_errors_show_the_value_once(config: dict, expect: str) -> None:
    with pytest.raises(ConfigError) as info:
        ShiftSuite(config)
    assert str(info.value) == expect


@pytest.mark.parametrize(
    ("config", "expect"),
    [
        (
            {"corruptions": 5},
            "corruptions: takes a list of names or 'all', or a mapping from task name to either "
            "(got 5)",
        ),
        ({"tabular": 7}, "tabular: takes a list of names or 'all' (got 7)"),
        ({"text": "x"}, "text: takes a list of names or 'all' (got 'x')"),
        ({"corruptions": ["fog", 3]}, "corruptions: takes a list of names or 'all'"),
        (
            {"mce_corruptions": 3},
            "mce_corruptions: takes a list of names or 'benchmark' or 'all' (got 3)",
        ),
    ],
)
def test_shift_name_lists_say_what_they_take(config: dict, expect: str) -> None:
    """A list-or-word key given something else: one line saying what it takes, not the union's
    members in the validation library's terms (`corruptions.list[str]: ...; "literal['all']"`)."""
    with pytest.raises(ConfigError) as info:
        ShiftSuite(config)
    message = str(info.value)
    assert message.startswith(f"suites.shift.{expect}"), message
    assert "literal" not in message and "list[str]" not in message and ";" not in message


@pytest.mark.parametrize(
    ("key", "value", "single"),
    [
        ("resize", "-3", "the shorter side"),
        ("resize", "[32]", "the shorter side"),
        ("center_crop", "[32, 0]", "an N x N crop"),
        ("center_crop", "abc", "an N x N crop"),
    ],
)
def test_bad_resize_says_what_the_key_takes(key: str, value: str, single: str) -> None:
    msg = _error(
        f"tasks: [{{name: t, source: ./c, modality: image, {key}: {value}}}]\n"
        "models: [digits-mlp]\nsuites: {accuracy: {}}\n"
    )
    assert msg.startswith(
        f"s.yaml: tasks.0.{key}: {key} takes N ({single}) or [height, width], in pixels: whole "
        "numbers 1..32768 (got "
    )
    assert ";" not in msg and "constrained-int" not in msg and "tuple" not in msg
    spec = parse_spec_text(
        f"tasks: [{{name: t, source: ./c, modality: image, {key}: [24, 32]}}]\n"
        "models: [digits-mlp]\nsuites: {accuracy: {}}\n",
        source="s.yaml",
    )
    assert getattr(spec.tasks[0], key) == (24, 32)


def test_a_model_entry_without_adapter_says_it_was_read_as_torch(tmp_path) -> None:
    """`{name: m, path: m.onnx}` forgets `adapter:`; the torch adapter (the default) then
    misses `factory` and refuses `path`; the line says why and what to set."""
    import harness

    spec: dict = {"tasks": ["digits"], "models": [{"name": "m", "path": "m.onnx"}]}
    spec["suites"] = {"accuracy": {}}
    with pytest.raises(SpecError) as info:
        harness.run_spec(spec, out=tmp_path)
    msg = str(info.value)
    assert msg.startswith("models[0](m).factory: required key is missing; ")
    assert msg.endswith(
        "; models[0](m) sets no adapter, so it was read as adapter: torch (the default); set "
        "its adapter (callable, hf-image, hf-text, onnx, sklearn, torch, torchscript)"
    ), msg
    # an entry that names its adapter gets no such note
    spec["models"] = [{"name": "m", "adapter": "torch", "path": "m.onnx"}]
    with pytest.raises(SpecError) as info:
        harness.run_spec(spec, out=tmp_path)
    assert "sets no adapter" not in str(info.value)
    # nor does a torch entry (adapter left to its default) with a typo
    spec["models"] = [{"name": "m", "factory": "a:b", "weigths": "w.safetensors"}]
    with pytest.raises(SpecError) as info:
        harness.run_spec(spec, out=tmp_path)
    assert str(info.value) == "models[0](m).weigths: unknown key (did you mean 'weights'?)"


def test_a_name_yaml_read_as_a_boolean_or_null_says_to_quote_it() -> None:
    """`name: no` or `models: [off]` read as False: the line showed `got False`, a value the
    user never wrote, with no word on why."""
    quote = "YAML reads unquoted yes/no/on/off/true/false as true/false: quote a name"
    msg = _error("name: no\ntasks: [digits]\nmodels: [off]\nsuites: {accuracy: {}}\n")
    assert f"name: Input should be a valid string (got False; {quote}" in msg
    assert (
        f"models.0: Input should be a valid dictionary or instance of ModelSpec (got False; {quote}"
        in msg
    )
    assert "~ and null as null: quote a name" in _error(
        "name: ~\ntasks: [digits]\nmodels: [digits-mlp]\nsuites: {accuracy: {}}\n"
    )
    numbers = _error("seed: yes\ntasks: [digits]\nmodels: [digits-mlp]\nsuites: {accuracy: {}}\n")
    assert "quote" not in numbers  # a number is not quoted: its own message says what it wants


def test_an_inline_ood_spec_takes_its_tag_beside_its_keys() -> None:
    """`{name, source, ..., tag: near}` is the tagged task it plainly means (it was refused as
    `ood_sets.0.tag: unknown key (not allowed here)`, the docs' nested form being the only one)."""
    spec = {"name": "o", "source": "x", "modality": "image", "label_column": None}
    flat = ShiftSuite({"ood_sets": [{**spec, "tag": "near"}]}).config
    nested = ShiftSuite({"ood_sets": [{"task": spec, "tag": "near"}]}).config
    assert flat == nested and type(flat.ood_sets[0]).__name__ == "TaggedOOD"
    with pytest.raises(ConfigError) as info:
        ShiftSuite({"ood_sets": [{**spec, "tag": "nearby"}]})
    assert str(info.value).startswith(
        "suites.shift.ood_sets.0.tag: Input should be 'near' or 'far'"
    )


def test_entries_of_one_list_with_one_mistake_say_it_once() -> None:
    """Five unquoted yes/no entries gave five copies of the same message in the line."""
    msg = _error(
        "tasks: [{name: t, source: ./x.csv, modality: tabular, "
        "ordinal: {size: [yes, S, no, M, ~]}}]\nmodels: [digits-mlp]\nsuites: {accuracy: {}}\n"
    )
    assert msg == (
        "s.yaml: tasks.0.ordinal.size.0,2,4: Input should be a valid string (got True, False, "
        "None; YAML reads unquoted yes/no/on/off/true/false as true/false: quote a name to keep "
        "it as text)"
    )
    # the same mistake of different values: every value shown, in order
    mixed = _error(
        "tasks: [{name: t, source: ./x.csv, modality: tabular, feature_columns: [a, 3, [1]]}]\n"
        "models: [digits-mlp]\nsuites: {accuracy: {}}\n"
    )
    assert mixed == (
        "s.yaml: tasks.0.feature_columns.1,2: Input should be a valid string (got 3, [1])"
    )


def test_a_key_given_without_its_qualifier_names_the_full_key(tmp_path) -> None:
    """`args:` on a torch model (for `factory_args`) read "unknown key (not allowed here)":
    difflib's ratio of `args` to `factory_args` is 0.5, under the cutoff. A key that is one
    whole part of exactly one key the entry takes is that key without its qualifier."""
    import harness

    spec: dict = {"tasks": ["digits"], "suites": {"accuracy": {}}}
    spec["models"] = [{"name": "m", "factory": "a:b", "args": {"width": 8}}]
    with pytest.raises(SpecError) as info:
        harness.run_spec(spec, out=tmp_path)
    assert str(info.value) == "models[0](m).args: unknown key (did you mean 'factory_args'?)"
    # a part that several keys share suggests none of them
    from harness.core.validation import closest_key

    assert closest_key("path", ["weights_path", "config_path"]) is None
    assert closest_key("severites", ["severities"]) == "severities"


@pytest.mark.parametrize(
    ("detectors", "expect"),
    [
        ("al", "takes a list of detector names, 'default' or 'all' (did you mean 'all'?)"),
        ("knn", "takes a list of detector names, 'default' or 'all'; for one detector: [knn]"),
        (3, "takes a list of detector names, 'default' or 'all'"),
        ({"msp": 1}, "takes a list of detector names, 'default' or 'all'"),
        (["msp", None], "takes a list of detector names, 'default' or 'all'; entry 1 is None"),
    ],
)
def test_ood_detectors_of_another_form_get_one_line(detectors: object, expect: str) -> None:
    """`detectors: al` listed each union member's complaint with pydantic's tags in the key
    path (`ood.detectors.list[str]: ...; ood.detectors."literal['default','all']": ...`)."""
    with pytest.raises(ConfigError) as info:
        ShiftSuite({"ood": {"detectors": detectors}})
    said = str(info.value)
    assert said.startswith(f"suites.shift.ood.detectors: {expect}"), said
    assert "literal" not in said and "list[str]" not in said and said.count(";") <= 1
