"""Bad data passed from Python: one `InMemoryDataError` line naming the argument, never a
pydantic dump or a library's traceback; nothing is written."""

from __future__ import annotations

import re

import datasets
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
)

import harness
from harness.core.errors import HarnessError
from harness.run.memory_task import InMemoryDataError
from tests.fixture_models import linear_digits, linear_tabular

X = torch.rand(20, 1, 8, 8)
Y = torch.arange(20) % 10


class _Dicts(torch.utils.data.Dataset):  # type: ignore[type-arg]
    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": X[i], "y": Y[i]}


class _Pictures(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """Items as PIL images: a torchvision dataset without a transform."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int) -> tuple[Image.Image, int]:
        return Image.new("L", (8, 8)), i


class _Failing(torch.utils.data.Dataset):  # type: ignore[type-arg]
    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        raise IndexError(f"no item {i}")


class _Augmented(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """A training set's random transform left on (RandomHorizontalFlip)."""

    def __len__(self) -> int:
        return 20

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x = X[i].flip(-1) if torch.rand(()) < 0.5 else X[i]
        return x, int(Y[i])


class _NoisyLabels(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """Label noise drawn in `__getitem__` (a training set's label smoothing by resampling)."""

    def __len__(self) -> int:
        return 20

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        noisy = torch.rand(()) < 0.3
        return X[i], torch.randint(10, ()) if noisy else Y[i]


class _Pairs(torch.utils.data.Dataset):  # type: ignore[type-arg]
    def __len__(self) -> int:
        return 20

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return X[i], int(Y[i])


def _mixup(items: list[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """A training loader's mixup collate: each input mixed with another of the batch."""
    x = torch.stack([item[0] for item in items])
    y = torch.tensor([item[1] for item in items])
    lam = float(torch.distributions.Beta(0.4, 0.4).sample())
    return lam * x + (1 - lam) * x[torch.randperm(len(x))], y


class _DictItems(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """Items as dicts: a loader's own collate_fn makes the (x, y) batches."""

    def __len__(self) -> int:
        return 20

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": X[i], "y": Y[i]}


def _mixup_dicts(items: list[dict[str, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """`_mixup` of dict items (a collate that batches dicts into (x, y) pairs)."""
    return _mixup([(item["x"], int(item["y"])) for item in items])


class _TextDropout(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """A text training set's random word dropout left on in `__getitem__`."""

    TEXTS = ("a good film", "bad and not good at all", "good", "a bad one") * 5

    def __len__(self) -> int:
        return len(self.TEXTS)

    def __getitem__(self, i: int) -> tuple[str, int]:
        words = self.TEXTS[i].split()
        return " ".join(w for w in words if torch.rand(()) > 0.3), i % 2


def _nan() -> torch.Tensor:
    x = X.clone()
    x[3, 0, 1, 1] = float("nan")
    return x


def _inf() -> np.ndarray:
    x = X.numpy().copy()
    x[5, 0, 0, 0] = np.inf
    return x


def _masked(values: np.ndarray, at: tuple[int, ...]) -> np.ma.MaskedArray:
    """`values` with one entry marked missing (numpy's masked array: the value underneath
    is still there, and np.asarray reads it)."""
    mask = np.zeros(values.shape, dtype=bool)
    mask[at] = True
    return np.ma.masked_array(values, mask=mask)


def _frame_with_text() -> pd.DataFrame:
    return pd.DataFrame({"a": [0.1, 0.2], "city": ["x", "y"], "label": [0, 1]})


CASES = {
    "length mismatch": (
        dict(data=(X, Y[:19])),
        r"^data: x has 20 samples but y has 19 labels$",
    ),
    "label above the classes": (
        dict(data=(X, Y), num_classes=5),
        r"^data: label 9 \(sample 9\) is outside \[0, 5\)",
    ),
    "negative label": (
        dict(data=(X, torch.tensor([-1] + [0] * 19))),
        # no count of classes takes in a negative label: no num_classes= advice
        r"^data: label -1 \(sample 0\) is outside \[0, 1\); labels are class indices 0\.\.0$",
    ),
    "fractional labels": (
        dict(data=(X, Y.float() + 0.5)),
        r"^data: label 0\.5 \(sample 0\) is not an integer class index$",
    ),
    "a missing label": (
        dict(data=(X, np.where(np.arange(20) == 4, np.nan, Y.numpy()))),
        r"^data: label of sample 4 is missing \(NaN, None or NA\); every sample needs its class index$",
    ),
    "string labels": (
        dict(data=(X, np.array(["cat"] * 20))),
        r"^data: labels are <U3, not integer class indices",
    ),
    "a label not among class_names": (
        dict(data=(X, np.array(["cat"] * 19 + ["cow"])), class_names=["cat", "dog"]),
        r"^data: label 'cow' \(sample 19\) is not one of class_names \('cat', 'dog'\); name "
        r"every class the labels use, in class-index order$",
    ),
    "a label not among class_names taken from numpy": (
        dict(
            data=(X, np.array(["cat"] * 19 + ["cow"])),
            class_names=list(np.array(["cat", "dog"])),  # np.str_ items, shown as plain text
        ),
        r"^data: label 'cow' \(sample 19\) is not one of class_names \('cat', 'dog'\); name ",
    ),
    "a long label not among class_names": (
        dict(data=(X, np.array(["cat"] * 19 + ["c" * 5000])), class_names=["cat", "dog"]),
        r"^data: label 'c{79}\.\.\. \(5,000 characters\) \(sample 19\) is not one of "
        r"class_names \('cat', 'dog'\)",
    ),
    "a DataFrame as x": (
        dict(data=(pd.DataFrame(X.reshape(20, -1).numpy()), Y)),
        r"^data: x is a DataFrame; pass the frame itself as data= with the labels as one of "
        r"its columns \(data=x\.assign\(label=y\)\), which keeps its column names, or "
        r"x\.to_numpy\(\)$",
    ),
    "true/false labels named by class_names": (
        dict(data=(X, (Y > 4).numpy()), class_names=["small", "large"]),
        r"^data: labels are true/false values; pass them as 0/1 class indices "
        r"\(y\.astype\(int\), torch: y\.long\(\)\): False is class 0, True class 1$",
    ),
    "one-hot labels": (
        dict(data=(X, torch.eye(10)[Y])),
        r"^data: labels have shape \[20, 10\]; pass one class index per sample",
    ),
    "NaN inputs": (dict(data=(_nan(), Y)), r"^data: sample 3 has NaN or inf inputs$"),
    "inf inputs": (dict(data=(_inf(), Y)), r"^data: sample 5 has NaN or inf inputs$"),
    "outside the bounds": (
        dict(data=(X * 255, Y)),
        r"^data: sample 0 has inputs in \[[0-9.e-]+, [0-9.]+\], outside bounds \[0, 1\]; pass",
    ),
    "uint8 images": (
        dict(data=((X * 255).to(torch.uint8), Y)),
        r"^data: sample 0 has inputs in \[[0-9]+, [0-9]+\], outside bounds \[0, 1\]; x holds "
        r"uint8 values: scale images to \[0, 1\] with x\.float\(\) / 255 \(numpy: "
        r"x\.astype\('float32'\) / 255\)",
    ),
    "uint8 numpy images": (
        dict(data=((X * 255).numpy().astype(np.uint8), Y.numpy())),
        r"x holds uint8 values: scale images to \[0, 1\] with x\.float\(\) / 255",
    ),
    "uint8 images from a Dataset": (
        dict(data=TensorDataset((X * 255).to(torch.uint8), Y)),
        r"x holds uint8 values: scale images to \[0, 1\] with x\.float\(\) / 255",
    ),
    "int8 images with negatives": (  # dividing by 255 cannot bring them into [0, 1]
        dict(data=((X * 255 - 128).to(torch.int8), Y)),
        r"x holds int8 values, some negative \(down to -[0-9]+\): no division brings them into "
        r"\[0, 1\]; pass the model's input range as bounds=\(low, high\) \(int8: "
        r"bounds=\(-128, 127\)\), or shift and scale them into \[0, 1\] first$",
    ),
    "int8 images negative past the first sample": (  # sample 0 alone is in [0, 127]
        dict(data=(torch.cat([(X[:1] * 127), X[1:] * 255 - 128]).to(torch.int8), Y)),
        r"^data: sample 0 has inputs in \[[0-9]+, [0-9]+\], outside bounds \[0, 1\]; x holds "
        r"int8 values, some negative \(down to -[0-9]+\): no division brings them into",
    ),
    "outside given bounds": (
        dict(data=(X, Y), bounds=(0.0, 0.5)),
        r"outside bounds \[0, 0\.5\]",
    ),
    "bad bounds": (dict(data=(X, Y), bounds=(1.0, 0.0)), r"^bounds: expected finite low < high"),
    "loader of dicts": (
        dict(data=DataLoader(_Dicts(), batch_size=2)),
        r"^data: the DataLoader yields dicts \(keys 'x', 'y'\); evaluate takes \(x, y\) pairs",
    ),
    "loader of triples": (
        dict(data=DataLoader(TensorDataset(X, Y, Y), batch_size=5)),
        r"^data: the DataLoader yields 3-item batches of list; evaluate takes \(x, y\) pairs",
    ),
    "shuffling loader": (
        dict(data=DataLoader(TensorDataset(X, Y), shuffle=True)),
        r"^data: the DataLoader shuffles; evaluation needs a fixed order",
    ),
    "loader shuffling through its batch sampler": (
        dict(
            data=DataLoader(
                TensorDataset(X, Y),
                batch_sampler=BatchSampler(RandomSampler(TensorDataset(X, Y)), 4, False),
            )
        ),
        r"^data: the DataLoader shuffles; evaluation needs a fixed order",
    ),
    "loader with a random subset sampler": (
        dict(data=DataLoader(TensorDataset(X, Y), batch_size=4, sampler=SubsetRandomSampler([1]))),
        r"^data: the DataLoader draws its samples with a SubsetRandomSampler; evaluation reads "
        r"every sample once, in order",
    ),
    "loader drawing with replacement": (
        dict(
            data=DataLoader(
                TensorDataset(X, Y), batch_size=4, sampler=WeightedRandomSampler([1.0] * 20, 20)
            )
        ),
        r"^data: the DataLoader draws its samples with a WeightedRandomSampler",
    ),
    "loader dropping its last batch": (
        dict(data=DataLoader(TensorDataset(X, Y), batch_size=8, drop_last=True)),
        r"^data: the DataLoader drops its last incomplete batch \(drop_last=True\): 4 of 20 "
        r"samples would not be evaluated; pass drop_last=False$",
    ),
    "loader of PIL images": (
        dict(data=DataLoader(_Pictures(), batch_size=2)),
        r"^data: reading the DataLoader failed: TypeError: default_collate: .*; the dataset's "
        r"items must be tensors, arrays or numbers: give it a transform to tensors",
    ),
    "a dataset that raises": (
        dict(data=_Failing()),
        r"^data: reading the DataLoader failed: IndexError: no item 0$",
    ),
    "loader without a batch size": (
        dict(data=DataLoader(TensorDataset(X, Y), batch_size=None)),
        r"^data: the DataLoader has batch_size=None \(it yields single samples\); give it a "
        r"batch size$",
    ),
    "hf without the label column": (
        dict(data=datasets.Dataset.from_dict({"image": X.numpy(), "target": Y.numpy()})),
        r"^label_column: 'label' is not a column of the dataset \(columns: image, target\)$",
    ),
    "hf without the input column": (
        dict(
            data=datasets.Dataset.from_dict({"image": X.numpy(), "label": Y.numpy()}),
            input_column="pixels",
        ),
        r"^input_column: 'pixels' is not a column of the dataset",
    ),
    "hf with the label as the input": (
        dict(
            data=datasets.Dataset.from_dict({"x": X.numpy(), "label": Y.numpy()}),
            input_column="label",
        ),
        r"^input_column: 'label' is the label column \(label_column\); name the input column$",
    ),
    "frame with a text feature": (
        dict(data=_frame_with_text()),
        r"^data: feature column 'city' is (object|str), not numeric",
    ),
    "frame with inf": (
        dict(data=pd.DataFrame({"a": [0.1, np.inf], "b": [1.0, 2.0], "label": [0, 1]})),
        r"^data: sample 1 has NaN or inf inputs$",
    ),
    "frame with NaN": (
        dict(data=pd.DataFrame({"a": [0.1, 0.3], "b": [np.nan, 2.0], "label": [0, 1]})),
        r"^data: sample 0 has NaN or inf inputs$",
    ),
    "frame with the label among the features": (
        dict(
            data=pd.DataFrame({"a": [0.1, 0.2], "label": [0, 1]}),
            feature_columns=["a", "label"],
        ),
        r"^feature_columns: 'label' is the label column \(label_column\); leave it out of the "
        r"model's inputs$",
    ),
    "frame with a feature named twice": (
        dict(
            data=pd.DataFrame({"a": [0.1, 0.2], "b": [0.3, 0.4], "label": [0, 1]}),
            feature_columns=["a", "a"],
        ),
        r"^feature_columns: names 'a' twice; name each input column once$",
    ),
    "frame with no features named": (
        dict(data=pd.DataFrame({"a": [0.1, 0.2], "label": [0, 1]}), feature_columns=[]),
        r"^feature_columns: empty; name the model's input columns$",
    ),
    "bounds for texts": (
        dict(data=(["a text", "another"], [0, 1]), bounds=(0.0, 1.0)),
        r"^bounds: applies to images and tables; texts have no input range$",
    ),
    "frame with a column twice": (
        dict(data=pd.DataFrame([[0.1, 0.2, 0], [0.3, 0.4, 1]], columns=["a", "a", "label"])),
        r"^data: column 'a' appears 2 times; give each column its own name \(data\.columns\)$",
    ),
    "frame with the label column twice": (
        dict(
            data=pd.DataFrame([[0.1, 0.2, 0, 0], [0.3, 0.4, 1, 1]], columns=["a", "b", "y", "y"]),
            label_column="y",
        ),
        r"^data: column 'y' appears 2 times",
    ),
    "frame with columns named alike as text": (
        dict(data=pd.DataFrame([[0.1, 0.2, 0], [0.3, 0.4, 1]], columns=[0, "0", "label"])),
        r"^data: columns 0 and '0' share the name '0' as text; rename one",
    ),
    "frame with columns of two levels": (  # df.groupby(...).agg([...]) gives such columns
        dict(
            data=pd.DataFrame(
                [[0.1, 0.2, 0], [0.3, 0.4, 1]],
                columns=pd.MultiIndex.from_tuples([("x", "a"), ("x", "b"), ("label", "")]),
            )
        ),
        r"^data: the frame's columns have 2 levels \(a MultiIndex, e\.g\. \('x', 'a'\)\); "
        r"give each column one name",
    ),
    "frame without a named feature": (
        dict(
            data=pd.DataFrame({0: [0.1, 0.3], 1: [0.2, 0.4], "label": [0, 1]}),
            feature_columns=["0", "1"],
        ),
        r"^feature_columns: '0' is not a column of data \(columns: 0, 1, 'label'\)$",
    ),
    "frame with a misspelt group column": (
        dict(
            data=pd.DataFrame(
                {"a": [0.1, 0.3], "b": [0.2, 0.4], "sex": ["f", "m"], "label": [0, 1]}
            ),
            groups=["Sex"],
        ),
        r"^groups: column 'Sex' is not a column of data \(columns: a, b, sex, label\); "
        r"did you mean 'sex'\?$",
    ),
    "frame without the label": (
        dict(data=pd.DataFrame({"a": [0.1]}), label_column="y"),
        r"^label_column: 'y' is not a column of data \(columns: a\)$",
    ),
    "unknown kind": (
        dict(data={1, 2, 3}),
        r"^data: got a set; evaluate takes \(x, y\) tensors or numpy arrays, .*DataFrame$",
    ),
    "a 3-tuple": (dict(data=(X, Y, Y)), r"^data: got a tuple of 3 items; evaluate takes"),
    "dict of tensors as task": (
        dict(task={"x": X, "y": Y}),
        r"^task: got a dict of 'x', 'y'; pass arrays as data=\(x, y\)",
    ),
    "grey images without channels": (
        dict(data=(X[:, 0], Y)),
        r"^data: x has shape \[20, 8, 8\]; pass images as \(N, C, H, W\)",
    ),
    "channels-last images": (
        dict(data=(X.permute(0, 2, 3, 1), Y)),
        r"^data: x has shape \[20, 8, 8, 1\]: images with the channels last \(N, H, W, C\); pass "
        r"\(N, C, H, W\): x\.permute\(0, 3, 1, 2\)",
    ),
    "channels-last numpy images": (
        dict(data=(np.repeat(X.permute(0, 2, 3, 1).numpy(), 3, axis=3), Y)),
        r"^data: x has shape \[20, 8, 8, 3\]: images with the channels last .*numpy: "
        r"x\.transpose\(0, 3, 1, 2\)",
    ),
    "groups of the wrong length": (
        dict(data=(X, Y), groups=pd.DataFrame({"g": ["a"] * 19})),
        r"^groups: has 19 rows for 20 samples$",
    ),
    "groups with a gap": (
        dict(data=(X, Y), groups=pd.DataFrame({"g": ["a"] * 19 + [None]})),
        r"^groups: column 'g' has a missing value \(row 19\)",
    ),
    "groups in another order than the frame": (
        dict(
            data=pd.DataFrame({"a": [0.1, 0.2, 0.3], "label": [0, 1, 0]}, index=[7, 8, 9]),
            groups=pd.DataFrame({"g": ["u", "v", "w"]}, index=[9, 8, 7]),
        ),
        r"^groups: holds the index labels of data in another order, and groups are matched to "
        r"samples by position; pass groups\.loc\[data\.index\] \(or reset both indexes\)$",
    ),
    "groups in another order than the labels": (
        dict(
            data=(X, pd.Series(Y.numpy(), index=range(20))),
            groups=pd.DataFrame({"g": ["u", "v"] * 10}, index=range(19, -1, -1)),
        ),
        r"^groups: holds the index labels of y in another order",
    ),
    "group names without a frame": (
        dict(data=(X, Y), groups=["sex"]),
        r"^groups: got a list; pass a pandas DataFrame or Series of sensitive attributes, a dict",
    ),
    "a Series in another order than the frame": (
        dict(
            data=pd.DataFrame({"a": [0.1, 0.2, 0.3], "label": [0, 1, 0]}, index=[7, 8, 9]),
            groups=pd.Series(["u", "v", "w"], index=[9, 8, 7], name="g"),
        ),
        r"^groups: holds the index labels of data in another order",
    ),
    "an attribute of the wrong length in a dict": (
        dict(data=(X, Y), groups={"sex": ["a"] * 20, "age": np.zeros(19)}),
        r"^groups: 'age' has 19 values where 'sex' has 20$",
    ),
    "complex numbers as an attribute": (  # Arrow's ArrowNotImplementedError (probe95)
        dict(data=(X, Y), groups={"z": np.array([1 + 1j, 2] * 10)}),
        r"^groups: column 'z' holds complex numbers \(complex128\); give integers or text$",
    ),
    "a 2-D array of attributes": (
        dict(data=(X, Y), groups=np.zeros((20, 2))),
        r"^groups: 'group' has shape \(20, 2\); give one value per sample \(1-D\), and several "
        r"attributes as a dict of named columns or a DataFrame$",
    ),
    "an attribute named with '&'": (
        dict(data=(X, Y), groups={"sex": ["a"] * 20, "age": ["b"] * 20, "sex&age": ["c"] * 20}),
        r"^groups: column 'sex&age' has '&' in its name, which names an intersection of group "
        r"columns \(sex&age is sex x age\); rename it$",
    ),
    "an attribute named with ','": (
        dict(data=(X, Y), groups={"a,b": ["a"] * 20}),
        r"^groups: column 'a,b' has ',' in its name, which separates group columns in "
        r"harness groups --by; rename it$",
    ),
    "a sparse tensor": (
        dict(data=(X.to_sparse(), Y)),
        r"^data: x is a sparse tensor \(torch\.sparse_coo\); pass x\.to_dense\(\)$",
    ),
    "inputs with a masked value": (
        dict(data=(_masked(X.numpy(), (3, 0, 1, 1)), Y)),
        r"^data: x is a masked array with 1 masked value \(sample 3\); fill or drop them "
        r"\(x\.filled\(value\), or leave those samples out\)$",
    ),
    "labels with a masked value": (
        dict(data=(X, _masked(Y.numpy(), (4,)))),
        r"^data: y is a masked array with 1 masked value \(sample 4\); fill or drop them ",
    ),
    "a group column named twice": (
        dict(data=_frame_with_text(), groups=["city", "city"], feature_columns=["a"]),
        r"^groups: names column 'city' twice; name each attribute once$",
    ),
    "a groups frame with a column twice": (
        dict(data=(X, Y), groups=pd.DataFrame([["u", "v"]] * 20, columns=["g", "g"])),
        r"^groups: names column 'g' twice; name each attribute once$",
    ),
    "an attribute with no name": (
        dict(data=(X, Y), groups=pd.Series(["a"] * 20, name="")),
        r"^groups: a column has an empty name; name each attribute$",
    ),
    "a dict keyed by numbers": (
        dict(data=(X, Y), groups={0: ["a"] * 20}),
        r"^groups: key 0 is not a name; use text keys$",
    ),
    "Series with different indexes in a dict": (
        dict(
            data=(X, Y),
            groups={"a": pd.Series(["u"] * 20), "b": pd.Series(["v"] * 20, index=range(1, 21))},
        ),
        r"^groups: its Series have different indexes",
    ),
    "an attribute of the wrong length": (
        dict(data=(X, Y), groups=torch.zeros(19)),
        r"^groups: has 19 rows for 20 samples$",
    ),
    "both data and task": (dict(data=(X, Y), task="digits"), r"^data: pass the data as data="),
    "neither": (dict(), r"^task: evaluate needs task="),
    "in-memory setting with a named task": (
        dict(task="digits", bounds=(0.0, 1.0)),
        r"^bounds: applies to data passed in memory",
    ),
    "no classes": (
        dict(data=(X, Y), num_classes=0),
        r"^num_classes: a classifier has at least 2 classes \(got 0\)$",
    ),
    "one class": (
        dict(data=(X, Y * 0), num_classes=1),
        r"^num_classes: a classifier has at least 2 classes \(got 1\)$",
    ),
    "a fractional number of classes": (
        dict(data=(X, Y), num_classes=10.5),
        r"^num_classes: expected a whole number of classes \(got 10\.5\)$",
    ),
    "a number of classes as text": (
        dict(data=(X, Y), num_classes="10"),
        r"^num_classes: expected a whole number of classes \(got '10'\)$",
    ),
    "more classes than a task may have": (  # built 1e9 class names: a MemoryError (review82)
        dict(data=(X, Y), num_classes=10**9),
        r"^num_classes: 1000000000 is beyond the 1,000,000 classes a task may have$",
    ),
    "inputs on the meta device": (
        dict(data=(X.to("meta"), Y)),
        r"^data: x is a tensor on the meta device \(a shape without values\); pass",
    ),
    "labels on the meta device": (
        dict(data=(X, Y.to("meta"))),
        r"^data: y is a tensor on the meta device \(a shape without values\); pass",
    ),
    "class names that do not match": (
        dict(data=(X, Y), class_names=["a", "b"], num_classes=10),
        r"^class_names: 2 names for num_classes=10",
    ),
    "a text with a lone surrogate": (  # was a bare UnicodeEncodeError (probe70)
        dict(data=(["good film", "caf\udce9"], [1, 0]), class_names=["neg", "pos"]),
        r"^data: x sample 1 is not valid UTF-8 text \(a lone surrogate, U\+DCE9, at "
        r"character 3\); decode the text",
    ),
    "frame without rows": (  # was a bare RuntimeError from reshape (probe86)
        dict(data=pd.DataFrame({"a": [0.1], "b": [0.2], "label": [1]}).iloc[:0], num_classes=2),
        r"^data: holds no samples$",
    ),
    "float64 array without rows": (  # the float32 check reshaped 0 rows (probe86)
        dict(data=(np.zeros((0, 1, 8, 8)), np.zeros(0, dtype=int)), num_classes=10),
        r"^data: holds no samples$",
    ),
    "dataset without rows": (  # said "x has shape [0]; pass images as ..." (probe86)
        dict(
            data=datasets.Dataset.from_dict({"x": [[0.1] * 64], "label": [1]}).select([]),
            num_classes=10,
        ),
        r"^data: holds no samples$",
    ),
    "a dataset with a random transform": (  # scored one draw, unsaid (probe86)
        dict(data=_Augmented()),
        r"^data: item \d+ of the dataset holds another input when read again",
    ),
    "a loader over a dataset with a random transform": (
        dict(data=DataLoader(_Augmented(), batch_size=8)),
        r"^data: item \d+ of the dataset holds another input when read again",
    ),
    "a dataset with random labels": (  # scored one draw of the noise, unsaid
        dict(data=_NoisyLabels()),
        r"^data: item \d+ of the dataset holds another label when read again",
    ),
    "a loader with a random collate_fn": (  # mixup: scored mixed inputs, unsaid
        dict(data=DataLoader(_Pairs(), batch_size=8, collate_fn=_mixup)),
        r"^data: the DataLoader's collate_fn gives another batch when called again on the "
        r"same items",
    ),
    "a loader of dict items with a random collate_fn": (  # the check read pairs only
        dict(data=DataLoader(_DictItems(), batch_size=8, collate_fn=_mixup_dicts)),
        r"^data: the DataLoader's collate_fn gives another batch when called again on the "
        r"same items",
    ),
    "a dataset with a random text transform": (  # word dropout: texts compared as alike
        dict(data=_TextDropout(), class_names=["neg", "pos"]),
        r"^data: item \d+ of the dataset holds another input when read again",
    ),
    "an empty list of texts": (  # said "x is a list; pass a torch tensor ..." (probe86)
        dict(data=([], []), class_names=["neg", "pos"]),
        r"^data: holds no samples$",
    ),
    "texts as bytes": (  # said "x is a list; pass ... (or a list of strings for text)"
        dict(data=([b"good film", b"bad"], [1, 0]), class_names=["neg", "pos"]),
        r"^data: x holds bytes \(sample 0\), not texts; decode them to strings "
        r"\(b\.decode\('utf-8'\)\)$",
    ),
    "class names that print alike": (  # café composed and decomposed (probe38)
        dict(data=(X, Y), class_names=[str(i) for i in range(8)] + ["cafe\u0301", "caf\u00e9"]),
        r"^class_names: holds 'café' twice \(written two ways that print alike",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_data_is_one_line_naming_the_argument(case: str) -> None:
    kwargs, pattern = CASES[case]
    model = linear_tabular(features=2) if case.startswith("frame") else linear_digits()
    with pytest.raises(HarnessError) as err:
        harness.evaluate(model, device="cpu", bootstrap_resamples=0, **kwargs)
    message = str(err.value)
    assert "\n" not in message and "validation error" not in message, message
    assert re.search(pattern, message), message


def test_errors_of_data_are_in_memory_data_errors() -> None:
    with pytest.raises(InMemoryDataError):
        harness.evaluate(linear_digits(), data=(X, Y[:3]))


def test_a_bad_task_mapping_is_one_line() -> None:
    with pytest.raises(HarnessError) as err:
        harness.evaluate(linear_digits(), task={"name": "t", "modality": "image", "sourc": "x"})
    assert "\n" not in str(err.value) and str(err.value).startswith("task: ")


def test_a_model_failing_on_a_table_hears_which_features_it_was_given() -> None:
    """An `id` column left as a feature (the default: every column but the label) makes a
    4-input model fail inside torch; the line lists the 5 features the task gives it."""
    frame = pd.DataFrame(
        {"id": range(10), "a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4, "label": [0, 1] * 5}
    )
    with pytest.raises(HarnessError) as err:
        harness.evaluate(linear_tabular(features=4), data=frame, device="cpu")
    message = str(err.value)
    assert "\n" not in message
    assert re.search(
        r"during its forward pass on task 'in-memory' \(which gives 5 features: id, a, b, c, d\) "
        r"on a batch of 10 inputs: "
        r"mat1 and mat2",
        message,
    ), message


def test_a_loader_that_drops_nothing_or_counts_whole_batches_is_read_whole() -> None:
    whole = DataLoader(TensorDataset(X, Y), batch_size=5, drop_last=True)  # 20 = 4 x 5
    ordered = DataLoader(TensorDataset(X, Y), batch_size=5, sampler=SequentialSampler(X))
    plain = harness.evaluate(linear_digits(), data=(X, Y), device="cpu", bootstrap_resamples=0)
    for loader in (whole, ordered):
        got = harness.evaluate(linear_digits(), data=loader, device="cpu", bootstrap_resamples=0)
        assert got.task_fingerprint == plain.task_fingerprint
        assert got.metric("top1_acc").n == 20


def test_a_whole_number_of_classes_may_come_from_numpy() -> None:
    got = harness.evaluate(
        linear_digits(), data=(X, Y), num_classes=np.int64(10), device="cpu", bootstrap_resamples=0
    )
    assert got.metric("top1_acc").n == 20


def test_groups_with_their_own_index_are_matched_by_position() -> None:
    """A groups frame whose index is not the data's (a RangeIndex beside labelled rows) is read
    by position, as documented; only a reordering of the same labels is refused."""
    frame = pd.DataFrame({"a": [0.1, 0.2, 0.3, 0.4], "label": [0, 1, 0, 1]}, index=[7, 8, 9, 6])
    got = harness.evaluate(
        linear_tabular(features=1),
        data=frame,
        groups=pd.DataFrame({"g": ["u", "v", "u", "v"]}),
        device="cpu",
        bootstrap_resamples=0,
    )
    assert list(got.table.to_pandas()["group:g"]) == ["u", "v", "u", "v"]


def test_groups_may_be_passed_as_fairlearn_takes_sensitive_features() -> None:
    """A Series, a dict of named columns, a 1-D array or tensor (fairlearn's
    `sensitive_features` forms) give the same group columns as the DataFrame they stand for."""
    sex = np.array(["f", "m"] * 10)
    age = np.arange(20) % 3
    frame = harness.evaluate(
        linear_digits(),
        data=(X, Y),
        groups=pd.DataFrame({"sex": sex, "age": age}),
        device="cpu",
        bootstrap_resamples=0,
    ).table.to_pandas()
    kinds = {
        "dict": {"sex": list(sex), "age": torch.tensor(age)},
        "dict of Series": {"sex": pd.Series(sex), "age": pd.Series(age)},
    }
    for kind, groups in kinds.items():
        got = harness.evaluate(
            linear_digits(), data=(X, Y), groups=groups, device="cpu", bootstrap_resamples=0
        ).table.to_pandas()
        for column in ("group:sex", "group:age"):
            assert list(got[column]) == list(frame[column]), kind
    one = {
        "Series": pd.Series(sex, name="sex"),
        "unnamed Series": pd.Series(sex),
        "array": sex,
        "tensor": torch.tensor(age),
    }
    for kind, groups in one.items():
        got = harness.evaluate(
            linear_digits(), data=(X, Y), groups=groups, device="cpu", bootstrap_resamples=0
        ).table.to_pandas()
        column = "group:sex" if kind == "Series" else "group:group"
        expected = age if kind == "tensor" else sex
        assert list(got[column]) == list(expected), kind


def test_an_array_of_groups_beside_a_shuffled_frame_is_read_by_position() -> None:
    """An array has no index to check against the data's: a frame whose index is a permutation
    of 0..n-1 (after `sample(frac=1)`) takes the array's values in its row order."""
    frame = pd.DataFrame({"a": [0.1, 0.2, 0.3, 0.4], "label": [0, 1, 0, 1]}, index=[2, 0, 3, 1])
    got = harness.evaluate(
        linear_tabular(features=1),
        data=frame,
        groups=np.array(["u", "v", "w", "x"]),
        device="cpu",
        bootstrap_resamples=0,
    )
    assert list(got.table.to_pandas()["group:group"]) == ["u", "v", "w", "x"]


def test_group_values_are_trimmed_as_a_csvs_are() -> None:
    """ "a" and "a " were two groups from Python (one from a CSV) that print alike in every
    table; text group values are now trimmed, and one that is blank is refused like a missing
    one. A pandas string column is text too."""
    frame = pd.DataFrame({"a": [0.1, 0.2, 0.3, 0.4], "label": [0, 1, 0, 1]})
    for column in (["u", "u ", " v", "v"], pd.array(["u", "u ", " v", "v"], dtype="string")):
        got = harness.evaluate(
            linear_tabular(features=1),
            data=frame,
            groups=pd.DataFrame({"g": column}),
            device="cpu",
            bootstrap_resamples=0,
        )
        assert list(got.table.to_pandas()["group:g"]) == ["u", "u", "v", "v"]
    with pytest.raises(
        InMemoryDataError, match=r"^groups: column 'g' has an empty value \(row 2\)"
    ):
        harness.evaluate(
            linear_tabular(features=1),
            data=frame,
            groups=pd.DataFrame({"g": ["u", "v", "  ", "v"]}),
            device="cpu",
        )


def test_group_values_in_two_unicode_forms_are_one_group() -> None:
    """'café' composed and decomposed printed alike but were two groups; they are one, in the
    composed form (NFC), as a CSV task's are."""
    frame = pd.DataFrame({"a": [0.1, 0.2, 0.3, 0.4], "label": [0, 1, 0, 1]})
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    got = harness.evaluate(
        linear_tabular(features=1),
        data=frame,
        groups={"city": [composed, decomposed, "x", decomposed]},
        suites={"fairness": {}},
        device="cpu",
        bootstrap_resamples=0,
    )
    assert list(got.table.to_pandas()["group:city"]) == [composed, composed, "x", composed]
    sizes = {r.context["group"]: r.n for r in got.metrics if r.metric == "group_acc"}
    assert sizes == {composed: 3, "x": 1}


def test_boolean_groups_are_named_as_a_files_are(tmp_path) -> None:  # noqa: ANN001
    """A boolean attribute was `True` / `False` from Python and `true` / `false` from a CSV or
    Parquet file (Arrow's text of a boolean): the per-group records of the same data did not
    line up between a `harness.evaluate` run and a spec run. Both now read `true` / `false`."""
    frame = pd.DataFrame({"a": [0.1, 0.2, 0.3, 0.4], "label": [0, 1, 0, 1]})
    flag = np.array([True, False, True, True])
    options = {"suites": {"fairness": {}}, "device": "cpu", "bootstrap_resamples": 0}
    held = harness.evaluate(
        linear_tabular(features=1), data=frame, groups={"flag": flag}, **options
    )
    frame.assign(flag=flag).to_csv(tmp_path / "t.csv", index=False)
    task = {
        "name": "t-file",
        "source": str(tmp_path / "t.csv"),
        "modality": "tabular",
        "label_column": "label",
        "group_columns": ["flag"],
    }
    filed = harness.evaluate(linear_tabular(features=1), task=task, **options)
    for got in (held, filed):
        sizes = {r.context["group"]: r.n for r in got.metrics if r.metric == "group_acc"}
        assert sizes == {"true": 3, "false": 1}


def test_a_frame_with_numbered_columns_is_read_as_its_array() -> None:
    """`pd.DataFrame(x)` labels its columns 0, 1, ...: read by default or named by those
    labels, the same task and numbers as the array itself."""
    gen = np.random.default_rng(0)
    x = gen.random((30, 2)).astype(np.float32)
    y = np.arange(30) % 2
    frame = pd.DataFrame(x).assign(label=y)
    plain = harness.evaluate(linear_tabular(features=2), data=(x, y), device="cpu")
    for kwargs in ({}, {"feature_columns": [0, 1]}):
        got = harness.evaluate(linear_tabular(features=2), data=frame, device="cpu", **kwargs)
        assert got.metric("top1_acc").value == plain.metric("top1_acc").value
        assert got.metric("nll").value == plain.metric("nll").value


def test_a_model_with_meta_parameters_is_one_line_naming_it() -> None:
    model = linear_digits().to("meta")
    with pytest.raises(HarnessError) as err:
        harness.evaluate(model, data=(X, Y), device="cpu", name="mine", bootstrap_resamples=0)
    message = str(err.value)
    assert "\n" not in message, message
    assert re.search(
        r"^model 'Sequential': parameter '1\.weight' is on the meta device .*load_state_dict",
        message,
    ), message


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ([1, 1.0, 2, 1, np.int64(2), 2.0], "2 distinct whole values"),
        ([0.5, 1, 1.5, 2, 0.5, 1], "continuous"),
        ([True, 1, False, 0, True, 1], "true/false values and numbers"),
    ],
    ids=["ints-and-whole-floats", "fractions", "booleans-and-numbers"],
)
def test_a_list_of_numbers_is_refused_as_its_numeric_column_is(values, words) -> None:  # noqa: ANN001
    """A Python list of numbers was grouped by each value's `str`: `1` and `1.0` were two groups
    (one to fairlearn's MetricFrame: pandas groups equal numbers together), fractions were
    categories, where the same values in a float array (or a file's float column) are refused
    as continuous with what to do; booleans mixed with numbers (one group to pandas, two texts
    to a file) were `True` and `1`. Each is now refused in one line."""
    frame = pd.DataFrame({"a": np.linspace(0.1, 0.6, 6), "label": [0, 1, 0, 1, 0, 1]})
    options = {"suites": {"fairness": {}}, "device": "cpu", "bootstrap_resamples": 0}
    with pytest.raises(HarnessError, match=words):
        harness.evaluate(linear_tabular(features=1), data=frame, groups={"k": values}, **options)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("model_name", "m\ud800", r"^model_name: 'm\\ud800' holds a lone surrogate \(U\+D800\)"),
        ("name", "t\udfff", r"^name: 't\\udfff' holds a lone surrogate \(U\+DFFF\)"),
        ("model_name", "  ", r"^model_name: '  ' is blank; name the model"),
        ("name", "\t", r"^name: '\\t' is blank; name the task"),
        ("name", "T\nx", r"^name: 'T\\nx' holds a control character \(U\+000A\)"),
        ("model_name", "m\x1b[31m", r"^model_name: 'm\\x1b\[31m' holds a control character"),
    ],
)
def test_a_name_no_output_can_hold_is_one_line(key: str, value: str, message: str) -> None:
    """model_name='m\\ud800' failed deep in the seeding with "UnicodeEncodeError: 'utf-8' codec
    can't encode character"; a blank model name ran and showed as an empty cell (probe38); a
    task named 'T\\nx' read 'T x' in Markdown headings and cells, as a task named 'T x' does."""
    with pytest.raises(HarnessError) as err:
        harness.evaluate(linear_digits(), data=(X, Y), device="cpu", **{key: value})
    assert re.search(message, str(err.value)), str(err.value)


@pytest.mark.parametrize(
    "view",
    [
        pytest.param(lambda a: a[::-1], id="reversed (negative strides)"),
        pytest.param(lambda a: a.astype(a.dtype.newbyteorder(">")), id="big-endian"),
        pytest.param(lambda a: np.flip(a, axis=3).astype(">f8"), id="both"),
    ],
)
def test_numpy_inputs_torch_cannot_share_are_read_as_a_copy(view) -> None:  # noqa: ANN001
    """torch.from_numpy refuses arrays with negative strides (`x[::-1]`, np.flip) or a
    non-native byte order (read from a big-endian file): a traceback from inside torch. They
    are ordinary arrays; the harness reads them as their values, as it reads a read-only one."""
    x = view(X.numpy())
    y = Y.numpy()[::-1]
    expected = harness.evaluate(
        linear_digits(),
        data=(np.ascontiguousarray(x, dtype=np.float32), y.copy()),
        device="cpu",
        bootstrap_resamples=0,
    )
    result = harness.evaluate(linear_digits(), data=(x, y), device="cpu", bootstrap_resamples=0)
    assert result.task_fingerprint == expected.task_fingerprint
    assert result.metric("top1_acc").value == expected.metric("top1_acc").value


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        pytest.param(
            (Y + 1j * (Y % 2)).numpy(),
            r"^data: labels are complex numbers; pass integer class indices$",
            id="complex numpy",
        ),
        pytest.param(
            Y.to(torch.complex64),
            r"^data: labels are complex numbers; pass integer class indices$",
            id="complex tensor",
        ),
        pytest.param(
            torch.where(Y == 3, 1e20, Y.double()),
            r"^data: label 1e\+20 \(sample 3\) is not a class index \(labels are 0\.\.K-1\)$",
            id="a float past int64",
        ),
        pytest.param(
            np.where(Y.numpy() == 3, np.uint64(2**64 - 1), Y.numpy().astype(np.uint64)),
            r"^data: label 18446744073709551615 \(sample 3\) is not a class index",
            id="a uint64 past int64",
        ),
        pytest.param(
            torch.where(Y == 3, 4294967296, Y),
            r"^data: label 4294967296 \(sample 3\) is beyond the 1,000,000 classes a task may "
            r"have; labels are class indices 0\.\.K-1",
            id="an int64 past any class count (built 4e9 class names: MemoryError)",
        ),
    ],
)
def test_labels_no_class_index_can_hold_are_refused_as_given(labels, message) -> None:  # noqa: ANN001
    """Complex labels were cast to their real part without a word (1+1j read as class 1);
    a float or uint64 label past int64 wrapped round and was refused as another value
    (1e20 as -9223372036854775808, 2**64-1 as -1)."""
    with pytest.raises(InMemoryDataError) as err:
        harness.evaluate(linear_digits(), data=(X, labels), device="cpu", bootstrap_resamples=0)
    assert re.search(message, str(err.value)), str(err.value)


@pytest.mark.parametrize(
    "column",
    [
        pytest.param(pd.array(["f", "m"] * 10, dtype="string"), id="StringArray"),
        pytest.param(pd.array([1, 2] * 10, dtype="Int64"), id="IntegerArray"),
        pytest.param(pd.Categorical(["f", "m"] * 10), id="Categorical"),
        pytest.param(pd.array([True, False] * 10, dtype="boolean"), id="BooleanArray"),
    ],
)
def test_a_pandas_array_of_groups_is_read_as_its_series(column) -> None:  # noqa: ANN001
    """A pandas array (`pd.array(...)`, `pd.Categorical`, a column's `.array`) is one value per
    sample, as fairlearn reads it; it was refused as "is a IntegerArray; give one value per
    sample". Alone or in a dict, it gives the groups its Series gives."""
    expected = harness.evaluate(
        linear_digits(),
        data=(X, Y),
        groups=pd.Series(column, name="group"),
        device="cpu",
        bootstrap_resamples=0,
    ).table.to_pandas()["group:group"]
    for groups in (column, {"group": column}):
        got = harness.evaluate(
            linear_digits(), data=(X, Y), groups=groups, device="cpu", bootstrap_resamples=0
        ).table.to_pandas()["group:group"]
        assert list(got) == list(expected)


def test_a_pandas_array_of_groups_with_a_missing_value_is_refused_naming_it() -> None:
    with pytest.raises(InMemoryDataError, match=r"^groups: column 'g' has a missing value \(row"):
        harness.evaluate(
            linear_digits(),
            data=(X, Y),
            groups={"g": pd.array([1, 2] * 9 + [1, None], dtype="Int64")},
            device="cpu",
        )


def _timestamps() -> tuple[np.ndarray, np.ndarray]:
    """A float64 feature of epoch seconds whose parity is the label: float32 rounds 1.7e9 in
    steps of 128, so the +1 that tells the classes apart is gone once read as float32."""
    labels = np.arange(40) % 2
    return np.c_[1.7e9 + labels, np.linspace(0, 1, 40)], labels


class _Parity(torch.nn.Module):
    """A float64 model that reads the timestamp's +1 (it scores 1.0 on `_timestamps` in
    float64)."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones((), dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x[:, :1] - 1.7e9 - 0.5) * self.scale
        return torch.cat([-z, z], 1)


@pytest.mark.parametrize("kind", ["array", "tensor", "frame"])
def test_inputs_float32_cannot_tell_apart_are_refused(kind: str) -> None:
    """Inputs are read as float32. A float64 feature whose values differ by less than float32's
    step at their size (epoch seconds, ids) lost its information in that cast: the float64
    model scored 0.5 instead of its 1.0, without a word."""
    x, y = _timestamps()
    data: object = {
        "array": (x, y),
        "tensor": (torch.tensor(x), torch.tensor(y)),
        "frame": pd.DataFrame({"when": x[:, 0], "b": x[:, 1], "label": y}),
    }[kind]
    with pytest.raises(InMemoryDataError) as err:
        harness.evaluate(_Parity(), data=data, device="cpu", bootstrap_resamples=0)
    message = str(err.value)
    which = "feature 'when'" if kind == "frame" else "x[:, 0]"
    assert message.startswith(f"data: {which} holds values near 1.7e+09 that span 1"), message
    assert "float32" in message and "\n" not in message


@pytest.mark.parametrize("kind", ["array", "frame"])
def test_inputs_past_float32s_range_are_refused_as_such(kind: str) -> None:
    """A finite float64 value past float32's largest (3.4e38) became inf in the cast and was
    refused as "sample 2 has NaN or inf inputs", though the caller has no inf."""
    x = np.c_[np.where(np.arange(20) == 2, 1e39, 1.0), np.linspace(0, 1, 20)]
    y = np.arange(20) % 2
    data = (x, y) if kind == "array" else pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "label": y})
    with pytest.raises(InMemoryDataError) as err:
        harness.evaluate(linear_tabular(features=2), data=data, device="cpu")
    which = "feature 'a'" if kind == "frame" else "x[:, 0]"
    assert str(err.value).startswith(
        f"data: {which} holds 1e+39 (sample 2), past float32's range"
    ), str(err.value)


def test_float64_inputs_float32_keeps_apart_are_read() -> None:
    """Ordinary float64 data (sums that differ in the 16th digit, values in [0, 1]) is read as
    float32 as before."""
    x = np.c_[np.full(20, 0.1 + 0.2), np.linspace(0, 1, 20), np.full(20, 0.3)]
    x[::2, 0] = 0.3
    x[3, 2] += 1e-6  # a nearly constant feature: rounded, but its two values stay apart
    result = harness.evaluate(
        linear_tabular(features=3),
        data=(x, np.arange(20) % 2),
        device="cpu",
        bootstrap_resamples=0,
    )
    assert result.metric("top1_acc").n == 20


def test_class_names_that_contradict_a_class_label_column_are_refused() -> None:
    """A ClassLabel label column names its classes. class_names= in another order (or other
    names) replaced them without a word: class 0, 'zero' in the dataset, was reported as
    'nine'. The same names are accepted."""
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    hub = datasets.Dataset.from_dict({"x": X.numpy(), "label": Y.numpy()})
    hub = hub.cast_column("label", datasets.ClassLabel(names=names))
    with pytest.raises(InMemoryDataError) as err:
        harness.evaluate(linear_digits(), data=hub, class_names=names[::-1], device="cpu")
    assert str(err.value).startswith(
        "class_names: 'nine', 'eight', 'seven', ... differ from the names the label column "
        "'label' declares (a ClassLabel: 'zero', 'one', 'two', ...)"
    ), str(err.value)
    same = harness.evaluate(
        linear_digits(), data=hub, class_names=names, device="cpu", bootstrap_resamples=0
    )
    assert same.provenance is not None and same.provenance.task.class_names == tuple(names)


@pytest.mark.parametrize("num_classes", [9, 12])
def test_num_classes_that_contradict_a_class_label_column_are_refused(num_classes: int) -> None:
    """A ClassLabel label column counts its classes. A num_classes of another count dropped the
    column's names and took the count without a word (12 classes of which 2 never exist, or a
    task of 9 classes holding label 9). The declared count is accepted and keeps the names."""
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    hub = datasets.Dataset.from_dict({"x": X.numpy(), "label": Y.numpy()})
    hub = hub.cast_column("label", datasets.ClassLabel(names=names))
    with pytest.raises(InMemoryDataError) as err:
        harness.evaluate(linear_digits(), data=hub, num_classes=num_classes, device="cpu")
    assert str(err.value).startswith(
        f"num_classes: {num_classes} differs from the 10 classes the label column 'label' "
        "declares (a ClassLabel: 'zero', 'one', 'two', ...)"
    ), str(err.value)
    same = harness.evaluate(
        linear_digits(), data=hub, num_classes=10, device="cpu", bootstrap_resamples=0
    )
    assert same.provenance is not None and same.provenance.task.class_names == tuple(names)


@pytest.mark.parametrize(
    "samples",
    [
        pytest.param([(X[0], Y[0]), (X[1], Y[1])], id="two image samples"),
        pytest.param([(X[i], int(Y[i])) for i in range(5)], id="five image samples"),
        pytest.param([("good", 1), ("bad", 0)], id="two text samples"),
    ],
)
def test_a_list_of_samples_is_refused_as_one(samples) -> None:  # noqa: ANN001
    """A list of (x, y) samples (what a Dataset's items look like) of two was read as the pair
    (x, y) and refused as "x is a tuple" or "x holds texts and a int": words about an x the
    caller never passed. It is now named as what it is, with how to pass it."""
    with pytest.raises(InMemoryDataError) as err:
        harness.evaluate(linear_digits(), data=samples, device="cpu")
    assert str(err.value).startswith(
        f"data: a {type(samples).__name__} of {len(samples)} (x, y) samples; pass the inputs "
        "and the labels apart"
    ), str(err.value)


class _Stream(torch.utils.data.IterableDataset):  # type: ignore[type-arg]
    """Ten samples, the last five unlike the first five (`late`)."""

    def __init__(self, late: object) -> None:
        self.late = late

    def __iter__(self):  # noqa: ANN204
        for i in range(10):
            yield (X[i] if i < 5 else self.late), int(Y[i])


@pytest.mark.parametrize(
    ("late", "message"),
    [
        pytest.param(
            torch.zeros(64),
            r"^data: the DataLoader's batch 1 holds samples of shape \[64\] where its first "
            r"batch's are \[1, 8, 8\]; every sample needs one shape$",
            id="another rank",
        ),
        pytest.param(
            torch.zeros(1, 10, 10),
            r"^data: the DataLoader's batch 1 holds samples of shape \[1, 10, 10\] where its first "
            r"batch's are \[1, 8, 8\]",
            id="another size",
        ),
        pytest.param(
            "a text",
            r"^data: the DataLoader's batch 1 holds texts where its first batch held tensors; "
            r"yield one kind of input$",
            id="texts after tensors",
        ),
    ],
)
def test_a_loader_whose_batches_disagree_is_one_line(late, message) -> None:  # noqa: ANN001
    """An IterableDataset whose later batches differ from its first in shape or kind failed
    with torch.cat's RuntimeError or pyarrow's ArrowInvalid traceback."""
    loader = DataLoader(_Stream(late), batch_size=5)
    with pytest.raises(InMemoryDataError) as err:
        harness.evaluate(linear_digits(), data=loader, device="cpu")
    assert re.search(message, str(err.value)), str(err.value)


def test_a_list_of_pil_images_says_how_to_pass_them() -> None:
    """A list of PIL images (mixed sizes and modes, as a folder gives them) was refused as
    "x is a list; pass a torch tensor", with no word on how to get one from images."""
    images = [Image.new("L", (8, 8)), Image.new("RGB", (10, 12))]
    with pytest.raises(InMemoryDataError) as err:
        harness.evaluate(linear_digits(), data=(images, [0, 1]), device="cpu")
    assert str(err.value).startswith(
        "data: x is a list of PIL images; pass them as one (N, C, H, W) float tensor in [0, 1]"
    ), str(err.value)


def test_a_read_only_array_is_read_as_a_copy_not_shared() -> None:
    """A read-only array (what pandas 3 hands out for a DataFrame's values, a read-only memmap)
    was shared with torch when it was already contiguous and native (`np.ascontiguousarray`
    returns the array itself): torch warned "The given NumPy array is not writable ... undefined
    behavior" on the user's screen, and a model writing into its input wrote into memory the
    caller had marked read-only. It is read as a copy."""
    from harness.run.memory_inputs import _inputs

    x = X.numpy().copy()
    x.setflags(write=False)
    tensor = _inputs(x)
    assert not np.shares_memory(tensor.numpy(), x)
    assert torch.equal(tensor, torch.from_numpy(x.copy()))


def test_a_structured_arrays_field_is_read_as_a_copy() -> None:
    """A field of a structured (record) array has strides that are no multiple of its item size
    (an f8 field in 28-byte records): torch.from_numpy refused it with its own traceback ("given
    numpy array strides not a multiple of the element byte size"). It is read as a copy."""
    from harness.run.memory_inputs import _inputs

    records = np.zeros(6, dtype=[("id", "f4"), ("x", "f8", (3,))])
    records["x"] = np.arange(18, dtype=np.float64).reshape(6, 3)
    tensor = _inputs(records["x"])
    assert torch.equal(tensor, torch.arange(18, dtype=torch.float32).reshape(6, 3))


def test_a_task_with_repeated_sample_ids_is_one_line() -> None:
    """A Task whose rows repeat (two heads concatenated) failed inside the first suite with a
    bare ValueError from the sample table ("duplicate ('sample_id', 'condition') rows"), after
    the model had run (probe86)."""
    import dataclasses

    from harness.data.builtin import digits

    head = digits().head(6)
    twice = dataclasses.replace(
        head, name="digits-twice", data=datasets.concatenate_datasets([head.data, head.data])
    )
    with pytest.raises(InMemoryDataError) as err:
        harness.evaluate(linear_digits(), task=twice, device="cpu", bootstrap_resamples=0)
    first = head.sample_ids[0]
    assert str(err.value) == (
        f"task: the Task 'digits-twice' holds sample id '{first}' twice (rows 0 and 6); every "
        "result row is keyed by its sample id: give each row its own"
    )
