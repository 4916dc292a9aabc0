#!/usr/bin/env bash
# valgrind memcheck of the compiled core (docs/reliability.md).
#
#   tools/valgrind.sh            # exit status 0: no errors and no definite leaks
#
# The interpreter used here (a pyenv build without valgrind support) and numpy report
# uninitialised reads, glibc dl-load over-reads and import-time leaks of their own.  So
# the smoke script first runs on the numpy oracle (same script, same Python/numpy paths,
# no compiled kernel) with --gen-suppressions=all; those reports become the suppression
# file of the real run on the compiled net.  Whatever remains comes from the compiled
# core or the code paths only it uses.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=$(${PYTHON:-python3} -c 'import sys; print(sys.executable)')   # not a pyenv shim
OUT=${VALGRIND_OUT:-$(mktemp -d /tmp/fastlstm-valgrind.XXXXXX)}
export PYTHONMALLOC=malloc
VG=(valgrind --leak-check=full --errors-for-leak-kinds=definite --num-callers=40)

cd "$OUT"
"${VG[@]}" --gen-suppressions=all --log-file=baseline.log \
    "$PY" "$REPO/tools/valgrind_smoke.py" --backend oracle > /dev/null
# keep the suppression blocks { ... } of the baseline log
awk '/^\{/{on=1} on{print} /^\}/{on=0}' baseline.log > baseline.supp
echo "valgrind.sh: baseline (oracle) $(grep -c '^{' baseline.supp) suppressions"

set +e
"${VG[@]}" --error-exitcode=1 --suppressions=baseline.supp --log-file=compiled.log \
    "$PY" "$REPO/tools/valgrind_smoke.py"
rc=$?
set -e
grep -E "ERROR SUMMARY|definitely lost|indirectly lost" compiled.log | sed 's/^==[0-9]*== //'
if grep -qE "lstm97|fastlstm/_core" compiled.log; then
    echo "valgrind.sh: reports with a frame in fastlstm's compiled core:" >&2
    grep -nE "lstm97|fastlstm/_core" compiled.log | head -20 >&2
    rc=1
fi
echo "valgrind.sh: logs in $OUT (exit $rc)"
exit $rc
