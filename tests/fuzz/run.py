"""Fuzzes the service from its own OpenAPI document with schemathesis.

Starts a demo backend (simulated cloud without delays, sign-in rate limits raised so the fuzzer
reaches the handlers), signs in as the demo organization's admin through the device flow (an
owner token reaches every provisioner operation), then runs schemathesis on every operation of
/openapi.json with the checks schemathesis.toml names (not_a_server_error,
status_code_conformance, response_schema_conformance, content_type_conformance). Prints the number of operations and generated
cases; exits non-zero when schemathesis finds anything.

Run with the venv of tests/fuzz/requirements.txt:
    SLIDERULE_BACKEND_BIN=target/debug/sliderule-backend $VENV/bin/python tests/fuzz/run.py
"""

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Raised so generated sign-ins reach the handlers instead of the per-address limit.
CONFIG = """
[authenticator]
rate_limit_burst = 1000000
rate_limit_per_sec = 1000000
"""


def post(base: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read()
    return json.loads(raw) if raw else {}


def owner_token(base: str) -> str:
    """alice (the demo organization's admin) through the device flow: an owner's token."""
    started = post(base, "/auth/github/device", {})
    post(base, "/_github/_emulator/device/approve",
         {"user_code": started["user_code"], "login": "alice"})
    answer = post(base, "/auth/github/device/poll", {"device_code": started["device_code"]})
    claims = answer["token"].split(".")[1]
    scope = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["scope"]
    assert "sliderule:admin" in scope, scope
    return answer["token"]


def main() -> int:
    binary = Path(os.environ.get("SLIDERULE_BACKEND_BIN", ROOT / "target/debug/sliderule-backend"))
    schemathesis = Path(sys.executable).parent / "schemathesis"
    with tempfile.TemporaryDirectory(prefix="sliderule-fuzz-") as scratch:
        config = Path(scratch) / "fuzz.toml"
        config.write_text(CONFIG)
        backend = subprocess.Popen(
            [str(binary), "demo", "--bind", "127.0.0.1:0", "--data-dir", f"{scratch}/data",
             "--dist", f"{scratch}/no-web-client", "--cloud-delay", "0", "--config", str(config)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            # SLIDERULE_* variables configure the backend; the binary's path is not one.
            env={k: v for k, v in os.environ.items() if not k.startswith("SLIDERULE_")})
        try:
            base = None
            seen = []
            for line in backend.stdout:
                seen.append(line)
                found = re.match(r"listening on (http://\S+)", line)
                if found:
                    base = found.group(1)
                    break
            if base is None:
                print("the demo backend did not start:", *seen, sep="\n", file=sys.stderr)
                return 1
            # Its request log keeps coming: read it, or a full pipe blocks the backend.
            threading.Thread(target=lambda: backend.stdout.read(), daemon=True).start()
            token = owner_token(base)
            run = subprocess.run(
                [str(schemathesis), "--config-file", str(Path(__file__).parent / "schemathesis.toml"),
                 "run", f"{base}/openapi.json",
                 "--header", f"Authorization: Bearer {token}",
                 "--max-examples", "20", "--seed", "1",
                 "--no-color"],
                # Its cache goes to the working directory: the scratch one, not the checkout.
                capture_output=True, text=True, timeout=1200, cwd=scratch)
        finally:
            backend.terminate()
            backend.wait(timeout=30)
    output = run.stdout + run.stderr
    tested = re.search(r"Tested:\s*(\d+)", output)
    generated = re.search(r"(\d+) generated", output)
    print(output)
    print(f"schemathesis: {tested.group(1) if tested else '?'} operations, "
          f"{generated.group(1) if generated else '?'} generated cases, exit {run.returncode}")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
