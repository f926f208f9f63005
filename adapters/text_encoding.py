"""`hf-text`'s fast path to the model inputs: the tokenizer's Rust backend called directly.

`FastEncoder(texts)` gives exactly the tensors of the tokenizer's call `tokenizer(texts,
padding=True, truncation=True, max_length=..., return_tensors="pt")` (ids, type ids, attention
mask; tests/suites/adversarial/text/test_hf_text_encoding.py compares them), without
transformers' conversion through Python lists and the character offsets nobody reads here. The
text attacks tokenize tens of thousands of texts per job, most of them one word away from a text
tokenized before.

Word pieces: when the tokenizer splits at every space and reads each space-separated piece
alone (a per-character normalizer such as BERT's, a pre-tokenizer that splits at whitespace, a
model that reads one pre-token at a time, added tokens without spaces; `_PieceLayout.of` checks
the tokenizer's description and a self-test), the tokens of a text are the tokens of its pieces
in order, between the special tokens. The encoder then keeps each piece's tokens and tokenizes
only the pieces it has not seen: an edited text costs one new word. Any other tokenizer (byte-
level BPE, SentencePiece's metaspace, whose tokens depend on the space before a word) is called
on whole texts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

_ENCODING_FIELDS = {
    "input_ids": "ids",
    "token_type_ids": "type_ids",
    "attention_mask": "attention_mask",
}

# Tokenizer parts under which a text's tokens are those of its space-separated pieces in order.
# Normalizers map characters one by one (the Unicode forms recompose nothing across a space, a
# starter); the pre-tokenizers split at every whitespace and drop it; the models read one
# pre-token at a time (BPE without dropout: no randomness).
_PIECE_NORMALIZERS = frozenset(
    {"BertNormalizer", "Lowercase", "StripAccents", "NFD", "NFKD", "NFC", "NFKC"}
)
_PIECE_PRE_TOKENIZERS = frozenset({"BertPreTokenizer", "Whitespace", "WhitespaceSplit"})
_PIECE_MODELS = frozenset({"WordPiece", "WordLevel", "BPE", "Unigram"})
_SELF_TEST = (
    "",
    "a",
    "The film's  best scene, naïve CAFÉ-style (2 hrs)!",
    "电影 好看 \t tab\nline [MASK] [SEP]x ok\x07",
)
MAX_PIECES = 1 << 16  # pieces kept (about 12 MB); the store starts over past it


@dataclass(frozen=True)
class _PieceLayout:
    """Where a text's piece tokens go: after `prefix`, before `suffix` (the special tokens of the
    tokenizer's template for one text), cut to `room` tokens from the `cut_left` or right end."""

    prefix: tuple[int, ...]
    suffix: tuple[int, ...]
    prefix_types: tuple[int, ...]
    suffix_types: tuple[int, ...]
    content_type: int
    room: int
    cut_left: bool

    @staticmethod
    def of(whole: Any, pieces: Any, max_length: int) -> _PieceLayout | None:
        """The layout of tokenizer `whole` (truncating, padding) when its tokens are those of
        the pieces (`pieces`: the same tokenizer without truncation or padding); else None."""
        spec = json.loads(whole.to_str())
        if not _separable(spec):
            return None
        empty = whole.encode("")
        probe = whole.encode("a")
        content = pieces.encode("a", add_special_tokens=False).ids
        k = len(content)
        for p in range(len(probe.ids) - k + 1):
            if probe.ids[p : p + k] == content and probe.ids[:p] + probe.ids[p + k :] == empty.ids:
                break
        else:
            return None
        if k == 0 or len(set(probe.type_ids[p : p + k])) != 1:
            return None
        room = max_length - len(empty.ids)
        if room <= 0:
            return None
        return _PieceLayout(
            prefix=tuple(empty.ids[:p]),
            suffix=tuple(empty.ids[p:]),
            prefix_types=tuple(empty.type_ids[:p]),
            suffix_types=tuple(empty.type_ids[p:]),
            content_type=probe.type_ids[p],
            room=room,
            cut_left=spec["truncation"]["direction"] == "Left",
        )


