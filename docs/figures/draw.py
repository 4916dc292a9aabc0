"""Draw the figures of the user guide: one memory cell, a block, the on-line rule.

Run from the repository root (needs matplotlib, in the ``docs`` extra)::

    python docs/figures/draw.py

It writes ``cell.svg``, ``block.svg`` and ``online.svg`` beside this file.  The drawings use
the names of ``docs/model.md``.
"""
from __future__ import annotations

import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
plt.rcParams["svg.hashsalt"] = "fastlstm"      # stable ids: the same SVG on every run
plt.rcParams["font.size"] = 10

GATE = "#dbe8f6"
CELL = "#fbe6c8"
OUT = "#e2f0d9"
TRACE = "#f3dcef"


def box(ax, x, y, w, h, text, color, fs=10):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                                boxstyle="round,pad=0.02,rounding_size=0.08",
                                fc=color, ec="black", lw=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=fs)


def mult(ax, x, y, r=0.16):
    ax.add_patch(Circle((x, y), r, fc="white", ec="black", lw=1))
    ax.text(x, y, "x", ha="center", va="center", fontsize=11)


def arrow(ax, a, b, text=None, off=(0, 0.12), rad=0.0, style="-|>", ls="-", color="black"):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle=style, mutation_scale=11, lw=1,
                                 connectionstyle=f"arc3,rad={rad}", ls=ls, color=color))
    if text:
        ax.text((a[0] + b[0]) / 2 + off[0], (a[1] + b[1]) / 2 + off[1], text,
                ha="center", va="bottom", fontsize=9)


def canvas(w, h):
    fig, ax = plt.subplots(figsize=(w, h))
    ax.set_xlim(0, w)
    ax.set_ylim(0, h)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def save(fig, name):
    path = os.path.join(HERE, name)
    fig.savefig(path, bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return path


def draw_cell():
    """One memory cell c of block j with its input and output gate."""
    fig, ax = canvas(10, 4.2)
    ax.text(0.3, 2.0, "z(t)", fontsize=12, va="center")
    box(ax, 2.0, 2.0, 1.3, 0.7, "net_c = W_c z", CELL, 9)
    box(ax, 3.6, 2.0, 0.8, 0.7, "g", CELL)
    mult(ax, 4.7, 2.0)
    box(ax, 6.0, 2.0, 1.1, 0.9, "s_c\n(CEC)", CELL)
    box(ax, 7.3, 2.0, 0.8, 0.7, "h", CELL)
    mult(ax, 8.3, 2.0)
    ax.text(9.1, 2.0, "y_c(t)", fontsize=12, va="center")
    box(ax, 4.7, 3.5, 2.0, 0.65, "y_in = f(W_in z)", GATE, 9)
    box(ax, 8.3, 0.5, 2.1, 0.65, "y_out = f(W_out z)", GATE, 9)
    arrow(ax, (0.85, 2.0), (1.33, 2.0))
    arrow(ax, (2.67, 2.0), (3.2, 2.0))
    arrow(ax, (4.0, 2.0), (4.54, 2.0))
    arrow(ax, (4.86, 2.0), (5.43, 2.0))
    arrow(ax, (6.57, 2.0), (6.9, 2.0))
    arrow(ax, (7.7, 2.0), (8.14, 2.0))
    arrow(ax, (8.46, 2.0), (9.05, 2.0))
    arrow(ax, (4.7, 3.17), (4.7, 2.16))
    arrow(ax, (8.3, 0.83), (8.3, 1.84))
    arrow(ax, (0.6, 2.25), (3.7, 3.5), ls="--", color="grey")
    arrow(ax, (0.6, 1.75), (7.25, 0.5), ls="--", color="grey")
    # the constant error carousel: a self-connection of weight 1.0
    ax.add_patch(FancyArrowPatch((5.75, 2.46), (6.25, 2.46), arrowstyle="-|>",
                                 mutation_scale=11, lw=1.2,
                                 connectionstyle="arc3,rad=-1.6"))
    ax.text(6.0, 3.2, "weight 1.0", ha="center", fontsize=9)
    ax.text(6.0, 1.1, "s_c(t) = s_c(t-1) + y_in g(net_c)", ha="center", fontsize=9)
    return save(fig, "cell.svg")


def draw_block():
    """A block of S = 3 cells sharing one input gate and one output gate."""
    fig, ax = canvas(9, 5)
    ax.text(0.2, 2.5, "z(t)", fontsize=12, va="center")
    box(ax, 4.5, 4.5, 3.8, 0.6, "input gate: y_in_j  (one per block)", GATE, 9)
    box(ax, 4.5, 0.5, 3.8, 0.6, "output gate: y_out_j  (one per block)", GATE, 9)
    for i, y in enumerate((3.4, 2.5, 1.6)):
        c = ("c = jS", "c = jS + 1", "c = jS + 2")[i]
        box(ax, 4.5, y, 2.6, 0.6, f"cell {c}:  s_c, y_c", CELL, 9)
        arrow(ax, (0.8, 2.5), (3.18, y))
        arrow(ax, (5.8, y), (7.3, y))
        ax.text(7.4, y, "y_c", va="center")
        arrow(ax, (3.4, 4.2), (3.4, y + 0.3), ls=":", style="-", color="grey")
        arrow(ax, (5.6, 0.8), (5.6, y - 0.3), ls=":", style="-", color="grey")
    arrow(ax, (0.8, 2.7), (2.9, 4.5))
    arrow(ax, (0.8, 2.3), (2.9, 0.5))
    ax.text(4.5, -0.1, "the S cells of block j share its two gates", ha="center", fontsize=9)
    return save(fig, "block.svg")


def draw_online():
    """The on-line rule: what is carried from step to step, and what a target does."""
    fig, ax = canvas(11, 4.6)
    for k, t in enumerate(("t-1", "t", "t+1")):
        x = 1.9 + 3.6 * k
        box(ax, x, 3.7, 2.6, 0.65, f"forward step {t}:\ny_in, y_out, s, y_c, y_k", CELL, 8)
        box(ax, x, 2.3, 2.6, 0.75, "traces\ndS_c += g' y_in z\ndS_in += g f' z", TRACE, 8)
        arrow(ax, (x, 3.37), (x, 2.68))
        if k < 2:
            arrow(ax, (x + 1.3, 2.3), (x + 2.3, 2.3), "dS_c, dS_in, s", off=(0, 0.1))
            arrow(ax, (x + 1.3, 3.7), (x + 2.3, 3.7), "z(t+1)", off=(0, 0.1))
    x = 1.9 + 3.6
    box(ax, x, 0.6, 3.9, 0.75, "target at step t:  e_k, e_s, e_out\n"
        "dW_c = lr e_s dS_c,  dW_in = lr sum e_s dS_in", OUT, 8)
    arrow(ax, (x, 1.92), (x, 0.98))
    box(ax, x + 3.9, 0.6, 2.6, 0.75, "W += dW now\n(schedule \"step\"; used\nfrom step t+1 on)",
        GATE, 8)
    arrow(ax, (x + 1.95, 0.6), (x + 2.6, 0.6))
    ax.text(0.2, 4.35, "memory: O(C nz) traces, whatever the sequence length; "
            "work: O(1) per weight and step", fontsize=9)
    return save(fig, "online.svg")


def main(argv=None):
    for path in (draw_cell(), draw_block(), draw_online()):
        print(os.path.relpath(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
