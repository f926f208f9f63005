"""Resampled values kept between builds of a report into the same site folder.

The report's headline rankings resample every model's whole-table statistics (a model's ECE:
2,000 resamples); after one model was added to a results folder, every other model's values
are the ones the previous build computed. Each value is kept under the sha256 of everything it
is computed from (`SharedDraws.stored`: the statistic, its settings and per-sample arrays, the
draws and the rows each sample reads) and of what computes it (`computing_identity`: the
versions of the harness, numpy and scipy, the CPU features numpy dispatches its loops on, and
the sources of the modules that compute the values). A later build takes a value only under
the same digest, so a value whose inputs or code changed is computed again; a file that is not
whole or was written by other code is not read (every value is computed again), and a value
read is the float64 array that was computed, bit for bit.

The file, `.resampled-values` in the site folder (hidden: harness/present/site_folder.py), holds
the values this build used: written into the build's staging folder and published with its
pages (harness/present/site_publish.py), so a site never keeps values of builds before the last.
Format: one line of JSON (format, identity, each value's digest and length in order, the sha256
of the data), then the values as little-endian float64.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from harness.store import atomic, links

log = logging.getLogger(__name__)

NAME = ".resampled-values"
FORMAT = 1
# what computes the values a report keeps (paths under harness/)
_COMPUTING_MODULES = (
    "analysis/paired_forms.py",
    "analysis/paired_tests.py",
    "stats/calibration.py",
    "stats/distributions.py",
    "stats/detection.py",
    "stats/intervals.py",
    "stats/shared_draws.py",
)


def computing_identity() -> str:
    """The sha256 of what computes the values: versions, CPU features and module sources."""
    import scipy

    try:
        harness_version = metadata.version("robustness-harness")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        harness_version = "not installed"
    digest = hashlib.sha256(
        f"{harness_version}\0{np.__version__}\0{scipy.__version__}\0{_cpu_features()}\0".encode()
    )
    root = Path(__file__).resolve().parent.parent
    for name in _COMPUTING_MODULES:
        digest.update(name.encode() + b"\0" + (root / name).read_bytes())
    return digest.hexdigest()


def _cpu_features() -> str:
    """The SIMD features numpy's loops dispatch on here (a value computed with other ones can
    differ in its last bits)."""
    for name in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):  # numpy 2, 1
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        features = getattr(module, "__cpu_features__", {})
        return ",".join(sorted(str(k) for k, on in features.items() if on))
    return "unknown"


class ResampledCache:
    """The values the site folder's previous build kept, and those this build uses
    (`harness.stats.shared_draws.ValueStore`)."""

    def __init__(self, identity: str, found: dict[str, np.ndarray]) -> None:
        self.identity = identity
        self._found = found
        self._used: dict[str, np.ndarray] = {}

    @classmethod
    def read(cls, folder: Path) -> ResampledCache:
        """The values kept in the site folder `folder` (none when it has no whole file of this
        code's values)."""
        identity = computing_identity()
        return cls(identity, _read(folder / NAME, identity))

    def get(self, digest: str) -> np.ndarray | None:
        found = self._used.get(digest)
        if found is not None:
            return found
        found = self._found.get(digest)
        if found is not None:
            self._used[digest] = found
        return found

    def put(self, digest: str, values: np.ndarray) -> None:
        if values.dtype == np.float64 and values.ndim == 1:  # what the file holds
            self._used[digest] = values

    def used(self) -> set[str]:
        """The digests of the values this build used so far."""
        return set(self._used)

    def since(self, before: set[str]) -> dict[str, np.ndarray]:
        """The values used since `used()` gave `before` (what a report worker hands back)."""
        return {d: v for d, v in self._used.items() if d not in before}

    def adopt(self, values: dict[str, np.ndarray]) -> None:
        """Values a report worker used (`since`), as if this process had used them."""
        self._used.update(values)

    def write(self, folder: Path) -> None:
        """Write the values this build used into `folder` (the build's staging folder)."""
        data = b"".join(np.asarray(v, dtype="<f8").tobytes() for v in self._used.values())
        header = {
            "format": FORMAT,
            "identity": self.identity,
            "entries": [[digest, len(v)] for digest, v in self._used.items()],
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        text = json.dumps(header, sort_keys=True, separators=(",", ":"))
        atomic.write_bytes(folder / NAME, text.encode() + b"\n" + data, durable=False)


def _read(path: Path, identity: str) -> dict[str, np.ndarray]:
    """The values in `path` by digest; none when it is missing, a link, not whole, or written by
    other code (`identity`)."""
    try:
        if links.is_link(path) or not path.is_file():
            return {}
        raw = path.read_bytes()
    except OSError as err:
        log.info("%s not read (%s): resampled values are computed again", path, err)
        return {}
    head, sep, data = raw.partition(b"\n")
    try:
        header: Any = json.loads(head)
        entries = header["entries"]
        usable = (
            sep == b"\n"
            and header["format"] == FORMAT
            and header["identity"] == identity
            and header["sha256"] == hashlib.sha256(data).hexdigest()
            and sum(int(n) for _d, n in entries) * 8 == len(data)
        )
    except (ValueError, KeyError, TypeError):
        usable = False
    if not usable:
        log.info("%s not whole or from other code: resampled values are computed again", path)
        return {}
    values = np.frombuffer(data, dtype="<f8")
    out: dict[str, np.ndarray] = {}
    start = 0
    for digest, n in entries:
        out[str(digest)] = values[start : start + int(n)]
        start += int(n)
    return out
