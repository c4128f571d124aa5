#!/usr/bin/env bash
# The same tests on two revisions, side by side on this machine, each from an empty JAX
# compilation cache (as CI starts): wall time and CPU time of each, and their ratio.
#
#   bash bench/compare_suites.sh OLD_REV NEW_REV [WORKDIR]
#
# The tests run are OLD_REV's test files (those that exist in both revisions); the two suites
# run at the same time (pytest -n 2 each), so both see the same load. Each revision gets a git
# worktree and a virtual environment of its own under WORKDIR (default /tmp/ionjax-compare).
# Issue 22 (rule 6): e8158d4 (before the rebuild) against 4803e2f (after it).
set -euo pipefail
old=$1; new=$2; work=${3:-/tmp/ionjax-compare}
repo=$(git rev-parse --show-toplevel)
mkdir -p "$work"
for rev in "$old" "$new"; do
  dir="$work/$rev"
  [ -d "$dir" ] || git -C "$repo" worktree add -f -q "$dir" "$rev"
  [ -x "$dir/.venv/bin/python" ] || (cd "$dir" && python3 -m venv .venv &&
    .venv/bin/pip install -q -e ".[test]")
done
files=$(cd "$work/$old" && ls tests/test_*.py | while read -r f; do
  [ -f "$work/$new/$f" ] && echo "$f"; done | tr '\n' ' ')
run() {  # revision [cache folder] -> its log
  (cd "$work/$1" && env ${2:+IONJAX_CACHE_DIR=$2} /usr/bin/time -v .venv/bin/python -m pytest \
     -n 2 -p no:randomly -q $files > "$work/$1.log" 2>&1) || true
}
# the old tree's cache defaults to ~/.cache (warm from earlier runs): an empty folder instead;
# the new tree's tests make an empty one per process themselves (tests/conftest.py)
run "$old" "$(mktemp -d)" & run "$new" & wait
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) x $(nproc)"
for rev in "$old" "$new"; do
  echo "$rev: $(grep -E '[0-9]+ (passed|failed)' "$work/$rev.log" | tail -1)"
  grep -E 'User time|Elapsed' "$work/$rev.log" | sed 's/^\s*/    /'
done
wall() { grep 'Elapsed' "$work/$1.log" | awk -F': ' '{n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}'; }
cpu() { grep 'User time' "$work/$1.log" | awk -F': ' '{print $2}'; }
echo "new / old: wall $(python3 -c "print(round($(wall "$new") / $(wall "$old"), 2))"), CPU $(python3 -c "print(round($(cpu "$new") / $(cpu "$old"), 2))")"
