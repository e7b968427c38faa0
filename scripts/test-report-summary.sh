#!/usr/bin/env bash
# Sums the surefire reports of every module (after `mvnw verify -Dmaven.test.failure.ignore=true`, which
# lets every module's tests run even when an earlier module's fail), prints each failing or erroring test
# class, and exits non-zero when there is any. Also fails when no report exists at all (nothing ran).
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
reports=(*/target/surefire-reports/TEST-*.xml)
if [ ${#reports[@]} -eq 0 ]; then
  echo "tests: no surefire reports found" >&2
  exit 1
fi
run=0 fail=0 err=0 skip=0 bad=()
for r in "${reports[@]}"; do
  # the <testsuite ...> element's counters
  head=$(grep -m1 -o '<testsuite [^>]*>' "$r")
  t=$(sed -n 's/.* tests="\([0-9]*\)".*/\1/p' <<<"$head")
  f=$(sed -n 's/.* failures="\([0-9]*\)".*/\1/p' <<<"$head")
  e=$(sed -n 's/.* errors="\([0-9]*\)".*/\1/p' <<<"$head")
  s=$(sed -n 's/.* skipped="\([0-9]*\)".*/\1/p' <<<"$head")
  run=$((run + ${t:-0})); fail=$((fail + ${f:-0})); err=$((err + ${e:-0})); skip=$((skip + ${s:-0}))
  if [ "${f:-0}" != 0 ] || [ "${e:-0}" != 0 ]; then
    bad+=("$(dirname "$(dirname "$(dirname "$r")")") $(basename "$r" .xml | sed 's/^TEST-//'): ${f:-0} failed, ${e:-0} errors")
  fi
done
echo "tests: ${run} run, ${fail} failed, ${err} errors, ${skip} skipped (${#reports[@]} classes)"
if [ ${#bad[@]} -gt 0 ]; then
  printf 'FAILED %s\n' "${bad[@]}" >&2
  exit 1
fi
