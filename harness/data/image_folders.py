"""Listing image folders: `<class>/<image>` (labeled) or any images below a folder (unlabeled).

Files are listed in sorted order and named by their path relative to the folder (POSIX
separators): that relative path is the sample id, stable when images are added or removed, and
the same id a clean ImageNet validation folder gives the image an ImageNet-C cell was made from.
Class indices follow the sorted class folder names (as torchvision's ImageFolder does), or the
declared `class_names` when given (so a folder holding only some classes keeps the indices of the
full label space).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from harness.core.board_notes import caveat_note
from harness.core.errors import DatasetError
from harness.core.task import UNLABELED
from harness.data.sources import IMAGE_SUFFIXES, class_images, class_name, is_image


@dataclass(frozen=True)
class FolderListing:
    """The images of one folder: relative paths, labels (-1 when unlabeled), class names."""

    paths: list[str]
    labels: np.ndarray
    class_names: tuple[str, ...]
    left_out: tuple[str, ...] = ()  # `<class>/<file>` of the files not read as images
    # class folders holding no image: each still a class (its index shifts the later ones)
    empty: tuple[str, ...] = ()

    def with_classes(
        self, names: list[str] | None, where: str, *, from_spec: bool = True
    ) -> FolderListing:
        """Labels as indices into the class names (a folder holding some classes of a larger
        label space keeps the right indices); unchanged when there are none. `from_spec`: the
        names are the spec's `class_names`, which set every index (an empty class folder moves
        none, so it is not noted); else the union of the splits' class folders."""
        if names is None or not self.class_names:
            return self
        declared = [class_name(n) for n in names]
        unknown = [c for c in self.class_names if c not in declared]
        if unknown:
            raise DatasetError(
                f"{where}: class folder {unknown[0]!r} is not in class_names "
                f"({len(unknown)} folder(s) unknown); list every class folder name in class_names"
            )
        index = np.asarray([declared.index(c) for c in self.class_names], dtype=np.int64)
        empty = () if from_spec else self.empty
        return FolderListing(self.paths, index[self.labels], tuple(names), self.left_out, empty)

    def held_elsewhere(self, roots: Sequence[Path]) -> FolderListing:
        """Without the empty class folders another split's folder (`roots`) holds images of:
        their classes take their index from that split, which removing this folder keeps."""
        if not self.empty or not roots:
            return self
        empty = tuple(n for n in self.empty if not any(holds_images(r, n) for r in roots))
        return replace(self, empty=empty)

    def notes(self, where: str) -> tuple[str, ...]:
        """Caveats (the boards show them beside the numbers): the files left out, counted and a
        few named; the class folders holding no image, with the class index each takes."""
        out: list[str] = []
        if self.left_out:
            shown = ", ".join(self.left_out[:3]) + (", ..." if len(self.left_out) > 3 else "")
            held = "in its class folders" if self.class_names else "in it"
            out.append(
                caveat_note(
                    f"{where}: {len(self.left_out)} file(s) {held} are not read as images "
                    f"(their suffix is not one of {', '.join(sorted(IMAGE_SUFFIXES))}): {shown}; "
                    f"only its {len(self.paths)} images are read; convert them to PNG or JPEG "
                    "to include them"
                )
            )
        for name in self.empty:
            index = self.class_names.index(name)
            out.append(
                caveat_note(
                    f"{where}: class folder {name!r} holds no image, yet counts as class "
                    f"{index} (classes are the sorted folder names), so every later class's "
                    f"index counts it; remove the folder if the model was trained without that "
                    "class, or declare class_names to fix the indices"
                )
            )
        return tuple(out)


def holds_images(root: Path, name: str) -> bool:
    """Whether `root` has a class folder `name` (its name in NFC: `class_name`) with an image in
    it (another split's folder, whose images give the class its index)."""
    try:
        with os.scandir(root) as entries:
            folders = [e.path for e in entries if e.is_dir() and class_name(e.name) == name]
        for folder in folders:
            with os.scandir(folder) as files:
                if any(is_image(f.name) for f in files):
                    return True
    except OSError:  # unreadable: its own listing says so when that split loads
        return False
    return False


def list_labeled(root: Path, where: str) -> FolderListing:
    """Every image of `<class>/<image>` under `root`, class by class."""
    left_out: list[str] = []
    listed = class_images(root, where, left_out)  # one listing per class folder
    listing = labeled_listing({folder.name: names for folder, names in listed.items()}, where)
    empty = tuple(
        name
        for name, (folder, names) in zip(listing.class_names, listed.items(), strict=True)
        if not names
    )
    return FolderListing(listing.paths, listing.labels, listing.class_names, tuple(left_out), empty)


def labeled_listing(by_class: Mapping[str, Sequence[str]], where: str) -> FolderListing:
    """The listing of a `<class>/<image>` folder from the image names of each class folder, in
    order (`sources.class_images`): an ImageNet-C cell's, already listed by `resolve_source`, is
    not listed again."""
    paths = [f"{cls}/{name}" for cls, names in by_class.items() for name in names]
    labels = [index for index, names in enumerate(by_class.values()) for _ in names]
    if not paths:
        raise DatasetError(f"{where}: the class folders hold no images (png, jpg, ...)")
    names = tuple(class_name(c) for c in by_class)  # the folders' names, paths keep them as stored
    return FolderListing(paths, np.asarray(labels, dtype=np.int64), names)


def list_unlabeled(root: Path, where: str) -> FolderListing:
    """Every image anywhere below `root` (an unlabeled set: label -1), and the files below it
    not read as images (`left_out`, hidden files aside, as `class_images` counts them)."""
    paths: list[str] = []
    left_out: list[str] = []
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        rel = Path(current).relative_to(root)
        paths.extend((rel / f).as_posix() for f in sorted(files) if is_image(f))
        left_out.extend(
            (rel / f).as_posix() for f in sorted(files) if not f.startswith(".") and not is_image(f)
        )
    if not paths:
        raise DatasetError(f"{where} holds no images (png, jpg, ...)")
    unlabeled = np.full(len(paths), UNLABELED, dtype=np.int64)
    return FolderListing(paths, unlabeled, (), tuple(left_out))