def _types(node: dict[str, Any] | None, allowed: frozenset[str], key: str) -> bool:
    if node is None:
        return key == "normalizers"  # no normalizer is fine; a pre-tokenizer is required
    if node.get("type") == "Sequence":
        parts = node.get(key) or []
        return bool(parts) and all(_types(n, allowed, key) for n in parts)
    return node.get("type") in allowed


def _separable(spec: dict[str, Any]) -> bool:
    """Whether the tokenizer described by `spec` (its JSON) reads space-separated pieces alone."""
    truncation = spec.get("truncation") or {}
    model = spec.get("model") or {}
    pre = spec.get("pre_tokenizer")
    return (
        _types(spec.get("normalizer"), _PIECE_NORMALIZERS, "normalizers")
        and pre is not None
        and pre.get("type") in _PIECE_PRE_TOKENIZERS  # a Sequence may split elsewhere first
        and model.get("type") in _PIECE_MODELS
        and not model.get("dropout")
        and truncation.get("strategy") == "LongestFirst"
        and truncation.get("stride") == 0
        and not any(
            any(ch.isspace() for ch in t.get("content", " ")) or not t.get("content")
            for t in spec.get("added_tokens") or []
        )
    )


class FastEncoder:
    """The tokenizer's call on a private copy of its Rust backend (module docstring)."""

    def __init__(
        self,
        whole: Any,
        names: list[str],
        *,
        pieces: Any = None,
        layout: _PieceLayout | None = None,
        pad_id: int = 0,
        pad_type_id: int = 0,
        pad_left: bool = False,
    ) -> None:
        self._whole = whole
        self._names = names
        # tokenizers >= 0.20: no character offsets (unused here), the same ids otherwise
        self._call = getattr(whole, "encode_batch_fast", whole.encode_batch)
        self._pieces = pieces
        self._layout = layout
        self._pad = (pad_id, pad_type_id)
        self._pad_left = pad_left
        # piece -> token ids; tuples of ints leave the garbage collector's tracking at its next
        # pass, so a large store does not make the full collections more frequent
        self._store: dict[str, tuple[int, ...]] = {}
        self._counted: dict[str, int] = {}  # the texts of the last batch counted

    @property
    def by_pieces(self) -> bool:
        return self._layout is not None

    def clear(self) -> None:
        """Forget the pieces tokenized so far (a benchmark's runs start alike)."""
        self._store.clear()
        self._counted = {}

    def __call__(self, texts: list[str]) -> dict[str, torch.Tensor]:
        if self._layout is None:
            encodings = self._call(texts)
            return {
                name: torch.from_numpy(
                    np.asarray(
                        [getattr(e, _ENCODING_FIELDS[name]) for e in encodings], dtype=np.int64
                    )
                )
                for name in self._names
            }
        return self._from_pieces(self._contents(texts))

    def counts(self, texts: list[str]) -> list[int]:
        """Tokens the model reads per text (special tokens included, no padding). The counts of
        the last batch are kept: asking for its texts one at a time after it is a look-up (the
        text attacks' scorer does, to batch texts by length)."""
        if self._layout is None:
            return [sum(e.attention_mask) for e in self._call(texts)]
        if len(texts) == 1 and texts[0] in self._counted:  # one text of the last batch counted
            return [self._counted[texts[0]]]
        layout = self._layout
        extra = len(layout.prefix) + len(layout.suffix)
        split = self._split(texts)
        store = self._store
        counts = [
            min(sum([len(store[p]) for p in pieces]), layout.room) + extra for pieces in split
        ]
        if len(texts) > 1:
            self._counted = dict(zip(texts, counts, strict=True))
        return counts

    def _split(self, texts: list[str]) -> list[list[str]]:
        """Each text's space-separated pieces, every one of them in the store."""
        store = self._store
        split = [t.split(" ") for t in texts]
        new = list(dict.fromkeys(p for pieces in split for p in pieces if p not in store))
        if new and len(store) + len(new) > MAX_PIECES:  # start over with this batch's pieces
            store.clear()
            new = list(dict.fromkeys(p for pieces in split for p in pieces))
        if new:
            encoded = self._pieces.encode_batch(new, add_special_tokens=False)
            store.update(zip(new, (tuple(e.ids) for e in encoded), strict=True))
        return split

    def _contents(self, texts: list[str]) -> list[list[int]]:
        """Each text's tokens between the special tokens, cut to the room the model has."""
        layout = self._layout
        assert layout is not None
        store = self._store
        split = self._split(texts)
        out = []
        for pieces in split:
            ids: list[int] = []
            for p in pieces:
                ids += store[p]
            if len(ids) > layout.room:
                ids = ids[-layout.room :] if layout.cut_left else ids[: layout.room]
            out.append(ids)
        return out

    def _from_pieces(self, contents: list[list[int]]) -> dict[str, torch.Tensor]:
        layout = self._layout
        assert layout is not None
        pad_id = self._pad[0]
        head, tail = list(layout.prefix), list(layout.suffix)
        width = max(len(c) for c in contents) + len(head) + len(tail)
        flat: list[int] = []
        lengths = np.empty(len(contents), dtype=np.int64)
        for i, c in enumerate(contents):
            row = head + c + tail
            lengths[i] = len(row)
            fill = [pad_id] * (width - len(row))
            flat += fill + row if self._pad_left else row + fill
        ids = np.asarray(flat, dtype=np.int64).reshape(len(contents), width)
        cols = np.arange(width)
        real = cols >= width - lengths[:, None] if self._pad_left else cols < lengths[:, None]
        out = {"input_ids": ids, "attention_mask": real.astype(np.int64)}
        if "token_type_ids" in self._names:
            out["token_type_ids"] = self._type_ids(lengths, real, width)
        return {name: torch.from_numpy(out[name]) for name in self._names}

    def _type_ids(self, lengths: np.ndarray, real: np.ndarray, width: int) -> np.ndarray:
        layout = self._layout
        assert layout is not None
        pad_type = self._pad[1]
        types = np.where(real, layout.content_type, pad_type).astype(np.int64)
        head, tail = layout.prefix_types, layout.suffix_types
        if not head and not tail:
            return types
        start = width - lengths if self._pad_left else np.zeros_like(lengths)
        rows = np.arange(len(lengths))
        for j, t in enumerate(head):
            types[rows, start + j] = t
        end = start + lengths
        for j, t in enumerate(tail):
            types[rows, end - len(tail) + j] = t
        return types


