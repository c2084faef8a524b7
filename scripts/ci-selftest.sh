#!/usr/bin/env bash
# Proves that .ci/run cannot pass without running its stages: a failing stage must fail the run and stop it
# before any later stage. Runs .ci/run itself with every command replaced by `true` (ETCD_PAIR_CI_SELFTEST=dry),
# then once per stage with that stage's command replaced by `false`; then the stage runner on real failing
# commands. Takes a second or two; run by .ci/run (first stage) and by npm test (test/integration/ci.test.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
fail() {
  printf 'ci-selftest: %s\n' "$*" >&2
  exit 1
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# No chains on a stage line: under set -e a failure on the left of && or || does not stop the script.
if grep -nE '^[^#]*(&&|\|\|)' .ci/run >"$work/chains"; then
  fail ".ci/run chains commands with && or || (give each its own stage): $(cat "$work/chains")"
fi

started() { sed -n 's/^ci: stage \([^ ]*\) starts: .*/\1/p' "$1"; }

# Every stage passes: the run passes, and each stage printed its duration.
status=0
ETCD_PAIR_CI_SELFTEST=dry ./.ci/run 2>"$work/dry" || status=$?
[ "$status" -eq 0 ] || fail "a dry run of .ci/run exited $status:
$(cat "$work/dry")"
mapfile -t stages < <(started "$work/dry")
[ "${#stages[@]}" -ge 5 ] || fail "a dry run of .ci/run ran only ${#stages[@]} stages:
$(cat "$work/dry")"
for name in "${stages[@]}"; do
  grep -qE "^ci: stage $name passed in [0-9]+ s$" "$work/dry" || fail "stage $name printed no duration"
done

# Each stage fails in turn: the run fails, says which stage, and runs none after it.
for i in "${!stages[@]}"; do
  name=${stages[$i]}
  status=0
  ETCD_PAIR_CI_SELFTEST=dry ETCD_PAIR_CI_SELFTEST_FAIL=$name ./.ci/run 2>"$work/fail" || status=$?
  [ "$status" -ne 0 ] || fail "stage $name failed but .ci/run exited 0:
$(cat "$work/fail")"
  grep -qE "^ci: stage $name FAILED \(exit 1\) after [0-9]+ s" "$work/fail" || fail "stage $name's failure was not reported"
  ran=$(started "$work/fail" | tr '\n' ' ')
  expected=$(printf '%s\n' "${stages[@]:0:$((i + 1))}" | tr '\n' ' ')
  [ "$ran" = "$expected" ] || fail "stage $name failed, yet the stages run were: $ran(expected: $expected)"
done

# The runner itself, on real commands: a failing stage ends the script with its status before the next stage.
cat >"$work/run" <<SCRIPT
set -euo pipefail
. "$PWD/scripts/ci-stages.sh"
stage first true
stage second sh -c 'exit 7'
stage third touch "$work/third-ran"
SCRIPT
status=0
bash "$work/run" 2>"$work/real" || status=$?
[ "$status" -eq 7 ] || fail "a stage that exits 7 made the run exit $status"
[ ! -e "$work/third-ran" ] || fail "a stage ran after a failed one"
grep -qE '^ci: stage first passed in [0-9]+ s$' "$work/real" || fail "no duration for a passed stage"
grep -qE '^ci: stage second FAILED \(exit 7\) after [0-9]+ s' "$work/real" || fail "the failed stage was not named"

printf 'ci-selftest: ok (%d stages: each failure stops .ci/run before the next stage)\n' "${#stages[@]}" >&2
