"""BitNetModel: loading a model and generating text.

Thread safety: several threads may call :meth:`BitNetModel.generate` (and the
streaming and async variants) on one model at once. Each call runs on its
own session (a sequence and its KV cache) taken from a small pool of idle
sessions; the compute kernels are serialized per model inside the library.
In short: independent sessions, compute serialized per model.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import threading
import weakref
from pathlib import Path
from typing import Any, AsyncIterator, Dict, Generator, List, Optional, Sequence, Tuple, Union, cast

from . import _native
from .config import GenerationConfig, ModelConfig
from ._progress import DownloadProgress
from .errors import ClosedError, ConfigError
from .info import ModelInfo, PerformanceMetrics, TokenizerInfo, metrics_from_c, model_info_from_c
from .sampling import fill_sampling_config
from .tokenizer import Tokenizer, _ids_array, int32_buffer

PathLike = Union[str, "os.PathLike[str]"]

#: Idle sessions kept per model for the next calls (more are freed).
MAX_IDLE_SESSIONS = 4

#: Environment variables that switch the hub to offline mode.
_OFFLINE_VARS = ("HF_HUB_OFFLINE", "BITNET_OFFLINE")


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _hub_cache_dir() -> str:
    """The Hugging Face hub cache folder as huggingface_hub finds it, read
    from os.environ now (the library's own copy of the environment dates
    from the import)."""
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(name):
            return os.path.expanduser(os.environ[name])
    if os.environ.get("HF_HOME"):
        return os.path.join(os.path.expanduser(os.environ["HF_HOME"]), "hub")
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(os.path.expanduser(xdg), "huggingface", "hub")


def _hub_token() -> Optional[str]:
    """HF_TOKEN, else the token file huggingface_hub's login writes."""
    tok = os.environ.get("HF_TOKEN", "").strip()
    if tok:
        return tok
    path = os.environ.get("HF_TOKEN_PATH")
    if not path:
        home = os.environ.get("HF_HOME") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface")
        path = os.path.join(os.path.expanduser(home), "token")
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as f:
            return f.read().strip() or None
    except OSError:
        return None


def _snapshot_dir(repo_id: str, revision: str) -> Optional[Path]:
    """The cache's snapshot folder of a revision (None when unknown)."""
    repo_dir = Path(_hub_cache_dir()) / ("models--" + repo_id.replace("/", "--"))
    commit = revision
    if len(revision) != 40:
        try:
            commit = (repo_dir / "refs" / revision).read_text(encoding="utf-8").strip()
        except OSError:
            return None
    snap = repo_dir / "snapshots" / commit
    return snap if snap.is_dir() else None


def _progress_enabled(progress: Optional[bool]) -> bool:
    if progress is not None:
        return bool(progress)
    return not _env_true("HF_HUB_DISABLE_PROGRESS_BARS")


class _CModelConfig:
    """A bitnet_model_config and the buffers it points into."""

    def __init__(self, cfg: ModelConfig) -> None:
        ffi, lib = _native.ffi(), _native.lib()
        c = ffi.new("bitnet_model_config *")
        lib.bitnet_model_config_default(c)
        c.n_threads = cfg.n_threads or 0
        c.context_length = cfg.max_seq_len or 0
        c.device_kind = int(cfg.device.kind)
        c.device_index = cfg.device.index
        self._keep: List[Any] = []
        c.tokenizer_path = self._str(os.fsencode(os.fspath(cfg.tokenizer_path))) if cfg.tokenizer_path is not None else ffi.NULL
        self.c = c

    def _str(self, b: bytes) -> Any:
        p = _native.ffi().new("char[]", b)
        self._keep.append(p)
        return p

    def set_hub(self, progress: Any) -> None:
        """Fills the hub fields from os.environ as it is now, and the
        progress callback (a callable(file, done, total) or None)."""
        ffi = _native.ffi()
        c = self.c
        if os.environ.get("HF_ENDPOINT"):
            c.hub_endpoint = self._str(os.environ["HF_ENDPOINT"].encode("utf-8"))
        c.hub_cache_dir = self._str(os.fsencode(_hub_cache_dir()))
        tok = _hub_token()
        if tok:
            c.hub_token = self._str(tok.encode("utf-8"))
        c.offline = int(any(_env_true(v) for v in _OFFLINE_VARS))
        if progress is not None:

            def report(user: Any, file: Any, done: int, total: int) -> int:
                try:
                    progress(ffi.string(file).decode("utf-8", "replace"), int(done), int(total))
                except Exception:  # a broken progress bar must not break the download
                    pass
                return 0

            cb = ffi.callback("bitnet_progress_callback", report)
            self._keep.append(cb)
            c.progress = cb


