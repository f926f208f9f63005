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
from dataclasses import dataclass
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

    def with_classes(self, names: list[str] | None, where: str) -> FolderListing:
        """Labels as indices into the declared class names (a folder holding some classes of a
        larger label space keeps the right indices); unchanged when none are declared."""
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
        return FolderListing(self.paths, index[self.labels], tuple(names), self.left_out)

    def notes(self, where: str) -> tuple[str, ...]:
        """A note counting the files left out, naming a few (none when every file is read)."""
        if not self.left_out:
            return ()
        shown = ", ".join(self.left_out[:3]) + (", ..." if len(self.left_out) > 3 else "")
        held = "in its class folders" if self.class_names else "in it"
        return (  # a caveat: the boards show it beside the numbers
            caveat_note(
                f"{where}: {len(self.left_out)} file(s) {held} are not read as images "
                f"(their suffix is not one of {', '.join(sorted(IMAGE_SUFFIXES))}): {shown}; "
                f"only its {len(self.paths)} images are read; convert them to PNG or JPEG to "
                "include them"
            ),
        )


def list_labeled(root: Path, where: str) -> FolderListing:
    """Every image of `<class>/<image>` under `root`, class by class."""
    left_out: list[str] = []
    listed = class_images(root, where, left_out)  # one listing per class folder
    listing = labeled_listing({folder.name: names for folder, names in listed.items()}, where)
    return FolderListing(listing.paths, listing.labels, listing.class_names, tuple(left_out))


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
