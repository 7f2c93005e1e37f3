"""The v2-era official SlideRule Python client (PyPI `sliderule==4.20.0`, pinned in
requirements.txt here) works unchanged against our v2 API (organizations.md, "The v2 client API").

It runs in a venv of its own (sliderule 4.x and 5.x cannot share one), so `pytest tests/interop`
leaves this directory out; run it as `<v2 venv>/bin/python -m pytest tests/interop/v2`.

One demo backend serves the module (../support.py): TLS and host-based routing for the domain
`sliderule.test:PORT`, so the client's own URLs (`https://ps.DOMAIN/api/...`,
`https://icesat2.DOMAIN/discovery/status`, `https://icesat2.DOMAIN/source/version`) reach it. The
demo's organization `icesat2` (0-6 nodes, release v4.20.0) has the members `erin` (a local
account) and `bob` (GitHub team icesat2); `frank` (local) and `dave` (GitHub) are not members.

Nothing in the client is patched or edited; the test process only arranges its surroundings:

- name resolution: `socket.getaddrinfo` answers 127.0.0.1 for `sliderule.test` and its
  subdomains. (The client wraps `socket.getaddrinfo` itself at import, for its DNS bypass; ours
  wraps that.)
- trust: 4.20.0 makes its `requests.Session` with `trust_env=False`, so `REQUESTS_CA_BUNDLE` is
  ignored, and every call verifies against requests' default trust store,
  `requests.adapters.DEFAULT_CA_BUNDLE_PATH` (certifi's bundle). For this module that default
  names a scratch bundle of certifi's CAs plus the throw-away CA: the trust store of a machine
  that trusts a private CA, not a change of the client. Nothing in the venv is written.
- `HOME` is a scratch directory per test (the client reads `~/.netrc`), and `PS_GITHUB_TOKEN`,
  `PS_USERNAME` and `PS_PASSWORD` are cleared, then set by the tests that use them. Every
  sign-in has credentials from somewhere, because without them the client prompts with
  `input()`.
- `import sliderule` signs in to the public organization at ps.slideruleearth.io when it finds
  credentials; it is imported once, by a fixture, with none to find, so no request leaves.

Each test starts with no live capacity request and the organization's cluster asleep. The
simulated cloud steps every CLOUD_DELAY_SECS; the client's blocking scale-out (`init` with
`desired_nodes`) still sleeps its fixed 10 s between discovery polls, so only the test of `init`
blocks, and the others call `update_available_servers` without waiting.
"""

import base64
import datetime
import io
import json
import logging
import stat
import sys
import time
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/interop: support.py
from support import running_backend  # noqa: E402

ORG = "icesat2"
CLOUD_DELAY_SECS = "0.05"
POLL_TIMEOUT_SECS = 30
CREDENTIAL_VARIABLES = ["PS_GITHUB_TOKEN", "PS_USERNAME", "PS_PASSWORD"]
ERIN = ("erin", "demo-password-erin")
FRANK = ("frank", "demo-password-frank")
MEMBERS = {"erin": {"username": "erin", "password": "demo-password-erin"},
           "bob": {"github": "demo-pat-bob"}}


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sliderule(tmp_path_factory):
    """The client package, imported with no credentials to find (see the module docstring)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in CREDENTIAL_VARIABLES:
            patch.delenv(name, raising=False)
        patch.setenv("HOME", str(tmp_path_factory.mktemp("import-home")))
        import sliderule as package
    assert package.slideruleSession.ps_access_token is None
    return package


@pytest.fixture(scope="module")
def backend(sliderule, tmp_path_factory):
    """The demo backend, and requests' default trust store extended with its CA."""
    bundle = tmp_path_factory.mktemp("trust") / "cacert.pem"
    with running_backend("sliderule-pyclient-v2-", CLOUD_DELAY_SECS) as running:
        bundle.write_text(Path(requests.certs.where()).read_text() + "\n"
                          + running.ca_bundle.read_text())
        with pytest.MonkeyPatch.context() as patch:
            # Where requests 2.34 reads its default (verify=True) bundle, at each connection.
            patch.setattr(requests.adapters, "DEFAULT_CA_BUNDLE_PATH", str(bundle))
            patch.setattr(requests.utils, "DEFAULT_CA_BUNDLE_PATH", str(bundle))
            yield running


