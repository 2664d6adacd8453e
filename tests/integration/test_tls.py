"""TLS end to end: the router on HTTPS with the local CA (verified, *.localhost, reload without
dropping connections, plain HTTP and old TLS refused), and `switchman up --tls --api-tls`."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from switchman.home import Home
from switchman.tls import client_context, ensure_local
from tests.support.platform import running_platform
from tests.support.proc import wait_for
from tests.support.router import AUTH, deployment, endpoint, router, upstreams

pytestmark = pytest.mark.integration

REQUEST = (
    b"POST /endpoints/ep/score HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer primary-key\r\n"
    b"content-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
)


def _read_response(sock: ssl.SSLSocket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head


def _serial(port: int, ctx: ssl.SSLContext) -> int:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as sock,
    ):
        der = sock.getpeercert(binary_form=True)
    from cryptography import x509

    assert der is not None
    return int(x509.load_der_x509_certificate(der).serial_number)


def test_router_serves_https_only_and_reloads_its_certificate(tmp_path: Path) -> None:
    home = tmp_path / "home"
    files = ensure_local(Home(home), "ml.localhost")
    ctx = client_context(files.ca)
    with (
        upstreams(tmp_path, "u1") as ups,
        router(
            home,
            "--tls-cert",
            str(files.cert),
            "--tls-key",
            str(files.key),
            "--public-host",
            "ml.localhost",
            tls=ctx,
        ) as r,
    ):
        url = f"https://127.0.0.1:{r.port}"
        r.publish({"ep": endpoint({"blue": deployment(ups["u1"].entry())}, {"blue": 100})})
        resp = httpx.post(f"{url}/endpoints/ep/score", json={}, headers=AUTH, verify=ctx)
        assert resp.status_code == 200 and resp.headers["azureml-model-deployment"] == "blue"
        # the wildcard of --public-host verifies too (OpenSSL, like browsers, refuses a wildcard
        # directly under a single label, so *.localhost serves curl but not Python clients)
        with (
            socket.create_connection(("127.0.0.1", r.port), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname="ep.ml.localhost") as sock,
        ):
            sock.sendall(
                REQUEST.replace(b"/endpoints/ep/score", b"/score").replace(
                    b"host: 127.0.0.1", b"host: ep.ml.localhost"
                )
            )
            assert _read_response(sock).startswith(b"HTTP/1.1 200")
        # an unverified client, plain HTTP, and TLS 1.1 are all refused
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/-/ready", verify=True)
        with socket.create_connection(("127.0.0.1", r.port), timeout=5) as plain:
            plain.sendall(b"GET /-/ready HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
            try:
                answer = plain.recv(4096)
            except ConnectionResetError:
                answer = b""
            assert not answer.startswith(b"HTTP/")
        old = client_context(files.ca)
        old.maximum_version = ssl.TLSVersion.TLSv1_1
        with (
            pytest.raises((ssl.SSLError, OSError)),
            socket.create_connection(("127.0.0.1", r.port), timeout=5) as raw,
            old.wrap_socket(raw, server_hostname="localhost"),
        ):
            pass

        # a connection open across the reload keeps working; new handshakes get the new cert
        first = _serial(r.port, ctx)
        raw = socket.create_connection(("127.0.0.1", r.port), timeout=5)
        with ctx.wrap_socket(raw, server_hostname="localhost") as kept:
            kept.sendall(REQUEST)
            assert _read_response(kept).startswith(b"HTTP/1.1 200")
            files.cert.unlink()
            ensure_local(Home(home), "ml.localhost")
            wait_for(lambda: _serial(r.port, ctx) != first, timeout=15, what="certificate reload")
            kept.sendall(REQUEST)
            assert _read_response(kept).startswith(b"HTTP/1.1 200")
        assert r.proc.poll() is None


def test_router_refuses_a_certificate_that_does_not_match_its_key(tmp_path: Path) -> None:
    a = ensure_local(Home(tmp_path / "a"), None)
    b = ensure_local(Home(tmp_path / "b"), None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "switchman.dataplane",
            "--home",
            str(tmp_path / "h"),
            "--port",
            "0",
            "--tls-cert",
            str(a.cert),
            "--tls-key",
            str(b.key),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert str(a.cert) in done.stderr and "does not match" in done.stderr
    assert "Traceback" not in done.stderr


def test_switchman_up_tls_gives_https_uris_and_a_trusted_api(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with running_platform(home, "--tls", "--api-tls") as p:
        server = p.server()
        assert server["router_url"].startswith("https://")
        assert server["api_url"].startswith("https://")
        assert Path(server["ca_file"]) == home / "tls" / "ca.pem"
        p.run("online-endpoint", "create", "-n", "tlsep")
        shown = p.json("online-endpoint", "show", "-n", "tlsep")
        assert shown["scoring_uri"].startswith("https://127.0.0.1:")
        ctx = client_context(server["ca_file"])
        # no deployment yet: Azure's 404 comes back over verified TLS
        resp = httpx.post(
            shown["scoring_uri"],
            json={},
            headers={"Authorization": f"Bearer {p.key('tlsep')}"},
            verify=ctx,
            trust_env=False,
        )
        assert resp.status_code == 404
        # the studio's Test tab scores through the router over verified TLS too
        with p.client() as c:
            tried = c.request("POST", "/api/studio/online-endpoints/tlsep/test", {"body": "{}"})
        assert tried["status"] == 404, tried
        with pytest.raises(httpx.ConnectError):
            httpx.get(server["api_url"] + "/api/health", verify=True, trust_env=False)
        assert p.json("status")["running"] is True
        # both servers pick up a renewed certificate without a restart
        ports = [urlsplit(server[k]).port for k in ("api_url", "router_url")]
        first = [_serial(int(port or 0), ctx) for port in ports]
        (home / "tls" / "server.pem").unlink()
        ensure_local(Home(home), None)
        for port, old in zip(ports, first, strict=True):
            wait_for(lambda port=port, old=old: _serial(int(port or 0), ctx) != old, timeout=15)
        assert p.json("online-endpoint", "show", "-n", "tlsep")["name"] == "tlsep"


def test_switchman_up_with_a_mismatched_pair_fails_clearly(tmp_path: Path) -> None:
    a = ensure_local(Home(tmp_path / "a"), None)
    b = ensure_local(Home(tmp_path / "b"), None)
    env = {**os.environ, "SWITCHMAN_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "switchman",
            "up",
            "--port",
            "0",
            "--api-port",
            "0",
            "--tls-cert",
            str(a.cert),
            "--tls-key",
            str(b.key),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert str(a.cert) in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "home" / "server.json").exists()
