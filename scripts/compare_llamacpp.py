#!/usr/bin/env python3
"""Benchmark bitnet against llama.cpp on the same machine, in one run.

    python3 scripts/compare_llamacpp.py [--threads 1,2] [--reps 5] [--rounds 1]

What it does:
 1. builds build/bitnet from this tree (go build);
 2. installs llama.cpp by package name, PyPI llama-cpp-python (which builds
    llama.cpp from source with CMake, for this CPU: -DGGML_NATIVE=ON), into a
    venv of its own, build/llamacpp/venv (kept: reruns skip the build while
    the version and CMake arguments are unchanged);
 3. writes one set of random weights of the BitNet b1.58 2B-4T shape as TQ2_0
    linear layers + Q6_K embedding (`bitnet bench --random 2b4t --keep`), as
    GGUF architecture `bitnet` (see below), and converts it to I2_S (`bitnet
    convert --type i2_s`; same weights, this engine's native packing);
 4. checks that both engines compute the same function on that file (logits
    of a short sequence: correlation and argmax);
 5. runs, for each thread count, llama.cpp (scripts/llamacpp_bench.py in the
    venv: llama-bench's ppN / tgN through the low-level API) and then `bitnet
    bench --json` on the same file and on its I2_S conversion, back to back;
 6. prints ours/llama.cpp ratios and writes results/<machine>-<date>.md and
    .json (machine, memory bandwidth, versions, files, commands, figures).

Architecture: the 2B-4T model is `bitnet-b1.58` in this project (squared-ReLU
gate, as Microsoft's bitnet.cpp); upstream llama.cpp has no such
architecture, only `bitnet` (1bitLLM's BitNet b1.58: the same blocks with
SubLN norms and a SiLU gate, GQA, per-matrix scales, tied output head). The
file is written as `bitnet` with the 2B-4T dimensions, which both engines run
with the same graph, so the work per token is identical: same matrices, same
types, same head. The gate function is the only difference from 2B-4T and
costs nothing next to the matrices.

The machines are shared: the script records the CPU time other processes used
during each measurement (from /proc/stat) so a noisy run shows as such.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
BIN = BUILD / "bitnet"
LLAMA_DIR = BUILD / "llamacpp"
VENV = LLAMA_DIR / "venv"
VPY = VENV / "bin" / "python"
RUNNER = Path(__file__).resolve().parent / "llamacpp_bench.py"
PACKAGE = "llama-cpp-python"
DEFAULT_VERSION = "0.3.36"
DEFAULT_CMAKE_ARGS = "-DGGML_NATIVE=ON -DLLAVA_BUILD=OFF"
# The anchor measured on one of these machines (docs BENCHMARKS.md).
# Other processes' load (cores) above which a figure is flagged as busy.
BUSY = 0.3
ANCHOR = "llama.cpp Feb 2025, TQ2_0 + Q6_K, 2 threads: pp128 44.9 t/s, tg64 12.2 t/s; 1 thread 23.0 / 6.7"


def log(msg):
    print(f"[compare] {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    log("$ " + " ".join(shlex.quote(str(c)) for c in cmd))
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


# ---------------------------------------------------------------- setup


def build_bitnet():
    BUILD.mkdir(exist_ok=True)
    run(["go", "build", "-o", BIN, "./cmd/bitnet"], cwd=ROOT)


def ensure_llamacpp(version, cmake_args, jobs):
    """Installs llama-cpp-python==version into VENV unless it is there with
    the same CMake arguments."""
    stamp = VENV / ".bench-stamp.json"
    want = {"package": PACKAGE, "version": version, "cmake_args": cmake_args}
    if stamp.exists() and VPY.exists():
        try:
            if json.loads(stamp.read_text()) == want:
                subprocess.run([str(VPY), "-c", "import llama_cpp"], check=True, capture_output=True)
                log(f"using {PACKAGE} {version} in {VENV}")
                return
        except (ValueError, subprocess.CalledProcessError):
            pass
    LLAMA_DIR.mkdir(parents=True, exist_ok=True)
    if VENV.exists():
        shutil.rmtree(VENV)
    run([sys.executable, "-m", "venv", VENV])
    env = dict(os.environ, CMAKE_ARGS=cmake_args, CMAKE_BUILD_PARALLEL_LEVEL=str(jobs))
    logfile = LLAMA_DIR / "pip-install.log"
    log(f"building {PACKAGE}=={version} from source (several minutes; log: {logfile})")
    t0 = time.time()
    with open(logfile, "w") as f:
        r = subprocess.run([str(VPY), "-m", "pip", "install", "--disable-pip-version-check", "--no-cache-dir",
                            "--verbose", f"{PACKAGE}=={version}"], env=env, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        sys.exit(f"pip install {PACKAGE} failed (see {logfile}); node-llama-cpp (npm) is the other way to get llama.cpp")
    log(f"built in {time.time() - t0:.0f} s")
    stamp.write_text(json.dumps(want))


def llama_lib_dir():
    out = subprocess.run([str(VPY), "-c", "import llama_cpp, os; print(os.path.dirname(llama_cpp.__file__))"],
                         check=True, capture_output=True, text=True).stdout.strip()
    return Path(out) / "lib"


def llama_architectures(libdir):
    """The bitnet-like architecture names in the built libllama."""
    found = set()
    for lib in libdir.glob("libllama.so*"):
        data = lib.read_bytes()
        for m in re.finditer(rb"\x00(bitnet[a-z0-9.\-_]*)\x00", data):
            found.add(m.group(1).decode())
        break
    return sorted(found)


def llama_versions(libdir):
    libs = sorted(p.name for p in libdir.glob("lib*.so.*.*.*"))
    return libs


def write_models(shape, arch, types, embed, seed):
    """Writes the random model in each type (as arch) and the I2_S
    conversion of the first; returns {label: path}."""
    d = BUILD / "bench"
    d.mkdir(parents=True, exist_ok=True)
    files = {}
    for t in types:
        p = d / f"{shape}-{arch}-{t}-{embed}-seed{seed}.gguf"
        run([BIN, "bench", "--random", shape, "--arch", arch, "--type", t, "--embed-type", embed, "--seed", seed,
             "--keep", p, "-p", "0", "-n", "0", "--reps", "1", "--threads", "1", "--bw-mib", "0", "--quiet"],
            stdout=subprocess.DEVNULL)
        files[t] = p
    src = files[types[0]]
    i2s = d / f"{shape}-{arch}-i2_s-{embed}-seed{seed}-from-{types[0]}.gguf"
    if not i2s.exists() or i2s.stat().st_mtime < src.stat().st_mtime:
        run([BIN, "convert", src, i2s, "--type", "i2_s", "--quiet"])
    files["i2_s"] = i2s
    return files


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- measuring


def busy_jiffies():
    """Total non-idle CPU time of the machine, in clock ticks."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v[:8]) - idle


