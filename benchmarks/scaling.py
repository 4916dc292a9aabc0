"""O(1) per weight: ns per weight-step of train_sequence from ~1e2 to ~1e6 weights.

    python benchmarks/scaling.py [--quick] [--dtype float64] [--isa all|best|1|2|3]
                                [--sweeps 1]
    python benchmarks/scaling.py --table
    python benchmarks/scaling.py --bandwidth
    python benchmarks/scaling.py --against OTHER/_core.so [--dtype float32] [--isa ...]
                                [--rounds 15]

Nets with I = K = 4 and block sizes S = 1, 2, 4; a target at every step, schedule "step",
one thread.  Writes benchmarks/results/scaling-<dtype>.json and docs/scaling.png (when
matplotlib is installed), and prints a table.  Achieved GFLOP/s is set against a
one-thread numpy GEMM of the same dtype (the machine's practical ceiling).

Each point is timed for every instruction-set level of the kernels the CPU supports
(1 baseline SSE2, 2 AVX2, 3 AVX-512; `--isa all`, the default), the levels interleaved in
each round and the minimum kept, so that their ratios are side by side; the plot shows the
best level.  `--sweeps N` runs the whole sweep N times and keeps each point's minimum:
the host's load changes over seconds, longer than one point takes, so that one sweep can
be slow throughout.  `--table` prints the performance page's table from the saved
float64 and float32 results.  The bytes a step moves are estimated from the loop
structure (the parameters read by the forward pass and read and written by the update,
the traces read and written): with the time per step they give the bandwidth a point
implies.  `--bandwidth` measures
instead the rate at which one thread streams float64 arrays of growing size (numpy's
a += b: two reads and one write per element) and writes benchmarks/results/bandwidth.json:
the ceiling those implied rates are set against.  `--against` times instead this build
of the kernels beside another build's `_core` extension (for example that of an earlier
commit, built in a scratch copy with `python setup.py build_ext --inplace`), on the nets
of S = 1, 2 from 10^3 to 10^5 weights: both called through `_core.train` on the same
buffers' copies, alternated within each round (the order swapped every round), the
median of 3 calls per round and the minimum over the rounds kept; it prints ns per
weight-step of both and their ratio and writes benchmarks/results/scaling-against-<dtype>.json.
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np

import fastlstm

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FUSE_MIN_NZ = 64      # csrc/lstm97_step_tuned.h: LSTM97_FUSE_MIN_NZ


def flops_per_step(net):
    """Floating-point operations of one training step with a target (multiply-adds = 2)."""
    R = net.B * (2 if "W_out" in net.params else 1) + net.C
    fwd = 2 * (R * net.nz + net.K * net.nu)
    traces = 2 * 2 * net.C * net.nz                  # dS_c, dS_in: one multiply-add each
    updates = 2 * 2 * net.C * net.nz + 2 * net.K * net.nu
    if "W_out" in net.params:
        updates += 2 * net.B * net.nz
    return fwd + traces + updates


def gemm_peak(dtype, n=1024, repeats=20):
    """GFLOP/s of a one-thread numpy matrix product (threadpoolctl limits the BLAS)."""
    from threadpoolctl import threadpool_limits
    a = np.random.default_rng(0).random((n, n)).astype(dtype)
    a @ a                                              # loads the BLAS
    best = float("inf")
    with threadpool_limits(1):
        for _ in range(repeats):
            t = time.perf_counter()
            a @ a
            best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


def bytes_per_step(net):
    """Estimated bytes one training step moves: every parameter read by the forward pass,
    then read and written by its update; the two trace rows of each cell (2 C nz values)
    read and written.  With rows of FUSE_MIN_NZ or more inputs the update pass of W_in,
    W_out and W_c also computes the next step's net inputs, so those rows are read once
    a step, not twice."""
    isz = net.dtype.itemsize
    gate_rows = net.B * (2 if "W_out" in net.params else 1)
    fused = (gate_rows + net.C) * net.nz if net.nz >= FUSE_MIN_NZ else 0
    return (3 * net.n_weights - fused) * isz + 2 * 2 * net.C * net.nz * isz


def measure(B, S, dtype, levels, repeats=11):
    """Min over `repeats` rounds of train_sequence's time at each ISA level (interleaved)."""
    from fastlstm import _core
    net = fastlstm.LSTM(4, 4, B, S, dtype=dtype, seed=0)
    W = net.n_weights
    T = int(min(2000, max(20, 2e7 / W / 10)))
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (T, 4))
    y = rng.uniform(0, 1, (T, 4))
    best = {lv: float("inf") for lv in levels}
    try:
        for lv in levels:                                # warm up
            _core.set_isa(lv)
            net.train_sequence(x, y, lr=1e-9)
        for _ in range(repeats):
            for lv in levels:
                _core.set_isa(lv)
                t = time.perf_counter()
                net.train_sequence(x, y, lr=1e-9)
                best[lv] = min(best[lv], time.perf_counter() - t)
    finally:
        _core.set_isa(0)
    trace_bytes = 2 * net.C * net.nz * net.dtype.itemsize
    by_isa = {str(lv): dict(seconds=b, ns_per_weight_step=b / (W * T) * 1e9,
                            gflops=flops_per_step(net) * T / b / 1e9,
                            gbytes_per_s=bytes_per_step(net) * T / b / 1e9)
              for lv, b in best.items()}
    top = by_isa[str(max(levels))]
    return dict(B=B, S=S, W=W, T=T, trace_bytes=trace_bytes,
                footprint_bytes=W * net.dtype.itemsize + trace_bytes,
                bytes_per_step=bytes_per_step(net), isa=max(levels), by_isa=by_isa,
                seconds=top["seconds"], ns_per_weight_step=top["ns_per_weight_step"],
                gflops=top["gflops"])


