"""`harness parity` of Hugging Face models prints no transformers progress bars: `harness run`
silences them, parity printed "Loading weights: 100%|...| 25/25" on stderr once per model."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli.main import main

pytest.importorskip("transformers")


def test_parity_of_hf_models_prints_no_loading_bars(
    hf_text_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.csv").write_text("text,label\ngood great,1\nbad awful,0\ngood,1\nbad,0\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: p\ndevice: cpu\ntasks:\n"
        "  - {name: t, source: t.csv, modality: text, input_column: text, label_column: label,"
        " class_names: [neg, pos]}\n"
        f"models:\n  - {{name: a, adapter: hf-text, path: {hf_text_dir}}}\n"
        f"  - {{name: b, adapter: hf-text, path: {hf_text_dir}, max_length: 16}}\n"
        "suites: {accuracy: {}}\n"
    )
    assert main(["parity", str(spec), "--models", "a,b", "--task", "t"]) == 0
    captured = capsys.readouterr()
    assert "PASS" in captured.out
    assert "Loading weights" not in captured.err and "it/s" not in captured.err, captured.err
