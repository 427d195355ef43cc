"""Lifetimes: closing and finalizing free memory; forked children are refused."""

from __future__ import annotations

import gc
import multiprocessing
import os
import subprocess
import sys
import time
import weakref
from pathlib import Path

import pytest

import bitnet
from pkg_helpers import greedy

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc/self/statm")
def test_loading_and_closing_200_times_keeps_rss_bounded(stories_path):
    cfg = bitnet.ModelConfig(max_seq_len=256, n_threads=2)

    def cycle() -> None:
        m = bitnet.BitNetModel.from_file(stories_path, cfg)
        m.generate("", greedy(2))  # a session, its KV cache and a tokenizer too
        m.close()

    for _ in range(30):
        cycle()
    gc.collect()
    base = _rss()
    samples = []
    for i in range(170):
        cycle()
        if i % 34 == 33:
            gc.collect()
            samples.append(_rss() - base)
    # A leak of the mapped file (1 MB) or of the KV cache (about 1.3 MB) per
    # load would add over 200 MB; allow the Go heap and allocator some slack.
    assert max(samples) < 48 << 20, [s >> 20 for s in samples]
    # No steady climb: the last sample is not far above the middle one.
    assert samples[-1] - samples[len(samples) // 2] < 24 << 20, [s >> 20 for s in samples]


def test_garbage_collected_model_is_freed_by_its_finalizer(stories_path):
    m = bitnet.BitNetModel.from_file(stories_path)
    m.generate("", greedy(2))
    core = m._core
    ref = weakref.ref(m)
    del m
    gc.collect()
    assert ref() is None
    assert core.freed


def _child_status(fn, timeout: float = 60.0) -> int:
    """Runs fn in a forked child; returns its exit status (fn's return)."""
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 99
        try:
            code = fn()
        except BaseException:
            code = 98
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung (it must fail fast without touching the library)")
        time.sleep(0.02)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_forked_child_calling_the_library_gets_fork_error(stories, stories_path):
    stories.generate("", greedy(2))

    def child() -> int:
        calls = [
            lambda: stories.generate("", greedy(2)),
            lambda: stories.generate_stream("", greedy(2)),
            lambda: stories.tokenizer.encode("hi"),
            lambda: bitnet.BitNetModel.from_file(stories_path),
            lambda: bitnet.Device.available_devices(),
            lambda: bitnet.Sampler(),
            lambda: bitnet.InferenceEngine(stories).forward([1]),
        ]
        for i, call in enumerate(calls):
            try:
                call()
            except bitnet.ForkError as e:
                msg = str(e)
                if "fork" not in msg or "spawn" not in msg or e.code != bitnet.errors.ERR_FORKED:
                    return 10 + i
            except BaseException:
                return 30 + i
            else:
                return 50 + i
        # Releasing inherited objects in the child must not touch the library.
        stories.close()
        gc.collect()
        return 0

    assert _child_status(child) == 0
    # The parent is unaffected.
    assert not stories.closed
    assert stories.generate("", greedy(3))


def _spawn_child(path: str, q) -> None:
    import bitnet as b

    with b.BitNetModel.from_file(path) as m:
        q.put(m.generate("", b.GenerationConfig(max_new_tokens=8, temperature=0.0)))


def test_a_spawned_process_can_load_and_generate(stories, stories_path):
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_spawn_child, args=(str(stories_path), q))
    p.start()
    try:
        got = q.get(timeout=120)
    finally:
        p.join(timeout=60)
    assert p.exitcode == 0
    assert got == stories.generate("", greedy(8))


def test_abi_mismatch_is_an_import_error(tmp_path):
    """A copy of the package whose header declares ABI 2, loading the real
    library (ABI 1), refuses to import with a message naming both."""
    import shutil

    from bitnet import _native

    pkg = tmp_path / "bitnet"
    shutil.copytree(Path(bitnet.__file__).parent, pkg, ignore=shutil.ignore_patterns("*.so", "*.dylib", "__pycache__"))
    (pkg / "_lib").mkdir(exist_ok=True)
    h = _native._state.header.read_text().replace("#define BITNET_ABI_VERSION 1", "#define BITNET_ABI_VERSION 2")
    (pkg / "_lib" / "bitnet.h").write_text(h)
    src = (pkg / "_native.py").read_text().replace("SUPPORTED_ABI_VERSION = 1", "SUPPORTED_ABI_VERSION = 2")
    (pkg / "_native.py").write_text(src)
    env = dict(os.environ, PYTHONPATH=str(tmp_path), BITNET_LIBRARY=str(_native.loaded_library_path()))
    code = "import bitnet"
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode != 0
    assert "BitNetImportError" in p.stderr and "ABI version mismatch" in p.stderr, p.stderr
    assert "version 1" in p.stderr and "version 2" in p.stderr
    # A missing library is an ImportError that says how to build it.
    env["BITNET_LIBRARY"] = str(tmp_path / "missing.so")
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode != 0 and "BITNET_LIBRARY" in p.stderr
