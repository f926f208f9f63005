"""Hugging Face text classifiers (`AutoModelForSequenceClassification` + tokenizer).

Text inputs are discrete, so the adapter is black-box for input-space attacks (`gradients` is
False). It tokenises inside `logits(list[str])` and counts tokens for the throughput suite.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, ClassVar

import torch
from pydantic import BaseModel, Field

from harness.adapters.base import AdapterBase, frozen
from harness.adapters.features import FeatureTap
from harness.adapters.hf_source import (
    HFSourceConfig,
    HFSourceHooks,
    check_labels,
    held_origin,
    import_transformers,
    label_indices,
    label_names,
    load_pretrained,
    loaded_origin,
    resolve_source,
)
from harness.adapters.hf_text_padding import adopt_pad_token, check_padding
from harness.adapters.model_files import shown_path
from harness.adapters.text_encoding import fast_encoder
from harness.core.adapter import (
    Capabilities,
    Features,
    FeaturesUnavailable,
    InputSpec,
    Truncation,
    WordVectors,
)
from harness.core.errors import ConfigError, ModelLoadError
from harness.core.model_code import source_sha256
from harness.core.task import Task

_WORD_MARKS = ("\u0120", "\u2581")  # byte-level BPE's and SentencePiece's word-start marks

# transformers 5 builds an empty tokenizer when none is saved; refuse that instead of using it
TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "tokenizer.model",
    "spiece.model",
    "sentencepiece.bpe.model",
)


class HFTextConfig(HFSourceConfig):
    """Model spec fields for `adapter: hf-text`."""

    max_length: int = Field(default=256, ge=1, le=1 << 16, description="truncate longer texts")
    features_layer: str | None = Field(
        default=None,
        description="module whose input is the penultimate features (default: the classifier "
        "head's last nn.Linear, which reads the pooled hidden state)",
    )


def tokenizer_sha256(tokenizer: Any) -> str:
    """sha256 of what decides a tokenizer's ids: a fast tokenizer's whole serialised pipeline
    (vocabulary, normaliser, pre-tokeniser, post-processor), else its vocabulary; and its
    settings (special tokens, padding side, maximum length)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    pipeline = backend.to_str() if backend is not None else ""
    vocab = "" if pipeline else json.dumps(sorted(tokenizer.get_vocab().items()))
    settings = {
        "class": type(tokenizer).__name__,
        "special": {k: str(v) for k, v in sorted(tokenizer.special_tokens_map.items())},
        "padding_side": getattr(tokenizer, "padding_side", None),
        "truncation_side": getattr(tokenizer, "truncation_side", None),
        "model_max_length": str(getattr(tokenizer, "model_max_length", None)),
        "lowercase": str(getattr(tokenizer, "do_lower_case", None)),
    }
    text = "\0".join([pipeline, vocab, json.dumps(settings, sort_keys=True)])
    return hashlib.sha256(text.encode()).hexdigest()


def position_limit(model: torch.nn.Module) -> int:
    """The longest token sequence the model's position embeddings index (no limit: 2**30).

    A tokenizer saved without `model_max_length` (one built locally, many older checkpoints)
    truncates only at the spec's `max_length`, and a longer sequence than the model has
    positions fails its forward pass. RoBERTa-style embeddings count positions from
    `padding_idx + 1`, so 514 embeddings hold 512 tokens."""
    config = getattr(model, "config", None)
    positions = getattr(config, "max_position_embeddings", None)
    if not isinstance(positions, int) or positions <= 0:
        return 1 << 30
    embeddings = getattr(getattr(model, "base_model", None), "embeddings", None)
    table = getattr(embeddings, "position_embeddings", None)
    if isinstance(table, torch.nn.Embedding) and table.padding_idx is not None:
        return max(1, table.num_embeddings - table.padding_idx - 1)
    return positions


def _check_room_for_text(tokenizer: Any, limit: int, max_length: int, *, name: str) -> None:
    """Refuse a length limit that leaves no token of the text: a tokenizer asked to truncate
    below its special tokens does not truncate at all ("Sequence to truncate too short"), so the
    model would read every text whole while the truncation note says it reads `limit` tokens."""
    try:
        specials = int(tokenizer.num_special_tokens_to_add(pair=False))
    except (AttributeError, TypeError, ValueError):  # a tokenizer without the method
        return
    if limit > specials:
        return
    source = (
        f"max_length {max_length}"
        if limit == max_length
        else f"its length limit {limit} (the tokenizer's model_max_length or the model's "
        "position embeddings)"
    )
    fix = (
        f"give max_length at least {specials + 1}"
        if limit == max_length
        else f"save the tokenizer with model_max_length at least {specials + 1}"
    )
    raise ModelLoadError(
        f"model {name!r}: {source} leaves no token of the text: the tokenizer adds "
        f"{specials} special tokens to every text; {fix}"
    )