@pytest.fixture
def home(backend, monkeypatch, tmp_path):
    """Per test: a scratch HOME, no credentials in the environment, and an empty stdin, so that
    a prompt for credentials (`input()`) fails at once instead of waiting."""
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    return tmp_path


@pytest.fixture(autouse=True)
def no_requests(backend):
    """Each test starts with no live capacity request on icesat2 and its cluster asleep: the
    members withdraw theirs through the v2 API (PUT remove_user_org_num_nodes_reqs, which the
    client never calls), and the cloud settles."""
    for login in MEMBERS:
        token = v2_token(backend, login)
        status, body = backend.request("PUT", f"/api/remove_user_org_num_nodes_reqs/{ORG}/",
                                       host="ps", token=token)
        # 404 says there was nothing to withdraw.
        assert status == 200 or (status == 404 and "no live capacity request" in body["error_msg"]), \
            (status, body)
    wait_for(lambda: (s := org_state(backend))["state"] == "NOT_FOUND" and not s["requested"],
             "icesat2 to sleep")


@pytest.fixture
def client_logs(caplog):
    caplog.set_level(logging.INFO, logger="sliderule")
    return caplog


# --- helpers ------------------------------------------------------------------------------------

def v2_token(backend, login: str) -> str:
    """A member's v2 access token for icesat2, straight from the API (not through the client);
    one per backend and member, as the checks below poll."""
    key = (backend.domain, login)
    if key not in _TOKENS:
        credentials = MEMBERS[login]
        if "github" in credentials:
            path, body = "/api/org_token_github/", {"org_name": ORG,
                                                    "access_token": credentials["github"]}
        else:
            path, body = "/api/org_token/", {**credentials, "org_name": ORG}
        status, tokens = backend.request("POST", path, host="ps", body=body)
        assert status == 200, (status, tokens)
        _TOKENS[key] = tokens["access"]
    return _TOKENS[key]


_TOKENS: dict[tuple[str, str], str] = {}


def org_state(backend) -> dict:
    """icesat2 as the provisioner's /status shows it to a member (erin), with `current_nodes`
    from org_num_nodes and `requested`, each live request's nodes by user."""
    token = v2_token(backend, "erin")
    status, view = backend.request("POST", "/status", host="provisioner", token=token,
                                   body={"cluster": ORG})
    assert status == 200, (status, view)
    status, nodes = backend.request("GET", f"/api/org_num_nodes/{ORG}/", host="ps", token=token)
    assert status == 200, (status, nodes)
    return {**view, "current_nodes": nodes["current_nodes"],
            "requested": {r["user"]: r["nodes"] for r in view["requests"]}}


def wait_for(condition, what: str, timeout: float = POLL_TIMEOUT_SECS):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return result


def claims_of(token: str) -> dict:
    """A JWT's payload (its signature is the PyJWT suite's business)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def org_call(backend, session) -> dict:
    """GET org_num_nodes with the session's token: what a signed-in member sees."""
    status, body = backend.request("GET", f"/api/org_num_nodes/{ORG}/", host="ps",
                                   token=session.ps_access_token)
    assert status == 200, (status, body)
    return body


def new_session(sliderule, backend, organization=ORG):
    """What `init` makes, without its version check: a `Session` for the test domain, which
    signs in to `organization` with whatever credentials it finds."""
    return sliderule.session.Session(domain=backend.domain, organization=organization)


def signed_in_as(sliderule, backend, username: str, password: str):
    """A session signed in through `authenticate`'s arguments (asserted)."""
    session = sliderule.session.Session(domain=backend.domain, organization=None)
    assert sliderule.authenticate(ORG, ps_username=username, ps_password=password, session=session)
    return session


