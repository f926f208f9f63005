"""A fitted scikit-learn classifier held in memory goes straight into `harness.evaluate`, as an
`nn.Module` does: scored as sklearn scores it, identified by its fitted state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import LinearSVC

import harness
from harness.core.errors import HarnessError, ModelLoadError

X, Y = load_breast_cancer(return_X_y=True)
TRAIN, TEST = slice(0, 400), slice(400, None)
FAST = dict(device="cpu", bootstrap_resamples=0)


def _fitted(c: float = 1.0) -> object:
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))
    return model.fit(X[TRAIN], Y[TRAIN])


def test_a_fitted_pipeline_is_scored_as_sklearn_scores_it() -> None:
    model = _fitted()
    got = harness.evaluate(model, data=(X[TEST], Y[TEST]), name="bc", **FAST)
    proba = model.predict_proba(X[TEST])
    assert got.metric("top1_acc").value == pytest.approx(
        accuracy_score(Y[TEST], proba.argmax(1)), abs=1e-12
    )
    assert got.metric("nll").value == pytest.approx(log_loss(Y[TEST], proba), rel=1e-5)
    assert got.metric("top1_acc").n == len(Y[TEST])


def test_a_classifier_without_probabilities_is_scored_by_its_decision_function() -> None:
    model = make_pipeline(StandardScaler(), LinearSVC()).fit(X[TRAIN], Y[TRAIN])
    got = harness.evaluate(model, data=(X[TEST], Y[TEST]), name="bc", **FAST)
    expected = accuracy_score(Y[TEST], model.predict(X[TEST]))
    assert got.metric("top1_acc").value == pytest.approx(expected, abs=1e-12)


def test_the_fitted_state_is_the_identity(tmp_path: Path) -> None:
    """The same fitted state saves under one run id; a refit with another C is another model,
    never written over the first one's results."""
    data = (X[TEST], Y[TEST])
    first = harness.evaluate(_fitted(), data=data, name="bc", model_name="lr", **FAST)
    again = harness.evaluate(_fitted(), data=data, name="bc", model_name="lr", **FAST)
    other = harness.evaluate(_fitted(0.01), data=data, name="bc", model_name="lr", **FAST)
    assert first.save(tmp_path) == again.save(tmp_path)
    assert other.save(tmp_path) != first.save(tmp_path)
    assert len(list((tmp_path / "runs").iterdir())) == 2


def test_estimators_that_cannot_be_scored_or_told_apart_are_refused_in_one_line() -> None:
    data = (X[TEST], Y[TEST])
    with pytest.raises(ModelLoadError, match=r"^model 'LogisticRegression': .* is not fitted"):
        harness.evaluate(LogisticRegression(), data=data, **FAST)
    # scaled: lbfgs on the raw features takes 2,400 iterations (10-15 s a fit)
    identity = FunctionTransformer(lambda x: x)
    unpicklable = make_pipeline(identity, StandardScaler(), LogisticRegression())
    unpicklable.fit(X[TRAIN], Y[TRAIN])
    with pytest.raises(ModelLoadError, match=r"^model 'Pipeline': the Pipeline cannot be pickled"):
        harness.evaluate(unpicklable, data=data, **FAST)
    labels = np.array(["benign", "malignant"])[Y]
    scaled = StandardScaler().fit(X[TRAIN]).transform(X)
    named = LogisticRegression().fit(scaled[TRAIN], labels[TRAIN])
    data = (scaled[TEST], Y[TEST])
    with pytest.raises(
        HarnessError,
        match=r"^model 'LogisticRegression' knows the classes \['benign', 'malignant'\] but task "
        r"'in-memory' names its classes \['0', '1'\] .*; the task has no class names \(its "
        r"labels are the ids 0\.\.k-1\): declare them in the order of its label ids "
        r"\(class_names=\[\.\.\.\] for data in memory, class_names: in a task spec\), or "
        r"fit the model on the class ids$",
    ):
        harness.evaluate(named, data=data, **FAST)


