#!/usr/bin/env python3
"""PyTorch baseline for the CUDA backend's kernel benchmark.

Times a batch-1 bf16 matrix-vector product (y = x W^T, x of 1 x cols) for
the BitNet b1.58 2B-4T shapes and the output head, the way gpubench times
the ternary kernels: device time per call from replaying a CUDA graph of
many calls, measured with torch.cuda.Event; "hot" repeats the same weights
(small matrices then sit in the L2 cache), "cold" rotates through copies
that together exceed the L2 cache four times. Also measures the
device-to-device copy bandwidth. Prints a table and, with --json, writes
the figures for `gpubench -torch FILE` (which prints the ratios).

Run on the GPU machine: python3 scripts/torch_baseline.py --json out.json
"""

import argparse
import json
import math
import sys

SHAPES = [(2560, 2560), (3840, 2560), (13824, 2560), (2560, 6912), (128256, 2560)]


def time_graph(torch, calls, reps=20):
    """Captures calls (a list of zero-argument functions) in one CUDA graph
    and returns (median, min, max) microseconds per call over reps replays."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for f in calls[:3]:  # warm-up outside the capture (cuBLAS setup)
            f()
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for f in calls:
            f()
    graph.replay()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) * 1000.0 / len(calls))
    times.sort()
    return times[len(times) // 2], times[0], times[-1]


def gemv(torch, rows, cols, l2_bytes):
    """Hot and cold bf16 GEMV timings of a rows x cols matrix."""
    nbytes = 2 * rows * cols
    copies = max(1, min(64, math.ceil(4 * l2_bytes / nbytes)))
    ws = [torch.randn(rows, cols, device="cuda", dtype=torch.bfloat16) for _ in range(copies)]
    x = torch.randn(1, cols, device="cuda", dtype=torch.bfloat16)
    y = torch.empty(1, rows, device="cuda", dtype=torch.bfloat16)

    def call(w):
        return lambda: torch.mm(x, w.t(), out=y)

    hot = time_graph(torch, [call(ws[0])] * 100)
    n = max(100, copies) if nbytes < 64 << 20 else max(10, copies)
    cold = time_graph(torch, [call(ws[i % copies]) for i in range(n)])
    del ws
    torch.cuda.empty_cache()
    return hot, cold, nbytes


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()
    try:
        import torch
    except ImportError as e:
        print(f"torch_baseline: PyTorch is not installed: {e}")
        return 1
    if not torch.cuda.is_available():
        print("torch_baseline: no CUDA device")
        return 1
    props = torch.cuda.get_device_properties(0)
    l2 = getattr(props, "L2_cache_size", 50 << 20) or (50 << 20)
    print(f"PyTorch {torch.__version__}, CUDA {torch.version.cuda}, {props.name}, "
          f"{props.multi_processor_count} SMs, L2 {l2 >> 20} MiB")
    out = {"device": props.name, "torch": torch.__version__, "gemv": {}}

    n = (1 << 30) // 2
    src = torch.ones(n, device="cuda", dtype=torch.bfloat16)
    dst = torch.empty_like(src)
    med, lo, hi = time_graph(torch, [lambda: dst.copy_(src)] * 5, reps=10)
    out["copy_gbs"] = 2 * (1 << 30) / (med * 1e3)
    print(f"device-to-device copy of 1 GiB: {out['copy_gbs']:.0f} GB/s (read+write)")
    del src, dst
    torch.cuda.empty_cache()

    print("\nbf16 GEMV, batch 1 (torch.mm x W^T; device time per call from CUDA-graph replay)")
    print(f"{'shape':<14}{'MiB':>8}  {'hot us (min, max)':<28}{'cold us (min, max)':<28}{'GB/s cold':>10}")
    status = 0
    for rows, cols in SHAPES:
        key = f"{rows}x{cols}"
        try:
            hot, cold, nbytes = gemv(torch, rows, cols, l2)
        except Exception as e:  # keep going: one failure must not hide the rest
            print(f"{key:<14} failed: {e}")
            status = 1
            continue
        out["gemv"][key] = {"hot_us": hot[0], "cold_us": cold[0]}
        print(f"{key:<14}{nbytes / 2**20:8.1f}  "
              f"{hot[0]:7.2f} ({hot[1]:.2f}, {hot[2]:.2f}){'':<8}"
              f"{cold[0]:7.2f} ({cold[1]:.2f}, {cold[2]:.2f}){'':<8}{nbytes / cold[0] / 1e3:10.0f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
        print(f"\nwrote {args.json}")
    return status


if __name__ == "__main__":
    sys.exit(main())
