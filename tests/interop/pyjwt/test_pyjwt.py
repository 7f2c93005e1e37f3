"""Our access tokens verify with PyJWT, as a third-party Python service would verify them.

The backend runs in demo mode as a subprocess (the binary named by SLIDERULE_BACKEND_BIN, by
default target/debug/sliderule-backend). Keys are found the standard way only: the discovery
document's jwks_uri, read by PyJWT's PyJWKClient, and the PEM at /auth/pem. Nothing here knows
our key format, so a token that verifies here verifies in any JOSE library that follows the RFCs.
"""

import base64
import hashlib
import hmac
import json
import os
import queue
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

ROOT = Path(__file__).resolve().parents[3]
STARTUP_TIMEOUT_SECS = 60
# Every claim our tokens carry that a verifier should insist on.
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "sub", "aud"]


class Backend:
    """A demo backend on a free port; `url` is its origin, and the issuer of its tokens."""

    def __init__(self, process: subprocess.Popen, url: str, output: list[str]):
        self.process = process
        self.url = url
        self.output = output

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return response.read()

    def post_json(self, path: str, body: dict) -> dict:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def pat_login(self, login: str) -> dict:
        body = self.post_json("/auth/github/pat", {"pat": f"demo-pat-{login}"})
        assert body["status"] == "success", body
        return body


def backend_binary() -> Path:
    configured = os.environ.get("SLIDERULE_BACKEND_BIN")
    binary = Path(configured) if configured else ROOT / "target/debug/sliderule-backend"
    if not binary.is_file():
        pytest.fail(f"no backend binary at {binary}: run `cargo build -p sliderule-backend` "
                    "or set SLIDERULE_BACKEND_BIN")
    return binary


def read_lines(stream, lines: queue.Queue, output: list[str]) -> None:
    """Drains the backend's output (its JSON log shares stdout, so a full pipe would stall it)."""
    for line in stream:
        output.append(line)
        lines.put(line)
    lines.put(None)


@pytest.fixture(scope="module")
def backend():
    with tempfile.TemporaryDirectory(prefix="sliderule-pyjwt-") as scratch:
        data, dist = Path(scratch, "data"), Path(scratch, "dist")
        dist.mkdir()
        # Our own SLIDERULE_ variables would reconfigure the backend under test.
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLIDERULE_")}
        env["RUST_LOG"] = "warn"
        process = subprocess.Popen(
            [backend_binary(), "demo", "--bind", "127.0.0.1:0",
             "--data-dir", data, "--dist", dist],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        lines: queue.Queue = queue.Queue()
        output: list[str] = []
        threading.Thread(target=read_lines, args=(process.stdout, lines, output),
                         daemon=True).start()
        try:
            url = wait_for_address(lines, output)
            yield Backend(process, url, output)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for_address(lines: queue.Queue, output: list[str]) -> str:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECS
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line is None:
            pytest.fail("the backend exited before listening:\n" + "".join(output))
        if line.startswith("listening on "):
            return line.removeprefix("listening on ").strip()
    pytest.fail(f"the backend did not listen within {STARTUP_TIMEOUT_SECS} s:\n" + "".join(output))


@pytest.fixture(scope="module")
def issuer(backend) -> str:
    return json.loads(backend.get("/.well-known/openid-configuration"))["issuer"]


@pytest.fixture(scope="module")
def jwks_client(backend) -> jwt.PyJWKClient:
    discovery = json.loads(backend.get("/.well-known/openid-configuration"))
    return jwt.PyJWKClient(discovery["jwks_uri"])


@pytest.fixture(scope="module")
def bob(backend) -> dict:
    return backend.pat_login("bob")


def verify(jwks_client, token: str, issuer: str, audience="provisioner", algorithms=("RS256",)):
    key = jwks_client.get_signing_key_from_jwt(token)
    return jwt.decode(token, key, algorithms=list(algorithms), audience=audience, issuer=issuer,
                      options={"require": REQUIRED_CLAIMS})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_the_discovery_document_names_the_backend_as_issuer(backend, issuer):
    assert issuer == backend.url


def test_a_member_token_verifies_with_the_key_found_through_discovery(jwks_client, issuer, bob):
    signing_key = jwks_client.get_signing_key_from_jwt(bob["token"])
    assert signing_key.algorithm_name == "RS256"
    claims = verify(jwks_client, bob["token"], issuer)
    assert claims["sub"] == "bob"
    assert claims["org_roles"] == ["member"]
    assert isinstance(claims["github_id"], int)
    assert claims["iss"] == issuer
    # What PyJWT verified is exactly what the login answered as metadata.
    assert claims == bob["metadata"]


@pytest.mark.parametrize("audience", ["provisioner", "monitor", "runner", "bob", "icesat2"])
def test_a_member_token_is_accepted_by_each_of_its_audiences(jwks_client, issuer, bob, audience):
    assert verify(jwks_client, bob["token"], issuer, audience=audience)["sub"] == "bob"


@pytest.mark.parametrize("audience", ["*", "carol"])
def test_an_audience_the_token_was_not_issued_for_is_refused(jwks_client, issuer, bob, audience):
    with pytest.raises(jwt.InvalidAudienceError):
        verify(jwks_client, bob["token"], issuer, audience=audience)


def test_a_token_from_another_issuer_is_refused(jwks_client, bob):
    with pytest.raises(jwt.InvalidIssuerError):
        verify(jwks_client, bob["token"], "https://login.example.org")


def test_a_tampered_payload_fails_the_signature_check(jwks_client, issuer, bob):
    header, _, signature = bob["token"].split(".")
    claims = dict(bob["metadata"], sub="alice", org_roles=["owner", "member"])
    forged = ".".join([header, b64url(json.dumps(claims).encode()), signature])
    with pytest.raises(jwt.InvalidSignatureError):
        verify(jwks_client, forged, issuer)


def test_hs256_is_refused_even_when_keyed_with_our_public_key(backend, jwks_client, issuer, bob):
    key = jwks_client.get_signing_key_from_jwt(bob["token"])
    # A verifier that asks for HS256 cannot take our RS256 token...
    with pytest.raises(jwt.InvalidAlgorithmError):
        verify(jwks_client, bob["token"], issuer, algorithms=["HS256"])
    # ...and the algorithm-confusion forgery (HMAC keyed with the published PEM) is refused by a
    # verifier that asks for RS256, as every verifier of our tokens should.
    pem = backend.get("/auth/pem")
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.key_id}).encode())
    payload = bob["token"].split(".")[1]
    mac = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    with pytest.raises(jwt.InvalidAlgorithmError):
        jwt.decode(f"{header}.{payload}.{b64url(mac)}", key, algorithms=["RS256"],
                   audience="provisioner", issuer=issuer)


