"""The index client over HTTPS: one kept-alive connection per thread and host, reopened when the server closed it."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from debwheels.errors import FetchError
from debwheels.lock import simpleindex
from debwheels.lock.simpleindex import SimpleIndex

PAGE_TYPE = "application/vnd.pypi.simple.v1+json"


class Served:
    """A PEP 691 index over TLS on localhost that counts the TCP connections it accepts."""

    def __init__(self, certificate: Path, key: Path) -> None:
        self.connections = 0
        self.requests: list[str] = []
        self.close_after_each = False
        served = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive unless told otherwise

            def setup(self) -> None:
                served.connections += 1
                super().setup()

            def do_GET(self) -> None:
                served.requests.append(self.path)
                name = self.path.strip("/").split("/")[-1]
                if name == "missing":
                    body = b""
                    self.send_response(404)
                else:
                    body = json.dumps({"meta": {"api-version": "1.1"}, "name": name, "files": []}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", PAGE_TYPE)
                    self.send_header("ETag", f'"{name}"')
                self.send_header("Content-Length", str(len(body)))
                if served.close_after_each:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://localhost:{self.server.server_address[1]}/simple"


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    certificate, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(certificate)),
        ],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))  # the client trusts this certificate only
    for name in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    simpleindex.tls_context.cache_clear()
    index = Served(certificate, key)
    thread = threading.Thread(target=index.server.serve_forever, daemon=True)
    thread.start()
    yield index
    index.server.shutdown()
    index.server.server_close()
    simpleindex.tls_context.cache_clear()
    simpleindex._CONNECTIONS.open.clear()


def test_pages_of_one_host_share_one_connection_per_thread(served: Served, tmp_path: Path) -> None:
    client = SimpleIndex(served.url, tmp_path / "cache")
    for name in ("alpha", "beta", "gamma", "missing"):
        client.project(name)
    assert served.requests == ["/simple/alpha/", "/simple/beta/", "/simple/gamma/", "/simple/missing/"]
    assert served.connections == 1
    assert client.project("missing").files == ()


def test_a_connection_the_server_closed_is_opened_again(served: Served, tmp_path: Path) -> None:
    served.close_after_each = True
    client = SimpleIndex(served.url, tmp_path / "cache")
    assert [client.project(n).name for n in ("alpha", "beta", "gamma")] == ["alpha", "beta", "gamma"]
    assert served.connections == 3


def test_an_untrusted_certificate_is_refused(served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "none.pem"))
    simpleindex.tls_context.cache_clear()
    simpleindex._CONNECTIONS.open.clear()
    with pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED"):
        SimpleIndex(served.url, tmp_path / "cache").project("alpha")