def test_a_function_returning_probabilities_is_refused_with_the_way_it_goes_in() -> None:
    """A function goes in as it is, read as returning logits (tests/python_api/
    test_functions.py); one returning probabilities is refused with the wrapper that says so."""
    model = _fitted()
    with pytest.raises(
        HarnessError,
        match=r"^model '<lambda>': the function returned rows that are probability vectors.*"
        r"harness\.callable_model\(fn, outputs='probabilities'\)",
    ):
        harness.evaluate(lambda x: model.predict_proba(x), data=(X[TEST], Y[TEST]), **FAST)
    wrapped = harness.callable_model(model.predict_proba, outputs="probabilities")
    got = harness.evaluate(wrapped, data=(X[TEST], Y[TEST]), **FAST)
    expected = accuracy_score(Y[TEST], model.predict(X[TEST]))
    assert got.metric("top1_acc").value == pytest.approx(expected, abs=1e-12)


_IDENTITY = """
import numpy as np
from sklearn.preprocessing import OneHotEncoder
from sklearn.pipeline import make_pipeline
from sklearn.linear_model import LogisticRegression
from harness.adapters.sklearn_model import SklearnAdapter
x = np.array([["a"], ["b"], ["c"], ["a"]])
model = make_pipeline(OneHotEncoder(), LogisticRegression()).fit(x, [0, 1, 1, 0])
model.kept = {"alpha", "beta", "gamma", "delta", "epsilon"}  # a set of strings, as some hold
print(SklearnAdapter.from_estimator(model, name="m").identity())
"""


@pytest.mark.slow  # three interpreters; the default run keeps the in-process identity test
def test_the_identity_is_the_same_in_every_process() -> None:
    """A plain pickle writes a set of strings in the process's hash order, so the same fitted
    state read in two processes saved under two ids; joblib's hash orders them."""
    import os
    import subprocess
    import sys

    ids = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", _IDENTITY], env=env, capture_output=True, text=True, check=True
        )
        ids.add(out.stdout.strip())
    assert len(ids) == 1, ids


def test_an_estimator_fitted_on_named_columns_is_refused_on_them_in_another_order() -> None:
    """A pipeline fitted on a DataFrame knows its columns (`feature_names_in_`); the adapter
    feeds it arrays, so a frame with the same columns in another order reached it shuffled and
    scored as a broken model (0.02 for 0.96 on iris) without a word. It is refused naming both
    orders; the columns named in the model's order are scored as sklearn scores them."""
    frame = load_breast_cancer(as_frame=True).frame.iloc[:, [0, 1, 2, 3, -1]]
    features = list(frame.columns[:4])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    model.fit(frame[features].iloc[TRAIN], frame["target"].iloc[TRAIN])
    test = frame.iloc[TEST]
    reordered = test[features[::-1] + ["target"]]
    with pytest.raises(
        HarnessError,
        match=r"^model 'Pipeline' was fitted on the columns \['mean radius', 'mean texture', "
        r"'mean perimeter', 'mean area'\] in that order, but task 'bc' gives them as \['mean "
        r"area', .*\]; .*feature_columns",
    ):
        harness.evaluate(model, data=reordered, label_column="target", name="bc", **FAST)
    got = harness.evaluate(
        model, data=reordered, label_column="target", feature_columns=features, name="bc", **FAST
    )
    expected = accuracy_score(test["target"], model.predict(test[features]))
    assert got.metric("top1_acc").value == pytest.approx(expected, abs=1e-12)
    assert expected > 0.8


def test_string_classes_that_are_the_tasks_class_names_are_mapped_by_name() -> None:
    """An estimator fitted on iris' species names (classes_ sorted: setosa, versicolor,
    virginica) scores a task whose class_names are the same names in another order: its
    probability columns are reordered to the task's classes, not refused or misread."""
    from sklearn.datasets import load_iris

    iris = load_iris()
    names = iris.target_names[iris.target]  # species names as strings
    rng = np.random.default_rng(0)
    order = rng.permutation(len(names))
    train, test = order[:100], order[100:]
    model = LogisticRegression(max_iter=5000).fit(iris.data[train], names[train])
    assert list(model.classes_) == ["setosa", "versicolor", "virginica"]
    task_order = ["virginica", "setosa", "versicolor"]
    got = harness.evaluate(
        model, data=(iris.data[test], names[test]), class_names=task_order, name="iris", **FAST
    )
    proba = model.predict_proba(iris.data[test])
    expected = accuracy_score(names[test], model.predict(iris.data[test]))
    assert expected > 0.9
    assert got.metric("top1_acc").value == pytest.approx(expected, abs=1e-12)
    assert got.metric("nll").value == pytest.approx(log_loss(names[test], proba), rel=1e-5)
    with pytest.raises(
        HarnessError,
        match=r"^model 'LogisticRegression' knows the classes \['setosa', 'versicolor', "
        r"'virginica'\] but task 'iris' names its classes \['virginica', 'setosa', 'versicolour'\]"
        r".*not a class of the task: 'versicolor'.*",
    ):
        harness.evaluate(
            model,
            data=(iris.data[test], iris.target[test]),
            class_names=["virginica", "setosa", "versicolour"],
            name="iris",
            **FAST,
        )


