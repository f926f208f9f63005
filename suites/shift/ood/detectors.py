"""The OOD detectors of one job: which apply, fitted once, scoring every batch.

`build_bank` makes the configured detectors and says why any of them is left out: the model
gives no features (`features` hook), its last layer does not rebuild the logits, it has no
gradients (ODIN), or the task has no train split to fit on. Fitting reads a seeded, label-
stratified subset of the task's train split (`fit_samples`, default 1,000; the whole split when
smaller) through the same `features` forward pass as every other batch; the subset's sample ids
are in the job's artifacts, and the job cache keeps the job (and so the fit) whole.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
import torch
from datasets.table import InMemoryTable

from harness.core.adapter import FeaturesUnavailable, ModelAdapter, check_logits
from harness.core.detection_context import SCORE_PREFIX, score_column
from harness.core.errors import DatasetError, ModelOutputError
from harness.core.subsets import stratified_indices
from harness.core.suite import RunContext
from harness.core.task import SAMPLE_ID, Task
from harness.suites.shift.config import OODConfig
from harness.suites.shift.ood import feature_detectors as fd
from harness.suites.shift.ood import head_detectors as hd
from harness.suites.shift.ood import logit_detectors as ld
from harness.suites.shift.ood.base import Detector, FitData, Head, NotFitted, Outputs
from harness.suites.shift.ood.odin import ODIN, Bounds, odin_scored


def column_of(name: str) -> str:
    """The table column holding a detector's score (`neg_entropy` is minus `entropy`): the
    results side reads it back through the same `score_column`."""
    return score_column(name)[0]


def make(name: str, cfg: OODConfig, temperature: float) -> Detector:
    """One detector with its configured settings."""
    factories: dict[str, Any] = {
        "msp": ld.MSP,
        "energy": lambda: ld.Energy(temperature),
        "max_logit": ld.MaxLogit,
        "neg_entropy": ld.NegEntropy,
        "gen": lambda: ld.GEN(cfg.gen_gamma, cfg.gen_top),
        "odin": ODIN,
        "mahalanobis": fd.Mahalanobis,
        "rmd": fd.RelativeMahalanobis,
        "knn": lambda: fd.KNN(cfg.knn_k),
        "she": fd.SHE,
        "vim": lambda: hd.ViM(cfg.vim_dim),
        "react": lambda: hd.ReAct(cfg.react_percentile),
        "ash": lambda: hd.ASH(cfg.ash_percentile),
        "dice": lambda: hd.DICE(cfg.dice_sparsity),
    }
    detector: Detector = factories[name]()
    return detector


@dataclass
class Bank:
    """The job's detectors: those that run (fitted), those left out with the reason."""

    detectors: dict[str, Detector]
    absent: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    use_features: bool = False
    odin: OODConfig | None = None
    fit: dict[str, Any] = field(default_factory=dict)
    # inputs ODIN scored, and how many of them had a non-zero gradient to move along
    odin_inputs: int = 0
    odin_steered: int = 0

    def outputs(
        self,
        adapter: ModelAdapter,
        task: Task,
        inputs: torch.Tensor | list[str],
        ctx: RunContext,
        stage: str,
    ) -> Outputs:
        """Logits (and features, when a detector reads them) of inputs in ctx.batch_size
        chunks, checked as `rows.predict` checks them: one forward pass per chunk either way
        (progress as `stage`)."""
        logits, features = [], []
        for start in range(0, len(inputs), ctx.batch_size):
            chunk = inputs[start : start + ctx.batch_size]
            if isinstance(chunk, torch.Tensor):
                chunk = chunk.to(adapter.device)
            if self.use_features:
                out = adapter.features(chunk)
                chunk_logits = out.logits
                features.append(out.features.detach().double().cpu())
            else:
                chunk_logits = adapter.logits(chunk)
            try:
                check_logits(
                    chunk_logits, num_classes=task.num_classes, model=adapter.name, task=task.name
                )
            except ModelOutputError as err:
                if stage.startswith("ood="):  # the OOD set's inputs, not the task's
                    where = f"OOD set {stage.removeprefix('ood=')!r} (task {task.name!r})"
                    err.args = (str(err).replace(f"task {task.name!r}", where, 1),)
                raise
            logits.append(chunk_logits.detach().double().cpu())
            if ctx.progress is not None:
                ctx.progress(len(chunk), stage)
        if not logits:
            return Outputs(logits=torch.zeros(0, task.num_classes, dtype=torch.float64))
        return Outputs(logits=torch.cat(logits), features=torch.cat(features) if features else None)

    def scores(
        self,
        adapter: ModelAdapter,
        task: Task,
        inputs: torch.Tensor | list[str],
        out: Outputs,
        ctx: RunContext,
    ) -> dict[str, np.ndarray]:
        """Table columns of every detector that has none of its own (`score_<name>`)."""
        columns = {}
        for name, detector in self.detectors.items():
            if column_of(name).startswith(SCORE_PREFIX) and name != "odin":
                columns[column_of(name)] = np.asarray(detector.score(out), dtype=np.float64)
        if self.odin is not None and "odin" in self.detectors:
            columns[column_of("odin")] = self._odin(adapter, task, inputs, ctx)
        return columns

    def _odin(
        self, adapter: ModelAdapter, task: Task, inputs: torch.Tensor | list[str], ctx: RunContext
    ) -> np.ndarray:
        assert self.odin is not None and isinstance(inputs, torch.Tensor)
        module = adapter.module()
        parts = []
        for start in range(0, len(inputs), ctx.batch_size):
            chunk = inputs[start : start + ctx.batch_size]
            scores, steered = odin_scored(
                module,
                chunk.to(adapter.device),
                temperature=self.odin.odin_temperature,
                epsilon=self.odin.odin_epsilon,
                bounds=odin_box(task),
            )
            parts.append(scores)
            self.odin_inputs += len(chunk)
            self.odin_steered += steered
        return np.concatenate(parts) if parts else np.zeros(0)

    def settle_odin(self, model: str, clean: dict[str, Any]) -> None:
        """Leave ODIN out (and its column of the clean rows) when none of the test inputs it
        scored had a gradient: the model detaches or rounds its input, or computes outside
        torch's autograd, so no input moved and the score is the MSP at T under ODIN's name (a
        digits MLP behind `x.detach()`: AUROC 0.776 on noise, its ODIN 0.771)."""
        if "odin" not in self.detectors or self.odin is None or self.odin_inputs == 0:
            return
        if self.odin_steered > 0:
            return
        _drop(
            self,
            ["odin"],
            f"model {model!r} gives its inputs no gradient (none of the {self.odin_inputs} test "
            "inputs has one: its forward pass detaches or rounds them, or computes outside "
            "torch's autograd), so ODIN's perturbation moves nothing and its score would be the "
            f"MSP at T = {self.odin.odin_temperature:g}; read msp, or make the forward pass "
            "differentiable",
        )
        clean.pop(column_of("odin"), None)


