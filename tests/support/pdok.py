"""A small HTTP server on 127.0.0.1 that answers like PDOK's Locatieserver ``/free``.

The intake's geocoder is real code talking HTTP; this server gives it PDOK-shaped answers for
a few addresses the tests know, and an empty result for anything else.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

KNOWN = {
    # Wijk aan Zee, next to the IJmuiden steelworks
    "1949AB 10": "POINT(4.59954 52.49325)",
    "Relweg 10, Wijk aan Zee": "POINT(4.59954 52.49325)",
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query).get("q", [""])[0]
        if not url.path.endswith("/free"):
            self.send_response(404)
            self.end_headers()
            return
        point = KNOWN.get(query)
        docs = [{"centroide_ll": point, "type": "adres"}] if point else []
        body = json.dumps({"response": {"numFound": len(docs), "docs": docs}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@contextmanager
def locatieserver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/bzk/locatieserver/search/v3_1"
    finally:
        server.shutdown()
        server.server_close()
