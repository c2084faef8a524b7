# shellcheck shell=bash
# The CI stage runner, sourced by .ci/run (and by scripts/ci-selftest.sh, which proves it stops a run).
#
#   stage NAME COMMAND [ARG...]
#
# runs COMMAND (a program, not a shell function: bash ignores `set -e` inside a function called on the left of
# `||`), prints the stage's name when it starts and its name and duration in seconds when it ends, and ends the
# whole run with the command's exit status when it fails, so no later stage runs. Put environment variables
# through env(1): `stage torture env TORTURE_CYCLES=4 npm run test:torture`. Never chain commands in one stage
# with && (a failure on the left of && does not stop a `set -e` script): give each its own stage.
#
# Only scripts/ci-selftest.sh sets these: ETCD_PAIR_CI_SELFTEST=dry runs `true` in place of every stage's command;
# ETCD_PAIR_CI_SELFTEST_FAIL=NAME runs `false` in place of stage NAME's.

CI_STAGE_TIMES=()

stage() {
  local name=$1
  shift
  local started=$SECONDS status=0
  printf 'ci: stage %s starts: %s\n' "$name" "$*" >&2
  if [ "${ETCD_PAIR_CI_SELFTEST_FAIL:-}" = "$name" ]; then
    set -- false
  elif [ "${ETCD_PAIR_CI_SELFTEST:-}" = dry ]; then
    set -- true
  fi
  "$@" || status=$?
  local took=$((SECONDS - started))
  if [ "$status" -ne 0 ]; then
    CI_STAGE_TIMES+=("$(printf '%-24s FAILED after %d s (exit %d)' "$name" "$took" "$status")")
    printf 'ci: stage %s FAILED (exit %d) after %d s; later stages do not run\n' "$name" "$status" "$took" >&2
    stage_summary
    exit "$status"
  fi
  CI_STAGE_TIMES+=("$(printf '%-24s %5d s' "$name" "$took")")
  printf 'ci: stage %s passed in %d s\n' "$name" "$took" >&2
}

# Prints every stage run so far with its duration.
stage_summary() {
  printf 'ci: stages (seconds):\n' >&2
  printf '  %s\n' "${CI_STAGE_TIMES[@]}" >&2
}
