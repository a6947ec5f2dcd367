#!/usr/bin/env bash
# The one test command: installs what the tests need, then runs them.
#
#   bash scripts/test.sh                 # everything
#   bash scripts/test.sh -m "not slow"   # extra arguments go to pytest
#   bash scripts/test.sh tests/test_cli.py -s   # named test files or folders run alone
#
# Environment:
#   PYTHON            interpreter to use (default: python, else python3; an active virtualenv wins)
#   GAN_DATA_DIR      dataset folder (default: ../shared/data beside the repository, when it exists)
#   GAN_SKIP_INSTALL  set to 1 to skip the pip and apt-get steps
#   GAN_TEST_WORKERS  pytest-xdist processes (default: one per core, at most 4; 0 or 1: one process).
#                     Torch's threads are shared out among them. Ignored when -n is given.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [ -n "${PYTHON:-}" ]; then
    py="$PYTHON"
elif command -v python >/dev/null 2>&1; then
    py=python
elif command -v python3 >/dev/null 2>&1; then
    py=python3
else
    echo "test.sh: no python found (set PYTHON=/path/to/python)" >&2
    exit 1
fi

if [ "${GAN_SKIP_INSTALL:-0}" != "1" ]; then
    echo "==> Installing Python requirements ($("$py" -c 'import sys; print(sys.executable)'))"
    pip_args=(--disable-pip-version-check)
    [ -n "${CI:-}" ] && pip_args+=(--progress-bar off)
    PIP_ROOT_USER_ACTION=ignore "$py" -m pip install "${pip_args[@]}" -r requirements-dev.txt

    # Playwright drives Debian's chromium; `playwright install` does not work here.
    if [ ! -x /usr/bin/chromium ]; then
        sudo=()
        [ "$(id -u)" = "0" ] || ! command -v sudo >/dev/null 2>&1 || sudo=(sudo)
        if ! command -v apt-get >/dev/null 2>&1; then
            echo "test.sh: /usr/bin/chromium is missing and there is no apt-get: browser tests will be skipped." >&2
        elif [ "$(id -u)" != "0" ] && [ ${#sudo[@]} -eq 0 ]; then
            echo "test.sh: /usr/bin/chromium is missing and neither root nor sudo is available;" >&2
            echo "         run 'apt-get install chromium' as root, or browser tests will be skipped." >&2
        else
            echo "==> Installing Debian chromium for the browser tests"
            "${sudo[@]}" apt-get update
            "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-liberation
        fi
    fi
fi

if [ -z "${GAN_DATA_DIR:-}" ] && [ -d "$root/../shared/data" ]; then
    GAN_DATA_DIR="$(cd "$root/../shared/data" && pwd)"
    export GAN_DATA_DIR
fi
export GRADIO_ANALYTICS_ENABLED=False
export HF_HUB_OFFLINE=1

# Test files or folders named on the command line run alone; otherwise the whole tests/ folder.
targets=(tests)
for arg in "$@"; do
    case "$arg" in tests/*) targets=() ;; esac
done
# Several processes with a thread or two each beat one process with every thread: these tests
# are small convolutions, which do not spread well over threads.
parallel=()
cores="$(nproc 2>/dev/null || echo 1)"
workers="${GAN_TEST_WORKERS:-$(( cores < 4 ? cores : 4 ))}"
case " $* " in *" -n "*|*" -n"[0-9]*|*" --numprocesses"*) workers=1 ;; esac
if [ "$workers" -gt 1 ] && "$py" -c "import xdist" 2>/dev/null; then
    parallel=(-n "$workers" --dist loadgroup)
    export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(( cores / workers > 1 ? cores / workers : 1 ))}"
fi
echo "==> Running ${targets[*]:-the named tests} (GAN_DATA_DIR=${GAN_DATA_DIR:-<unset>}${parallel:+, $workers workers})"
exec "$py" -m pytest "${parallel[@]}" "${targets[@]}" "$@"