def signed_in_with_github(sliderule, backend, token: str, monkeypatch):
    """A session signed in through PS_GITHUB_TOKEN (set only while it is made)."""
    monkeypatch.setenv("PS_GITHUB_TOKEN", token)
    session = new_session(sliderule, backend)
    monkeypatch.delenv("PS_GITHUB_TOKEN")
    return session


def messages(caplog, level=logging.INFO) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name.startswith("sliderule") and r.levelno >= level]


def assert_signed_in(backend, session, login: str, idp: str | None) -> dict:
    """The session holds tokens for `login` in icesat2 (`idp` "local" for local accounts;
    GitHub tokens have none), and they work for an organization call."""
    assert session.ps_access_token and session.ps_refresh_token, vars(session)
    assert session.ps_token_exp > time.time() + 60, session.ps_token_exp
    claims = claims_of(session.ps_access_token)
    assert (claims["sub"], claims["org_name"], claims.get("idp")) == (login, ORG, idp), claims
    assert ORG in claims["aud"], claims
    nodes = org_call(backend, session)
    assert (nodes["status"], nodes["min_nodes"], nodes["max_nodes"], nodes["version"]) == \
        ("SUCCESS", 0, 6, "v4.20.0"), nodes
    return claims


# --- 1. signing in, every way the client finds credentials --------------------------------------

def test_a_local_account_signs_in_through_ps_username_and_ps_password(
        sliderule, backend, home, monkeypatch, client_logs):
    monkeypatch.setenv("PS_USERNAME", ERIN[0])
    monkeypatch.setenv("PS_PASSWORD", ERIN[1])
    session = new_session(sliderule, backend)
    assert_signed_in(backend, session, "erin", "local")
    assert f"Login status to {backend.domain}/{ORG}: success" in messages(client_logs)


def test_a_local_account_signs_in_through_the_netrc_entry_for_ps_domain(
        sliderule, backend, home, client_logs):
    netrc = home / ".netrc"
    netrc.write_text(f"machine ps.{backend.domain}\n  login {ERIN[0]}\n  password {ERIN[1]}\n")
    netrc.chmod(stat.S_IRUSR | stat.S_IWUSR)  # Python refuses a .netrc others may read
    session = new_session(sliderule, backend)
    assert_signed_in(backend, session, "erin", "local")
    assert not messages(client_logs, logging.ERROR), client_logs.text


def test_a_local_account_signs_in_through_the_arguments_of_authenticate(sliderule, backend, home):
    session = signed_in_as(sliderule, backend, *ERIN)
    assert_signed_in(backend, session, "erin", "local")


def test_a_github_team_member_signs_in_through_ps_github_token(
        sliderule, backend, home, monkeypatch):
    session = signed_in_with_github(sliderule, backend, "demo-pat-bob", monkeypatch)
    claims = assert_signed_in(backend, session, "bob", None)
    print(f"bob via PS_GITHUB_TOKEN: {claims}")


# --- 2. capacity ---------------------------------------------------------------------------------

def test_init_with_desired_nodes_blocks_until_the_nodes_run_and_the_version_check_passes(
        sliderule, backend, home, monkeypatch, client_logs):
    monkeypatch.setenv("PS_USERNAME", ERIN[0])
    monkeypatch.setenv("PS_PASSWORD", ERIN[1])
    started = time.monotonic()
    assert sliderule.init(backend.domain, organization=ORG, desired_nodes=2, time_to_live=30,
                          rethrow=True) is True
    took = time.monotonic() - started
    # The global session init made (the package's `sliderule` name is the package itself).
    session = sys.modules["sliderule.sliderule"].slideruleSession
    nodes = org_call(backend, session)
    assert nodes["current_nodes"] == 2, nodes
    state = org_state(backend)
    assert state["requested"] == {"erin": 2} and state["node_capacity"] == 2, state
    version = sliderule.get_version()
    assert version["server"]["version"] == "v4.20.0", version
    assert version["client"] == {"version": "v4.20.0", "organization": ORG}, version
    assert not messages(client_logs, logging.WARNING), client_logs.text
    print(f"init took {took:.1f} s; org_num_nodes={nodes}; version={version}")


