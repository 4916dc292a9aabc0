#!/bin/bash
# Session 3, stream B: rows rerun at their default (faithful) caps; the earlier trials with
# caps below the paper's means are in results/_archive_low_cap/. One worker, nice 19.
cd /work/main
export PYTHONPATH=/tmp/snap/src
R="nice -n 19 python -m fastlstm.experiments.cli"
O="--jobs 1 --no-progress --no-report --out results"
$R adding-T1000 --trials 3 $O
$R 2c-q1000-p50 2c-q1000-p100 2c-q1000-p200 2c-q1000-p500 2c-q1000-p1000 --trials 3 $O
$R 2c-q500-p500 --trials 20 $O
echo STREAM-B-DONE
