"""Owners' request signing with the official 5.7.0 client's own signing code.

The backend requires owners to sign (`provisioner.require_owner_signatures = true`) and knows
alice's public key (`provisioner.owner_keys_file`). The key pair is made by `ssh-keygen -t
ed25519`, as the client's documentation says, and the private key sits at `~/.sliderule_key` in
the test's HOME, where the client looks for it. The 5.7.0 client signs on its own only for the
`developer` role, which we never grant, so the headers are made by calling its signing method
(`Session.__signrequest`) directly and sent as its `gateway_request` would send them.
"""

import json
import shutil
import subprocess

import pytest

from support import running_backend
from test_official_client import (  # noqa: F401 (fixtures used by name)
    CLOUD_DELAY_SECS, client_env, device_login, session_as,
)


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory):
    directory = tmp_path_factory.mktemp("owner-key")
    private = directory / "sliderule_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice@laptop",
                    "-f", str(private)], check=True)
    return private, (directory / "sliderule_key.pub").read_text().strip()


@pytest.fixture(scope="module")
def backend(key_pair, tmp_path_factory):
    _, public_line = key_pair
    directory = tmp_path_factory.mktemp("signing-config")
    keys = directory / "owner-keys.json"
    keys.write_text(json.dumps({"alice": public_line}))
    config = directory / "backend.toml"
    config.write_text(
        "[provisioner]\nrequire_owner_signatures = true\n"
        f"owner_keys_file = {json.dumps(str(keys))}\n")
    with running_backend("sliderule-signing-", CLOUD_DELAY_SECS,
                         ("--config", str(config))) as running:
        yield running


@pytest.fixture
def alice(backend, client_env, key_pair, tmp_path):
    """alice as an owner (device flow), with her private key at ~/.sliderule_key."""
    private, _ = key_pair
    shutil.copy(private, tmp_path / ".sliderule_key")
    (tmp_path / ".sliderule_key").chmod(0o600)
    session, printed = device_login(backend, client_env, "alice", "carol")
    assert session.ps_metadata["org_roles"] == ["owner", "member"], printed
    return session


def headers_for(session, api: str, data: dict, *, sign: bool = True) -> dict:
    """The headers `gateway_request` sends, signed by the client's own code."""
    headers = {}
    session._Session__buildauthheader(headers)
    if sign:
        session._Session__signrequest(headers, f"provisioner.{session.domain}/{api}",
                                      json.dumps(data))
    return headers


def signed_post(session, api: str, data: dict, *, sign: bool = True, headers=None):
    """POSTs to the provisioner as `gateway_request` does (body without a Content-Type)."""
    headers = headers if headers is not None else headers_for(session, api, data, sign=sign)
    return session.session.post(f"https://provisioner.{session.domain}/{api}",
                                data=json.dumps(data), headers=headers,
                                verify=session.ssl_verify), headers


def test_an_owners_signed_report_and_deploy_of_another_members_cluster_work(alice):
    report, headers = signed_post(alice, "report/clusters", {})
    assert "x-sliderule-signature" in headers, headers
    assert report.status_code == 200, report.text
    deployed, _ = signed_post(alice, "deploy", {"cluster": "carol", "is_public": False,
                                                "node_capacity": 1, "ttl": 15, "version": "latest"})
    assert deployed.status_code == 200, deployed.text
    assert deployed.json()["cluster"] == "carol"
    destroyed, _ = signed_post(alice, "destroy", {"cluster": "carol"})
    assert destroyed.status_code == 200, destroyed.text


def test_an_owners_unsigned_requests_are_refused_with_a_message(alice):
    # The client's own calls do not sign for owners: they are refused, and say what to do.
    answer = alice.provisioner.report()
    text = json.dumps(answer)
    assert "signature_required" in text and ".sliderule_key" in text, answer
    unsigned, _ = signed_post(alice, "report/clusters", {}, sign=False)
    assert unsigned.status_code == 401 and unsigned.json()["error"] == "signature_required"


def test_a_replayed_or_redirected_signature_is_refused(alice):
    first, headers = signed_post(alice, "report/clusters", {})
    assert first.status_code == 200, first.text
    replayed, _ = signed_post(alice, "report/clusters", {}, headers=headers)
    assert replayed.status_code == 401 and replayed.json()["error"] == "bad_signature"
    # Fresh headers, signed for report/clusters, sent to another path.
    fresh = headers_for(alice, "report/clusters", {})
    elsewhere, _ = signed_post(alice, "info", {}, headers=fresh)
    assert elsewhere.status_code == 401 and elsewhere.json()["error"] == "bad_signature"


def test_members_are_not_asked_to_sign(backend, client_env):
    bob = session_as(backend, client_env, "bob", "bob")
    status = bob.provisioner.status()
    assert "signature" not in json.dumps(status), status
