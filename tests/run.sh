#!/usr/bin/env bash
# Runs the whole test suite: every tests/**/*.test.ts file, listed explicitly because Node 20's
# test runner neither expands globs nor finds .ts files in a directory. Fails if no file is found.
# Usage: tests/run.sh [unit|integration|e2e ...]  (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
suites=("$@"); [ ${#suites[@]} -gt 0 ] || suites=(unit integration e2e)
files=()
for s in "${suites[@]}"; do
  [ -d "tests/$s" ] || continue
  while IFS= read -r f; do files+=("$f"); done < <(find "tests/$s" -name '*.test.ts' | sort)
done
if [ ${#files[@]} -eq 0 ]; then echo "tests/run.sh: no test files found in: ${suites[*]}" >&2; exit 1; fi
exec node --import tsx --test --test-concurrency=1 "${files[@]}"
