"""Every error about an ImageNet-C folder names the folder at fault by its real path, once.

Messages about one corruption or one cell were built by appending `<corruption>/<severity>` to the
source's own path, so a source that is one corruption's folder (`source: inc/fog`, as a shifted
task or a corruption set often is) doubled it: `source .../inc/fog/fog/2 holds images outside
class folders`, `source .../inc/fog/fog: severities lists [3]`, a folder that does not exist.
They now name the folder itself (`sources._below`), the same words whichever folder the spec
names, from `harness validate` and from the run alike."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.core.errors import DatasetError
from harness.data.loader import load_task
from harness.data.sources import check_task_source
from harness.data.task_spec import TaskSpec
from tests.data.layouts import imagenet_c

Damage = Callable[[Path], None]


def _bad_severity(inc: Path) -> None:
    shutil.copytree(inc / "fog" / "1", inc / "fog" / "7")


def _loose_image(inc: Path) -> None:
    shutil.copy(inc / "fog" / "2" / "n01" / "0.png", inc / "fog" / "2" / "loose.png")


def _nested_folder(inc: Path) -> None:
    (inc / "fog" / "2" / "n01" / "deep").mkdir()


def _extra_class(inc: Path) -> None:
    shutil.copytree(inc / "fog" / "2" / "n02", inc / "fog" / "2" / "n03")


def _missing_class(inc: Path) -> None:
    shutil.rmtree(inc / "fog" / "2" / "n02")


def _empty_class(inc: Path) -> None:
    (inc / "fog" / "2" / "n02" / "0.png").unlink()


def _missing_image(inc: Path) -> None:
    (inc / "fog" / "2" / "n01" / "0.png").unlink()


def _empty_cell(inc: Path) -> None:
    for image in (inc / "fog" / "1").rglob("*.png"):
        image.unlink()


def _nothing(inc: Path) -> None:
    return None


# (id, damage, extra spec keys, the expected words; {inc} is the tree's real folder)
CASES: list[tuple[str, Damage, dict[str, object], str]] = [
    ("bad-severity-folder", _bad_severity, {}, "source {inc}/fog/7 is not a severity folder (1-5)"),
    ("severity-not-there", _nothing, {"severities": [3]}, "source {inc}/fog: severities lists [3]"),
    ("no-severity", _nothing, {"severities": []}, "source {inc}/fog: severities is empty"),
    ("loose-image", _loose_image, {}, "source {inc}/fog/2 holds images outside class folders"),
    ("nested-folder", _nested_folder, {}, "source {inc}/fog/2: class folder 'n01' holds folders"),
    (
        "class-not-declared",
        _nothing,
        {"class_names": ["n01", "n09"]},
        "source {inc}/fog/1: class folder 'n02' is not in class_names",
    ),
    (
        "extra-class-folder",
        _extra_class,
        {},
        "source {inc}/fog/2 has 3 class folders and {inc}/fog/1 has 2 (it has n03, which the "
        "other lacks)",
    ),
    (
        "missing-class-folder",
        _missing_class,
        {},
        "source {inc}/fog/2 has 1 class folders and {inc}/fog/1 has 2 (it lacks n02)",
    ),
    (
        "missing-declared-class-folder",
        _missing_class,
        {"class_names": ["n01", "n02"]},
        "class folder {inc}/fog/2/n02 does not exist, while {inc}/fog/1/n02 holds 1 images",
    ),
    (
        "empty-class-folder",
        _empty_class,
        {},
        "class folder {inc}/fog/2/n02 holds no images, while {inc}/fog/1/n02 holds 1",
    ),
    (
        "cell-lacks-an-image",
        _missing_image,
        {},
        "{inc}/fog/2/n01 lacks 0.png, which {inc}/fog/1/n01 holds (1 of its 2 images missing)",
    ),
    ("empty-cell", _empty_cell, {}, "{inc}/fog/1: the class folders hold no images"),
]
MISSING_ON_PURPOSE = {"missing-declared-class-folder": "fog/2/n02"}


def _spec(source: str, extra: dict[str, object]) -> TaskSpec:
    return TaskSpec.model_validate({"name": "c", "source": source, "modality": "image", **extra})


def _refusals(base: Path, source: str, extra: dict[str, object]) -> tuple[str, str]:
    """What `harness validate` (the source's check) and the run (loading) say."""
    messages = []
    for refuse in (
        lambda: check_task_source(_spec(source, extra), base),
        lambda: load_task(_spec(source, extra), base_dir=base),
    ):
        with pytest.raises(DatasetError) as caught:
            refuse()
        messages.append(str(caught.value))
    return messages[0], messages[1]


def _paths_named(message: str, base: Path) -> list[Path]:
    return [Path(p) for p in re.findall(re.escape(str(base)) + r"[^\s:;,'()]*", message)]


@pytest.mark.parametrize(
    ("damage", "extra", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_message_names_the_real_folder_once_whichever_folder_the_source_is(
    tmp_path: Path, damage: Damage, extra: dict[str, object], expected: str
) -> None:
    base = tmp_path / "spec_dir"
    inc = base / "inc"
    imagenet_c(inc, ("fog", "snow"), (1, 2))
    damage(inc)
    said = {}
    for source in ("inc", "inc/fog"):
        validated, ran = _refusals(base, source, extra)
        assert validated == ran and "\n" not in ran  # one line, the same from validate and run
        said[source] = ran
    assert said["inc"] == said["inc/fog"]  # the folder at fault, not the folder the spec names
    message = said["inc/fog"]
    assert expected.format(inc=inc) in message
    assert "fog/fog" not in message
    case = next(c[0] for c in CASES if c[1] is damage and c[2] == extra)
    allowed_missing = {inc / MISSING_ON_PURPOSE[case]} if case in MISSING_ON_PURPOSE else set()
    for path in _paths_named(message, base):
        assert path.exists() or path in allowed_missing, (path, message)


def test_a_damaged_image_is_named_once_by_the_run(tmp_path: Path) -> None:
    """Nothing is decoded by validate; the run names the file (and its sample id) once."""
    base = tmp_path / "spec_dir"
    imagenet_c(base / "inc", ("fog",), (1, 2))
    image = base / "inc" / "fog" / "2" / "n01" / "0.png"
    image.write_bytes(b"not a png")
    check_task_source(_spec("inc/fog", {}), base)
    task = load_task(_spec("inc/fog", {}), base_dir=base)
    with pytest.raises(DatasetError) as caught:
        task.all_inputs()
    message = str(caught.value)
    assert f"image '{image}' (sample 'fog/2/n01/0.png') cannot be decoded" in message
    assert _paths_named(message, base) == [image]


def test_a_corruption_folder_with_an_unknown_name_is_named_once(tmp_path: Path) -> None:
    base = tmp_path / "spec_dir"
    imagenet_c(base / "inc", ("fog",), (1,))
    (base / "inc" / "fog").rename(base / "inc" / "fogg")
    named = f"source {base / 'inc' / 'fogg'} is not named after one of the 19 published"
    for source in ("inc", "inc/fogg"):  # it was `.../inc/fogg: folder fogg is not ...`
        validated, ran = _refusals(base, source, {})
        assert validated == ran and named in ran and "did you mean 'fog'" in ran


def test_a_shifted_task_on_one_corruption_folder_names_it_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The shift suite checks its `shifted_tasks` as `harness validate` checks tasks: the same
    line, naming the folder at fault once."""
    base = tmp_path / "spec_dir"
    inc = base / "inc"
    imagenet_c(inc, ("fog",), (1, 2))
    _loose_image(inc)
    (base / "spec.yaml").write_text(
        "tasks: [digits]\nmodels: [digits-mlp]\nsuites:\n  shift:\n    corruptions: []\n"
        "    shifted_tasks: [{name: c, source: inc/fog, modality: image}]\n"
    )
    assert main(["validate", str(base / "spec.yaml")]) == 2
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert f"source {inc / 'fog' / '2'} holds images outside class folders" in line
    assert all(path.exists() for path in _paths_named(line, base)), line
