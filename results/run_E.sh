#!/bin/bash
# Session 3, stream E: the 'swapped-squash' ablation (g and h as in the caption of the
# paper's Table 10) on rows that miss.  One worker, nice 19.
cd /work/main
export PYTHONPATH=/tmp/snap3/src
R="nice -n 19 python -m fastlstm.experiments.cli"
O="--jobs 1 --no-progress --no-report --out results --ablation swapped-squash"
$R reber-3x2-lr0.5 reber-4x1-lr0.5 --trials 10 $O
$R 2a-p100 2b-p100 --trials 5 --max-sequences 30000 $O
$R 2c-q100-p100 adding-T100 --trials 5 $O
echo STREAM-E-DONE
