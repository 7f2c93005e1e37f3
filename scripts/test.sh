#!/usr/bin/env bash
# Runs every test: formatting, lints, all Rust tests, the release web build, and the browser
# tests in Chromium. Installs what is missing first (idempotent; quick when all is present).
source "$(dirname "$0")/lib/setup.sh"
started=$(date +%s)

ensure_web_tools
ensure_chromium
ensure_moto

cd "$ROOT"
step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (host, all targets)"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo clippy (web client, wasm32)"
cargo clippy -p sliderule-web --target wasm32-unknown-unknown --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked

build_web

step "browser tests (Playwright on Debian Chromium)"
cargo build --quiet -p sliderule-backend --locked
npx playwright test --config e2e/playwright.config.mjs

printf '\nall tests passed in %ds\n' "$(( $(date +%s) - started ))"
