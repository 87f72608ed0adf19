#!/bin/sh
# Print the path of a Python >= 3.12 (Mesa >= 3.4 needs it), or fail with a clear message.
# Looks at $PYTHON, then python3.13/python3.12/python3 on PATH, then pyenv's versions.
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }
for cand in "${PYTHON:-}" python3.12 python3.13 python3; do
    [ -n "$cand" ] || continue
    p=$(command -v "$cand" 2>/dev/null) || continue
    if ok "$p"; then echo "$p"; exit 0; fi
done
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
# prefer 3.12 (the version every dependency was checked on), then newer ones
for p in $(ls -d "$root"/versions/3.12*/bin/python3 "$root"/versions/3.1[3-9]*/bin/python3 2>/dev/null); do
    if ok "$p"; then echo "$p"; exit 0; fi
done
echo "twinslice needs Python >= 3.12 (Mesa 3.5 requires it) and none was found." >&2
echo "Install one (e.g. 'pyenv install 3.12') or point PYTHON=/path/to/python3.12 at it." >&2
exit 1
