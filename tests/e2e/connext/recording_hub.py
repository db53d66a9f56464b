"""A loopback HTTP server that records what the Connext client asks a hub for.

It is not a hub: it answers `config` and `nonce`, enforces the nonce handshake (403 without a
valid `x-nonce`/`x-signature`, like Spoke's API), serves canned responses registered by a test,
and 404s everything else. Tests use it to pin down the client's wire behaviour (routes, bodies,
signatures) independently of the real hub.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from eth_account import Account
from eth_account.messages import encode_defunct

PUBLIC = ("config", "nonce", "exchangeRate", "gasPrice/estimate", "featureFlags")


@dataclass
class Recorded:
    method: str
    route: str  # path below /api/hub/, no query
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int


Responder = Callable[[Recorded], tuple[int, Any]]


class RecordingHub:
    def __init__(self, config: dict[str, Any], nonce: str = "0x" + "5a" * 32) -> None:
        self.config = config
        self.nonce = nonce
        self.requests: list[Recorded] = []
        self.responders: dict[tuple[str, str], Responder] = {}
        self._lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                route = parts.path.removeprefix("/api/hub/")
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                rec = Recorded(method, route, parse_qs(parts.query),
                               {k.lower(): v for k, v in self.headers.items()}, body, 0)
                status, payload = hub._respond(rec)
                rec.status = status
                with hub._lock:
                    hub.requests.append(rec)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/hub"

    def __enter__(self) -> RecordingHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def on(self, method: str, route: str, responder: Responder | Any) -> None:
        self.responders[(method, route)] = responder if callable(responder) else (
            lambda _r, body=responder: (200, body))

    def _authorised(self, rec: Recorded) -> bool:
        sig, address = rec.headers.get("x-signature"), rec.headers.get("x-address", "")
        if rec.headers.get("x-nonce") != self.nonce or not sig:
            return False
        # the client signs with ethers signMessage: a 0x-hex nonce is signed as its bytes
        signer = Account.recover_message(encode_defunct(primitive=bytes.fromhex(self.nonce[2:])),
                                         signature=sig)
        return bool(signer.lower() == address.lower())

    def _respond(self, rec: Recorded) -> tuple[int, Any]:
        if rec.route == "config":
            return 200, self.config
        if rec.route == "nonce":
            return 200, {"nonce": self.nonce}
        if rec.route not in PUBLIC and not self._authorised(rec):
            return 403, {"code": "auth_required", "message": "Forbidden"}
        responder = self.responders.get((rec.method, rec.route))
        if responder is not None:
            return responder(rec)
        return 404, {"code": "not_found", "message": f"no route {rec.route}"}

    def routes(self) -> list[str]:
        with self._lock:
            return [f"{r.method} {r.route}" for r in self.requests]
