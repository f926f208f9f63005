"""Loading an ImageNet-C folder lists each cell once: `resolve_source` lists every class folder of
every cell to check the cells hold the same images, and the loader used to list them all again
to build its rows (`corruption_sets.folder_cells` called `list_labeled` per cell), so each class
folder was read twice per load (and each cell folder four times). It now builds the rows from
the listing the check made (`FolderCorruptionSource.images`)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.data.image_folders import list_labeled
from harness.data.loader import load_task
from harness.data.sources import check_task_source
from harness.data.task_spec import TaskSpec
from tests.data.layouts import imagenet_c

CORRUPTIONS = ("fog", "snow")
SEVERITIES = (1, 2, 3)


def spec(source: str) -> TaskSpec:
    return TaskSpec.model_validate({"name": "c", "source": source, "modality": "image"})


@pytest.fixture
def listings(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[[Callable[[], object]], Counter[Path]]]:
    """How often `fn` lists each folder: `os.scandir` and `os.listdir`, through which `os.walk`,
    `Path.iterdir` and `Path.glob` go too."""
    counts: Counter[Path] = Counter()
    real_scandir, real_listdir = os.scandir, os.listdir

    def scandir(path: str | os.PathLike[str] = ".") -> Iterator[os.DirEntry[str]]:
        counts[Path(path)] += 1
        return real_scandir(path)

    def listdir(path: str | os.PathLike[str] = ".") -> list[str]:
        counts[Path(path)] += 1
        return real_listdir(path)

    def count(fn: Callable[[], object]) -> Counter[Path]:
        counts.clear()
        with monkeypatch.context() as patched:
            patched.setattr(os, "scandir", scandir)
            patched.setattr(os, "listdir", listdir)
            fn()
        return Counter(counts)

    yield count


@pytest.mark.parametrize("source", ["inc", "inc/fog"])
def test_loading_lists_every_cell_once(
    tmp_path: Path,
    source: str,
    listings: Callable[[Callable[[], object]], Counter[Path]],
) -> None:
    imagenet_c(tmp_path / "inc", CORRUPTIONS, SEVERITIES)
    names = CORRUPTIONS if source == "inc" else ("fog",)
    cells = [tmp_path / "inc" / name / str(s) for name in names for s in SEVERITIES]
    classes = [cell / cls for cell in cells for cls in ("n01", "n02")]

    loaded = listings(lambda: load_task(spec(source), base_dir=tmp_path))
    checked = listings(lambda: check_task_source(spec(source), tmp_path))  # what validate lists
    # loading lists nothing beyond what resolving the source (validate's check) lists
    assert loaded == checked
    # every class folder once; the first one a second time: finding the layout (`_has_images`)
    # walks down to the first image
    assert [loaded[d] for d in classes] == [2] + [1] * (len(classes) - 1)
    # a cell folder (which holds class folders) is listed for its class folders, and while
    # finding the layout: `_holds_severities` lists the first severity folder of each corruption
    # (does it hold folders?), and for `source: inc/fog` every severity folder (is it a corruption
    # folder?); `_has_images` walks through the first. Before: 4 to 7 times each.
    detected = cells if source == "inc/fog" else [c for c in cells if c.name == "1"]
    assert [loaded[d] for d in cells if d not in detected] == [1] * (len(cells) - len(detected))
    assert [loaded[d] for d in detected[1:]] == [2] * (len(detected) - 1)
    assert loaded[cells[0]] <= 4


def test_the_rows_are_those_of_listing_each_cell(tmp_path: Path) -> None:
    """Built from the check's listing, each cell's rows are what listing its folder gives (the
    rows the loader built before): the same sample ids, labels, order and class names."""
    imagenet_c(tmp_path / "inc", CORRUPTIONS, SEVERITIES)
    (tmp_path / "inc" / "fog" / "2" / "n01" / "notes.txt").write_text("not an image")
    task = load_task(spec("inc"), base_dir=tmp_path)
    ids, labels = [], []
    for name in CORRUPTIONS:
        for severity in SEVERITIES:
            folder = tmp_path / "inc" / name / str(severity)
            listing = list_labeled(folder, "t")
            ids += [f"{name}/{severity}/{p}" for p in listing.paths]
            labels += listing.labels.tolist()
            assert listing.class_names == task.class_names
    assert task.sample_ids == ids
    assert task.labels.tolist() == labels
