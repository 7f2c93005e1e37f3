# Idempotent installers shared by scripts/demo.sh and scripts/test.sh. Source it; each
# ensure_* function returns at once when its tool is already there, so warm runs are quick.
#
# Versions are pinned where a mismatch breaks the build (see ../shared/spec/operations.md,
# "Toolchain facts"): Trunk 0.21.14 (0.22 needs a newer rustc), wasm-bindgen-cli equal to the
# wasm-bindgen in Cargo.lock, wasm-opt from npm binaryen 132 (Debian's 108 breaks the app).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS_CACHE="${SRDEV_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sliderule-dev}"
TRUNK_VERSION="0.21.14"
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true TRUNK_OFFLINE=true
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

# Each step says how long the script has run, so a slow run's log shows where the time went.
step() { printf '\n==> [%dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }
# wait_for PID LOG WHAT: waits for a step run in the background, shows its output, and stops
# the script, naming the step, if it failed.
wait_for() {
  local status=0
  wait "$1" || status=$?
  cat "$2"
  if [ "$status" != 0 ]; then
    printf '\nfailed: %s (exit %d)\n' "$3" "$status" >&2
    exit "$status"
  fi
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_wasm_target() {
  rustup target list --installed | grep -qx wasm32-unknown-unknown && return 0
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
}

# The two build tools are installed unoptimised: they spend their time waiting for cargo and
# wasm-opt, so a web build takes the same 12-14 s either way, while installing them optimised
# took 6 and 2.5 minutes on two cores (2.5 and 1 unoptimised). Cargo's environment settings
# beat the manifest's profile (Trunk's asks for fat LTO in one codegen unit).
install_unoptimised() {
  CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo install --force "$@"
}

ensure_trunk() {
  if trunk --version 2>/dev/null | grep -q "$TRUNK_VERSION"; then return 0; fi
  step "installing Trunk $TRUNK_VERSION (about 3 minutes, once)"
  install_unoptimised trunk --version "$TRUNK_VERSION" --locked
}

wasm_bindgen_version() {
  grep -A1 '^name = "wasm-bindgen"$' "$ROOT/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p'
}

ensure_wasm_bindgen() {
  local version
  version="$(wasm_bindgen_version)"
  if wasm-bindgen --version 2>/dev/null | grep -q "$version"; then return 0; fi
  step "installing wasm-bindgen-cli $version (about a minute, once)"
  # Not --locked: one of its locked dependencies is missing from the registry.
  install_unoptimised wasm-bindgen-cli --version "$version"
}

ensure_node_packages() {
  # npm ci is quick from npm's cache, but skip it when the lock file has not changed.
  local stamp="$ROOT/node_modules/.package-lock.json"
  if [ -f "$stamp" ] && cmp -s "$ROOT/package-lock.json" "$ROOT/node_modules/.sliderule-lock"; then
    return 0
  fi
  step "installing npm packages (wasm-opt, Playwright, the official SlideRule Node.js client)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$ROOT/package-lock.json" "$ROOT/node_modules/.sliderule-lock"
}

ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then return 0; fi
  step "installing Chromium from Debian"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
}

# The Node.js interop test makes its throw-away CA with the openssl command.
ensure_openssl() {
  if command -v openssl >/dev/null; then return 0; fi
  step "installing openssl from Debian"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq openssl >/dev/null
}

MOTO_VENV="$TOOLS_CACHE/moto-venv"
ensure_moto() {
  if [ -x "$MOTO_VENV/bin/moto_server" ]; then return 0; fi
  step "installing moto (the AWS emulator) into $MOTO_VENV"
  python3 -m venv "$MOTO_VENV"
  "$MOTO_VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5.2,<6'
}
export MOTO_SERVER="$MOTO_VENV/bin/moto_server"

# The Python interoperability tests (tests/interop/) get a venv of their own rather than moto's:
# their exact pins and moto's ranges then never have to agree, and a change of the requirements
# file reinstalls only these. The stamp is the hash of the requirements file last installed.
PY_VENV="$TOOLS_CACHE/py-venv"
PY_REQUIREMENTS="$ROOT/tests/interop/requirements.txt"
ensure_python_tools() {
  ensure_venv "$PY_VENV" "$PY_REQUIREMENTS" "the Python test tools (PyJWT, pytest, sliderule)"
}

# The v2-era official client (sliderule 4.20.0, tests/interop/v2/) cannot share a venv with 5.x:
# it gets its own, with its own requirements file.
V2_VENV="$TOOLS_CACHE/py-v2-venv"
V2_REQUIREMENTS="$ROOT/tests/interop/v2/requirements.txt"
ensure_python_v2_tools() {
  ensure_venv "$V2_VENV" "$V2_REQUIREMENTS" "the v2-era Python client tests (pytest, sliderule 4.20.0)"
}

# cfn-lint (PyPI), which checks every CloudFormation template under deploy/, in a venv of its own.
LINT_VENV="$TOOLS_CACHE/cfn-lint-venv"
LINT_REQUIREMENTS="$ROOT/deploy/requirements-lint.txt"
ensure_cfn_lint() {
  ensure_venv "$LINT_VENV" "$LINT_REQUIREMENTS" "cfn-lint"
}

# schemathesis (PyPI), which fuzzes every operation of /openapi.json (tests/fuzz/), in its own venv.
FUZZ_VENV="$TOOLS_CACHE/schemathesis-venv"
FUZZ_REQUIREMENTS="$ROOT/tests/fuzz/requirements.txt"
ensure_schemathesis() {
  ensure_venv "$FUZZ_VENV" "$FUZZ_REQUIREMENTS" "schemathesis"
}

# ensure_venv VENV REQUIREMENTS WHAT: VENV has exactly REQUIREMENTS installed. The stamp is the
# hash of the requirements file last installed, so a change of the file reinstalls.
ensure_venv() {
  local venv="$1" requirements="$2" what="$3" stamp="$1/.requirements.sha256" wanted
  wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
    return 0
  fi
  step "installing $what into $venv"
  # --clear only when the venv is unusable (e.g. its Python was upgraded away); a changed
  # requirements file installs over the existing venv, which is quicker.
  if [ ! -x "$venv/bin/python" ]; then python3 -m venv --clear "$venv"; fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  printf '%s\n' "$wanted" >"$stamp"
}

# The debug backend that cargo builds, which the Python and browser tests start.
BACKEND_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/sliderule-backend"

ensure_web_tools() {
  ensure_wasm_target
  ensure_trunk
  ensure_wasm_bindgen
  ensure_node_packages
}

# Builds the web client into dist/ with the wasm-release profile and wasm-opt, and prints sizes.
build_web() {
  step "building the web client (release)"
  (cd "$ROOT" && trunk build --release --offline >/dev/null)
  report_web_size
}

report_web_size() {
  local wasm raw gz total total_gz
  wasm="$(ls "$ROOT"/dist/*.wasm | head -n1)"
  raw=$(wc -c <"$wasm")
  gz=$(gzip -9 -c "$wasm" | wc -c)
  total=$(cat "$ROOT"/dist/* 2>/dev/null | wc -c)
  total_gz=0
  for f in "$ROOT"/dist/*; do
    [ -f "$f" ] && total_gz=$((total_gz + $(gzip -9 -c "$f" | wc -c)))
  done
  printf 'web client: %s %d bytes raw, %d bytes gzip; all of dist/: %d bytes raw, %d bytes gzip\n' \
    "$(basename "$wasm")" "$raw" "$gz" "$total" "$total_gz"
}
