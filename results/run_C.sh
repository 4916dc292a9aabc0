#!/bin/bash
# Session 3, stream C: the full-gradient ablation with the compiled BPTT (net.gradient) on
# the rows that miss.  The earlier numpy-BPTT trials (cap 30,000) are in
# results/_archive_numpy_full_gradient/.  One worker, nice 19.
cd /work/main
export PYTHONPATH=/tmp/snap2/src
R="nice -n 19 python -m fastlstm.experiments.cli"
O="--jobs 1 --no-progress --no-report --out results --ablation full-gradient"
$R reber-3x2-lr0.5 reber-4x1-lr0.5 --trials 10 $O
$R adding-T100 --trials 10 $O
$R 2c-q50-p50 2c-q100-p100 2c-q200-p200 --trials 5 $O
$R reber-3x2-lr0.1 reber-4x1-lr0.1 reber-3x2-lr0.2 --trials 5 $O
$R 6b --trials 3 $O
echo STREAM-C-DONE
