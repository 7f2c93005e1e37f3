#!/usr/bin/env bash
# Runs every test: formatting, lints, all Rust tests, the release web build, and the browser
# tests in Chromium. Installs what is missing first (idempotent; quick when all is present).
#
# Two cores do the work, so what waits on something else overlaps what keeps them busy: the
# downloaded tools install while the Rust tools and lints compile, and the release web build
# runs while the tests (mostly waiting on moto and on the backend) run.
source "$(dirname "$0")/lib/setup.sh"
started=$(date +%s)
logs="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT

step "installing the downloaded tools in the background (Chromium, openssl, moto, the Python venvs)"
(
  ensure_chromium
  ensure_openssl
  ensure_moto
  ensure_python_tools
  ensure_python_v2_tools
  ensure_cfn_lint
  ensure_schemathesis
) >"$logs/downloads.log" 2>&1 &
downloads=$!

ensure_web_tools

cd "$ROOT"
step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (host, all targets)"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo clippy (web client, wasm32)"
cargo clippy -p sliderule-web --target wasm32-unknown-unknown --locked -- -D warnings

wait_for "$downloads" "$logs/downloads.log" "installing the downloaded tools"

step "cfn-lint (every CloudFormation template under deploy/)"
find deploy -name '*.yaml' -print0 | xargs -0 "$LINT_VENV/bin/cfn-lint" --

# The backend binary the interop and browser tests start is the one this builds: a separate
# `cargo build -p sliderule-backend` would leave out the features the test builds unify in
# (the dev-dependencies') and so rebuild the AWS SDK a second time.
step "cargo test (building)"
cargo test --workspace --locked --no-run

step "building the web client (release) in the background, while the tests run"
build_web >"$logs/web.log" 2>&1 &
web=$!

step "cargo test"
cargo test --workspace --locked 2>&1 | tee "$logs/cargo-test.log"

step "interop tests (Python: PyJWT verifies our tokens; the official sliderule client works against us)"
SLIDERULE_BACKEND_BIN="$BACKEND_BIN" PYTHONDONTWRITEBYTECODE=1 \
  "$PY_VENV/bin/python" -m pytest -p no:cacheprovider -v tests/interop 2>&1 | tee "$logs/interop.log"

step "interop tests (Python: the v2-era official client, sliderule 4.20.0, against our v2 API)"
SLIDERULE_BACKEND_BIN="$BACKEND_BIN" PYTHONDONTWRITEBYTECODE=1 \
  "$V2_VENV/bin/python" -m pytest -p no:cacheprovider -v tests/interop/v2 2>&1 | tee "$logs/interop-v2.log"

step "interop tests (Node.js: the official @sliderule/sliderule client logs in against us)"
SLIDERULE_BACKEND_BIN="$BACKEND_BIN" \
  node --test --test-reporter=spec tests/interop/node/official-client.test.mjs 2>&1 \
  | tee "$logs/interop-node.log"

step "schemathesis (every operation of /openapi.json against the demo, as the demo organization's admin)"
SLIDERULE_BACKEND_BIN="$BACKEND_BIN" "$FUZZ_VENV/bin/python" tests/fuzz/run.py 2>&1 | tee "$logs/fuzz.log"

wait_for "$web" "$logs/web.log" "building the web client"

step "browser tests (Playwright on Debian Chromium)"
E2E_BACKEND="${E2E_BACKEND:-$BACKEND_BIN}" \
  npx playwright test --config e2e/playwright.config.mjs 2>&1 | tee "$logs/e2e.log"

# Only reached when everything passed (set -e): one closing line with the totals.
rust=$(grep -Eo 'test result: ok\. [0-9]+ passed' "$logs/cargo-test.log" | awk '{n += $4} END {print n + 0}')
python=$(cat "$logs/interop.log" "$logs/interop-v2.log" | grep -Eo '^=+ [0-9]+ passed' \
  | awk '{n += $2} END {print n + 0}')
nodejs=$(grep -Eo 'pass [0-9]+$' "$logs/interop-node.log" | tail -n1 | awk '{print $2 + 0}')
browser=$(grep -Eo '^ *[0-9]+ passed' "$logs/e2e.log" | awk '{n += $1} END {print n + 0}')
printf '\nRust tests: %d, Python interop tests: %d, Node.js interop tests: %d, browser tests: %d, in %ds\n' \
  "$rust" "$python" "$nodejs" "$browser" "$(( $(date +%s) - started ))"
grep -E '^schemathesis: ' "$logs/fuzz.log"
printf 'tests: %d passed, 0 failed\n' "$((rust + python + nodejs + browser))"
