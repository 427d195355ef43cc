"""Tokenizers: :class:`Tokenizer` (alias :class:`UniversalTokenizer`) and
:class:`TokenizerDiscovery`, which finds the tokenizer of a model file."""

from __future__ import annotations

import enum
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native
from .errors import ConfigError
from .info import TokenizerInfo, tokenizer_info_from_c

PathLike = Union[str, "os.PathLike[str]"]


def _ids_array(ids: Sequence[int], what: str = "ids") -> np.ndarray:
    a = np.asarray(ids)
    if a.size == 0:
        return np.zeros(0, dtype=np.int32)
    if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
        raise ConfigError(f"{what} must be a sequence of ints, got {a.dtype} of shape {a.shape}", field=what)
    if a.min() < -(1 << 31) or a.max() >= (1 << 31):
        raise ConfigError(f"{what}: token id out of the int32 range", field=what)
    return np.ascontiguousarray(a, dtype=np.int32)


def int32_buffer(a: np.ndarray) -> Any:
    """A cffi int32_t* over a (a 1-element dummy when a is empty)."""
    ffi = _native.ffi()
    if a.size == 0:
        return ffi.new("int32_t[1]")
    return ffi.from_buffer("int32_t[]", a)


def _path_bytes(p: PathLike) -> bytes:
    return os.fsencode(os.fspath(p))


