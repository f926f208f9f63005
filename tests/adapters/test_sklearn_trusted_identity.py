"""A .skops model whose `trusted:` types are the user's own classes runs their code: an edit
to that code (a predict_proba override) must miss the result cache, as a torch factory's does."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.adapters.builders import build

MODULE = """\
from sklearn.linear_model import LogisticRegression


class P98LR(LogisticRegression):
    pass
"""


@pytest.fixture
def user_module(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "p98_user_est.py"
    path.write_text(MODULE)
    sys.path.insert(0, str(tmp_path))
    yield path
    sys.path.remove(str(tmp_path))
    sys.modules.pop("p98_user_est", None)


def test_an_edit_to_a_trusted_user_class_changes_the_identity(
    tmp_path: Path, user_module: Path
) -> None:
    sio = pytest.importorskip("skops.io")
    import p98_user_est  # type: ignore[import-not-found]

    x = np.random.default_rng(0).normal(size=(40, 3))
    sio.dump(p98_user_est.P98LR().fit(x, (x[:, 0] > 0).astype(int)), tmp_path / "m.skops")
    fields = {"path": "m.skops", "trusted": ["p98_user_est.P98LR"]}
    before = build("sklearn", fields, tmp_path, name="m").identity()
    user_module.write_text(MODULE + "    def predict_proba(self, x):\n        return 0\n")
    after = build("sklearn", fields, tmp_path, name="m").identity()
    assert before != after


def test_a_skops_file_of_library_types_keeps_its_identity_keys(tmp_path: Path) -> None:
    sio = pytest.importorskip("skops.io")
    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(0).normal(size=(40, 3))
    sio.dump(LogisticRegression().fit(x, (x[:, 0] > 0).astype(int)), tmp_path / "m.skops")
    described = build("sklearn", {"path": "m.skops"}, tmp_path, name="m").describe()
    assert "source_sha256" not in described


FUNCTION_MODULE = """\
import numpy as np


def p99_scale(x):
    return np.asarray(x) * 2
"""


def test_an_edit_to_a_trusted_user_function_changes_the_identity(tmp_path: Path) -> None:
    """skops lists a FunctionTransformer's function among the untrusted types by its name; the
    spec's `trusted:` names it, and its code runs on every prediction like a class's."""
    sio = pytest.importorskip("skops.io")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    module = tmp_path / "p99_user_fn.py"
    module.write_text(FUNCTION_MODULE)
    sys.path.insert(0, str(tmp_path))
    try:
        import p99_user_fn  # type: ignore[import-not-found]

        x = np.random.default_rng(0).normal(size=(40, 3))
        model = make_pipeline(FunctionTransformer(p99_user_fn.p99_scale), LogisticRegression())
        sio.dump(model.fit(x, (x[:, 0] > 0).astype(int)), tmp_path / "m.skops")
        assert sio.get_untrusted_types(file=tmp_path / "m.skops") == ["p99_user_fn.p99_scale"]
        fields = {"path": "m.skops", "trusted": ["p99_user_fn.p99_scale"]}
        before = build("sklearn", fields, tmp_path, name="m").identity()
        module.write_text(FUNCTION_MODULE.replace("* 2", "* 3"))
        after = build("sklearn", fields, tmp_path, name="m").identity()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("p99_user_fn", None)
    assert before != after


def test_an_edit_to_a_trusted_function_behind_a_partial_changes_the_identity(
    tmp_path: Path,
) -> None:
    """A FunctionTransformer's func given as functools.partial(f, k=3): skops lists both
    `functools.partial` and `f` as untrusted; an edit to `f` runs on every prediction too."""
    sio = pytest.importorskip("skops.io")
    import functools

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    module = tmp_path / "p101_user_fn.py"
    module.write_text(FUNCTION_MODULE.replace("p99_scale(x)", "p101_scale(x, k=2)"))
    sys.path.insert(0, str(tmp_path))
    try:
        import p101_user_fn  # type: ignore[import-not-found]

        x = np.random.default_rng(0).normal(size=(40, 3))
        step = FunctionTransformer(functools.partial(p101_user_fn.p101_scale, k=3))
        model = make_pipeline(step, LogisticRegression())
        sio.dump(model.fit(x, (x[:, 0] > 0).astype(int)), tmp_path / "m.skops")
        trusted = sio.get_untrusted_types(file=tmp_path / "m.skops")
        assert trusted == ["functools.partial", "p101_user_fn.p101_scale"]
        fields = {"path": "m.skops", "trusted": trusted}
        before = build("sklearn", fields, tmp_path, name="m").identity()
        module.write_text(module.read_text().replace("* 2", "* 5"))
        after = build("sklearn", fields, tmp_path, name="m").identity()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("p101_user_fn", None)
    assert before != after