def _check_vocabulary_fits(model: Any, tokenizer: Any, *, name: str, path: str | None) -> None:
    """Refuse a tokenizer that gives ids the model's input embeddings have no row for: tokens
    added (`add_tokens`, a new pad token) without `model.resize_token_embeddings`, or the
    tokenizer of a larger-vocabulary checkpoint. Otherwise every batch holding such a token
    fails the forward pass with "index out of range in self" (a device-side assert on a GPU),
    naming neither. A table with more rows than the vocabulary (padded) is fine."""
    try:
        table = model.get_input_embeddings()
        vocab: dict[str, int] = tokenizer.get_vocab()
    except (AttributeError, NotImplementedError, TypeError):  # neither says: nothing to check
        return
    rows = getattr(table, "num_embeddings", None)
    if not isinstance(rows, int) or not vocab:
        return
    beyond = sorted((index, token) for token, index in vocab.items() if index >= rows)
    if not beyond:
        return
    shown = ", ".join(repr(token) for _, token in beyond[:3])
    more = f" and {len(beyond) - 3} more" if len(beyond) > 3 else ""
    where = f" in {path}" if path else ""
    raise ModelLoadError(
        f"model {name!r}: the tokenizer{where} gives token ids up to {beyond[-1][0]}, but "
        f"the model has {rows} input-embedding rows (ids 0..{rows - 1}); {len(beyond)} "
        f"token(s) have no row ({shown}{more}): call model.resize_token_embeddings"
        "(len(tokenizer)) after adding tokens (and save the model again), or use the tokenizer "
        "the model was trained with"
    )


