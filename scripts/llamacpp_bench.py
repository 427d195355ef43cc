"""llama-bench-like measurements of llama.cpp through llama-cpp-python's
low-level API (run by compare_llamacpp.py with the Python of the venv that
holds llama-cpp-python; prints one JSON object).

The tests follow llama.cpp's tools/llama-bench: ppN decodes N random token
ids as one batch (n_batch 2048, n_ubatch 512, only the last token's logits
computed) in an emptied KV cache; tgN decodes N tokens one at a time after
an untimed prompt (here: greedy, each token the argmax of the previous
logits, like `bitnet bench`). One warm-up of each test runs first. The
same thread count serves prompt and generation (n_threads = n_threads_batch).
"""

import argparse
import ctypes
import json
import random
import statistics
import sys
import time

import numpy as np
import llama_cpp as L


def stats(xs):
    s = sorted(xs)
    return {
        "median": statistics.median(s),
        "min": s[0],
        "max": s[-1],
        "mean": statistics.fmean(s),
        "stddev": statistics.stdev(s) if len(s) > 1 else 0.0,
        "n": len(s),
        "values": list(xs),
    }


@L.llama_log_callback
def _quiet(level, text, user_data):  # drop llama.cpp's log lines
    pass


class Bench:
    def __init__(self, model, n_vocab, ctx):
        self.model, self.n_vocab, self.ctx = model, n_vocab, ctx
        self.mem = L.llama_get_memory(ctx)

    def decode(self, ids):
        arr = (L.llama_token * len(ids))(*ids)
        rc = L.llama_decode(self.ctx, L.llama_batch_get_one(arr, len(ids)))
        if rc != 0:
            raise RuntimeError(f"llama_decode returned {rc}")

    def argmax(self):
        p = L.llama_get_logits_ith(self.ctx, -1)
        logits = np.ctypeslib.as_array(p, shape=(self.n_vocab,))
        if not np.isfinite(logits).all():
            raise RuntimeError("llama.cpp produced non-finite logits")
        return int(logits.argmax())

    def clear(self):
        L.llama_memory_clear(self.mem, False)

    def prompt(self, ids):
        """Seconds of the prompt's decode, and until the first token."""
        self.clear()
        t0 = time.perf_counter()
        self.decode(ids)
        L.llama_synchronize(self.ctx)
        t1 = time.perf_counter()
        self.argmax()
        return t1 - t0, time.perf_counter() - t0

    def generate(self, prompt, n):
        """Seconds of n greedy single-token decodes after prompt."""
        self.clear()
        self.decode(prompt)
        tok = self.argmax()
        t0 = time.perf_counter()
        for _ in range(n):
            self.decode([tok])
            tok = self.argmax()
        return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", default="1")
    ap.add_argument("--prompts", default="128")
    ap.add_argument("--gen", type=int, default=128)
    ap.add_argument("--gen-prompt", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    threads = [int(x) for x in a.threads.split(",") if x]
    prompts = [int(x) for x in a.prompts.split(",") if x and int(x) > 0]
    rng = random.Random(a.seed)

    if not a.verbose:
        L.llama_log_set(_quiet, ctypes.c_void_p())
    L.llama_backend_init()
    mp = L.llama_model_default_params()
    mp.n_gpu_layers = 0
    t0 = time.perf_counter()
    model = L.llama_model_load_from_file(a.model.encode(), mp)
    load_s = time.perf_counter() - t0
    if not model:
        print(json.dumps({"error": f"llama.cpp could not load {a.model}"}))
        return 1
    vocab = L.llama_model_get_vocab(model)
    n_vocab = L.llama_vocab_n_tokens(vocab)
    desc = ctypes.create_string_buffer(256)
    L.llama_model_desc(model, desc, len(desc))
    out = {
        "engine": "llama.cpp",
        "llama_cpp_python": L.__version__,
        "system_info": L.llama_print_system_info().decode().strip(),
        "model": a.model,
        "model_desc": desc.value.decode(),
        "model_size": L.llama_model_size(model),
        "n_params": L.llama_model_n_params(model),
        "n_vocab": n_vocab,
        "load_ms": load_s * 1000,
        "results": [],
    }
    n_ctx = max(prompts + [a.gen_prompt + a.gen]) + 16
    for t in threads:
        cp = L.llama_context_default_params()
        cp.n_ctx = n_ctx
        cp.n_batch = max(2048, max(prompts, default=0))
        cp.n_ubatch = 512
        cp.n_threads = t
        cp.n_threads_batch = t
        cp.no_perf = True
        ctx = L.llama_init_from_model(model, cp)
        if not ctx:
            raise RuntimeError("llama_init_from_model failed")
        b = Bench(model, n_vocab, ctx)
        res = {"threads": t, "n_ctx": L.llama_n_ctx(ctx), "tests": []}
        for p in prompts:
            ids = lambda: [rng.randrange(n_vocab) for _ in range(p)]
            b.prompt(ids())  # warm-up
            tps, ttft = [], []
            for _ in range(a.reps):
                d, first = b.prompt(ids())
                tps.append(p / d)
                ttft.append(first * 1000)
                print(f"llama.cpp t={t} pp{p}: {tps[-1]:.2f} t/s", file=sys.stderr, flush=True)
            res["tests"].append({"name": f"pp{p}", "n_prompt": p, "n_gen": 0, "tokens_per_second": stats(tps), "ttft_ms": stats(ttft)})
        if a.gen > 0:
            prompt = lambda: [rng.randrange(n_vocab) for _ in range(a.gen_prompt)]
            b.generate(prompt(), 2)  # warm-up
            tps = []
            for _ in range(a.reps):
                d = b.generate(prompt(), a.gen)
                tps.append(a.gen / d)
                print(f"llama.cpp t={t} tg{a.gen}: {tps[-1]:.2f} t/s", file=sys.stderr, flush=True)
            res["tests"].append({"name": f"tg{a.gen}", "n_prompt": a.gen_prompt, "n_gen": a.gen, "tokens_per_second": stats(tps)})
        out["results"].append(res)
        L.llama_free(ctx)
    L.llama_model_free(model)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