class _Core:
    """The model handle and its sessions, shared by threads.

    ``users`` counts calls holding the model pointer or one of its sessions;
    close() frees everything once it drops to zero. Kept apart from
    BitNetModel so that a finalizer can free it without keeping the model
    alive.
    """

    def __init__(self, ptr: Any) -> None:
        self.ptr = ptr
        self.cond = threading.Condition()
        self.idle: List[Any] = []
        self.users = 0
        self.closed = False
        self.freed = False
        self.prefill_session: Any = None
        self.prefill_busy = False

    # -- plain uses of the model pointer ------------------------------------

    def begin(self) -> Any:
        _native.check_fork()
        with self.cond:
            if self.closed:
                raise ClosedError("BitNetModel used after close()")
            self.users += 1
        return self.ptr

    def end(self) -> None:
        with self.cond:
            self.users -= 1
            free = self.closed and self.users == 0
        if free:
            self.free_all()

    # -- sessions -----------------------------------------------------------

    def _new_session(self) -> Any:
        ffi, lib = _native.ffi(), _native.lib()
        out = ffi.new("bitnet_session **")
        _native.check(lib.bitnet_session_new(self.ptr, out), "new session")
        return out[0]

    def acquire(self, allow_prefill: bool = True) -> Tuple[Any, bool]:
        """A session for one call: the prefill session when it exists and is
        free (reused as it is), else an idle or new one (reset). Returns the
        session and whether it is the prefill session."""
        self.begin()
        s = None
        try:
            with self.cond:
                if allow_prefill and self.prefill_session is not None and not self.prefill_busy:
                    self.prefill_busy = True
                    return self.prefill_session, True
                s = self.idle.pop() if self.idle else None
            if s is None:
                s = self._new_session()
            else:
                _native.check(_native.lib().bitnet_session_reset(s), "reset session")
            return s, False
        except BaseException:
            lib = _native.lib_for_cleanup()
            if s is not None and lib is not None:
                lib.bitnet_session_free(s)
            self.end()
            raise

    def acquire_prefill(self) -> Any:
        """The prefill session, waiting while another call uses it."""
        self.begin()
        try:
            with self.cond:
                while self.prefill_busy:
                    self.cond.wait()
                    if self.closed:
                        raise ClosedError("BitNetModel closed during prefill()")
                self.prefill_busy = True
                s = self.prefill_session
            if s is None:
                try:
                    s = self._new_session()
                except BaseException:
                    with self.cond:
                        self.prefill_busy = False
                        self.cond.notify_all()
                    raise
                with self.cond:
                    self.prefill_session = s
            return s
        except BaseException:
            self.end()
            raise

    def release(self, s: Any, is_prefill: bool) -> None:
        to_free = None
        with self.cond:
            if is_prefill:
                self.prefill_busy = False
                self.cond.notify_all()
            elif not self.closed and len(self.idle) < MAX_IDLE_SESSIONS:
                self.idle.append(s)
            else:
                to_free = s
        if to_free is not None:
            lib = _native.lib_for_cleanup()
            if lib is not None:
                lib.bitnet_session_free(to_free)
        self.end()

    # -- lifetime -----------------------------------------------------------

    def close(self) -> None:
        with self.cond:
            if self.closed:
                return
            self.closed = True
            idle, self.idle = self.idle, []
            free = self.users == 0
            self.cond.notify_all()
        lib = _native.lib_for_cleanup()
        if lib is not None:
            for s in idle:
                lib.bitnet_session_free(s)
        if free:
            self.free_all()

    def free_all(self) -> None:
        with self.cond:
            if self.freed:
                return
            self.freed = True
            self.closed = True
            sessions = self.idle + ([self.prefill_session] if self.prefill_session is not None else [])
            self.idle, self.prefill_session = [], None
        lib = _native.lib_for_cleanup()
        if lib is None:
            return
        for s in sessions:
            lib.bitnet_session_free(s)
        lib.bitnet_model_free(self.ptr)