def load_core(path):
    """The `_core` extension module at `path` (another build), beside fastlstm._core."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("_core", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def compare(other, B, S, dtype, levels, rounds=15, inner=3):
    """Min over `rounds` of the median of `inner` calls of `_core.train` (schedule "step",
    a target at every step) for this build and `other`, alternated in each round, at each
    ISA level: {level: (ns per weight-step here, ns per weight-step of other)}."""
    from fastlstm import _core
    net = fastlstm.LSTM(4, 4, B, S, dtype=dtype, seed=0)
    W = net.n_weights
    T = int(min(2000, max(20, 2e7 / W / 10)))
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (T, 4)).astype(dtype)
    y = rng.uniform(0, 1, (T, 4)).astype(dtype)
    tmask = np.ones(T, np.uint8)
    builds = {"this": _core, "other": other}
    bufs = {k: (net._theta.copy(), np.empty((T, 4), dtype), np.zeros_like(net._state),
                np.zeros_like(net._work), np.zeros_like(net._theta)) for k in builds}

    def call(k):
        theta, out, state, work, dW = bufs[k]
        t = time.perf_counter()
        builds[k].train(net._dims, theta, net._mask, x, y, tmask, 1e-9, 0, out, state,
                        work, dW)
        return time.perf_counter() - t

    best = {(k, lv): float("inf") for k in builds for lv in levels}
    try:
        for lv in levels:
            for k, mod in builds.items():
                mod.set_isa(lv)
                call(k)                                  # warm up
        for r in range(rounds):
            for lv in levels:
                for k in (("this", "other") if r % 2 == 0 else ("other", "this")):
                    builds[k].set_isa(lv)
                    med = float(np.median([call(k) for _ in range(inner)]))
                    best[k, lv] = min(best[k, lv], med)
    finally:
        for mod in builds.values():
            mod.set_isa(0)
    return W, T, {lv: (best["this", lv] / (W * T) * 1e9, best["other", lv] / (W * T) * 1e9)
                  for lv in levels}


def main_against(path, dtype, levels, names, rounds=15):
    """The --against table: this build beside the build at `path`."""
    other = load_core(path)
    from fastlstm.experiments.report import machine_info
    blocks = {1: [12, 25, 50, 100], 2: [8, 16, 32, 64]}
    rows = []
    head = " ".join(f"{names[lv] + ' this':>12} {'other':>7} {'ratio':>6}" for lv in levels)
    print(f"{'S':>2} {'B':>4} {'weights':>9} {'T':>5} {head}   (ns per weight-step)")
    for S, bs in blocks.items():
        for B in bs:
            W, T, res = compare(other, B, S, dtype, levels, rounds)
            rows.append(dict(S=S, B=B, W=W, T=T, by_isa={
                str(lv): dict(this=a, other=b, ratio=b / a) for lv, (a, b) in res.items()}))
            cols = " ".join(f"{a:>12.3f} {b:>7.3f} {b / a:>6.2f}"
                            for a, b in (res[lv] for lv in levels))
            print(f"{S:>2} {B:>4} {W:>9} {T:>5} {cols}", flush=True)
    out = dict(dtype=dtype, other=os.path.basename(path), cpu=machine_info()["cpu"],
               isa_levels=levels, rows=rows,
               date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               command="python benchmarks/scaling.py " + " ".join(sys.argv[1:]))
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", f"scaling-against-{dtype}.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {path}")


def stream_bandwidth(kib=(32, 128, 512, 1024, 1536, 4096, 16384, 65536), rounds=7):
    """GB/s of numpy's a += b (float64, two reads and one write per element) for arrays a
    and b of `kib` KiB together, one thread: min over `rounds` of the time per call."""
    rows = []
    for k in kib:
        n = k * 1024 // 8 // 2
        a, b = np.ones(n), np.ones(n)
        reps = max(3, int(2e8 / (3 * 8 * n)))
        best = float("inf")
        for _ in range(rounds):
            t = time.perf_counter()
            for _ in range(reps):
                np.add(a, b, out=a)
            best = min(best, (time.perf_counter() - t) / reps)
        rows.append(dict(kib=k, gbytes_per_s=3 * 8 * n / best / 1e9))
        print(f"{k:>6} KiB  {rows[-1]['gbytes_per_s']:6.1f} GB/s", flush=True)
    return rows


def merge_min(a, b):
    """The point `a` with, at each ISA level, the faster of the two measurements."""
    by_isa = {lv: min(a["by_isa"][lv], b["by_isa"][lv], key=lambda r: r["seconds"])
              for lv in a["by_isa"]}
    top = by_isa[str(a["isa"])]
    return dict(a, by_isa=by_isa, seconds=top["seconds"],
                ns_per_weight_step=top["ns_per_weight_step"], gflops=top["gflops"])


def markdown_table():
    """docs/performance.md's table from results/scaling-float64.json and -float32.json."""
    runs = []
    for dtype in ("float64", "float32"):
        with open(os.path.join(HERE, "results", f"scaling-{dtype}.json")) as f:
            runs.append(json.load(f))
    f64, f32 = runs
    names = {"1": "baseline", "2": "AVX2", "3": "AVX-512"}
    levels = [str(lv) for lv in f64["isa_levels"]]
    head = [f"{d} {names[lv]}" for d in ("f64", "f32") for lv in levels]
    lines = ["| S | B | weights | " + " | ".join(head) + " | footprint f64 | GB/s f64 |",
             "|---" * (5 + len(head)) + "|"]
    for a, b in zip(f64["rows"], f32["rows"]):
        cells = [f"{r['by_isa'][lv]['ns_per_weight_step']:.2f} "
                 f"({100 * r['by_isa'][lv]['gflops'] / run['gemm_gflops']:.0f}%)"
                 for r, run in ((a, f64), (b, f32)) for lv in levels]
        lines.append(f"| {a['S']} | {a['B']} | {a['W']:,} | " + " | ".join(cells) +
                     f" | {a['footprint_bytes'] / 1024:,.0f} KiB"
                     f" | {a['by_isa'][levels[-1]]['gbytes_per_s']:.0f} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    p.add_argument("--quick", action="store_true", help="a few sizes only")
    p.add_argument("--bandwidth", action="store_true",
                   help="measure one thread's streaming bandwidth instead")
    p.add_argument("--isa", default="all",
                   help="ISA levels to time: all (every level the CPU supports, the "
                        "default), best, or one of 1, 2, 3")
    p.add_argument("--against", metavar="SO",
                   help="time this build beside the _core extension at SO (ratios)")
    p.add_argument("--rounds", type=int, default=15, help="rounds of --against")
    p.add_argument("--sweeps", type=int, default=1,
                   help="run the whole sweep this many times and keep each point's "
                        "minimum (the GEMM reference: the maximum)")
    p.add_argument("--table", action="store_true",
                   help="print the performance page's markdown table from the saved "
                        "float64 and float32 results instead of measuring")
    args = p.parse_args(argv)
    from fastlstm import _core
    from fastlstm.experiments.report import machine_info
    if args.sweeps < 1:
        p.error(f"--sweeps: expected a positive count, got {args.sweeps}")
    if args.table:
        print(markdown_table())
        return
    if args.bandwidth:
        out = dict(rows=stream_bandwidth(), cpu=machine_info()["cpu"],
                   date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                   command="python benchmarks/scaling.py --bandwidth")
        os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
        path = os.path.join(HERE, "results", "bandwidth.json")
        with open(path, "w") as f:
            json.dump(out, f, indent=1)
        print(f"wrote {path}")
        return
    cpu = _core.cpu_isa()
    if args.isa == "all":
        levels = list(range(1, cpu + 1))
    elif args.isa == "best":
        levels = [cpu]
    elif args.isa in ("1", "2", "3") and int(args.isa) <= cpu:
        levels = [int(args.isa)]
    else:
        p.error(f"--isa: expected all, best or a level <= {cpu}, got {args.isa}")
    names = {1: "base", 2: "avx2", 3: "avx512"}
    if args.against:
        main_against(args.against, args.dtype, levels, names, args.rounds)
        return
    blocks = {1: [3, 6, 12, 25, 50, 100, 200, 330], 2: [2, 4, 8, 16, 32, 64, 128, 240],
              4: [1, 2, 4, 8, 16, 32, 64, 160]}
    if args.quick:
        blocks = {S: b[::3] for S, b in blocks.items()}
    peak, rows = 0.0, None
    for sweep in range(args.sweeps):
        peak = max(peak, gemm_peak(args.dtype))
        new = [measure(B, S, args.dtype, levels) for S, bs in blocks.items() for B in bs]
        rows = new if rows is None else [merge_min(a, b) for a, b in zip(rows, new)]
        if args.sweeps > 1:
            print(f"sweep {sweep + 1} of {args.sweeps} done", flush=True)
    print(f"one-thread numpy GEMM ({args.dtype}): {peak:.1f} GFLOP/s")
    head = " ".join(f"{'ns ' + names[lv]:>10} {'%pk':>5}" for lv in levels)
    print(f"{'S':>2} {'B':>4} {'weights':>9} {'T':>5} {head} {'GB/s':>6} {'footprint':>10}")
    for r in rows:
        cols = " ".join(f"{r['by_isa'][str(lv)]['ns_per_weight_step']:>10.3f} "
                        f"{100 * r['by_isa'][str(lv)]['gflops'] / peak:>4.1f}%"
                        for lv in levels)
        print(f"{r['S']:>2} {r['B']:>4} {r['W']:>9} {r['T']:>5} {cols} "
              f"{r['by_isa'][str(max(levels))]['gbytes_per_s']:>6.1f} "
              f"{r['footprint_bytes'] / 1024:>9.0f}K", flush=True)
    out = dict(dtype=args.dtype, gemm_gflops=peak, machine=platform.processor() or
               platform.machine(), cpu=machine_info()["cpu"], cpu_count=os.cpu_count(),
               python=sys.version.split()[0], numpy=np.__version__, isa_levels=levels,
               date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), rows=rows,
               command="python benchmarks/scaling.py " + " ".join(argv or sys.argv[1:]))
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", f"scaling-{args.dtype}.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {path}")
    plot()


def plot():
    """docs/scaling.png from every results/scaling-*.json present."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot (pip install fastlstm[bench])")
        return
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for dtype, style in (("float64", "-"), ("float32", "--")):
        path = os.path.join(HERE, "results", f"scaling-{dtype}.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            data = json.load(f)
        for S in sorted({r["S"] for r in data["rows"]}):
            rs = [r for r in data["rows"] if r["S"] == S]
            ax.plot([r["W"] for r in rs], [r["ns_per_weight_step"] for r in rs], style,
                    marker="o", label=f"S = {S}, {dtype}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("weights W")
    ax.set_ylabel("ns per weight-step (train_sequence, one thread)")
    ax.set_title("fastlstm: cost per weight per step (O(1) per weight)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    os.makedirs(os.path.join(ROOT, "docs"), exist_ok=True)
    fig.tight_layout()
    fig.savefig(os.path.join(ROOT, "docs", "scaling.png"), dpi=110)
    print("wrote docs/scaling.png")


if __name__ == "__main__":
    main()