def test_a_binary_decision_function_follows_the_tasks_order_of_names() -> None:
    """LinearSVC on names scores the second of its sorted classes ('malignant'); a task naming
    'malignant' first gets the score negated, so the predictions stay sklearn's."""
    labels = np.array(["benign", "malignant"])[Y]
    model = make_pipeline(StandardScaler(), LinearSVC()).fit(X[TRAIN], labels[TRAIN])
    got = harness.evaluate(
        model,
        data=(X[TEST], labels[TEST]),
        class_names=["malignant", "benign"],
        name="bc",
        **FAST,
    )
    expected = accuracy_score(labels[TEST], model.predict(X[TEST]))
    assert expected > 0.8
    assert got.metric("top1_acc").value == pytest.approx(expected, abs=1e-12)


def test_one_vs_one_decision_scores_are_refused() -> None:
    """SVC(decision_function_shape='ovo') scores class pairs (0v1, 0v2, 1v2), not classes: on
    three classes the pairs fit the (n, 3) shape and iris scored 0.187 for a 0.973 model, with
    no flag. Refused in one line saying what to set."""
    from sklearn.datasets import load_iris
    from sklearn.svm import SVC

    x, y = load_iris(return_X_y=True)
    for model in (
        SVC(decision_function_shape="ovo").fit(x, y),
        make_pipeline(StandardScaler(), SVC(decision_function_shape="ovo")).fit(x, y),
    ):
        with pytest.raises(ModelLoadError) as err:
            harness.evaluate(model, data=(x, y), **FAST)
        message = str(err.value)
        assert "\n" not in message, message
        assert "decision_function_shape='ovo'" in message, message
        assert "decision_function_shape='ovr'" in message, message
    ovr = SVC().fit(x, y)  # the default: one score per class
    got = harness.evaluate(ovr, data=(x, y), **FAST)
    assert got.metric("top1_acc").value == pytest.approx(accuracy_score(y, ovr.predict(x)))
    binary = SVC(decision_function_shape="ovo").fit(x[y < 2], y[y < 2])  # one score: no pairs
    assert harness.evaluate(binary, data=(x[y < 2], y[y < 2]), **FAST).metric("top1_acc").value


def test_class_ids_stored_as_floats_are_the_class_ids() -> None:
    """An estimator fitted on a pandas nullable Int64 label column (or float labels 0.0, 1.0,
    2.0) has float `classes_` [0.0, 1.0, 2.0]: they were refused as 'must be the integer class
    ids 0..k-1 ... refit with the task's labels', though they are those ids and those labels.
    Whole-number floats 0..k-1 are read as the ids; other values are still refused."""
    import pandas as pd
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    for labels in (pd.Series(y, dtype="Int64"), y.astype(float)):
        model = LogisticRegression(max_iter=1000).fit(x, labels)
        assert model.classes_.dtype.kind == "f"
        got = harness.evaluate(model, data=(x, y), **FAST)
        assert got.metric("top1_acc").value == pytest.approx(
            accuracy_score(y, model.predict(x).astype(int))
        )
    shifted = LogisticRegression(max_iter=1000).fit(x, y + 1.0)
    with pytest.raises(ModelLoadError, match=r"classes_ \[1\.0, 2\.0, 3\.0\] must be"):
        harness.evaluate(shifted, data=(x, y), **FAST)


