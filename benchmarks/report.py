"""Print the README performance table from a pytest-benchmark JSON file.

    python benchmarks/report.py benchmarks/results/latest.json [--strip]

--strip rewrites the JSON without pytest-benchmark's raw per-round timings (stats.data),
which make up nearly all of its size; every summary statistic stays.

For each group: the fastest (min) and mean time per call, the min per sequence (a call of
batch benchmarks trains several), ns per weight-step (min time /
(weights x T)) and the ratio of every case to the fastest one in that group, on min
times (all measured in one run; the min is the robust figure on a shared, noisy machine).
"""
import json
import sys


def main(path, strip=False):
    with open(path) as f:
        data = json.load(f)
    if strip:
        for b in data["benchmarks"]:
            b["stats"].pop("data", None)
        with open(path, "w") as f:
            json.dump(data, f, indent=1)
    mi = data.get("machine_info", {})
    print(f"Machine: {mi.get('cpu', {}).get('brand_raw', '?')}, {mi.get('cpu_count')} cores, "
          f"Python {mi.get('python_version')}, numpy {mi.get('numpy')}; "
          f"run {data.get('datetime', '?')}\n")
    groups = {}
    for b in data["benchmarks"]:
        groups.setdefault(b["group"], []).append(b)
    print("| benchmark | case | min time | mean time | min per sequence | ns / weight-step "
          "| vs fastest |")
    print("|---|---|---|---|---|---|---|")
    for group, items in groups.items():
        best = min(b["stats"]["min"] for b in items)
        for b in sorted(items, key=lambda b: b["stats"]["min"]):
            low, mean = b["stats"]["min"], b["stats"]["mean"]
            ws = b.get("extra_info", {}).get("weight_steps")
            nsws = f"{low / ws * 1e9:.2f}" if ws else "-"
            case = b["name"].split("[", 1)[-1].rstrip("]")
            per_seq = fmt(low / b.get("extra_info", {}).get("sequences_per_call", 1))
            print(f"| {group} | {case} | {fmt(low)} | {fmt(mean)} | {per_seq} | {nsws} | "
                  f"{low / best:.2f}x |")


def fmt(sec):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if sec >= scale:
            return f"{sec / scale:.3g} {unit}"
    return f"{sec:.3g} s"


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--strip"]
    main(args[0] if args else "benchmarks/results/latest.json", strip="--strip" in sys.argv[1:])