def other_load(seconds):
    """CPU load (in cores) of all processes over a window of seconds (this
    script sleeps meanwhile, so it is other processes' load)."""
    tick = os.sysconf("SC_CLK_TCK")
    b0, t0 = busy_jiffies(), time.time()
    time.sleep(seconds)
    return (busy_jiffies() - b0) / tick / (time.time() - t0)


def wait_idle(timeout, threshold=BUSY, window=3.0):
    """Waits until other processes use less than threshold cores over a
    window, or timeout seconds; returns the last load seen and the wait."""
    t0 = time.time()
    load = other_load(window)
    while load > threshold and time.time() - t0 < timeout:
        log(f"machine busy ({load:.2f} cores used by other processes); waiting")
        load = other_load(window)
    return load, time.time() - t0


def measured(cmd, idle_timeout=0):
    """Runs cmd, returning its stdout and the CPU time (in cores, averaged
    over its run) that other processes used meanwhile."""
    before, waited = wait_idle(idle_timeout) if idle_timeout > 0 else (None, 0.0)
    tick = os.sysconf("SC_CLK_TCK")
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    b0, t0 = busy_jiffies(), time.time()
    log("$ " + " ".join(shlex.quote(str(c)) for c in cmd))
    r = subprocess.run([str(c) for c in cmd], check=True, stdout=subprocess.PIPE, text=True)
    b1, t1 = busy_jiffies(), time.time()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    other = max(0.0, (b1 - b0) / tick - own)
    return r.stdout, {"wall_s": t1 - t0, "cpu_s": own, "other_cpu_s": other, "other_load": other / max(t1 - t0, 1e-9),
                      "load_before": before, "waited_s": waited}