def test_an_estimator_fitted_on_other_columns_is_refused_naming_them() -> None:
    """A task giving one column more than a frame-fitted pipeline knows (a second label column
    left among the default feature columns) failed inside the model's first batch with
    sklearn's count alone ("X has 5 features, but StandardScaler is expecting 4"): on 300
    columns the user had to find the odd one by hand. It is refused before any call, naming
    the columns on each side."""
    frame = load_breast_cancer(as_frame=True).frame.iloc[:, [0, 1, 2, 3, 4, -1]]
    features = list(frame.columns[:4])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    model.fit(frame[features].iloc[TRAIN], frame["target"].iloc[TRAIN])
    with pytest.raises(
        HarnessError,
        match=r"^model 'Pipeline' was fitted on 4 columns but task 'bc' gives 5 features: "
        r"\['mean smoothness'\] is not one of the model's columns; .*feature_columns",
    ):
        harness.evaluate(model, data=frame.iloc[TEST], label_column="target", name="bc", **FAST)


def test_an_estimator_fitted_on_a_raw_category_is_told_the_task_encodes_it() -> None:
    """A pipeline that one-hot encodes a text column itself (a ColumnTransformer fitted on the
    raw column) gets the task's encoded columns (`color=a`, `color=b`): the line says that the
    task encodes the column the model expects raw, and that a model gets numbers."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    color = rng.choice(["a", "b"], size=200)
    x = rng.normal(size=200)
    label = ((x + (color == "a")) > 0.5).astype(int)
    raw = pd.DataFrame({"x": x, "color": color})
    encode = ColumnTransformer([("c", OneHotEncoder(), ["color"])], remainder="passthrough")
    model = make_pipeline(encode, LogisticRegression()).fit(raw, label)
    encoded = pd.DataFrame(
        {"x": x, "color=a": (color == "a") * 1.0, "color=b": (color == "b") * 1.0, "y": label}
    )
    with pytest.raises(
        HarnessError,
        match=r"^model 'Pipeline' was fitted on 2 columns but task 't' gives 3 features: .*"
        r"\['color'\] is not one of the task's.* the task encodes 'color' \(color=a, color=b\)",
    ):
        harness.evaluate(model, data=encoded, label_column="y", name="t", **FAST)


def test_an_estimator_given_another_column_in_place_of_one_it_knows_is_refused() -> None:
    """A CSV that lacks one column the model was fitted on and has another in its place (300
    features with `label3` where `f299` was) ran without a word: the model read label3 as
    f299. sklearn refuses that on a frame; the adapter feeds arrays, so it is refused here,
    naming both. Arrays, whose features name none of the model's columns, still run."""
    frame = load_breast_cancer(as_frame=True).frame.iloc[:, [0, 1, 2, 3, 4, -1]]
    features = list(frame.columns[:4])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    model.fit(frame[features].iloc[TRAIN], frame["target"].iloc[TRAIN])
    swapped = frame.drop(columns=["mean area"]).iloc[TEST]
    with pytest.raises(
        HarnessError,
        match=r"^model 'Pipeline' and task 'bc' name different columns \(4 each\): "
        r"\['mean smoothness'\] is not one of the model's columns; the model's \['mean area'\] "
        r"is not one of the task's",
    ):
        harness.evaluate(model, data=swapped, label_column="target", name="bc", **FAST)
    test = frame.iloc[TEST]
    arrays = (test[features].to_numpy(), test["target"].to_numpy())
    got = harness.evaluate(model, data=arrays, name="bc", **FAST)
    assert got.metric("top1_acc").n == len(test)


def test_an_estimator_fitted_on_get_dummies_names_is_told_the_tasks_names() -> None:
    """pandas' get_dummies names a one-hot column `color_a`, the task's one_hot `color=a`: the
    refusal told the user to "list the task's feature_columns as the model's columns", which no
    task can (the file holds the raw column). It now says how the names differ and how to fit
    the model on the task's names."""
    import pandas as pd

    rng = np.random.default_rng(0)
    color = rng.choice(["a", "b"], size=200)
    x = rng.normal(size=200)
    label = ((x + (color == "a")) > 0.5).astype(int)
    dummies = pd.get_dummies(pd.DataFrame({"x": x, "color": color}), dtype=float)
    model = LogisticRegression().fit(dummies, label)
    encoded = pd.DataFrame(
        {"x": x, "color=a": (color == "a") * 1.0, "color=b": (color == "b") * 1.0, "y": label}
    )
    with pytest.raises(HarnessError) as caught:
        harness.evaluate(model, data=encoded, label_column="y", name="t", **FAST)
    message = str(caught.value)
    assert "list the task's feature_columns" not in message, message
    assert "'color_a' for the task's 'color=a'" in message, message
    assert "prefix_sep='='" in message, message


