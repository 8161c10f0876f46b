#!/usr/bin/env bash
# A user's fresh machine: a fresh clone, a fresh .venv and model cache, and the Debian tools (apertium, FreeDict,
# chromium) hidden from PATH. `make demo` must end with its dev-task table and exit 0.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap '[ -n "${KEEP_FRESH_DEMO:-}" ] || rm -rf "$work"' EXIT
echo "fresh-demo: working in $work"
git clone -q "$src" "$work/clone"
# PATH: every program this machine has, except the Debian tools the project treats as optional
mkdir -p "$work/bin"
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ -d "$d" ] || continue
  for f in "$d"/*; do
    n="$(basename "$f")"
    case "$n" in apertium*|lt-*|cg-*|hfst*|chromium*|chromedriver|dict|dictd*) continue ;; esac
    [ -x "$f" ] && [ ! -e "$work/bin/$n" ] && ln -s "$f" "$work/bin/$n"
  done
done
cd "$work/clone"
if PATH="$work/bin" command -v apertium >/dev/null; then echo "fresh-demo: apertium still on PATH" >&2; exit 1; fi
export SEAEMBED_HOME="$work/home"
PATH="$work/bin" make demo 2>&1 | tee "$work/demo.log"
grep -q "translate: SKIPPED" "$work/demo.log" || { echo "fresh-demo: no line said translation was skipped" >&2; exit 1; }
grep -q "^Dev tasks (main metric" "$work/demo.log" || { echo "fresh-demo: the demo printed no dev-task table" >&2; exit 1; }
echo "fresh-demo: make demo passed without the Debian tools"