def test_a_second_members_request_pools_with_the_first(sliderule, backend, home, monkeypatch):
    erin = signed_in_as(sliderule, backend, *ERIN)
    bob = signed_in_with_github(sliderule, backend, "demo-pat-bob", monkeypatch)
    _, requested = sliderule.update_available_servers(desired_nodes=2, time_to_live=30, session=erin)
    assert requested == 2
    _, requested = sliderule.update_available_servers(desired_nodes=3, time_to_live=30, session=bob)
    assert requested == 3
    state = wait_for(lambda: (s := org_state(backend))["node_capacity"] == 5 and s, "5 nodes")
    assert state["requested"] == {"erin": 2, "bob": 3}, state
    # The client sees the pooled nodes come up (without its blocking 10 s polls).
    available = wait_for(lambda: sliderule.update_available_servers(session=bob)[0] == 5 and 5,
                         "5 nodes in discovery")
    assert org_call(backend, bob)["current_nodes"] == available
    print(f"pooled: {state}")


def test_a_request_above_max_nodes_is_clamped_by_the_client_to_max_nodes(
        sliderule, backend, home, monkeypatch, client_logs):
    bob = signed_in_with_github(sliderule, backend, "demo-pat-bob", monkeypatch)
    _, requested = sliderule.update_available_servers(desired_nodes=9, time_to_live=30, session=bob)
    assert requested == 6
    assert "Provisioning system desired nodes overridden to 6" in messages(client_logs)
    state = wait_for(lambda: (s := org_state(backend))["node_capacity"] == 6 and s, "6 nodes")
    assert state["requested"] == {"bob": 6} and state["max_nodes"] == 6, state


def test_pooled_requests_above_max_nodes_are_clamped_by_the_server_to_max_nodes(
        sliderule, backend, home, monkeypatch):
    erin = signed_in_as(sliderule, backend, *ERIN)
    bob = signed_in_with_github(sliderule, backend, "demo-pat-bob", monkeypatch)
    sliderule.update_available_servers(desired_nodes=4, time_to_live=30, session=erin)
    sliderule.update_available_servers(desired_nodes=5, time_to_live=30, session=bob)
    state = wait_for(lambda: (s := org_state(backend))["node_capacity"] == 6 and s, "6 nodes")
    assert state["requested"] == {"erin": 4, "bob": 5}, state


def test_a_request_without_a_time_to_live_lasts_as_long_as_the_access_token(
        sliderule, backend, home):
    erin = signed_in_as(sliderule, backend, *ERIN)
    _, requested = sliderule.update_available_servers(desired_nodes=1, session=erin)
    assert requested == 1
    state = wait_for(lambda: (s := org_state(backend))["requested"] and s, "erin's request")
    [request] = state["requests"]
    assert (request["user"], request["nodes"]) == ("erin", 1), request
    expires = datetime.datetime.fromisoformat(request["expires"]).timestamp()
    assert expires == claims_of(erin.ps_access_token)["exp"], request


# --- 3. refresh ---------------------------------------------------------------------------------

