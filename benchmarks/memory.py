"""Memory independent of sequence length: peak RSS when training on ONE sequence of
10^3 ... 10^6 steps, beside PyTorch BPTT on the same lengths.

    python benchmarks/memory.py [--max-torch-T 1000000]

Each measurement runs in a fresh subprocess and reports its peak resident set size
(ru_maxrss).  fastlstm feeds the sequence through a learning Stream in pieces of 10^4
steps (inputs generated piece by piece, target at the last step), so nothing of size T is
ever held; PyTorch (nn.LSTM(2, 4) + nn.Linear(4, 1), one thread) must keep every step's
activations for back-propagation through time.  Writes benchmarks/results/memory.json and
docs/memory.png.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

FASTLSTM = r"""
import resource, sys, numpy as np, fastlstm
T = int(sys.argv[1]); piece = 10_000
net = fastlstm.LSTM(2, 1, 2, 2, in_gate_bias=[-3, -6], seed=0)
rng = np.random.default_rng(0)
st = net.stream(learn=True, lr=0.5)
done = 0
while done < T:
    n = min(piece, T - done)
    x = rng.uniform(-1, 1, (n, 2))
    y = np.zeros((n, 1)); mask = np.zeros(n, bool)
    if done + n == T:
        mask[-1] = True; y[-1] = 0.5
    st.feed(x, y, mask)
    done += n
st.end()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

TORCH = r"""
import resource, sys, numpy as np, torch
torch.set_num_threads(1)
T = int(sys.argv[1])
lstm = torch.nn.LSTM(2, 4); head = torch.nn.Linear(4, 1)
opt = torch.optim.SGD(list(lstm.parameters()) + list(head.parameters()), lr=0.5)
x = torch.tensor(np.random.default_rng(0).uniform(-1, 1, (T, 1, 2)), dtype=torch.float32)
h, _ = lstm(x)
loss = 0.5 * ((torch.sigmoid(head(h[-1, 0])) - 0.5) ** 2).sum()
loss.backward(); opt.step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

BASELINE = r"""
import resource, numpy as np, fastlstm
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss_mb(code, T=None, timeout=1800):
    args = [sys.executable, "-c", code] + ([str(T)] if T is not None else [])
    out = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024.0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--max-torch-T", type=int, default=1_000_000)
    args = p.parse_args(argv)
    lengths = [10 ** 3, 10 ** 4, 10 ** 5, 10 ** 6]
    res = {"baseline_mb": peak_rss_mb(BASELINE), "fastlstm": {}, "torch": {},
           "command": "python benchmarks/memory.py " + " ".join(argv or sys.argv[1:])}
    print(f"python + numpy + fastlstm imported: {res['baseline_mb']:.1f} MB")
    for T in lengths:
        res["fastlstm"][T] = peak_rss_mb(FASTLSTM, T)
        print(f"fastlstm T = {T:>8}: peak RSS {res['fastlstm'][T]:8.1f} MB", flush=True)
    try:
        import torch  # noqa: F401
        for T in lengths:
            if T > args.max_torch_T:
                break
            res["torch"][T] = peak_rss_mb(TORCH, T)
            print(f"torch    T = {T:>8}: peak RSS {res['torch'][T]:8.1f} MB", flush=True)
    except ImportError:
        print("torch not installed: PyTorch column skipped (pip install torch==2.13.0)")
    f = res["fastlstm"]
    ratio = f[lengths[-1]] / f[lengths[0]]
    res["fastlstm_ratio_1e6_vs_1e3"] = ratio
    print(f"fastlstm peak RSS at 10^6 steps / at 10^3 steps: {ratio:.3f}")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "memory.json"), "w") as fh:
        json.dump(res, fh, indent=1)
    plot(res)


def plot(res):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, label in (("fastlstm", "fastlstm (truncated RTRL, streamed)"),
                        ("torch", "PyTorch nn.LSTM, BPTT")):
        pts = sorted((int(k), v) for k, v in res[name].items())
        if pts:
            ax.plot([k for k, _ in pts], [v for _, v in pts], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_xlabel("sequence length T (one sequence)")
    ax.set_ylabel("peak RSS of the process (MB)")
    ax.set_title("Memory vs sequence length")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    os.makedirs(os.path.join(ROOT, "docs"), exist_ok=True)
    fig.savefig(os.path.join(ROOT, "docs", "memory.png"), dpi=110)
    print("wrote docs/memory.png")


if __name__ == "__main__":
    main()