def llama_run(model, threads, a):
    cmd = [VPY, RUNNER, "--model", model, "--threads", threads, "--prompts", a.prompts, "--gen", a.gen,
           "--gen-prompt", a.gen_prompt, "--reps", a.reps, "--seed", a.seed]
    out, load = measured(cmd, a.wait_idle)
    js = json.loads(out)
    if "error" in js:
        sys.exit(js["error"])
    js["noise"] = load
    js["command"] = " ".join(shlex.quote(str(c)) for c in cmd)
    return js


def ours_run(model, threads, a, bw_mib):
    cmd = [BIN, "bench", "--model", model, "-p", a.prompts, "-n", a.gen, "--gen-prompt", a.gen_prompt,
           "--threads", threads, "--reps", a.reps, "--seed", a.seed, "--bw-mib", bw_mib, "--json", "--quiet"]
    if a.kernels:
        cmd += ["--kernels", a.kernels]
    out, load = measured(cmd, a.wait_idle)
    js = json.loads(out)
    js["noise"] = load
    js["command"] = " ".join(shlex.quote(str(c)) for c in cmd)
    return js


def graph_check(model, tokens):
    """Compares the last-position logits of both engines on model."""
    ids = ",".join(str(t) for t in tokens)
    ours = json.loads(subprocess.run([str(BIN), "logits", "--model", str(model), "--tokens", ids, "--last", "--json"],
                                     check=True, capture_output=True, text=True).stdout)
    code = (
        "import json, sys, ctypes, numpy as np, llama_cpp as L\n"
        "quiet = L.llama_log_callback(lambda *a: None); L.llama_log_set(quiet, ctypes.c_void_p())\n"
        "L.llama_backend_init(); mp = L.llama_model_default_params()\n"
        "m = L.llama_model_load_from_file(sys.argv[1].encode(), mp)\n"
        "cp = L.llama_context_default_params(); cp.n_ctx = 256; cp.n_threads = cp.n_threads_batch = 2\n"
        "c = L.llama_init_from_model(m, cp); ids = [int(x) for x in sys.argv[2].split(',')]\n"
        "arr = (L.llama_token * len(ids))(*ids)\n"
        "assert L.llama_decode(c, L.llama_batch_get_one(arr, len(ids))) == 0\n"
        "n = L.llama_vocab_n_tokens(L.llama_model_get_vocab(m))\n"
        "print(json.dumps(np.ctypeslib.as_array(L.llama_get_logits_ith(c, -1), shape=(n,)).tolist()))\n"
    )
    theirs = json.loads(subprocess.run([str(VPY), "-c", code, str(model), ids], check=True, capture_output=True,
                                       text=True).stdout)
    a = ours["logits"][-1] if isinstance(ours["logits"][0], list) else ours["logits"]
    b = theirs
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    va = sum((x - ma) ** 2 for x in a)
    vb = sum((y - mb) ** 2 for y in b)
    top = lambda v, k: sorted(range(n), key=lambda i: -v[i])[:k]
    return {
        "tokens": tokens,
        "correlation": cov / (va * vb) ** 0.5,
        "argmax_ours": top(a, 1)[0],
        "argmax_llamacpp": top(b, 1)[0],
        "top10_overlap": len(set(top(a, 10)) & set(top(b, 10))),
    }


# ---------------------------------------------------------------- report


def med(test):
    return test["tokens_per_second"]["median"]