def test_an_organization_admin_signing_in_with_a_pat_is_a_member_not_an_owner(
        backend, jwks_client, issuer):
    claims = verify(jwks_client, backend.pat_login("alice")["token"], issuer)
    assert claims["sub"] == "alice"
    assert claims["org_roles"] == ["member"]
    assert "*" not in claims["aud"]


def test_a_non_member_token_is_accepted_by_no_service(backend, jwks_client, issuer):
    token = backend.pat_login("dave")["token"]
    # Its audience is empty, so a service that names itself finds no audience to match.
    with pytest.raises(jwt.MissingRequiredClaimError):
        verify(jwks_client, token, issuer, audience="provisioner")
    claims = jwt.decode(token, jwks_client.get_signing_key_from_jwt(token), algorithms=["RS256"],
                        issuer=issuer)
    assert claims["sub"] == "dave"
    assert claims["aud"] == []
    assert claims["org_roles"] == []


def test_a_refreshed_token_verifies_with_the_key_found_through_discovery(
        backend, jwks_client, issuer):
    login = backend.pat_login("bob")
    refreshed = backend.post_json("/auth/refresh", {"refresh_token": login["refresh_token"]})
    assert refreshed["token"] != login["token"]
    assert refreshed["refresh_token"] != login["refresh_token"]
    claims = verify(jwks_client, refreshed["token"], issuer)
    assert claims["sub"] == "bob"
    assert claims["jti"] != login["metadata"]["jti"]


def test_the_published_pem_verifies_our_tokens(backend, jwks_client, issuer, bob):
    pem = backend.get("/auth/pem")
    public_key = load_pem_public_key(pem)
    assert isinstance(public_key, RSAPublicKey)
    jwk_key = jwks_client.get_signing_key_from_jwt(bob["token"]).key
    assert public_key.public_numbers() == jwk_key.public_numbers(), "the PEM is the JWKS key"
    claims = jwt.decode(bob["token"], pem, algorithms=["RS256"], audience="provisioner",
                        issuer=issuer, options={"require": REQUIRED_CLAIMS})
    assert claims["sub"] == "bob"
