"""Per-user node groups with the official 5.7.0 client's `user_service=True`, unchanged.

With `user_service=True` the client logs in, takes its token's `sub` as its service, adds
`/<sub>` to the provisioner's deploy, extend, status and events paths, and counts its nodes with
`{"service": "<sub>"}` at the cluster's `/discovery/status`. The cluster here is `sliderule`, the
public one: the demo backend runs with `--public-cluster public`, deploys it at start, and
serves `https://sliderule.DOMAIN` as that cluster. The client has no call for
`/destroy/<sub>` (its `destroy()` never adds the suffix), so that one goes through its own
`gateway_request`, as its CLI's `-c` commands do.

Surroundings (name resolution, the CA bundle, a scratch HOME) as in test_official_client.py.
"""

import sys
import time
from pathlib import Path

import pytest
import sliderule

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/interop: support.py
from support import running_backend  # noqa: E402

CLOUD_DELAY_SECS = "0.05"
POLL_TIMEOUT_SECS = 30
PROXY_VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"]


@pytest.fixture(scope="module")
def backend():
    with running_backend("sliderule-nodegroups-", CLOUD_DELAY_SECS,
                         ("--public-cluster", "public")) as running:
        yield running


@pytest.fixture
def client_env(backend, monkeypatch, tmp_path):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(backend.ca_bundle))
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("BROWSER", "true")
    monkeypatch.delenv("SLIDERULE_GITHUB_TOKEN", raising=False)
    return monkeypatch


def user_session(backend, client_env, login):
    """`login`'s session on the public cluster with `user_service=True`."""
    client_env.setenv("SLIDERULE_GITHUB_TOKEN", f"demo-pat-{login}")
    return sliderule.create_session(domain=backend.domain, cluster="sliderule", trust_env=True,
                                    rethrow=False, user_service=True)


def public_cluster_answers(session) -> bool:
    try:
        return bool(session.source("version", path="/source", retries=0, rethrow=True))
    except RuntimeError:
        return False


def until(what, check):
    """Polls `check` (about every 50 ms, the demo cloud's step) until it returns a truthy value."""
    deadline = time.monotonic() + POLL_TIMEOUT_SECS
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {POLL_TIMEOUT_SECS} s")


def test_a_member_deploys_extends_reads_and_destroys_a_node_group(backend, client_env):
    session = user_session(backend, client_env, "bob")
    assert session.service == "bob"
    # The public cluster the demo deployed at start, running (it answers its version then).
    until("the public cluster running", lambda: public_cluster_answers(session))

    deployed = session.provisioner.deploy(is_public=False, node_capacity=2, ttl=60,
                                          version="latest")
    assert "error" not in deployed, deployed
    assert deployed["stack_name"] == "public-cluster-bob-asg", deployed
    assert deployed["cluster"] == "public" and deployed["node_capacity"] == 2, deployed

    running = until("two nodes running", lambda: (
        (s := session.provisioner.status()).get("current_nodes") == 2 and s))
    assert running["state"] == "RUNNING", running
    assert running["response"]["StackName"] == "public-cluster-bob-asg", running

    # The client's own view of its nodes: the cluster's discovery, counting its service.
    available, desired = session.scaleout(2, 60, block=False)
    assert (available, desired) == (2, 2)

    extended = session.provisioner.extend(ttl=120)
    assert "error" not in extended, extended
    assert extended["seconds_remaining"] == 7200, extended
    events = session.provisioner.events()
    assert isinstance(events, list) and events, events
    assert {"NodeGroup", "public-cluster-bob-asg"} <= {e["LogicalResourceId"] for e in events}

    report = session.provisioner.report()
    assert report["public"]["users"]["bob"]["current_nodes"] == 2, report

    destroyed = session.gateway_request("destroy/bob", "provisioner", {"cluster": "sliderule"})
    assert "error" not in destroyed, destroyed
    assert destroyed["state"] == "DESTROYING", destroyed
    gone = until("the node group gone", lambda: (
        (s := session.provisioner.status()).get("state") == "NOT_FOUND" and s))
    assert gone["current_nodes"] == 0, gone


def test_another_members_path_is_refused(backend, client_env):
    session = user_session(backend, client_env, "carol")
    refused = session.gateway_request("deploy/bob", "provisioner",
                                      {"cluster": "sliderule", "node_capacity": 1, "ttl": 60})
    assert "403" in refused["error"], refused
    assert "/<action>/carol" in refused["error_description"], refused
    # carol's own path works from the same session.
    status = session.provisioner.status()
    assert "404" in status["error"], status