def test_an_expired_access_token_is_refreshed_through_the_clients_own_refresh_path(
        sliderule, backend, home, client_logs):
    erin = signed_in_as(sliderule, backend, *ERIN)
    access, refresh = erin.ps_access_token, erin.ps_refresh_token
    erin.ps_token_exp = time.time() - 1  # the client refreshes at half the access lifetime
    _, requested = sliderule.update_available_servers(desired_nodes=1, time_to_live=15, session=erin)
    assert requested == 1
    assert erin.ps_access_token != access and erin.ps_refresh_token != refresh
    assert erin.ps_token_exp > time.time() + 60
    claims = claims_of(erin.ps_access_token)
    assert (claims["sub"], claims["org_name"]) == ("erin", ORG), claims
    assert not messages(client_logs, logging.ERROR), client_logs.text
    # The calls after the refresh carried the new token: the request is there.
    state = wait_for(lambda: (s := org_state(backend))["requested"] and s, "erin's request")
    assert state["requested"] == {"erin": 1}, state


# --- 4. refusals, as the client reports them ----------------------------------------------------

@pytest.mark.parametrize("credentials, kind", [
    pytest.param(FRANK, "local", id="a-local-account-that-is-not-a-member"),
    pytest.param(("erin", "not erin's password"), "local", id="a-wrong-password"),
    pytest.param(("nobody", "no such account here"), "local", id="an-unknown-account"),
    pytest.param("demo-pat-dave", "github", id="a-github-user-outside-the-organization"),
    pytest.param("demo-pat-carol", "github", id="a-github-member-outside-the-team"),
    pytest.param("not-a-github-token", "github", id="a-bad-github-token"),
])
def test_a_refused_sign_in_returns_false_and_logs_unable_to_authenticate(
        sliderule, backend, home, client_logs, credentials, kind):
    session = sliderule.session.Session(domain=backend.domain, organization=None)
    if kind == "github":
        ok = sliderule.authenticate(ORG, github_token=credentials, session=session)
    else:
        username, password = credentials
        ok = sliderule.authenticate(ORG, ps_username=username, ps_password=password,
                                    session=session)
    assert ok is False
    api = "org_token_github" if kind == "github" else "org_token"
    assert f"Unable to authenticate {kind} user to https://ps.{backend.domain}/api/{api}/" \
        in messages(client_logs, logging.ERROR), client_logs.text
    assert session.ps_access_token is None


def test_an_unknown_organization_refuses_sign_in(sliderule, backend, home, client_logs):
    session = sliderule.session.Session(domain=backend.domain, organization=None)
    assert sliderule.authenticate("nowhere", ps_username=ERIN[0], ps_password=ERIN[1],
                                  session=session) is False
    assert any(m.startswith("Unable to authenticate local user")
               for m in messages(client_logs, logging.ERROR)), client_logs.text


def test_a_capacity_request_without_a_token_logs_the_servers_error_msg(
        sliderule, backend, home, client_logs):
    session = sliderule.session.Session(domain=backend.domain, organization=None)
    assert sliderule.authenticate(ORG, ps_username=FRANK[0], ps_password=FRANK[1],
                                  session=session) is False
    client_logs.clear()
    _, requested = sliderule.update_available_servers(desired_nodes=2, time_to_live=30,
                                                      session=session)
    assert requested == 2  # unclamped: the bounds were refused
    logged = messages(client_logs)
    status_errors = [m for m in logged
                     if m.startswith("Provisioning system status request returned error => ")]
    update_errors = [m for m in messages(client_logs, logging.ERROR)
                     if m.startswith("Provisioning system update request error => ")]
    assert status_errors and update_errors, client_logs.text
    for message in status_errors + update_errors:
        assert message.split(" => ", 1)[1].strip(), message  # the server's sentence
    assert not org_state(backend)["requests"]
    print("\n".join(status_errors + update_errors))


def test_a_time_to_live_below_15_minutes_is_refused_with_the_servers_error_msg(
        sliderule, backend, home, client_logs):
    erin = signed_in_as(sliderule, backend, *ERIN)
    client_logs.clear()
    sliderule.update_available_servers(desired_nodes=1, time_to_live=5, session=erin)
    errors = [m for m in messages(client_logs, logging.ERROR)
              if m.startswith("Provisioning system update request error => ")]
    assert errors and "15" in errors[0], client_logs.text
    assert not org_state(backend)["requests"]
    print(errors[0])
