"""The official SlideRule Python client (PyPI `sliderule`, pinned in ../requirements.txt) works
unchanged against our backend.

The backend runs in demo mode as a subprocess (../support.py; the binary named by
SLIDERULE_BACKEND_BIN, by default target/debug/sliderule-backend) with TLS and host-based routing for the domain
`sliderule.test:PORT`, so the client's own URLs (`https://login.DOMAIN`,
`https://provisioner.DOMAIN/API`, `https://CLUSTER.DOMAIN/discovery/status`) reach it. Nothing in
the client is patched; the test process only arranges its surroundings:

- name resolution: `socket.getaddrinfo` answers 127.0.0.1 for `sliderule.test` and its
  subdomains (urllib3 looks the function up on every connection);
- trust: a throw-away CA signs the server certificate, and `REQUESTS_CA_BUNDLE` names it. The
  client's login calls use its `requests.Session` defaults (no `verify=`), and the session is made
  with `trust_env=False` unless told otherwise, so `create_session(..., trust_env=True)` is what
  makes every call, login included, honour the bundle (proxy variables are cleared for that);
- `HOME` is a scratch directory, since the client caches device-flow tokens under `~/.cache`;
- `SLIDERULE_GITHUB_TOKEN` (which the client prefers over `github_token=`) is set per test.

The simulated cloud steps every CLOUD_DELAY_SECS, so a cluster is up in about a second; the
client's blocking `scaleout` still sleeps its fixed 10 s between discovery polls.
"""

import contextlib
import io
import json
import logging
import re
import sys
import threading
import time
from pathlib import Path

import pytest
import sliderule

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/interop: support.py
from support import running_backend  # noqa: E402

CLOUD_DELAY_SECS = "0.05"
POLL_TIMEOUT_SECS = 30
PROXY_VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"]


# --- the backend (see ../support.py) ------------------------------------------------------------

@pytest.fixture(scope="module")
def backend():
    with running_backend("sliderule-pyclient-", CLOUD_DELAY_SECS) as running:
        yield running


@pytest.fixture
def client_env(backend, monkeypatch, tmp_path):
    """Per test: the CA bundle, no proxies, a scratch HOME, no browser, no token."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(backend.ca_bundle))
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("BROWSER", "true")  # webbrowser.open runs `true URL`
    monkeypatch.delenv("SLIDERULE_GITHUB_TOKEN", raising=False)
    return monkeypatch


def session_as(backend, client_env, login: str | None, cluster: str, **kwargs):
    """`sliderule.create_session` for `cluster`, logged in with `login`'s demo PAT."""
    if login is not None:
        client_env.setenv("SLIDERULE_GITHUB_TOKEN", f"demo-pat-{login}")
    return sliderule.create_session(domain=backend.domain, cluster=cluster, trust_env=True,
                                    rethrow=False, **kwargs)


def errors_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "sliderule" and r.levelno >= logging.ERROR]


# --- 1. PAT login -------------------------------------------------------------------------------

def test_a_member_pat_logs_in(backend, client_env):
    session = session_as(backend, client_env, "bob", "bob-login")
    metadata = session.ps_metadata
    assert session.ps_access_token, metadata
    assert metadata["sub"] and metadata["exp"] > time.time(), metadata
    assert "member" in json.dumps(metadata.get("org_roles", metadata)), metadata
    header, claims = session.authenticator.info()
    assert claims["exp"] == metadata["exp"] and header["alg"], (header, claims)


def test_an_owner_pat_logs_in_without_the_owner_role(backend, client_env):
    session = session_as(backend, client_env, "alice", "alice-login")
    metadata = session.ps_metadata
    assert session.ps_access_token, metadata
    assert metadata["org_roles"] == ["member"], metadata
    print(f"alice via PAT: {metadata}")


def test_a_non_member_pat_gets_a_token_without_roles(backend, client_env, caplog):
    """Like upstream, a non-member logs in (the token says who they are) but may do nothing."""
    session = session_as(backend, client_env, "dave", "dave-login")
    metadata = session.ps_metadata
    assert session.ps_access_token, caplog.text
    assert metadata["org_roles"] == [] and metadata["max_nodes"] == 0, metadata
    assert not errors_of(caplog), caplog.text
    print(f"dave via PAT: {metadata}")


# --- 2. a cluster through the client ------------------------------------------------------------

def test_a_member_deploys_uses_and_destroys_a_cluster(backend, client_env):
    started = time.monotonic()
    session = session_as(backend, client_env, "bob", "bob", node_capacity=2, ttl=30)
    took = time.monotonic() - started
    nodes = session.source("status", parm={"service": "bob"}, path="/discovery", rethrow=True)
    assert nodes["nodes"] >= 2, (nodes, took)

    status = session.provisioner.status()
    assert "error" not in status, status
    events = session.provisioner.events()
    assert "error" not in events, events
    extended = session.provisioner.extend(ttl=60)
    assert "error" not in extended, extended
    info = session.provisioner.info()
    assert "error" not in info, info
    # Without blocking: the client asks for capacity 2, sees it, and extends instead.
    available, desired = sliderule.update_available_servers(2, 30, session=session)
    assert (available, desired) == (nodes["nodes"], 2)

    destroyed = session.provisioner.destroy()
    assert "error" not in destroyed, destroyed
    print(f"status={status}\nevents={events}\nextend={extended}\ninfo={info}\ndestroy={destroyed}")


