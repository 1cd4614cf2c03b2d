#!/usr/bin/env bash
# Create (once) sdk-tests/.venv and install requirements.txt into it.
# Idempotent: a venv whose installed requirements.txt matches is left alone.
# Usage: sdk-tests/setup-venv.sh        (from anywhere; PYTHON=... to choose the interpreter)
set -u -o pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
py="${PYTHON:-python3}"

die() { echo "setup-venv.sh: ERROR: $*" >&2; exit 1; }

command -v "$py" >/dev/null 2>&1 || die "'$py' not found (set PYTHON=/path/to/python3.11)"
"$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' \
    || die "$("$py" --version 2>&1) is too old; Python >= 3.9 is needed (3.11 is what requirements.txt was checked on)"
[ -f "$req" ] || die "missing $req"

want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
    rm -rf "$venv"
    "$py" -m venv "$venv" || die "'$py -m venv $venv' failed (on Debian: apt-get install python3-venv)"
fi

log="$(mktemp "${TMPDIR:-/tmp}/apigw-setup-venv.XXXXXX")"
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        --no-input -r "$req" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    rm -f "$stamp"
    die "pip install -r $req into $venv failed (last lines above; full log: $log)"
fi
rm -f "$log"

"$venv/bin/python" -c 'import huaweicloudsdkcore, huaweicloudsdkapig.v2, otcextensions.sdk, openstack, pytest, requests' \
    || { rm -f "$stamp"; die "packages installed but do not import (see above)"; }

echo "$want" > "$stamp"
