#!/bin/bash
# Session 3, end: the remaining trials of 2c-q500-p500 on two worker processes.
cd /work/main
export PYTHONPATH=/tmp/snap2/src
python -m fastlstm.experiments.cli 2c-q500-p500 --trials 20 --jobs 2 --no-progress --no-report --out results
echo STREAM-G-DONE