class Tokenizer:
    """Turns text into token ids and back.

    Loaded from a GGUF file's vocabulary, a Hugging Face ``tokenizer.json`` or
    a SentencePiece ``tokenizer.model`` (:meth:`from_file`), or taken from a
    loaded model (:attr:`BitNetModel.tokenizer`). Safe to use from several
    threads at once.
    """

    def __init__(self, path: PathLike) -> None:
        """Same as :meth:`from_file`."""
        ffi, lib = _native.ffi(), _native.lib()
        out = ffi.new("bitnet_tokenizer **")
        _native.check(lib.bitnet_tokenizer_load(_path_bytes(path), out), f"load tokenizer {os.fspath(path)}")
        self._adopt(out[0])

    def _adopt(self, ptr: Any) -> None:
        self._h = _native.Handle(ptr, "bitnet_tokenizer_free", type(self).__name__)
        ffi = _native.ffi()
        info = ffi.new("bitnet_tokenizer_info *")
        with self._h.use() as p:
            _native.check(_native.lib().bitnet_tokenizer_get_info(p, info), "tokenizer info")
        self._info: TokenizerInfo = tokenizer_info_from_c(info)

    @classmethod
    def _from_ptr(cls, ptr: Any) -> "Tokenizer":
        """A tokenizer owning a handle the library returned."""
        tok = cls.__new__(cls)
        tok._adopt(ptr)
        return tok

    @classmethod
    def from_file(cls, path: PathLike) -> "Tokenizer":
        """Loads a tokenizer: a GGUF file's vocabulary, tokenizer.json, or
        tokenizer.model. A missing file raises BitNetIOError; a malformed one
        ModelError or TokenizationError."""
        return cls(path)

    # -- description ---------------------------------------------------------

    @property
    def info(self) -> TokenizerInfo:
        """Source, vocabulary size and special token ids."""
        return self._info

    @property
    def vocab_size(self) -> int:
        return self._info.vocab_size

    def __len__(self) -> int:
        return self._info.vocab_size

    @property
    def bos_token_id(self) -> Optional[int]:
        """Beginning-of-sequence id (None when the vocabulary has none)."""
        return self._info.bos_id

    @property
    def eos_token_id(self) -> Optional[int]:
        """End-of-sequence id (None when the vocabulary has none)."""
        return self._info.eos_id

    @property
    def eot_token_id(self) -> Optional[int]:
        """End-of-turn id (None when the vocabulary has none)."""
        return self._info.eot_id

    @property
    def pad_token_id(self) -> Optional[int]:
        """Padding id (None when the vocabulary has none)."""
        return self._info.pad_id

    # -- encoding and decoding ----------------------------------------------

    def encode(self, text: str, add_bos: Optional[bool] = None, add_special: bool = False) -> List[int]:
        """Token ids of text.

        add_bos: True adds BOS, False does not, None follows the vocabulary.
        add_special: match special-token texts such as "<s>" in text (parse
        them as their tokens instead of as plain text).
        """
        if not isinstance(text, str):
            raise ConfigError(f"text must be a str, got {type(text).__name__}", field="text")
        if add_bos is not None and not isinstance(add_bos, bool):
            raise ConfigError(f"add_bos must be a bool or None, got {add_bos!r}", field="add_bos")
        b = text.encode("utf-8")
        bos = -1 if add_bos is None else int(add_bos)
        lib = _native.lib()
        with self._h.use() as p:
            buf, n = _native.call_with_buffer(
                lambda buf, cap, n: lib.bitnet_tokenize(p, b, bos, int(bool(add_special)), buf, cap, n),
                "int32_t", len(b) + 16, "encode",
            )
        return list(_native.ffi().unpack(buf, n))

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        """Text of token ids (special tokens left out unless
        skip_special_tokens is False). Bytes that form no valid UTF-8
        character become U+FFFD."""
        a = _ids_array(ids)
        lib = _native.lib()
        ip = int32_buffer(a)
        with self._h.use() as p:
            buf, n = _native.call_with_buffer(
                lambda buf, cap, n: lib.bitnet_detokenize(p, ip, a.size, int(bool(skip_special_tokens)), buf, cap, n),
                "char", 8 * a.size + 64, "decode",
            )
        return _native.ffi().buffer(buf, n)[:].decode("utf-8", "replace")

    def token_to_bytes(self, token_id: int) -> bytes:
        """The raw piece of one token as the vocabulary stores it, as bytes
        (for SentencePiece vocabularies: "\u2581" for a space, "<0xE6>" for a
        byte-fallback token)."""
        lib = _native.lib()
        with self._h.use() as p:
            buf, n = _native.call_with_buffer(
                lambda buf, cap, n: lib.bitnet_token_to_piece(p, int(token_id), buf, cap, n),
                "char", 64, f"token_to_piece({token_id})",
            )
        return _native.ffi().buffer(buf, n)[:]

    def token_to_piece(self, token_id: int) -> str:
        """The raw piece of one token as the vocabulary stores it (see
        token_to_bytes; invalid UTF-8 becomes U+FFFD)."""
        return self.token_to_bytes(token_id).decode("utf-8", "replace")

    # -- lifetime ------------------------------------------------------------

    def close(self) -> None:
        """Frees the tokenizer (idempotent; later calls raise ClosedError)."""
        self._h.close()

    @property
    def closed(self) -> bool:
        return self._h.closed

    def __enter__(self) -> "Tokenizer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        i = self._info
        return f"<{type(self).__name__} {i.kind or '?'} vocab={i.vocab_size} source={i.source!r}>"


class UniversalTokenizer(Tokenizer):
    """The seed API's name for :class:`Tokenizer` (one implementation serves
    every supported format)."""

    @classmethod
    def from_gguf(cls, path: PathLike) -> "UniversalTokenizer":
        """The vocabulary embedded in a GGUF model file."""
        return cls.from_file(path)  # type: ignore[return-value]


