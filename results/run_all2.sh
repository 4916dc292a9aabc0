#!/bin/bash
# Continuation of run_all.sh in a new order (after the 3a/3b protocol fix: fresh test
# sets at every check). Waits for the running reber command (PID $1) first.
cd /work/main
export PYTHONPATH=/tmp/snap/src
while kill -0 "$1" 2>/dev/null; do sleep 5; done
R="python -m fastlstm.experiments.cli"
O="--jobs 1 --no-progress --out results --notes docs/reproduction/notes.md"
$R 3a-T100-N3 3a-T100-N1 3b-T100-N3 3b-T100-N1 $O
$R reber-3x2-lr0.5 reber-4x1-lr0.5 --ablation full-gradient --trials 3 --max-sequences 30000 $O
$R reber-3x2-lr0.5 --ablation sequence --trials 3 $O
$R 2a 2b --trials 3 --max-sequences 30000 $O
$R 2a --ablation sequence --trials 2 --max-sequences 30000 $O
$R 2c-q200-p200 --trials 5 $O
$R 6b mult-T100-n140 3c-T100-N3 adding-T500 --trials 3 $O
$R 3c-T100-N1 mult-T100-n13 --trials 3 $O
$R 6b mult-T100-n140 3c-T100-N3 --trials 10 $O
$R 3a-T1000-N3 3b-T1000-N1 --trials 3 $O
$R 2c-q500-p500 2c-q1000-p1000 2c-q1000-p500 2c-q1000-p200 2c-q1000-p100 2c-q1000-p50 --trials 3 --max-sequences 50000 $O
$R adding-T1000 --trials 3 --max-sequences 1000000 $O
$R 2c-q50-p50 2c-q100-p100 --trials 20 $O
$R reber --trials 30 $O