def fast_encoder(tokenizer: Any, max_length: int) -> FastEncoder | None:
    """A `FastEncoder` for a fast (Rust-backed) tokenizer whose model reads only ids, type ids
    and attention masks; None otherwise (the tokenizer's own call is used). It encodes by word
    pieces when the tokenizer allows it and a self-test on odd texts agrees with whole texts."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    names = list(getattr(tokenizer, "model_input_names", []))
    if not getattr(tokenizer, "is_fast", False) or backend is None:
        return None
    if "input_ids" not in names or not set(names) <= set(_ENCODING_FIELDS):
        return None
    from tokenizers import Tokenizer

    whole = Tokenizer.from_str(backend.to_str())
    # what transformers sets for padding=True (to the batch's longest) and truncation=True
    whole.enable_truncation(
        max_length=max_length,
        stride=0,
        strategy="longest_first",
        direction=tokenizer.truncation_side,
    )
    whole.enable_padding(
        direction=tokenizer.padding_side,
        pad_id=tokenizer.pad_token_id,
        pad_type_id=tokenizer.pad_token_type_id,
        pad_token=tokenizer.pad_token,
    )
    whole.encode_special_tokens = bool(getattr(tokenizer, "split_special_tokens", False))
    plain = FastEncoder(whole, names)
    pieces = Tokenizer.from_str(whole.to_str())
    pieces.no_truncation()
    pieces.no_padding()
    pieces.encode_special_tokens = whole.encode_special_tokens
    layout = _PieceLayout.of(whole, pieces, max_length)
    if layout is None:
        return plain
    fast = FastEncoder(
        whole,
        names,
        pieces=pieces,
        layout=layout,
        pad_id=tokenizer.pad_token_id,
        pad_type_id=tokenizer.pad_token_type_id,
        pad_left=tokenizer.padding_side == "left",
    )
    texts = list(_SELF_TEST) + [" ".join(["word"] * max_length)]
    want, got = plain(texts), fast(texts)
    if list(want) != list(got) or not all(torch.equal(want[k], got[k]) for k in want):
        return plain
    fast.clear()
    return fast
