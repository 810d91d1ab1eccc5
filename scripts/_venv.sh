# Sourced by scripts/test and scripts/demo: create .venv on first use and install the project.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${OMS_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.oms-installed-${OMS_EXTRAS//,/-}"  # one per set of extras: demo, then test
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
    LOG="$VENV/install.log"
    echo "installing into $VENV (log: $LOG)" >&2
    if ! { "$VENV/bin/python" -m pip install --upgrade pip \
            && "$VENV/bin/python" -m pip install -e "$ROOT[$OMS_EXTRAS]"; } >"$LOG" 2>&1; then
        tail -n 40 "$LOG" >&2
        echo "error: installing the project failed; see $LOG" >&2
        exit 1
    fi
    touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
