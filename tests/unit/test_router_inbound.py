"""The inbound toggle: the pure range policy, and the scoring service refusing a private endpoint
to a public client with 403 (real service, fake channel, no network)."""

from __future__ import annotations

import json

import pytest

from switchman.dataplane.inbound import InboundPolicy, allowed, parse_ranges
from switchman.dataplane.message import Request, Response
from switchman.dataplane.metrics import Metrics
from switchman.dataplane.service import ScoringService
from switchman.dataplane.table import parse_table

PRIVATE = parse_ranges(["10.0.0.0/8", "fd00::/8"])


def test_allowed() -> None:
    policy = InboundPolicy(PRIVATE)
    for peer in ("127.0.0.1", "127.9.9.9", "::1", "10.1.2.3", "fd00::5", "::ffff:127.0.0.1", ""):
        assert allowed(peer, policy.ranges), peer
    for peer in ("203.0.113.7", "192.168.1.1", "2001:db8::1", "not-an-ip"):
        assert not allowed(peer, policy.ranges), peer


def test_bad_range_names_the_value() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33'"):
        parse_ranges(["10.0.0.0/33"])


class Channel:
    def __init__(self) -> None:
        self.responses: list[Response] = []

    def respond(self, response: Response) -> None:
        self.responses.append(response)


def _service(access: str) -> ScoringService:
    service = ScoringService(metrics=Metrics(), writer=None)
    service.install(
        parse_table(
            {
                "version": 1,
                "endpoints": {
                    "ep": {
                        "auth_mode": "none",
                        "traffic": {"blue": 100},
                        "public_network_access": access,
                        "deployments": {"blue": {"instances": []}},
                    }
                },
            }
        )
    )
    return service


def _ask(service: ScoringService, peer: str) -> Response:
    channel = Channel()
    req = Request("POST", "/endpoints/ep/score", b"", [], b"{}", 0.0, 0.0, peer=peer)
    service.serve(req, channel)
    return channel.responses[0]


def test_private_endpoint_refuses_public_clients_with_403() -> None:
    service = _service("disabled")
    refused = _ask(service, "203.0.113.7")
    assert refused.status == 403
    body = json.loads(refused.body)
    assert body["code"] == "Forbidden" and "Public access" in body["message"]
    # loopback passes the toggle (and then meets the next rule: no ready instance)
    assert _ask(service, "127.0.0.1").status != 403
    # a public endpoint serves everyone as before
    assert _ask(_service("enabled"), "203.0.113.7").status != 403
