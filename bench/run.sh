#!/usr/bin/env bash
# Builds the release backend, GitHub emulator and benchmarks, then runs them:
#
#   bench/run.sh                 # everything: verify, then auth_http pat jwks refresh
#   bench/run.sh verify [ARGS]   # RS256 sign/verify in-process only
#   bench/run.sh http [ARGS]     # auth_http only; ARGS go to it, e.g. `jwks -c 64,256 -d 10`
#   bench/run.sh prov [ARGS]     # prov_http only, e.g. `--cloud moto --clusters 0`
#   bench/run.sh orgs [ARGS]     # organizations only: request-to-target, pooled re-evaluation
#
# Figures are for the machine it runs on; bench/README.md records the last ones measured.
set -euo pipefail
cd "$(dirname "$0")/.."

# auth_http starts the sliderule-backend and github-emulator binaries next to itself, so all three
# come from one release build.
cargo build --release --locked -p sliderule-backend -p github-emulator -p sliderule-bench
bin="${CARGO_TARGET_DIR:-target}/release"

what="${1:-all}"
[ $# -gt 0 ] && shift
case "$what" in
  verify) "$bin/verify" "$@" ;;
  http) "$bin/auth_http" "$@" ;;
  prov) "$bin/prov_http" "$@" ;;
  orgs) "$bin/organizations" "$@" ;;
  all)
    # As bench/README.md's figures were measured: repeated, keeping the least disturbed run.
    "$bin/verify" --rounds 7
    echo
    "$bin/auth_http" --repeat 3
    echo
    "$bin/prov_http"
    echo
    "$bin/prov_http" --cloud moto --clusters 0 -c 1,16
    ;;
  *) echo "usage: bench/run.sh [all | verify [ARGS] | http [ARGS] | prov [ARGS]]" >&2; exit 2 ;;
esac
