"""A merchant's webhook endpoint (standard library only) that verifies Spoke-Signature.

    SPOKE_WEBHOOK_SECRETS=whsec_new,whsec_old python client/examples/merchant_webhook.py 8080
"""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from spoke_client import SIGNATURE_HEADER, WebhookVerificationError, verify_webhook

SECRETS = [s for s in os.environ.get("SPOKE_WEBHOOK_SECRETS", "").split(",") if s]


class Webhook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))  # the RAW body
        try:
            verify_webhook(body, self.headers.get(SIGNATURE_HEADER, ""), SECRETS)
        except WebhookVerificationError as exc:
            self.send_response(400)
            self.end_headers()
            self.wfile.write(str(exc).encode())
            return
        event = json.loads(body)
        print("verified event", event.get("type"), event.get("id"))
        self.send_response(200)  # acknowledge fast; do slow work elsewhere
        self.end_headers()


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", int(sys.argv[1] if len(sys.argv) > 1 else 8080)), Webhook).serve_forever()