def span(test, busy=None):
    """median (min-max), flagged with the other processes' load when it
    exceeded busy cores."""
    s = test["tokens_per_second"]
    out = f"{s['median']:.2f} ({s['min']:.2f}-{s['max']:.2f})"
    if busy is not None and test.get("other_load", 0) > busy:
        out += f" [busy {test['other_load']:.1f}]"
    return out


def pooled(runs, threads, name, path):
    """Pools the per-rep values of one test over the rounds."""
    vals, load = [], 0.0
    for r in runs:
        for res in r["results"]:
            if res["threads"] != threads:
                continue
            for t in res["tests"]:
                if t["name"] == name:
                    vals += t["tokens_per_second"]["values"]
                    load = max(load, r["noise"]["other_load"])
    if not vals:
        return None
    return {"name": name, "tokens_per_second": {"median": statistics.median(vals), "min": min(vals), "max": max(vals),
                                                "n": len(vals), "values": vals}, "source": path, "other_load": load}


def machine_kind(cpu, cores):
    slug = re.sub(r"[^a-z0-9]+", "-", cpu.lower()).strip("-")
    slug = re.sub(r"-(processor|cpu)$", "", slug)
    return f"{slug}-{cores}c"


def git(*args):
    try:
        return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def first_line(cmd):
    try:
        return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return ""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    ap.add_argument("--reps", default="5", help="repetitions of each figure per round")
    ap.add_argument("--rounds", type=int, default=1, help="times the whole back-to-back sequence runs (figures pool all)")
    ap.add_argument("--prompts", default="128", help="ppN prompt lengths (default 128)")
    ap.add_argument("--gen", default="128", help="tgN tokens (default 128)")
    ap.add_argument("--gen-prompt", default="1", help="untimed prompt before tgN (default 1, like llama-bench)")
    ap.add_argument("--shape", default="2b4t")
    ap.add_argument("--types", default="tq2_0", help="ternary types both engines run (tq2_0, tq1_0)")
    ap.add_argument("--embed-type", default="q6_k")
    ap.add_argument("--seed", default="1")
    ap.add_argument("--kernels", default="", help="bitnet --kernels (default: the engine's choice)")
    ap.add_argument("--bw-mib", default="1024", help="bitnet bench bandwidth-probe buffer")
    ap.add_argument("--version", default=DEFAULT_VERSION, help=f"{PACKAGE} version (default {DEFAULT_VERSION})")
    ap.add_argument("--cmake-args", default=DEFAULT_CMAKE_ARGS)
    ap.add_argument("--machine-kind", default="", help="results file prefix (default: from the CPU model and cores)")
    ap.add_argument("--out-dir", default=str(ROOT / "results"))
    ap.add_argument("--no-build", action="store_true", help="use build/bitnet as it is")
    ap.add_argument("--wait-idle", type=float, default=300,
                    help="before each measurement wait up to this many seconds for other processes to use < 0.3 cores (0: no wait)")
    a = ap.parse_args()
    threads = [int(t) for t in a.threads.split(",")]
    types = a.types.split(",")
    started = datetime.datetime.now(datetime.timezone.utc)

    if not a.no_build:
        build_bitnet()
    ensure_llamacpp(a.version, a.cmake_args, os.cpu_count() or 2)
    libdir = llama_lib_dir()
    archs = llama_architectures(libdir)
    log(f"llama.cpp bitnet architectures: {archs}")
    if "bitnet" not in archs:
        sys.exit(f"the installed llama.cpp knows no `bitnet` architecture ({archs})")
    arch = "bitnet"
    files = write_models(a.shape, arch, types, a.embed_type, a.seed)
    tiny = write_models("tiny", arch, types[:1], a.embed_type, a.seed)[types[0]]
    check = {"tiny": graph_check(tiny, [1, 42, 7, 99, 100, 311, 5]),
             a.shape: graph_check(files[types[0]], [1, 128000, 42, 7, 99, 1000, 31337, 5])}
    log(f"graph check: {check}")

    runs = {"llama.cpp": {t: [] for t in types}, "bitnet": {k: [] for k in files}}
    for rnd in range(a.rounds):
        for th in threads:
            for t in types:
                runs["llama.cpp"][t].append(llama_run(files[t], th, a))
                runs["bitnet"][t].append(ours_run(files[t], th, a, a.bw_mib))
            runs["bitnet"]["i2_s"].append(ours_run(files["i2_s"], th, a, a.bw_mib))

    # Machine facts from the first of our reports.
    first = runs["bitnet"][types[0]][0]
    mach = first["machine"]
    bw = {}
    for rs in runs["bitnet"].values():
        for r in rs:
            for b in r.get("memory_bandwidth") or []:
                bw[b["threads"]] = max(bw.get(b["threads"], 0), b["gb_per_second"])
    decode_bytes = {k: rs[0]["model"]["decode_bytes_per_token"]["total_bytes"] for k, rs in runs["bitnet"].items()}
    kernels_used = sorted({res["kernels"] for rs in runs["bitnet"].values() for r in rs for res in r["results"]})
    llama_info = runs["llama.cpp"][types[0]][0]

    tests = [f"pp{p}" for p in a.prompts.split(",") if int(p) > 0] + ([f"tg{a.gen}"] if int(a.gen) > 0 else [])
    rows = []
    for th in threads:
        for name in tests:
            for t in types:
                L = pooled(runs["llama.cpp"][t], th, name, str(files[t]))
                O = pooled([r for r in runs["bitnet"][t]], th, name, str(files[t]))
                I = pooled([r for r in runs["bitnet"]["i2_s"]], th, name, str(files["i2_s"])) if t == types[0] else None
                row = {"threads": th, "test": name, "type": t, "llama_cpp": L, "bitnet": O, "bitnet_i2_s": I,
                       "ratio": med(O) / med(L) if L and O else None,
                       "ratio_i2_s": med(I) / med(L) if L and I else None}
                if name.startswith("tg") and th in bw:
                    floor_ms = decode_bytes[t] / (bw[th] * 1e9) * 1000
                    row["floor_ms_per_token"] = floor_ms
                    row["floor_fraction_llama_cpp"] = floor_ms / (1000 / med(L)) if L else None
                    row["floor_fraction_bitnet"] = floor_ms / (1000 / med(O)) if O else None
                    if I:
                        fi = decode_bytes["i2_s"] / (bw[th] * 1e9) * 1000
                        row["floor_ms_per_token_i2_s"] = fi
                        row["floor_fraction_bitnet_i2_s"] = fi / (1000 / med(I))
                rows.append(row)

    # ---- print
    hdr = f"{'threads':>7} {'test':>6} {'type':>6} | {'llama.cpp t/s':>33} | {'bitnet t/s':>33} {'ratio':>6} | {'bitnet I2_S t/s':>33} {'ratio':>6}"
    lines = [hdr, "-" * len(hdr)]
    for r in rows:
        f = lambda x: span(x, BUSY) if x else "-"
        lines.append(f"{r['threads']:>7} {r['test']:>6} {r['type']:>6} | {f(r['llama_cpp']):>33} | "
                     f"{f(r['bitnet']):>33} {r['ratio'] or 0:>6.2f} | {f(r['bitnet_i2_s']):>33} {r['ratio_i2_s'] or 0:>6.2f}")
    table = "\n".join(lines)
    print(table)

    # ---- write
    kind = a.machine_kind or machine_kind(mach["cpu"], mach["cores"])
    date = started.strftime("%Y-%m-%d")
    out_dir = Path(a.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir / f"{kind}-{date}"
    commit = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    file_info = {k: {"path": str(p.relative_to(ROOT)), "bytes": p.stat().st_size, "sha256": sha256(p)} for k, p in files.items()}
    versions = {
        "bitnet": first["version"],
        "bitnet_commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "go": mach["go"],
        PACKAGE: llama_info["llama_cpp_python"],
        "llama_cpp_libraries": llama_versions(libdir),
        "llama_cpp_system_info": llama_info["system_info"],
        "cmake_args": a.cmake_args,
        "compiler": first_line(["gcc", "--version"]),
        "python": platform.python_version(),
    }
    noise = [(eng, k, r["noise"]) for eng in runs for k in runs[eng] for r in runs[eng][k]]
    doc = {
        "started": started.isoformat(), "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "machine_kind": kind, "machine": mach, "memory_bandwidth_gb_per_second": bw, "versions": versions,
        "architecture_in_file": arch, "llama_cpp_bitnet_architectures": archs, "files": file_info,
        "decode_bytes_per_token": decode_bytes, "graph_check": check, "kernels_used": kernels_used,
        "config": vars(a), "rows": rows, "anchor": ANCHOR, "raw": runs,
    }
    base.with_suffix(".json").write_text(json.dumps(doc, indent=1, default=str) + "\n")

    md = []
    md.append(f"# bitnet vs llama.cpp: {kind}, {date}\n")
    md.append(f"Generated by `scripts/compare_llamacpp.py` ({started:%Y-%m-%d %H:%M} UTC). Raw data: `{base.name}.json`.\n")
    md.append("## Machine\n")
    md.append(f"- CPU: {mach['cpu']}, {mach['cores']} cores, {mach['memory_bytes'] / 2**30:.1f} GiB memory, {mach['os']}/{mach['arch']}, kernel {mach.get('kernel', '')}")
    md.append(f"- Features (/proc/cpuinfo): {' '.join(mach['features'])}")
    md.append(f"- bitnet kernels available: {' '.join(mach['kernels_available'])}; **in use: {', '.join(kernels_used)}**")
    md.append(f"- llama.cpp build: `{llama_info['system_info']}`")
    md.append("- Memory read bandwidth (bitnet bench probe, 1 GiB, best of 5): " +
              ", ".join(f"{t} thread(s) {g:.1f} GB/s" for t, g in sorted(bw.items())))
    worst = max(n["other_load"] for _, _, n in noise)
    md.append(f"- Other processes' CPU load during the measurements: up to {worst:.2f} cores "
              "(per run in the JSON, `noise.other_load`); the machine is shared, so figures under load are low and noisy.\n")
    md.append("## Versions\n")
    for k, v in versions.items():
        md.append(f"- {k}: {', '.join(v) if isinstance(v, list) else v}")
    md.append("\n## The work\n")
    md.append(f"Random ternary weights of the BitNet b1.58 2B-4T shape (`{a.shape}`: hidden 2560, 30 layers, 20/5 heads, "
              "head 128, ffn 6912, vocab 128256), seed " + str(a.seed) + f", {', '.join(t.upper() for t in types)} linear layers, "
              f"{a.embed_type.upper()} token embedding, tied output head.")
    md.append(f"The file's architecture is `{arch}`: upstream llama.cpp has no `bitnet-b1.58` architecture "
              f"(bitnet names in its library: {', '.join(archs)}); its `bitnet` graph is BitNet b1.58 with SubLN and a "
              "SiLU gate (1bitLLM), which this engine runs identically, so both engines do the same work per token "
              "(2B-4T's squared-ReLU gate is the only difference and is elementwise).\n")
    ct, cf = check["tiny"], check[a.shape]
    md.append(f"Same-function check (last-position logits after {len(ct['tokens'])} tokens, both engines, same file): "
              f"on a `tiny` model of the same architecture and types (2 layers, GQA) the correlation is "
              f"{ct['correlation']:.4f}, argmax {ct['argmax_ours']} vs {ct['argmax_llamacpp']}, top-10 overlap "
              f"{ct['top10_overlap']}/10: the same graph. On the {a.shape} file it is {cf['correlation']:.3f} (top-10 overlap "
              f"{cf['top10_overlap']}/10): the engines quantize activations differently (bitnet per row, as BitNet b1.58 "
              "specifies; llama.cpp per 256-block, Q8_K), and the difference grows with the width and depth of a random "
              "network. The work per token is the same either way.\n")
    md.append("| file | bytes | sha256 | bytes read per decoded token |\n|---|---:|---|---:|")
    for k, f in file_info.items():
        md.append(f"| `{f['path']}` | {f['bytes']} | `{f['sha256'][:16]}…` | {decode_bytes[k] / 1e6:.1f} MB |")
    md.append("\nThe I2_S file is the same weights converted by `bitnet convert --type i2_s` (bitnet.cpp's packing, which "
              "llama.cpp does not read); its ratio is against llama.cpp on the TQ2_0 file.\n")
    md.append("## Results\n")
    md.append(f"Tokens per second, median (min-max) of {a.reps} runs x {a.rounds} round(s); each thread count runs "
              "llama.cpp, then bitnet on the same file, then bitnet on the I2_S file, back to back. ppN: N random "
              f"tokens in one batch in an empty cache; tgN: N greedy single-token steps after a {a.gen_prompt}-token "
              "prompt. Ratio = bitnet / llama.cpp (above 1: bitnet faster).\n")
    md.append(f"[busy X]: other processes used X cores (of {mach['cores']}) on average during that engine's run "
              f"(flagged above {BUSY}); such figures are low and noisy, and the ratios built on them are not to be trusted.\n")
    md.append("| threads | test | type | llama.cpp | bitnet | ratio | bitnet I2_S | ratio |\n|---:|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        f = lambda x: span(x, BUSY) if x else "-"
        g = lambda x: f"{x:.2f}" if x else "-"
        md.append(f"| {r['threads']} | {r['test']} | {r['type'].upper()} | {f(r['llama_cpp'])} | {f(r['bitnet'])} | "
                  f"**{g(r['ratio'])}** | {f(r['bitnet_i2_s'])} | **{g(r['ratio_i2_s'])}** |")
    fl = [r for r in rows if "floor_ms_per_token" in r]
    if fl:
        md.append("\nDecode floor: the bytes every token reads (linear layers + output head + one embedding row) over "
                  "the memory bandwidth measured at the same thread count; the fraction is floor / measured time per token.\n")
        md.append("| threads | type | floor ms/token | llama.cpp | bitnet | bitnet I2_S (floor ms) |\n|---:|---|---:|---:|---:|---:|")
        for r in fl:
            pct = lambda x: f"{100 * x:.0f} %" if x else "-"
            i2 = f"{pct(r.get('floor_fraction_bitnet_i2_s'))} ({r['floor_ms_per_token_i2_s']:.1f})" if "floor_ms_per_token_i2_s" in r else "-"
            md.append(f"| {r['threads']} | {r['type'].upper()} | {r['floor_ms_per_token']:.1f} | "
                      f"{pct(r['floor_fraction_llama_cpp'])} | {pct(r['floor_fraction_bitnet'])} | {i2} |")
    md.append("\nbitnet's other figures (first round), from `bitnet bench`:\n")
    md.append("| file | threads | kernels | load ms (warm) | ttft ms | RSS MiB | peak RSS MiB |\n|---|---:|---|---:|---:|---:|---:|")
    for k, rs in runs["bitnet"].items():
        for r in rs[: len(threads)]:
            for res in r["results"]:
                ttft = res.get("ttft_ms") or {}
                md.append(f"| {k.upper()} | {res['threads']} | {res['kernels']} | {res['load_ms']['median']:.1f} | "
                          f"{ttft.get('median', 0):.1f} | {res['rss_bytes'] / 2**20:.0f} | {res['peak_rss_bytes'] / 2**20:.0f} |")
    md.append(f"\nllama.cpp load (warm, mmap): {llama_info['load_ms']:.0f} ms. Anchor from docs/BENCHMARKS.md "
              f"(another machine of this kind, another day): {ANCHOR}.\n")
    md.append("## Commands\n")
    md.append("```")
    md.append("python3 " + " ".join(shlex.quote(x) for x in sys.argv))
    seen = set()
    for eng in runs:
        for k in runs[eng]:
            for r in runs[eng][k]:
                c = r["command"].replace(str(ROOT) + "/", "")
                if c not in seen:
                    seen.add(c)
                    md.append(c)
    md.append("```")
    base.with_suffix(".md").write_text("\n".join(md) + "\n")
    log(f"wrote {base}.md and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
