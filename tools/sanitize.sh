#!/usr/bin/env bash
# Build fastlstm with AddressSanitizer + UndefinedBehaviorSanitizer in a separate virtual
# environment and run the kernel tests against that build.
#
#   tools/sanitize.sh                 # default test set (see TESTS below)
#   tools/sanitize.sh tests/test_api.py -k stream     # any pytest arguments
#
# The repository is copied to a scratch directory before building, so the in-place build
# (src/fastlstm/_core*.so, _core.c, build/) of the working tree is never touched.
# Environment: FASTLSTM_ASAN_VENV (default /tmp/fastlstm-asan-venv) is reused between runs;
# only fastlstm itself is rebuilt.  Exit status: that of pytest (UBSan is built with
# -fno-sanitize-recover, so any report aborts the process and fails the run).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
VENV=${FASTLSTM_ASAN_VENV:-/tmp/fastlstm-asan-venv}
PY=${PYTHON:-python3}

LIBASAN=$(gcc -print-file-name=libasan.so)
if [ ! -e "$LIBASAN" ]; then
    echo "sanitize.sh: libasan.so not found (gcc -print-file-name=libasan.so)" >&2
    exit 2
fi

# 1. a private copy of the sources (no build products)
SRC=$(mktemp -d /tmp/fastlstm-asan-src.XXXXXX)
trap 'rm -rf "$SRC"' EXIT
cp -r "$REPO/setup.py" "$REPO/pyproject.toml" "$REPO/README.md" "$REPO/LICENSE" "$REPO/csrc" "$REPO/src" \
    "$SRC/"
find "$SRC/src" \( -name '*.so' -o -name '__pycache__' -o -name '*.egg-info' \) -prune \
    -exec rm -rf {} +
rm -f "$SRC/src/fastlstm/_core.c"

# 2. the venv (created once) and a sanitized, non-editable install of fastlstm
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "$SRC[test]"
fi
FASTLSTM_SANITIZE=1 "$VENV/bin/pip" install --quiet --no-deps --force-reinstall \
    --no-cache-dir "$SRC"

# 3. check that the extension really is instrumented
PLATLIB=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['platlib'])")
SO=$(ls "$PLATLIB"/fastlstm/_core*.so 2>/dev/null | head -n 1 || true)
# (nm's output is read whole: with `grep -q` in a pipe, nm could die of SIGPIPE once grep
# has its match, and pipefail would then report a missing instrumentation)
SYMS=$([ -n "$SO" ] && nm -D "$SO" 2>/dev/null || true)
if [ -z "$SO" ] || ! grep -q '__asan_\|__ubsan_' <<< "$SYMS"; then
    echo "sanitize.sh: ${SO:-fastlstm/_core*.so} is not instrumented with ASan/UBSan" >&2
    exit 2
fi
echo "sanitize.sh: testing $SO"

# 4. the tests, run from /tmp so that `import fastlstm` is the venv's sanitized copy
if [ $# -eq 0 ]; then
    set -- "$REPO/tests/test_kernel_vs_oracle.py" "$REPO/tests/test_kernel_variants.py" \
           "$REPO/tests/test_core_boundary.py" "$REPO/tests/test_identities.py" \
           "$REPO/tests/test_architecture.py" "$REPO/tests/test_api.py" \
           "$REPO/tests/test_fuzz.py" "$REPO/tests/test_reliability.py" "$REPO/tests/test_batch.py" \
           "$REPO/tests/test_gradient.py" "$REPO/tests/test_sigmoid.py" "$REPO/tests/test_isa.py" \
           "$REPO/tests/test_state.py" "$REPO/tests/test_forward_batch.py"
else
    # relative test paths are relative to the repository
    args=()
    for a in "$@"; do
        if [ -e "$REPO/$a" ] && [ ! -e "/tmp/$a" ]; then args+=("$REPO/$a"); else args+=("$a"); fi
    done
    set -- "${args[@]}"
fi
cd /tmp
export LD_PRELOAD="$LIBASAN"
# Python's own allocations are not instrumented; leak checking at exit would report the
# interpreter's never-freed objects, so it is off (valgrind covers leaks: tools/valgrind.sh)
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export FASTLSTM_SANITIZED=1
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