class HFTextAdapter(HFSourceHooks, AdapterBase):
    """A transformers sequence classifier with its tokenizer: black-box, batched."""

    kind: ClassVar[str] = "hf-text"
    config_model: ClassVar[type[BaseModel]] = HFTextConfig

    def __init__(
        self,
        name: str,
        model: torch.nn.Module,
        tokenizer: Any,
        *,
        device: torch.device,
        max_length: int,
        model_labels: list[str],
        label_map: list[str] | None,
        keep: list[int] | None,
        description: dict[str, Any],
        features_layer: str | None = None,
    ) -> None:
        super().__init__(
            name,
            device=device,
            input_spec=InputSpec(shape=None, dtype="str", bounds=None, modality="text"),
            capabilities=Capabilities(gradients=False, batching=True, devices=("cpu", "cuda")),
            description=description,
        )
        self._model = frozen(model, device)
        self._tokenizer = tokenizer
        self._fast = fast_encoder(tokenizer, max_length)
        self._max_length = max_length
        self.model_labels = model_labels
        self._label_map = label_map
        self._keep = keep
        self._features_layer = features_layer
        self._tap: FeatureTap | None = None
        if features_layer is not None:  # a named layer that does not exist fails the build
            self._tap = FeatureTap(self._model, features_layer, model=name, keep=keep)

    @classmethod
    def planned_word_vectors(cls, config: BaseModel) -> bool | None:
        return True  # `word_vectors()`: the input-embedding rows of whole-word tokens

    @classmethod
    def planned_gradients(cls, config: BaseModel) -> bool | None:
        return False  # token ids: discrete inputs

    @classmethod
    def build(
        cls, *, name: str, config: BaseModel, device: torch.device, base_dir: Path
    ) -> HFTextAdapter:
        assert isinstance(config, HFTextConfig)
        tf = import_transformers("the hf-text adapter")
        source, local = resolve_source(config, name=name, base_dir=base_dir)
        kw = {"revision": config.revision, "trust_remote_code": config.trust_remote_code}
        model = load_pretrained(
            lambda: tf.AutoModelForSequenceClassification.from_pretrained(source, **kw),
            source=source,
            local=local,
            name=name,
            what="a sequence classifier",
        )
        if local is not None and not any((local / f).is_file() for f in TOKENIZER_FILES):
            raise ModelLoadError(
                f"model {name!r}: model folder {local} has no tokenizer files "
                f"({', '.join(TOKENIZER_FILES[:3])}...); save it there with "
                "tokenizer.save_pretrained()"
            )
        try:
            tokenizer = tf.AutoTokenizer.from_pretrained(source, **kw)
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ModelLoadError(
                f"model {name!r}: cannot load the tokenizer from {source!r} (save it next to the "
                f"model with tokenizer.save_pretrained()): {str(err).splitlines()[0]}"
            ) from err
        if tokenizer.pad_token is None:
            raise ModelLoadError(
                f"model {name!r}: the tokenizer in {source!r} has no pad token, so texts of "
                "different lengths cannot be batched; set tokenizer.pad_token and save it"
            )
        shown = source if local is None else shown_path(local, base_dir)
        origin = loaded_origin(
            model, name=name, source=source, local=local, shown=shown, revision=config.revision
        )
        return cls._assemble(
            name,
            model,
            tokenizer,
            origin,
            device=device,
            max_length=config.max_length,
            label_map=config.label_map,
            features_layer=config.features_layer,
        )

    @classmethod
    def from_objects(
        cls,
        model: Any,
        tokenizer: Any,
        *,
        name: str,
        device: torch.device | str = "cpu",
        max_length: int = 256,
        label_map: list[str] | None = None,
    ) -> HFTextAdapter:
        """A transformers sequence classifier and its tokenizer held in memory (Python API:
        `harness.evaluate(model, tokenizer=...)`). Its identity hashes the weights, the
        config and the tokenizer's vocabulary and settings, as a saved folder's hashes its
        files; checked as a loaded one is (pad token, single label, label maps)."""
        if not callable(tokenizer) or not hasattr(tokenizer, "pad_token"):
            raise ModelLoadError(
                f"model {name!r}: tokenizer is a {type(tokenizer).__name__}, not a transformers "
                "tokenizer (AutoTokenizer.from_pretrained(...))"
            )
        if tokenizer.pad_token is None:
            raise ModelLoadError(
                f"model {name!r}: its tokenizer has no pad token, so texts of different "
                "lengths cannot be batched; set tokenizer.pad_token (e.g. to its eos_token)"
            )
        origin = held_origin(
            model,
            name=name,
            given="a tokenizer",
            kind="sequence classifier",
            tokenizer_sha256=tokenizer_sha256(tokenizer),
        )
        return cls._assemble(
            name,
            model,
            tokenizer,
            origin,
            device=torch.device(device),
            max_length=max_length,
            label_map=label_map,
            features_layer=None,
        )

    @classmethod
    def _assemble(
        cls,
        name: str,
        model: Any,
        tokenizer: Any,
        origin: dict[str, Any],
        *,
        device: torch.device,
        max_length: int,
        label_map: list[str] | None,
        features_layer: str | None,
    ) -> HFTextAdapter:
        """The adapter of a loaded model and tokenizer; `origin`: where they came from (path,
        revision, file hashes, or the hashes of objects held in memory)."""
        padding_notes = adopt_pad_token(model, tokenizer)
        labels = label_names(model.config)
        keep = label_indices(labels, label_map, name=name)
        limit = min(
            max_length,
            int(getattr(tokenizer, "model_max_length", 1 << 30)),
            position_limit(model),
        )
        _check_room_for_text(tokenizer, limit, max_length, name=name)
        _check_vocabulary_fits(model, tokenizer, name=name, path=origin["path"])
        description = {
            "adapter": cls.kind,
            "path": origin["path"],
            "revision": origin["revision"],
            "architecture": type(model).__name__,
            # its code: transformers' (or remote) modeling and preprocessing files, hashed
            "source_sha256": source_sha256([model, tokenizer]),
            "parameters": sum(p.numel() for p in model.parameters()),
            "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
            "labels": labels,
            "label_map": label_map,
            "max_length": limit,
            "files_sha256": origin["files_sha256"],
        }
        for key in ("weights_sha256", "config_sha256", "tokenizer_sha256"):  # held in memory
            if key in origin:
                description[key] = origin[key]
        if features_layer is not None:
            description["features_layer"] = features_layer
        if padding_notes:
            description["padding_notes"] = padding_notes
        adapter = cls(
            name,
            model,
            tokenizer,
            device=device,
            max_length=limit,
            model_labels=labels,
            label_map=label_map,
            keep=keep,
            description=description,
            features_layer=features_layer,
        )
        if padding_notes:
            check_padding(
                adapter.logits,
                name=name,
                config_id=model.config.pad_token_id,
                tokenizer_id=tokenizer.pad_token_id,
                max_length=limit,
            )
        return adapter

    def _texts(self, inputs: torch.Tensor | list[str]) -> list[str]:
        if isinstance(inputs, torch.Tensor) or not all(isinstance(t, str) for t in inputs):
            raise TypeError(f"model {self.name!r} takes a list of strings")
        return list(inputs)

    def _encode(self, inputs: torch.Tensor | list[str]) -> dict[str, torch.Tensor]:
        inputs = self._texts(inputs)
        if self._fast is not None and inputs:
            return _one_position(self._fast(inputs), self._tokenizer.pad_token_id)
        encoded = self._tokenizer(
            list(inputs),
            padding=True,
            truncation=True,
            max_length=self._max_length,
            return_tensors="pt",
        )
        return _one_position(encoded, self._tokenizer.pad_token_id)

    def check_task(self, task: Task) -> None:
        """Refuse a task whose class names do not match the model's labels (or label_map)."""
        if task.modality != "text":
            raise ModelLoadError(
                f"model {self.name!r} is a text classifier; task {task.name!r} is {task.modality}"
            )
        check_labels(self.model_labels, self._label_map, task, name=self.name)

    def logits(self, inputs: torch.Tensor | list[str]) -> torch.Tensor:
        encoded = self._encode(inputs)

        def forward() -> torch.Tensor:
            out = self._model(**{k: v.to(self.device) for k, v in encoded.items()}).logits
            return out[:, self._keep] if self._keep is not None else out

        return self.infer(forward)

    def features(self, inputs: torch.Tensor | list[str]) -> Features:
        """Logits and the pooled hidden state the classifier head reads (`FeatureTap` on its
        last linear layer, or `features_layer`), in the same forward pass."""
        if self._tap is None:
            try:
                self._tap = FeatureTap(self._model, None, model=self.name, keep=self._keep)
            except ConfigError as err:
                raise FeaturesUnavailable(str(err)) from None
        encoded = self._encode(inputs)

        def forward() -> torch.Tensor:
            out = self._model(**{k: v.to(self.device) for k, v in encoded.items()}).logits
            return out[:, self._keep] if self._keep is not None else out

        tap = self._tap
        return tap.run(lambda: self.infer(forward))

    def truncation(self, inputs: list[str]) -> Truncation:
        """How many of these texts are longer than the tokens the model reads (`max_length`,
        the tokenizer's and the positions' limits): their tokens counted without truncation,
        special tokens included, as the model would read them whole."""
        texts = self._texts(inputs)
        if not texts:
            return Truncation(count=0, total=0, limit=self._max_length)
        # verbose=False: no 'longer than the maximum ... indexing errors' warning (the model
        # reads the cut texts), and the user's tokenizer is not marked as having warned
        ids = self._tokenizer(texts, truncation=False, padding=False, verbose=False)["input_ids"]
        count = sum(1 for row in ids if len(row) > self._max_length)
        kept = "last" if getattr(self._tokenizer, "truncation_side", "right") == "left" else "first"
        return Truncation(count=count, total=len(texts), limit=self._max_length, kept=kept)

    def count_tokens(self, inputs: list[str]) -> int:
        """Tokens the model actually reads for these texts (after truncation, without padding)."""
        if self._fast is not None and inputs:
            return sum(self._fast.counts(self._texts(inputs)))
        return int(self._encode(inputs)["attention_mask"].sum())

    def word_vectors(self) -> WordVectors:
        """Input-embedding rows of the vocabulary's whole-word tokens (lower case, letters only).

        WordPiece continuations (`##ing`) and special tokens are left out; in a vocabulary with
        word-start marks (byte-level BPE's `\u0120`, SentencePiece's `\u2581`) only marked tokens
        are whole words. One row per word (the first token that spells it)."""
        vocab: dict[str, int] = self._tokenizer.get_vocab()
        special = set(self._tokenizer.all_special_tokens)
        marked = any(t.startswith(_WORD_MARKS) for t in vocab)
        words: dict[str, int] = {}
        for token, index in sorted(vocab.items(), key=lambda item: item[1]):
            if token in special:
                continue
            if marked:
                if not token.startswith(_WORD_MARKS):
                    continue
                token = token[1:]
            word = token.lower()
            if word.isalpha() and word.isascii() and word not in words:
                words[word] = index
        embedding: Any = self._model.get_input_embeddings()  # type: ignore[operator]
        matrix = embedding.weight.detach()
        rows = torch.as_tensor(list(words.values()), dtype=torch.long, device=matrix.device)
        vectors = matrix.index_select(0, rows).float().cpu().numpy()
        return WordVectors(words=tuple(words), vectors=vectors)

    def identity_ignores(self) -> tuple[str, ...]:
        hashed = bool(self._description["files_sha256"])  # else the hub id + revision name it
        return ("path",) if hashed else ()


def _one_position(encoded: Any, pad_id: int | None) -> dict[str, torch.Tensor]:
    """`encoded` with one masked pad position when no text of the batch has a token (an empty
    or blank text, a tokenizer that adds no special tokens, as GPT-2's): a (n, 0) batch failed
    the forward pass, while beside another text such a text is scored, all padding and masked.
    It is now scored as it is beside others, whatever the batch."""
    ids = encoded.get("input_ids")
    if not isinstance(ids, torch.Tensor) or ids.ndim != 2 or len(ids) == 0 or ids.shape[1] > 0:
        return encoded  # type: ignore[no-any-return]
    out = {
        k: torch.zeros((len(ids), 1), dtype=v.dtype)
        if isinstance(v, torch.Tensor) and v.ndim == 2 and v.shape[1] == 0
        else v
        for k, v in encoded.items()
    }
    out["input_ids"] = torch.full((len(ids), 1), pad_id or 0, dtype=ids.dtype)
    return out
