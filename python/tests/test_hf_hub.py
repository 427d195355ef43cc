"""BitNetModel.from_pretrained against a local hub on 127.0.0.1 speaking the
Hugging Face hub's URL layout: download into the Hugging Face cache, reuse,
offline mode, resume, checksum, errors and retries, and a cache shared with
huggingface_hub (PyPI) both ways. No test reaches the real network."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import bitnet
from bitnet import errors
from bitnet._progress import DownloadProgress
from hf_helpers import COMMIT, FakeHub, write_hf_folder
from pkg_helpers import greedy

REPO = "bitnet-test/bit3m"
HUB_DIR = "models--bitnet-test--bit3m"


@pytest.fixture(scope="module")
def bit3m_folder(asset, tmp_path_factory):
    return write_hf_folder(tmp_path_factory.mktemp("hub-src") / "bit3m", asset("models/bitllama2c-3M.bin"),
                           asset("models/tok512.model"), "BitNetForCausalLM", "packed")


@pytest.fixture
def hub(bit3m_folder, tmp_path, monkeypatch):
    h = FakeHub()
    h.publish_dir(REPO, bit3m_folder)
    monkeypatch.setenv("HF_ENDPOINT", h.url)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    for v in ("HF_HUB_OFFLINE", "BITNET_OFFLINE", "HF_TOKEN", "HF_HUB_DISABLE_PROGRESS_BARS"):
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))  # no token file of the user's
    yield h
    h.close()


def cfg():
    return bitnet.ModelConfig(n_threads=2)


def story(m, steps: int = 256) -> str:
    return m.generate("", greedy(steps)) + "\n"


def cache_files(root: Path):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink())


def test_from_pretrained_downloads_caches_then_works_offline(hub, golden, tmp_path, monkeypatch, capsys):
    want = golden("bitllama2c-3M.runbit.greedy.txt")
    with bitnet.BitNetModel.from_pretrained_with_config(REPO, cfg(), progress=True) as m:
        assert story(m) == want
        assert m.path == tmp_path / "hf-cache" / HUB_DIR / "snapshots" / COMMIT
    err = capsys.readouterr().err
    assert "bitnet-test/bit3m/model.safetensors" in err and "config.json" in err
    snap = tmp_path / "hf-cache" / HUB_DIR / "snapshots" / COMMIT
    for f in ("config.json", "model.safetensors", "tokenizer.model"):
        assert (snap / f).is_symlink() and (snap / f).resolve().parent.name == "blobs"
    assert (tmp_path / "hf-cache" / HUB_DIR / "refs" / "main").read_text() == COMMIT
    gets = len(hub.requests("GET /bitnet-test"))
    # Again: nothing is downloaded.
    with bitnet.BitNetModel.from_pretrained(REPO, progress=False) as m:
        assert m.model_info.architecture == "bitnet"
    assert len(hub.requests("GET /bitnet-test")) == gets
    # Offline: no request at all, from the cache.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before = len(hub.requests())
    with bitnet.BitNetModel.from_pretrained_with_config(REPO, cfg(), revision="main") as m:
        assert story(m) == want
    assert len(hub.requests()) == before
    with pytest.raises(bitnet.BitNetIOError, match="offline") as e:
        bitnet.BitNetModel.from_pretrained("bitnet-test/not-cached")
    assert e.value.code == errors.ERR_IO and "bitnet-test/not-cached" in str(e.value)
    (snap / "model.safetensors").unlink()
    with pytest.raises(bitnet.BitNetIOError, match="offline"):
        bitnet.BitNetModel.from_pretrained(REPO)
    assert len(hub.requests()) == before


def test_a_transfer_cut_mid_file_resumes(hub, golden):
    hub.cut_once["model.safetensors"] = 300_000
    with bitnet.BitNetModel.from_pretrained_with_config(REPO, cfg(), progress=False) as m:
        assert story(m) == golden("bitllama2c-3M.runbit.greedy.txt")
    assert hub.requests("model.safetensors bytes=300000-"), hub.requests("model.safetensors")


def test_a_wrong_hash_leaves_no_file_in_the_cache(hub, tmp_path):
    hub.bad_hash.add("model.safetensors")
    with pytest.raises(bitnet.BitNetIOError, match="sha256") as e:
        bitnet.BitNetModel.from_pretrained(REPO, progress=False)
    assert "checksum" in str(e.value)
    cache = tmp_path / "hf-cache"
    left = [f for f in cache_files(cache) if not f.startswith(".locks/") and (f.endswith("model.safetensors") or ".incomplete" in f or "0" * 64 in f)]
    assert left == []


def test_not_found_and_server_errors_are_clear_and_5xx_is_retried(hub):
    with pytest.raises(bitnet.BitNetIOError) as e:
        bitnet.BitNetModel.from_pretrained("bitnet-test/missing", progress=False)
    msg = str(e.value)
    assert "404" in msg and "not found" in msg and "bitnet-test/missing" in msg
    hub.fail_5xx = 2
    with bitnet.BitNetModel.from_pretrained(REPO, progress=False) as m:
        assert m.model_info.architecture == "bitnet"
    assert len(hub.requests("/api/models/")) == 1 + 3  # the 404, then two 503 and a success


def test_hf_token_is_sent_to_the_hub(hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    with bitnet.BitNetModel.from_pretrained(REPO, progress=False):
        pass
    assert hub.auth and all(a == "Bearer hf_secret" for a in hub.auth), set(hub.auth)


def test_arguments_are_checked(hub):
    with pytest.raises(bitnet.ConfigError):
        bitnet.BitNetModel.from_pretrained("")
    with pytest.raises(bitnet.ConfigError):
        bitnet.BitNetModel.from_pretrained_with_config(REPO, "not a config")  # type: ignore[arg-type]
    with pytest.raises(bitnet.ConfigError):
        bitnet.BitNetModel.from_pretrained("../../etc", progress=False)


def _hf_hub(code: str, env: dict) -> str:
    """Runs huggingface_hub in a fresh interpreter (it reads HF_ENDPOINT and
    HF_HUB_OFFLINE when imported)."""
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def _env(hub, tmp_path, **extra):
    env = dict(os.environ, HF_ENDPOINT=hub.url, HF_HUB_CACHE=str(tmp_path / "hf-cache"),
               HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1", HF_HUB_DISABLE_XET="1")
    env.pop("HF_HUB_OFFLINE", None)
    env.update(extra)
    return env


def test_a_cache_filled_by_huggingface_hub_is_reused_without_a_download(hub, tmp_path, golden):
    pytest.importorskip("huggingface_hub")
    out = _hf_hub(f"from huggingface_hub import snapshot_download; print(snapshot_download({REPO!r}))", _env(hub, tmp_path))
    assert out.endswith(COMMIT)
    assert hub.requests("GET /bitnet-test/bit3m/resolve/")
    before = len(hub.requests("/resolve/"))
    with bitnet.BitNetModel.from_pretrained_with_config(REPO, cfg(), progress=False) as m:
        assert story(m) == golden("bitllama2c-3M.runbit.greedy.txt")
    assert len(hub.requests("/resolve/")) == before, hub.requests("/resolve/")[before:]


def test_huggingface_hub_finds_what_bitnet_downloaded(hub, tmp_path):
    pytest.importorskip("huggingface_hub")
    with bitnet.BitNetModel.from_pretrained(REPO, progress=False):
        pass
    before = len(hub.requests())
    code = (f"from huggingface_hub import hf_hub_download, snapshot_download\n"
            f"p = hf_hub_download({REPO!r}, 'model.safetensors')\n"
            f"print(p); print(snapshot_download({REPO!r}))")
    out = _hf_hub(code, _env(hub, tmp_path, HF_HUB_OFFLINE="1")).splitlines()
    snap = tmp_path / "hf-cache" / HUB_DIR / "snapshots" / COMMIT
    assert Path(out[0]) == snap / "model.safetensors" and Path(out[1]) == snap
    assert len(hub.requests()) == before


def test_progress_bar_without_tqdm_draws_one_line_per_file():
    s = io.StringIO()
    p = DownloadProgress(stream=s, use_tqdm=False)
    p("org/m@" + COMMIT + "/model.safetensors", 0, 4096)
    p("org/m@" + COMMIT + "/model.safetensors", 4096, 4096)
    p("org/m@" + COMMIT + "/config.json", 10, -1)
    p.close()
    text = s.getvalue()
    assert "downloading org/m/model.safetensors (4.0 KiB)" in text
    assert "downloaded org/m/model.safetensors" in text and "downloaded org/m/config.json" in text
    assert p.files_seen == 2


def test_progress_bar_uses_tqdm_when_installed():
    pytest.importorskip("tqdm")
    s = io.StringIO()
    p = DownloadProgress(stream=s)
    p("org/m@" + COMMIT + "/model.safetensors", 0, 2 << 20)
    p("org/m@" + COMMIT + "/model.safetensors", 2 << 20, 2 << 20)
    assert "org/m/model.safetensors" in s.getvalue() and "100%" in s.getvalue()


def test_c_progress_callback_reports_and_can_cancel(hub, tmp_path):
    """The C ABI directly: bitnet_model_load_pretrained reports progress
    through the config's callback, and a nonzero return cancels."""
    from bitnet import _native

    ffi, lib = _native.ffi(), _native.lib()
    seen = []

    def run(stop_after):
        c = ffi.new("bitnet_model_config *")
        lib.bitnet_model_config_default(c)
        keep = [ffi.new("char[]", hub.url.encode()), ffi.new("char[]", str(tmp_path / f"c{stop_after}").encode())]
        c.hub_endpoint, c.hub_cache_dir = keep

        @ffi.callback("bitnet_progress_callback")
        def cb(user, file, done, total):
            seen.append((ffi.string(file).decode(), done, total))
            return 1 if len(seen) >= stop_after else 0

        c.progress = cb
        out = ffi.new("bitnet_model **")
        rc = lib.bitnet_model_load_pretrained(REPO.encode(), ffi.NULL, c, out)
        if rc == 0:
            lib.bitnet_model_free(out[0])
        return rc

    assert run(10_000) == 0
    files = {f for f, _, _ in seen}
    assert f"{REPO}@{COMMIT}/model.safetensors" in files and f"{REPO}@{COMMIT}/config.json" in files
    size = (hub.repos[REPO]["model.safetensors"])
    assert (f"{REPO}@{COMMIT}/model.safetensors", len(size), len(size)) in seen
    seen.clear()
    assert run(1) == errors.ERR_CANCELED
    assert "progress callback" in _native.last_error()[1]
