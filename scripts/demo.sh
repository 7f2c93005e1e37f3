#!/usr/bin/env bash
# Runs the SlideRule demo: builds the web client and starts everything on one origin at
# http://127.0.0.1:8080 (emulated GitHub, simulated cloud, no configuration needed).
# Extra arguments go to `sliderule-backend demo` (e.g. --bind 127.0.0.1:9000).
source "$(dirname "$0")/lib/setup.sh"

ensure_web_tools
build_web
step "starting the demo"
cd "$ROOT"
# The public cluster per-user node groups attach to (`sliderule` in their requests).
export SLIDERULE_PROVISIONER__PUBLIC_CLUSTER="${SLIDERULE_PROVISIONER__PUBLIC_CLUSTER:-public}"
exec cargo run --quiet -p sliderule-backend -- demo "$@"
