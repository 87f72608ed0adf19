#!/bin/sh
# Make the visual-server browser test runnable: Debian's chromium (apt) and Solara's front-end
# assets (packed from the npm registry; Solara would fetch them from a CDN, unreachable here).
# Safe to re-run; each step is skipped when already done.
PY=${1:-.venv/bin/python}
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing chromium (apt)"
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
            || echo "warning: could not install chromium; the browser test will be skipped" >&2
    else
        echo "warning: chromium not found and cannot apt-get it; the browser test will be skipped" >&2
    fi
fi
if [ -f visualization/assets.py ]; then "$PY" -m visualization.assets || true; fi