def odin_box(task: Task) -> Bounds | None:
    """The range ODIN's epsilon is a share of and its inputs are kept in: each feature's own on
    a tabular task with per-feature ranges (`Task.feature_box()`, as the attacks' clip box), else
    the task's bounds. The global box stepped a feature of range 0.01 by 14% of it at the
    default epsilon when another feature spanned 0..1."""
    if getattr(task, "feature_bounds", None) is not None:
        box = task.feature_box()
        assert box is not None, "a task with feature bounds has a box"
        low, high = (torch.as_tensor(b, dtype=torch.float32) for b in box)
        return low, high
    return task.bounds


def _absent_reasons(
    chosen: list[str], adapter: ModelAdapter, task: Task, cfg: OODConfig
) -> dict[str, str]:
    """Detectors left out before any forward pass: ODIN without gradients or on text."""
    out = {}
    if "odin" in chosen and (not adapter.capabilities.gradients or task.modality == "text"):
        out["odin"] = (
            f"model {adapter.name!r} exposes no gradients, which ODIN's input perturbation needs"
            if task.modality != "text"
            else "ODIN perturbs continuous inputs; text has none"
        )
    return out


def fit_task(task: Task, n: int, ctx: RunContext) -> Task | None:
    """The seeded label-stratified fit subset of the task's train split (None: no train split).

    The rows are chosen as `Task.subset` chooses them, from the ids and labels read through
    Arrow (those two columns only), and taken into a table of their own (`_taken`): reading
    batches through a selection's index mapping, and its ids row by row, cost three times the
    whole fit here, and taking every column of the split in order first, to read two of them,
    half the choice."""
    if task.train is None:
        return None
    train = task.train
    table = train.data.table
    order = None if train._indices is None else train._indices.column(0)
    rows, ids = fit_rows(task, n, ctx.seed)
    if len(rows) == len(ids):
        data = train
    else:
        chosen = pa.array(rows, type=pa.int64())
        data = _taken(train, table, chosen if order is None else order.take(chosen), rows, ids)
    return replace(task, name=f"{task.name} (train)", data=data, train=None, limit=None)