def test_a_pipeline_selecting_columns_by_name_gets_them_by_name() -> None:
    """A ColumnTransformer that picks its columns by name (the usual tabular pipeline) failed in
    its first batch, "Specifying the columns using strings is only supported for dataframes":
    the adapter gave it an array. A task naming the columns it was fitted on, in its order,
    gives it a DataFrame of them, and the numbers are the pipeline's own."""
    from sklearn.compose import ColumnTransformer

    frame = load_breast_cancer(as_frame=True).frame.iloc[:, [0, 1, 2, 3, -1]]
    features = list(frame.columns[:4])
    by_name = ColumnTransformer(
        [("scaled", StandardScaler(), features[:2]), ("kept", "passthrough", features[2:])]
    )
    model = make_pipeline(by_name, LogisticRegression(max_iter=5000))
    model.fit(frame[features].iloc[TRAIN], frame["target"].iloc[TRAIN])
    result = harness.evaluate(
        model, data=frame.iloc[TEST], label_column="target", name="bc", **FAST
    )
    test = frame.iloc[TEST]
    expected = float((model.predict(test[features]) == test["target"]).mean())
    assert result.metric("top1_acc").value == pytest.approx(expected, abs=1e-12)


def test_a_parallel_estimator_comes_back_with_its_n_jobs(tmp_path: Path) -> None:
    """The job's thread count is set as a parallel estimator's `n_jobs` while it runs: the
    caller's forest came back with n_jobs=2 in place of -1, so the next evaluate of the same
    fit hashed another identity and saved into a second run folder (probe86)."""
    from sklearn.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(n_estimators=3, n_jobs=-1, random_state=0)
    model = make_pipeline(StandardScaler(), forest).fit(X[TRAIN], Y[TRAIN])
    folders = set()
    for _ in range(2):
        got = harness.evaluate(model, data=(X[TEST], Y[TEST]), name="bc", **FAST)
        assert model.get_params()["randomforestclassifier__n_jobs"] == -1
        folders.add(got.save(tmp_path))
    assert len(folders) == 1


def test_a_pipeline_selecting_columns_by_name_given_none_of_them_is_told_the_names() -> None:
    """A ColumnTransformer picking columns by name, on a task that names none of them (the
    columns renamed), failed in its first batch with sklearn's "Specifying the columns using
    strings is only supported for dataframes", which names no column. It is refused before
    the model runs, naming the columns on each side."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer

    rng = np.random.default_rng(0)
    fitted = pd.DataFrame(rng.normal(size=(60, 3)), columns=["x", "y", "z"])
    label = (fitted["x"] > 0).astype(int)
    pick = ColumnTransformer([("s", StandardScaler(), ["x", "y"])])
    model = make_pipeline(pick, LogisticRegression()).fit(fitted, label)
    renamed = fitted.set_axis(["a", "b", "c"], axis=1).assign(label=label)
    with pytest.raises(
        HarnessError,
        match=r"^model 'Pipeline' and task 't' name different columns \(3 each\): "
        r"\['a', 'b', 'c'\] are not one of the model's columns",
    ):
        harness.evaluate(model, data=renamed, label_column="label", name="t", **FAST)


@pytest.mark.parametrize("container", ["array", "index"])
def test_a_pipeline_selecting_columns_by_an_array_of_names_is_told_the_names(
    container: str,
) -> None:
    """scikit-learn takes the names as any array-like of strings (a numpy array, a pandas
    Index such as `frame.columns[:2]`): such a pipeline failed as the list's did, with sklearn's
    "only supported for dataframes"."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer

    rng = np.random.default_rng(0)
    fitted = pd.DataFrame(rng.normal(size=(60, 3)), columns=["x", "y", "z"])
    label = (fitted["x"] > 0).astype(int)
    names = np.array(["x", "y"]) if container == "array" else fitted.columns[:2]
    pick = ColumnTransformer([("s", StandardScaler(), names)])
    model = make_pipeline(pick, LogisticRegression()).fit(fitted, label)
    renamed = fitted.set_axis(["a", "b", "c"], axis=1).assign(label=label)
    with pytest.raises(HarnessError, match=r"^model 'Pipeline' and task 't' name different"):
        harness.evaluate(model, data=renamed, label_column="label", name="t", **FAST)