def test_a_members_report_shows_only_their_clusters(backend, client_env):
    member = session_as(backend, client_env, "bob", "bob-report")
    report = member.provisioner.report()
    assert "error" not in report, report
    theirs = member.provisioner.info()["knownClusters"]
    assert set(report) <= set(theirs), (report, theirs)
    print(f"member report: {report}")


# --- 3. refusals --------------------------------------------------------------------------------

def test_capacity_over_the_member_limit_is_refused(backend, client_env, caplog):
    # icesat2: bob's team's cluster, which he may deploy, up to the member limit of 10 nodes.
    session = session_as(backend, client_env, "bob", "icesat2", node_capacity=11, ttl=30)
    assert any("Unable to deploy icesat2" in r.getMessage() for r in caplog.records), caplog.text
    direct = session.provisioner.deploy(is_public=False, node_capacity=11, ttl=30, version="latest")
    assert "422" in direct["error"], direct
    print(f"over limit: {direct}")


def test_another_members_cluster_is_refused(backend, client_env, caplog):
    session = session_as(backend, client_env, "bob", "carol")
    refused = session.provisioner.deploy(is_public=False, node_capacity=1, ttl=30, version="latest")
    assert "403" in refused["error"], refused
    print(f"another member's cluster: {refused}")


def test_a_non_member_cannot_provision(backend, client_env):
    session = session_as(backend, client_env, "dave", "dave")
    refused = session.provisioner.deploy(is_public=False, node_capacity=1, ttl=30, version="latest")
    assert "error" in refused and re.search(r"40[13]", refused["error"]), refused
    print(f"non-member: {refused}")


# --- 4. device flow -----------------------------------------------------------------------------

class _Tee(io.TextIOBase):
    """Collects what the client prints (its device-flow instructions)."""

    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text
        return len(text)


def device_login(backend, client_env, login: str, cluster: str, **kwargs):
    """`sliderule.create_session` for `cluster` with no token, so the client runs the device flow;
    the code it prints is approved for `login` through the emulator. Returns the session and what
    the client printed."""
    printed = _Tee()
    result: dict = {}

    def log_in():
        with contextlib.redirect_stdout(printed):
            result["session"] = session_as(backend, client_env, None, cluster, **kwargs)

    worker = threading.Thread(target=log_in, daemon=True)
    worker.start()
    deadline = time.monotonic() + POLL_TIMEOUT_SECS
    while not (match := re.search(r"enter this code: (\S+)", printed.text)):
        assert time.monotonic() < deadline and worker.is_alive(), printed.text
        time.sleep(0.05)
    backend.approve_device(match.group(1), login)
    worker.join(timeout=POLL_TIMEOUT_SECS)
    assert not worker.is_alive(), printed.text
    return result["session"], printed.text


def test_device_flow_login_approved_through_the_emulator(backend, client_env):
    session, printed = device_login(backend, client_env, "bob", "bob-device")
    assert session.ps_access_token and session.ps_metadata["exp"] > time.time(), printed
    assert "success" in printed


# --- 5. an owner through the client -------------------------------------------------------------

def test_an_owner_via_device_flow_reports_and_deploys_any_cluster(backend, client_env):
    """alice (org admin) logs in through the device flow, which asks for every scope, so she is
    an owner: the v5 report shows bob's cluster, and she deploys carol's cluster, not hers."""
    # bob deploys his team's cluster (without the client's blocking scale-out and its 10 s sleeps).
    member = session_as(backend, client_env, "bob", "icesat2")
    deployed = member.provisioner.deploy(is_public=False, node_capacity=1, ttl=15, version="latest")
    assert "error" not in deployed, deployed
    client_env.delenv("SLIDERULE_GITHUB_TOKEN")
    try:
        owner, printed = device_login(backend, client_env, "alice", "carol")
        metadata = owner.ps_metadata
        assert metadata["org_roles"] == ["owner", "member"], (metadata, printed)
        _, claims = owner.authenticator.info()
        assert claims["org_roles"] == ["owner", "member"], claims
        assert "*" in claims["aud"] and "carol" not in claims["aud"], claims

        # The 5.7.0 client's `report()` asks for `/report/clusters`: every cluster, for an owner.
        clusters = owner.provisioner.report()
        assert "error" not in clusters and "icesat2" in clusters, clusters
        # The v5 `/report`, through the client's own gateway call.
        report = owner.gateway_request("report", subdomain="provisioner", data={})
        assert report.get("status") is True and "icesat2" in report["report"], report

        carol = owner.provisioner.deploy(is_public=False, node_capacity=1, ttl=15, version="latest")
        assert "error" not in carol, carol
        status = owner.provisioner.status()
        assert "error" not in status, status
        destroyed = owner.provisioner.destroy()
        assert "error" not in destroyed, destroyed
        print(f"alice via device flow: {metadata}\nreport/clusters={clusters}\n"
              f"report={report}\ndeploy carol={carol}\nstatus={status}\ndestroy={destroyed}")
    finally:
        gone = member.provisioner.destroy()
        assert "error" not in gone, gone
