#!/usr/bin/env bash
# Install Autobahn|Testsuite (wstest, the websocket fuzzing server) into a Python 2.7
# virtualenv of its own: ${GUN_TEST_CACHE:-$HOME/.cache/gun-tests}/autobahn-venv.
#
# The package runs only on Python 2.7. The interpreter is taken from $GUN_PY27, else
# the newest pyenv 2.7.x, else python2.7 on PATH. Idempotent: does nothing when the
# virtualenv already imports the fuzzing server. Prints the wstest path at the end.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${GUN_TEST_CACHE:-$HOME/.cache/gun-tests}"
venv="$cache/autobahn-venv"
boot="$cache/autobahn-boot"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_PYTHON_VERSION_WARNING=1 PYTHONWARNINGS=ignore

check() {
    "$venv/bin/python" -c 'import autobahntestsuite.fuzzing, autobahn.twisted.websocket' >/dev/null 2>&1
}

if [ -x "$venv/bin/python" ] && check; then
    echo "autobahn: already installed in $venv"
    echo "$venv/bin/wstest"
    exit 0
fi

py27="${GUN_PY27:-}"
if [ -z "$py27" ]; then
    for cand in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/2.7.* 2>/dev/null | sort -V -r); do
        if [ -x "$cand/bin/python" ]; then py27="$cand/bin/python"; break; fi
    done
fi
if [ -z "$py27" ] && command -v python2.7 >/dev/null 2>&1; then
    py27="$(command -v python2.7)"
fi
if [ -z "$py27" ] || ! "$py27" -c 'import sys; assert sys.version_info[:2] == (2, 7)' 2>/dev/null; then
    echo "autobahn: no Python 2.7 found (set GUN_PY27); Autobahn|Testsuite needs it" >&2
    exit 1
fi
echo "autobahn: installing with $py27 into $venv"
start=$(date +%s)

rm -rf "$venv" "$boot"
mkdir -p "$cache"
# virtualenv 16.7.x is the last single-module virtualenv that runs on and creates 2.7 envs.
"$py27" -m pip install -q --target "$boot" 'virtualenv==16.7.12'
PYTHONPATH="$boot" "$py27" -m virtualenv -q "$venv"
"$venv/bin/python" -m pip install -q -r "$here/autobahn-requirements.txt"
rm -rf "$boot"

if ! check; then
    echo "autobahn: installed, but the fuzzing server does not import:" >&2
    "$venv/bin/python" -c 'import autobahntestsuite.fuzzing' >&2 || true
    exit 1
fi
echo "autobahn: installed in $(( $(date +%s) - start ))s"
echo "$venv/bin/wstest"