def fit_rows(task: Task, n: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """The positions in the train split (which it must have) of the fit subset `fit_task`
    takes, and every sample id of the split, in its order: chosen from the ids and labels alone
    (read through Arrow, those two columns only)."""
    assert task.train is not None
    train = task.train
    order = None if train._indices is None else train._indices.column(0)
    keys = train.data.table.select([SAMPLE_ID, task.label_column])
    if order is not None:  # the split is a selection of the table's rows: in its order
        keys = keys.take(order)
    ids = [str(v) for v in keys.column(SAMPLE_ID).to_pylist()]
    labels = np.asarray(keys.column(task.label_column).to_numpy())
    return stratified_indices(ids, labels, n, seed=seed, purpose="shift/ood-fit"), ids


def _taken(
    split: datasets.Dataset,
    table: pa.Table,
    positions: pa.Array | pa.ChunkedArray,
    rows: np.ndarray,
    ids: list[str],
) -> datasets.Dataset:
    """The split's `rows` (at `positions` of its Arrow `table`) as a dataset of their own. Its
    fingerprint is given (the rows' sample ids hashed): datasets would otherwise hash the whole
    table, and `flatten_indices` rewrites it through `map`, each costing more than the fit
    itself."""
    digest = hashlib.sha256("\n".join(ids[int(i)] for i in rows).encode()).hexdigest()
    return datasets.Dataset(
        InMemoryTable(table.take(positions)),
        info=split.info.copy(),
        split=split.split,
        fingerprint=digest[:16],
    )


def build_bank(
    adapter: ModelAdapter, task: Task, ctx: RunContext, cfg: OODConfig, temperature: float
) -> Bank:
    """The configured detectors that apply to this model and task, fitted."""
    chosen = cfg.chosen()
    absent = _absent_reasons(chosen, adapter, task, cfg)
    detectors = {n: make(n, cfg, temperature) for n in chosen if n not in absent}
    bank = Bank(detectors=detectors, absent=absent, odin=cfg if "odin" in detectors else None)
    fitting = [n for n, d in detectors.items() if d.fits]
    if not fitting:
        return bank
    fit = fit_task(task, cfg.fit_samples, ctx)
    if fit is None:
        _drop(bank, fitting, f"task {task.name!r} has no train split to fit on (a task "
              "spec names one with train_split: or train_source:, docs/tasks.md; data in "
              "memory takes one as harness.evaluate(..., train=))")  # fmt: skip
        return bank
    if len(fit) < 2:
        _drop(bank, fitting, f"the train split of {task.name!r} has {len(fit)} sample(s); "
              "fitting needs at least 2")  # fmt: skip
        return bank
    bank.use_features = any(d.needs in ("features", "head") for d in detectors.values())
    data = _fit_data(bank, adapter, task, fit, ctx)
    leave_out_wide(bank, data, cfg)
    fit_detectors(bank, fitting, data)
    return bank


WIDE_FEATURES = 4096
"""Above this many feature dimensions the detectors that decompose a d x d covariance
(`COVARIANCE_DETECTORS`) are left out of `detectors: default` / `all`: the decomposition grows
as d**3 (0.6 s at 1,024 and 3.7 s at 2,048 dimensions on one CPU thread; hours or out of memory
at the ~25,000 of a network that flattens its feature maps straight into its last layer). A
list that names them runs them at any width."""
COVARIANCE_DETECTORS = ("mahalanobis", "rmd", "vim")


def leave_out_wide(bank: Bank, data: FitData, cfg: OODConfig) -> None:
    """Leave the covariance detectors out of a default (or `all`) bank on features wider than
    `WIDE_FEATURES`, with the reason and how to run them anyway (a list of detectors is run
    as listed)."""
    if isinstance(cfg.detectors, list):
        return
    if data.features is None or data.features.shape[1] <= WIDE_FEATURES:
        return
    d = data.features.shape[1]
    for name in COVARIANCE_DETECTORS:
        if name in bank.detectors:
            _drop(bank, [name], (
                f"the features have {d:,} dimensions: fitting {name} decomposes a {d:,} x "
                f"{d:,} covariance, whose cost grows as d**3 (minutes to hours on a CPU above "
                f"{WIDE_FEATURES:,}), so the default detectors leave it out; list it under "
                "ood.detectors to run it anyway, or point features_layer at a narrower layer"
            ))  # fmt: skip


def fit_detectors(bank: Bank, names: list[str], data: FitData) -> None:
    """Fit each of `names` still in the bank on `data`: its notes join the bank's, and one that
    cannot be fitted (`NotFitted`) is left out with the reason."""
    for name in names:
        if name in bank.detectors:
            try:
                bank.notes += bank.detectors[name].fit(data)
            except NotFitted as err:
                _drop(bank, [name], str(err))


def _drop(bank: Bank, names: list[str], reason: str) -> None:
    for name in names:
        bank.detectors.pop(name, None)
        bank.absent[name] = reason


def unusable_features(z: torch.Tensor) -> str | None:
    """Why fit features cannot be fitted on (None: they can): a NaN or inf value (a covariance,
    a class mean or a neighbour bank of them is NaN: Mahalanobis failed with a LinAlgError,
    KNN scored every input NaN), or values so large that a squared norm overflows float64 (the
    covariance is inf, and KNN's normalised features all became 0: one score for every input)."""
    finite = torch.isfinite(z)
    if not bool(finite.all()):
        rows = int((~finite).any(dim=1).sum())
        return f"its features hold NaN or inf values on {rows} of the {len(z)} fit samples"
    if not bool(torch.isfinite(z.square().sum(dim=1)).all()):
        return (
            f"its features on the fit samples reach {float(z.abs().max()):.3g}, where a "
            "squared norm overflows float64"
        )
    return None


def _fit_data(bank: Bank, adapter: ModelAdapter, task: Task, fit: Task, ctx: RunContext) -> FitData:
    """The fit subset's outputs; detectors whose needs the model cannot meet are dropped."""
    logits, features, labels = [], [], []
    head: Head | None = None
    head_note: str | None = None
    for batch in fit.batches(max(ctx.batch_size, 256)):
        inputs = (
            batch.inputs.to(adapter.device)
            if isinstance(batch.inputs, torch.Tensor)
            else batch.inputs
        )
        if bank.use_features:
            try:
                out = adapter.features(inputs)
            except FeaturesUnavailable as err:
                needy = [n for n, d in bank.detectors.items() if d.needs in ("features", "head")]
                said = str(err).removeprefix(f"model {adapter.name!r}: ")  # named once
                _drop(bank, needy, f"model {adapter.name!r}: {said}")
                bank.use_features = False
                return _fit_data(bank, adapter, task, fit, ctx)
            logits.append(out.logits.detach().double().cpu())
            features.append(out.features.detach().double().cpu())
            if out.weight is not None and out.bias is not None:
                head = Head(out.weight.detach().double().cpu(), out.bias.detach().double().cpu())
            head_note = out.head_note
        else:
            logits.append(adapter.logits(inputs).detach().double().cpu())
        check_logits(logits[-1], num_classes=task.num_classes, model=adapter.name, task=fit.name)
        labels.append(batch.labels.to(torch.int64))
    y = torch.cat(labels)
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= task.num_classes):
        raise DatasetError(
            f"task {task.name!r}: its train split has labels outside 0..{task.num_classes - 1}; "
            "the OOD detectors fit on labelled in-distribution samples"
        )
    if head is None:
        _drop(bank, [n for n, d in bank.detectors.items() if d.needs == "head"],
              f"model {adapter.name!r}: {head_note or 'no last layer'}")  # fmt: skip
    z = torch.cat(features) if features else None
    why = None if z is None else unusable_features(z)
    if why is not None:
        needy = [n for n, d in bank.detectors.items() if d.needs in ("features", "head")]
        _drop(bank, needy, f"model {adapter.name!r}: {why} ({fit.name!r})")
        bank.use_features = False
    ids = fit.sample_ids
    bank.fit = {
        "n": len(ids),
        "of": len(task.train) if task.train is not None else 0,
        "split": "train",
        "features": None if z is None else int(z.shape[1]),
        "sample_ids_sha256": hashlib.sha256("\n".join(ids).encode()).hexdigest(),
        "seed_purpose": "shift/ood-fit",
    }
    return FitData(
        logits=torch.cat(logits), features=z, labels=y, head=head, num_classes=task.num_classes
    )
