#!/bin/bash
# Session 3, stream A: bring the cheap rows to the paper's trial counts. One worker, nice 19.
cd /work/main
export PYTHONPATH=/tmp/snap/src
R="nice -n 19 python -m fastlstm.experiments.cli"
O="--jobs 1 --no-progress --no-report --out results"
$R 2a 2b --trials 18 --max-sequences 30000 $O
$R 2c-q50-p50 2c-q100-p100 2c-q200-p200 --trials 20 $O
$R reber --trials 30 $O
$R 3a-T1000-N3 3c-T100-N1 mult-T100-n13 adding-T500 --trials 10 $O
echo STREAM-A-DONE
