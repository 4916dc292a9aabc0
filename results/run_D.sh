#!/bin/bash
# Session 3, stream D: the 2c q >= 500 rows at their default caps, beside stream B (which
# does q = 1000 with p = 50, 100, 200 after adding-T1000).  One worker, nice 19.
cd /work/main
export PYTHONPATH=/tmp/snap2/src
R="nice -n 19 python -m fastlstm.experiments.cli"
O="--jobs 1 --no-progress --no-report --out results"
$R 2c-q1000-p500 2c-q1000-p1000 --trials 3 $O
$R 2c-q500-p500 --trials 20 $O
echo STREAM-D-DONE
