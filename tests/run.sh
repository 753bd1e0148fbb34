#!/usr/bin/env bash
# Runs the whole test suite: every tests/**/*.test.ts file, listed explicitly because Node 20's
# test runner neither expands globs nor finds .ts files in a directory. Fails if no file is found
# or no test ran, and if any test failed.
#
# Files run NFT_SYNC_TEST_JOBS at a time (default 4; each file is its own process): most wait on
# namespaces, nft, git and timers rather than on the CPU, and each makes its own namespaces,
# ports, temp dirs and links (tests/helpers/). A file that cannot run beside others says so with
# a line `// tests/run.sh: serial (WHY)` in its header; those run one at a time afterwards.
# The files known to take longest start first, so the batch does not end waiting on one of them.
# At the end tests/file-times-reporter.mjs lists the slowest files, and the failed tests of all runs come last.
# Usage: tests/run.sh [unit|integration|e2e|FILE ...]  (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
suites=("$@"); [ ${#suites[@]} -gt 0 ] || suites=(unit integration e2e)
files=()
for s in "${suites[@]}"; do
  if [ -f "$s" ]; then files+=("$s"); continue; fi # a test file named as such
  [ -d "tests/$s" ] || continue
  while IFS= read -r f; do files+=("$f"); done < <(find "tests/$s" -name '*.test.ts' | sort)
done
if [ ${#files[@]} -eq 0 ]; then echo "tests/run.sh: no test files found in: ${suites[*]}" >&2; exit 1; fi

# Longest first (a name no longer found is skipped), then e2e, integration, the rest (unit).
# (Measured 2026-12-02 with tests/file-times-reporter.mjs; re-rank from its list when it changes.)
long=(
  tests/integration/agent/state/crash-safety.test.ts
  tests/e2e/cli.test.ts
  tests/integration/server/push/push-check-service.test.ts
  tests/integration/server/git/git-http.test.ts
  tests/integration/server/push/unvalidated-refs.test.ts
  tests/integration/shared/ruleset/minimal-transaction.property.test.ts
  tests/e2e/walkthrough.test.ts
)
ordered=()
for f in "${long[@]}"; do [[ " ${files[*]} " == *" $f "* ]] && ordered+=("$f"); done
for kind in e2e integration ''; do
  for f in "${files[@]}"; do
    [[ " ${ordered[*]} " == *" $f "* ]] && continue
    [[ -z $kind || $f == tests/$kind/* ]] && ordered+=("$f")
  done
done
parallel=(); serial=()
for f in "${ordered[@]}"; do
  if grep -q '^// tests/run.sh: serial' "$f"; then serial+=("$f"); else parallel+=("$f"); fi
done

reporter=tap; [ -t 1 ] && reporter=spec
run() { # CONCURRENCY FILE...
  local jobs=$1; shift
  # --test-timeout: a test that hangs fails after 10 minutes instead of holding the run (and CI)
  # until its own limit; the longest test here takes about 5 minutes under load.
  node --import tsx --test --test-concurrency="$jobs" --test-timeout=600000 \
    --test-reporter="$reporter" --test-reporter-destination=stdout \
    --test-reporter=./tests/file-times-reporter.mjs --test-reporter-destination=stderr "$@"
}
# The failed tests of both runs are named last: a CI summary may keep only the log's tail, and
# the serial run's output came after the list of the run side by side.
failures=$(mktemp)
trap 'rm -f "$failures"' EXIT
export NFT_SYNC_TEST_FAILURES=$failures
rc=0
if [ ${#parallel[@]} -gt 0 ]; then run "${NFT_SYNC_TEST_JOBS:-4}" "${parallel[@]}" || rc=$?; fi
if [ ${#serial[@]} -gt 0 ]; then run 1 "${serial[@]}" || rc=$?; fi
if [ -s "$failures" ]; then
  printf '\n%s failed:\n' "$(grep -c '^  [^ ]' "$failures")" >&2
  cat "$failures" >&2
fi
exit "$rc"