class _CConfig:
    """A bitnet_generation_config and the buffers it points into."""

    def __init__(self, cfg: GenerationConfig, reuse_prefix: bool) -> None:
        ffi, lib = _native.ffi(), _native.lib()
        c = ffi.new("bitnet_generation_config *")
        lib.bitnet_generation_config_default(c)
        c.max_new_tokens = cfg.max_new_tokens
        fill_sampling_config(ffi.addressof(c[0], "sampling"), cfg.sampling())
        self._stops = [ffi.new("char[]", s.encode("utf-8")) for s in cfg.stop_sequences]
        if self._stops:
            self._stop_array = ffi.new("char *[]", self._stops)
            c.stop_sequences = self._stop_array
        c.n_stop_sequences = len(self._stops)
        c.skip_special_tokens = int(cfg.skip_special_tokens)
        c.add_bos = -1 if cfg.add_bos is None else int(cfg.add_bos)
        c.parse_special = int(cfg.parse_special)
        c.ignore_eos = int(cfg.ignore_eos)
        c.reuse_prefix = int(reuse_prefix)
        self.c = c


class BitNetModel:
    """A loaded model, ready to generate text.

    Load with :meth:`from_file` (GGUF files, Hugging Face folders and
    safetensors files) or :meth:`from_pretrained` (Hugging Face Hub
    repositories); release with :meth:`close` or a ``with``
    block (a finalizer frees it otherwise). Several threads may generate at
    once: independent sessions, compute serialized per model.
    """

    def __init__(self, path: PathLike, config: Optional[ModelConfig] = None) -> None:
        """Same as :meth:`from_file`."""
        _native.check_fork()
        self._path = Path(path)
        cfg = self._check_config(config)
        ffi, lib = _native.ffi(), _native.lib()
        cc = _CModelConfig(cfg)
        out = ffi.new("bitnet_model **")
        _native.check(lib.bitnet_model_load(os.fsencode(os.fspath(self._path)), cc.c, out), f"load {self._path}")
        self._setup(out[0], cfg)

    @staticmethod
    def _check_config(config: Optional[ModelConfig]) -> ModelConfig:
        cfg = config if config is not None else ModelConfig()
        if not isinstance(cfg, ModelConfig):
            raise ConfigError(f"config must be a ModelConfig, got {type(cfg).__name__}", field="config")
        cfg.validate()
        return cfg

    def _setup(self, ptr: Any, cfg: ModelConfig) -> None:
        """Takes ownership of a loaded model handle."""
        ffi, lib = _native.ffi(), _native.lib()
        self._core = _Core(ptr)
        self._finalizer = weakref.finalize(self, self._core.free_all)
        info = ffi.new("bitnet_model_info *")
        _native.check(lib.bitnet_model_get_info(self._core.ptr, info), "model info")
        self._info: ModelInfo = model_info_from_c(info)
        self._config = dataclasses.replace(
            cfg,
            max_seq_len=self._info.context_length,
            n_threads=self._info.n_threads,
            device=self._info.device,
            vocab_size=self._info.vocab_size,
            num_heads=self._info.head_count,
            hidden_size=self._info.embedding_length,
            num_layers=self._info.block_count,
            quantization=self._info.quantization.qtype.value,
        )
        self._tokenizer: Optional[Tokenizer] = None
        self._tok_lock = threading.Lock()
        self._metrics_lock = threading.Lock()
        self._last_metrics: Optional[PerformanceMetrics] = None

    # -- construction -------------------------------------------------------

    @classmethod
    def from_file(cls, path: PathLike, config: Optional[ModelConfig] = None) -> "BitNetModel":
        """Loads a model: a GGUF file, a Hugging Face model folder
        (config.json, safetensors weights in one file or shards, tokenizer
        files), or a .safetensors file beside its config.json.

        Raises BitNetIOError for a missing or unreadable file (or a folder
        without config.json), ModelError for a malformed or inconsistent
        one and for an architecture or feature the engine does not
        implement (code BITNET_ERR_UNSUPPORTED), DeviceError when
        config.device is not present.
        """
        return cls(path, config)

    @classmethod
    def from_pretrained(cls, repo_id: str, revision: str = "main", *, progress: Optional[bool] = None) -> "BitNetModel":
        """Loads a model from the Hugging Face Hub with the default
        configuration; see :meth:`from_pretrained_with_config`."""
        return cls.from_pretrained_with_config(repo_id, ModelConfig(), revision=revision, progress=progress)

    @classmethod
    def from_pretrained_with_config(
        cls, repo_id: str, config: ModelConfig, revision: str = "main", *, progress: Optional[bool] = None
    ) -> "BitNetModel":
        """Loads a model from a Hugging Face Hub repository ("org/name") at
        revision (a branch, tag or commit).

        The repository's GGUF file is used when it has one, else its
        safetensors checkpoint (config.json, weights, tokenizer files).
        Files are taken from the Hugging Face cache (``HF_HUB_CACHE``, else
        ``HF_HOME/hub``, else ``~/.cache/huggingface/hub``), the layout
        huggingface_hub uses, so files either downloaded are reused; missing
        ones are downloaded from ``HF_ENDPOINT`` (default the public hub)
        with resume, checksum and a lock, sending ``HF_TOKEN`` (or the token
        file of ``huggingface-cli login``) when set. With
        ``HF_HUB_OFFLINE=1`` or ``BITNET_OFFLINE=1`` the network is never
        used and a file missing from the cache raises BitNetIOError. These
        variables are read from os.environ at the call.

        progress: draw a progress bar per downloaded file on stderr (tqdm's
        when tqdm is installed, else a simple one); None (the default) draws
        unless ``HF_HUB_DISABLE_PROGRESS_BARS=1``.

        Raises BitNetIOError when the repository, revision or a file does
        not exist, access is refused, the hub keeps failing after retries, a
        download does not match its checksum, or offline mode lacks a file;
        the errors of :meth:`from_file` for the model itself.
        """
        _native.check_fork()
        if not isinstance(repo_id, str) or not repo_id or "\0" in repo_id:
            raise ConfigError(f"repo_id must be a non-empty str such as 'org/name', got {repo_id!r}", field="repo_id")
        if not isinstance(revision, str) or "\0" in revision:
            raise ConfigError(f"revision must be a str, got {revision!r}", field="revision")
        cfg = cls._check_config(config)
        bar = DownloadProgress() if _progress_enabled(progress) else None
        ffi, lib = _native.ffi(), _native.lib()
        cc = _CModelConfig(cfg)
        cc.set_hub(bar)
        out = ffi.new("bitnet_model **")
        try:
            rc = lib.bitnet_model_load_pretrained(repo_id.encode("utf-8"), revision.encode("utf-8"), cc.c, out)
        finally:
            if bar is not None:
                bar.close()
        _native.check(rc, f"from_pretrained({repo_id!r}, revision={revision!r})")
        self = cls.__new__(cls)
        self._path = _snapshot_dir(repo_id, revision) or Path(repo_id)
        self._setup(out[0], cfg)
        return self

    # -- description --------------------------------------------------------

    @property
    def model_info(self) -> ModelInfo:
        """What the file and the load say about the model."""
        return self._info

    @property
    def config(self) -> ModelConfig:
        """The configuration the model was loaded with, with the informational
        fields (shapes, quantization, device, context length, threads)
        filled in from the loaded model."""
        return self._config

    @property
    def path(self) -> Path:
        return self._path

    @property
    def metadata(self) -> Dict[str, Any]:
        """Every metadata key of the GGUF file (large arrays may be summarized
        by the library)."""
        ffi = _native.ffi()
        p = self._core.begin()
        try:
            out = ffi.new("char **")
            rc = _native.lib().bitnet_model_metadata_json(p, out)
            text = _native.take_string(out[0])
            _native.check(rc, "model metadata")
        finally:
            self._core.end()
        return json.loads(text) if text else {}

    @property
    def tokenizer(self) -> Tokenizer:
        """The model's tokenizer (closed with the model)."""
        with self._tok_lock:
            if self._tokenizer is None or self._tokenizer.closed:
                ffi = _native.ffi()
                p = self._core.begin()
                try:
                    out = ffi.new("bitnet_tokenizer **")
                    _native.check(_native.lib().bitnet_model_tokenizer(p, out), "model tokenizer")
                finally:
                    self._core.end()
                self._tokenizer = Tokenizer._from_ptr(out[0])
            return self._tokenizer

    @property
    def last_metrics(self) -> Optional[PerformanceMetrics]:
        """Metrics of the last generation that finished on this model (any
        thread); None before the first."""
        return self._last_metrics

    # -- generation ---------------------------------------------------------

    def _prepare(self, prompt: str, config: Optional[GenerationConfig]) -> Tuple[bytes, GenerationConfig]:
        _native.check_fork()
        if self._core.closed:
            raise ClosedError("BitNetModel used after close()")
        if not isinstance(prompt, str):
            raise ConfigError(f"prompt must be a str, got {type(prompt).__name__}", field="prompt")
        cfg = config if config is not None else GenerationConfig()
        if not isinstance(cfg, GenerationConfig):
            raise ConfigError(f"config must be a GenerationConfig, got {type(cfg).__name__}", field="config")
        cfg.validate()
        b = prompt.encode("utf-8")
        if b"\0" in b:
            raise ConfigError("prompt contains a NUL character", field="prompt")
        return b, cfg

    def _tokenizer_info(self) -> Optional[TokenizerInfo]:
        try:
            return self.tokenizer.info
        except Exception:  # a model without tokenizer: metrics still count
            return None

    def _record(self, m: Any) -> PerformanceMetrics:
        pm = metrics_from_c(m, self._tokenizer_info())
        with self._metrics_lock:
            self._last_metrics = pm
        return pm

    def generate(self, prompt: str, config: Optional[GenerationConfig] = None) -> str:
        """The text generated after prompt (without the prompt).

        An empty prompt starts from BOS alone. Raises ConfigError for bad
        config values, CapacityError when the prompt does not fit the
        context, ClosedError after close().
        """
        pb, cfg = self._prepare(prompt, config)
        sess, is_prefill = self._core.acquire()
        try:
            ffi, lib = _native.ffi(), _native.lib()
            cc = _CConfig(cfg, reuse_prefix=is_prefill)
            out = ffi.new("char **")
            m = ffi.new("bitnet_metrics *")
            rc = lib.bitnet_generate(sess, pb, cc.c, ffi.NULL, ffi.NULL, out, m)
            text = _native.take_string(out[0])
            _native.check(rc, "generate")
            self._record(m)
            return text
        finally:
            self._core.release(sess, is_prefill)

    def _stream_bytes(self, pb: bytes, cfg: GenerationConfig) -> Generator[bytes, None, None]:
        """Pieces of generated text as the library produced them (each whole
        UTF-8 characters). The stream and its session are released when the
        generator finishes, is closed or is garbage-collected."""
        sess, is_prefill = self._core.acquire()
        ffi = _native.ffi()
        stream = ffi.NULL
        finished = False
        try:
            lib = _native.lib()
            cc = _CConfig(cfg, reuse_prefix=is_prefill)
            out = ffi.new("bitnet_stream **")
            _native.check(lib.bitnet_stream_start(sess, pb, cc.c, out), "generate_stream")
            stream = out[0]
            cap = 1024
            buf = ffi.new("char[]", cap)
            tok = ffi.new("int32_t *")
            n = ffi.new("size_t *")
            done = ffi.new("int32_t *")
            while not finished:
                rc = _native.lib().bitnet_stream_next(stream, tok, buf, cap, n, done)
                if rc == _native.const("BITNET_ERR_BUFFER_TOO_SMALL") and int(n[0]) >= cap:
                    cap = int(n[0]) + 1
                    buf = ffi.new("char[]", cap)
                    continue
                _native.check(rc, "generate_stream")
                finished = bool(done[0])
                if n[0]:
                    yield ffi.buffer(buf, n[0])[:]
        finally:
            lib = _native.lib_for_cleanup()
            if stream != ffi.NULL and lib is not None:
                # Asking for the metrics of an unfinished stream stops it
                # (stop reason "stopped"), so a loop left early is recorded too.
                m = ffi.new("bitnet_metrics *")
                if lib.bitnet_stream_metrics(stream, m) == 0:
                    self._record(m)
                lib.bitnet_stream_free(stream)
            self._core.release(sess, is_prefill)

    def generate_stream(
        self, prompt: str, config: Optional[GenerationConfig] = None
    ) -> Generator[str, None, None]:
        """Generates like :meth:`generate`, yielding pieces of text as they
        are produced; the pieces concatenated equal generate's text. A piece
        never splits a UTF-8 character.

        Breaking out of the loop (or closing the generator) stops generation
        at once and frees the stream. Arguments are checked here, before the
        first piece is asked for.
        """
        pb, cfg = self._prepare(prompt, config)

        def pieces() -> Generator[str, None, None]:
            gen = self._stream_bytes(pb, cfg)
            try:
                for b in gen:
                    yield b.decode("utf-8", "replace")
            finally:
                gen.close()

        return pieces()

    async def agenerate(self, prompt: str, config: Optional[GenerationConfig] = None) -> str:
        """:meth:`generate` in a worker thread (the event loop stays free)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.generate, prompt, config)

    async def agenerate_stream(self, prompt: str, config: Optional[GenerationConfig] = None) -> AsyncIterator[str]:
        """:meth:`generate_stream` as an async iterator: each next piece is
        produced in a worker thread. Leaving the loop early (break, an
        exception, cancellation) stops generation."""
        it = _LockedIterator(self.generate_stream(prompt, config))
        loop = asyncio.get_running_loop()
        end = object()
        try:
            while True:
                piece = await loop.run_in_executor(None, it.step, end)
                if piece is end:
                    return
                yield cast(str, piece)
        finally:
            # In a worker, after a step still running there (cancellation).
            await asyncio.shield(loop.run_in_executor(None, it.close))

    def prefill(self, tokens: Sequence[int]) -> None:
        """Evaluates tokens into the model's reusable session, so that a
        following generate whose prompt starts with the same tokens (as
        ``tokenizer.encode`` gives them, BOS included) evaluates only the
        rest. The part of tokens the session already holds is not evaluated
        again. ``last_metrics.cached_prompt_tokens`` of that generate says how
        many tokens were reused.
        """
        a = _ids_array(tokens, "tokens")
        if a.size == 0:
            raise ConfigError("prefill: tokens is empty", field="tokens")
        s = self._core.acquire_prefill()
        try:
            ffi, lib = _native.ffi(), _native.lib()
            buf, n = _native.call_with_buffer(
                lambda buf, cap, n: lib.bitnet_session_tokens(s, buf, cap, n), "int32_t",
                self._info.context_length + 1, "prefill")
            held = ffi.unpack(buf, n)
            keep = 0
            while keep < len(held) and keep < a.size and held[keep] == a[keep]:
                keep += 1
            if keep == a.size and keep == len(held):
                return
            _native.check(lib.bitnet_session_truncate(s, keep), "prefill")
            rest = a[keep:]
            if rest.size:
                _native.check(lib.bitnet_session_eval(s, int32_buffer(rest), rest.size), "prefill")
        finally:
            self._core.release(s, True)

    # -- lifetime -----------------------------------------------------------

    def close(self) -> None:
        """Frees the model, its sessions and its tokenizer (idempotent). Calls
        running in other threads finish first; later calls raise ClosedError."""
        with self._tok_lock:
            if self._tokenizer is not None:
                self._tokenizer.close()
        self._core.close()

    @property
    def closed(self) -> bool:
        return self._core.closed

    def __enter__(self) -> "BitNetModel":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        i = self._info
        state = " closed" if self.closed else ""
        return (f"<BitNetModel {i.name or self._path.name!r} {i.architecture} "
                f"{i.quantization.qtype.value} ctx={i.context_length}{state}>")

    # Used by InferenceEngine.
    def _session_lease(self) -> Tuple[Any, bool]:
        return self._core.acquire(allow_prefill=False)

    def _session_return(self, s: Any) -> None:
        self._core.release(s, False)


class _LockedIterator:
    """A generator stepped and closed from worker threads, one at a time."""

    def __init__(self, gen: Generator[str, None, None]) -> None:
        self._gen = gen
        self._lock = threading.Lock()

    def step(self, end: object) -> object:
        with self._lock:
            return next(self._gen, end)

    def close(self) -> None:
        with self._lock:
            self._gen.close()
