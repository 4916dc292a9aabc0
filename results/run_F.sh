#!/bin/bash
# Session 3, stream F: the first 3 trials of 2c-q500-p500 at its default cap, so that the
# row has them before the session ends (stream D continues the row later).
cd /work/main
export PYTHONPATH=/tmp/snap2/src
nice -n 19 python -m fastlstm.experiments.cli 2c-q500-p500 --trials 3 --jobs 1 --no-progress --no-report --out results
echo STREAM-F-DONE
