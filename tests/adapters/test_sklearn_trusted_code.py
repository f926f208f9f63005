"""A .skops file whose `trusted:` types the spec lists imports their modules and runs their
methods: `harness validate` lists that as code the spec runs (it said "no code of its own")."""

from __future__ import annotations

from harness.adapters.sklearn_model import SklearnAdapter, SklearnConfig


def test_trusted_types_are_code_the_spec_runs() -> None:
    config = SklearnConfig(path="my.skops", trusted=["myest.MyLR"])  # type: ignore[arg-type]
    (line,) = SklearnAdapter.code_uses(config)
    assert "my.skops" in line and "myest.MyLR" in line and "trusted" in line


def test_a_skops_file_without_trusted_types_runs_no_code() -> None:
    assert SklearnAdapter.code_uses(SklearnConfig(path="my.skops")) == []  # type: ignore[arg-type]
