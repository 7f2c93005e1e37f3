"""What the official-client suites share (client/ for sliderule 5.x, v2/ for sliderule 4.20.0):
a demo backend started as a subprocess over TLS, with host-based routing for the domain
`sliderule.test:PORT` and a throw-away CA, and name resolution of that domain to 127.0.0.1 in
the test process.

The backend is the binary named by SLIDERULE_BACKEND_BIN, by default
target/debug/sliderule-backend. Test modules import this file by putting its directory on
`sys.path` (the suites run in different venvs, so this is a plain module, not a plugin).
"""

import contextlib
import datetime
import ipaddress
import json
import os
import queue
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_NAME = "sliderule.test"
STARTUP_TIMEOUT_SECS = 60


# --- certificates -------------------------------------------------------------------------------

def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def write_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate it signs for DOMAIN_NAME, its subdomains and
    127.0.0.1; returns (CA bundle, server chain, server key) paths."""
    now = datetime.datetime.now(datetime.timezone.utc)
    validity = (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1))
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("sliderule interop test CA")).issuer_name(_name("sliderule interop test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(validity[0]).not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(DOMAIN_NAME)).issuer_name(ca_cert.subject)
        .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(validity[0]).not_valid_after(validity[1])
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName(DOMAIN_NAME), x509.DNSName(f"*.{DOMAIN_NAME}"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_path.write_bytes(ca_cert.public_bytes(pem))
    cert_path.write_bytes(server_cert.public_bytes(pem))
    key_path.write_bytes(server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return ca_path, cert_path, key_path


# --- the backend --------------------------------------------------------------------------------

class Backend:
    """A demo backend serving `domain` (`sliderule.test:PORT`) over TLS."""

    def __init__(self, process: subprocess.Popen, port: int, ca_bundle: Path, output: list[str]):
        self.process = process
        self.port = port
        self.domain = f"{DOMAIN_NAME}:{port}"
        self.ca_bundle = ca_bundle
        self.output = output

    def request(self, method: str, path: str, *, host: str | None = None,
                token: str | None = None, body: dict | None = None) -> tuple[int, dict | bytes]:
        """`method` `path` on `https://HOST.DOMAIN` (the web host when `host` is None), as a
        plain HTTP client trusting the test CA: (status, JSON body, or bytes if not JSON)."""
        origin = f"https://{host}.{self.domain}" if host else f"https://{self.domain}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(origin + path, data=data, headers=headers, method=method)
        context = ssl.create_default_context(cafile=str(self.ca_bundle))
        try:
            with urllib.request.urlopen(request, timeout=10, context=context) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

    def post_web(self, path: str, body: dict) -> tuple[int, dict | bytes]:
        """POST to the web host (where demo mode mounts the GitHub emulator under /_github)."""
        return self.request("POST", path, body=body)

    def approve_device(self, user_code: str, login: str) -> None:
        status, body = self.post_web("/_github/_emulator/device/approve",
                                     {"user_code": user_code, "login": login})
        assert status < 300, (status, body)


def backend_binary() -> Path:
    configured = os.environ.get("SLIDERULE_BACKEND_BIN")
    binary = Path(configured) if configured else ROOT / "target/debug/sliderule-backend"
    if not binary.is_file():
        pytest.fail(f"no backend binary at {binary}: run `cargo build -p sliderule-backend` "
                    "or set SLIDERULE_BACKEND_BIN")
    return binary


def free_port() -> int:
    """A port free right now: the domain must name the port before the backend binds it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_lines(stream, lines: queue.Queue, output: list[str]) -> None:
    """Drains the backend's output (its JSON log shares stdout, so a full pipe would stall it)."""
    for line in stream:
        output.append(line)
        lines.put(line)
    lines.put(None)


def wait_for_listening(lines: queue.Queue, output: list[str]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECS
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line is None:
            pytest.fail("the backend exited before listening:\n" + "".join(output))
        if line.startswith("listening on "):
            return
    pytest.fail(f"the backend did not listen within {STARTUP_TIMEOUT_SECS} s:\n" + "".join(output))


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def running_backend(prefix: str, cloud_delay_secs: str, extra_args: tuple = ()):
    """A demo backend over TLS on a free port, its simulated cloud stepping every
    `cloud_delay_secs` (and `extra_args` on its command line), with the test domain resolving to
    it; yields a `Backend`."""
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        scratch = Path(scratch)
        data, dist = scratch / "data", scratch / "dist"
        dist.mkdir()
        ca_bundle, cert, key = write_certificates(scratch)
        port = free_port()
        # Our own SLIDERULE_ variables would reconfigure the backend under test.
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLIDERULE_")}
        env["RUST_LOG"] = "warn"
        # The demo calls its own emulator at https://login.DOMAIN/_github: trust the test CA.
        env["SSL_CERT_FILE"] = str(ca_bundle)
        process = subprocess.Popen(
            [backend_binary(), "demo", "--bind", f"127.0.0.1:{port}", "--data-dir", data,
             "--dist", dist, "--domain", f"{DOMAIN_NAME}:{port}", "--tls-cert", cert,
             "--tls-key", key, "--cloud-delay", cloud_delay_secs, *extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        lines: queue.Queue = queue.Queue()
        output: list[str] = []
        threading.Thread(target=read_lines, args=(process.stdout, lines, output),
                         daemon=True).start()
        try:
            wait_for_listening(lines, output)
            with resolving_test_domain():
                yield Backend(process, port, ca_bundle, output)
        finally:
            stop(process)


@contextlib.contextmanager
def resolving_test_domain():
    """`sliderule.test` and `*.sliderule.test` resolve to 127.0.0.1 in this process."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, bytes):
            host = host.decode()
        if host and (host == DOMAIN_NAME or host.endswith("." + DOMAIN_NAME)):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = real