class TokenizerStrategy(str, enum.Enum):
    """How :class:`TokenizerDiscovery` found a tokenizer."""

    #: The path given as tokenizer_path.
    EXACT = "exact"
    #: A tokenizer.json or tokenizer.model next to the model file.
    COLOCATED = "colocated"
    #: A copy in the local cache.
    CACHED = "cached"
    #: The vocabulary embedded in the GGUF file.
    EMBEDDED = "embedded"
    #: Downloaded from the Hugging Face Hub.
    DOWNLOADED = "downloaded"
    #: A mock tokenizer (allow_mock=True only; never under BITNET_STRICT_TOKENIZERS=1).
    MOCK = "mock"

    @classmethod
    def parse(cls, name: str) -> "TokenizerStrategy":
        key = str(name).strip().lower().replace("-", "").replace("_", "")
        aliases = {"discovered": "colocated", "embeddedgguf": "embedded", "gguf": "embedded",
                   "needsdownload": "downloaded", "download": "downloaded", "cache": "cached"}
        key = aliases.get(key, key)
        try:
            return cls(key)
        except ValueError:
            raise ConfigError(f"unknown tokenizer strategy {name!r}", field="strategy") from None

    @property
    def requires_network(self) -> bool:
        return self is TokenizerStrategy.DOWNLOADED

    @property
    def uses_cache(self) -> bool:
        return self in (TokenizerStrategy.CACHED, TokenizerStrategy.DOWNLOADED)


@dataclass(frozen=True)
class TokenizerDecision:
    """Which tokenizer :class:`TokenizerDiscovery` chose, and why."""

    strategy: TokenizerStrategy
    path: Optional[str] = None
    repo: Optional[str] = None
    reason: str = ""
    #: The candidates looked at, in order.
    tried: List[Any] = field(default_factory=list)
    #: The library's decision as it reported it.
    raw: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str) -> "TokenizerDecision":
        d = json.loads(text) if text else {}
        if not isinstance(d, dict):
            d = {}
        return cls(
            strategy=TokenizerStrategy.parse(d.get("strategy", "")),
            path=d.get("path") or None,
            repo=d.get("repo") or None,
            reason=d.get("reason") or "",
            tried=list(d.get("tried") or []),
            raw=d,
        )


class TokenizerDiscovery:
    """Finds the tokenizer of a model file, in order: ``tokenizer_path``
    (EXACT), a tokenizer.json or tokenizer.model next to the model
    (COLOCATED), a cached copy (CACHED), the vocabulary embedded in the GGUF
    file (EMBEDDED), a download (DOWNLOADED), and with ``allow_mock`` a mock
    tokenizer (MOCK).

    offline: True never downloads; None or False leave it to the environment
    (BITNET_OFFLINE=1 forbids downloads). BITNET_STRICT_TOKENIZERS=1 forbids
    the mock even with allow_mock.
    """

    def __init__(
        self,
        model_path: PathLike,
        tokenizer_path: Optional[PathLike] = None,
        allow_mock: bool = False,
        offline: Optional[bool] = None,
    ) -> None:
        self.model_path = Path(model_path)
        self.tokenizer_path = Path(tokenizer_path) if tokenizer_path is not None else None
        self.allow_mock = bool(allow_mock)
        self.offline = offline

    def discover(self) -> Tuple[Tokenizer, TokenizerDecision]:
        """Loads the tokenizer and returns it with the decision. Raises
        TokenizationError when nothing fits."""
        ffi, lib = _native.ffi(), _native.lib()
        cfg = ffi.new("bitnet_discovery_config *")
        lib.bitnet_discovery_config_default(cfg)
        tp = _path_bytes(self.tokenizer_path) if self.tokenizer_path is not None else None
        tp_c = ffi.new("char[]", tp) if tp is not None else ffi.NULL
        cfg.tokenizer_path = tp_c
        cfg.allow_mock = int(self.allow_mock)
        cfg.offline = int(bool(self.offline))
        out = ffi.new("bitnet_tokenizer **")
        dj = ffi.new("char **")
        rc = lib.bitnet_tokenizer_discover(_path_bytes(self.model_path), cfg, out, dj)
        decision_text = _native.take_string(dj[0])
        if rc != 0:
            if out[0] != ffi.NULL:
                lib.bitnet_tokenizer_free(out[0])
            _native.raise_for(rc, f"tokenizer discovery for {self.model_path}")
        tok = Tokenizer._from_ptr(out[0])
        return tok, TokenizerDecision.from_json(decision_text)
