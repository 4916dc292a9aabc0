#!/bin/bash
# Background reproduction run (cheapest rows first), one worker. Resumable: a trial whose
# JSON exists is skipped.  Uses a snapshot of the committed package (/tmp/snap) with the
# live experiments package symlinked in, because the working tree's extension was being
# rebuilt by a colleague.
cd /work/main
export PYTHONPATH=/tmp/snap/src
R="python -m fastlstm.experiments.cli"
O="--jobs 1 --no-progress --out results --notes docs/reproduction/notes.md"
$R adding-T100 3a-T100-N3 6a 3a-T100-N1 3b-T100-N3 3b-T100-N1 $O
$R 2c-q50-p50 2c-q100-p100 $O
$R reber --trials 6 $O
$R reber-3x2-lr0.5 reber-4x1-lr0.5 --ablation full-gradient --trials 3 --max-sequences 30000 $O
$R reber-3x2-lr0.5 --ablation sequence --trials 3 $O
$R 2a 2b --trials 3 --max-sequences 30000 $O
$R 2a --ablation sequence --trials 2 --max-sequences 30000 $O
$R 2c-q200-p200 --trials 5 $O
$R adding-T500 mult-T100-n140 3c-T100-N3 6b --trials 3 $O
$R 2c-q500-p500 mult-T100-n13 3c-T100-N1 --trials 3 $O
$R adding-T1000 3a-T1000-N3 3b-T1000-N1 2c-q1000-p50 2c-q1000-p100 2c-q1000-p200 2c-q1000-p500 2c-q1000-p1000 --trials 3 $O
