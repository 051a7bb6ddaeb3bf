"""A small HTTP server on 127.0.0.1 that answers like PDOK's Locatieserver.

The intake's geocoder (``/free``) and the router's water board lookup (``/reverse``) are real
code talking HTTP; this server gives them PDOK-shaped answers for a few addresses and points
the tests know, and an empty result for anything else. ``REQUESTS`` counts what it was asked.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlparse

from tests.support.http import JsonHandler, serving

KNOWN = {
    # Wijk aan Zee, next to the IJmuiden steelworks
    "1949AB 10": "POINT(4.59954 52.49325)",
    "Relweg 10, Wijk aan Zee": "POINT(4.59954 52.49325)",
}


# reverse lookups: points rounded to 2 decimals -> the address document's water board fields
WATER_BOARDS = {
    (52.37, 4.9): {"waterschapscode": "155", "waterschapsnaam": "Waterschap Amstel Gooi en Vecht"},
}
REQUESTS: list[str] = []


class _Handler(JsonHandler):
    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        url = urlparse(self.path)
        params = parse_qs(url.query)
        REQUESTS.append(url.path)
        if url.path.endswith("/free"):
            point = KNOWN.get(params.get("q", [""])[0])
            docs = [{"centroide_ll": point, "type": "adres"}] if point else []
        elif url.path.endswith("/reverse"):
            lat, lon = float(params["lat"][0]), float(params["lon"][0])
            board = WATER_BOARDS.get((round(lat, 2), round(lon, 2)))
            docs = [{"type": "adres", **board}] if board else []
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_json({"response": {"numFound": len(docs), "docs": docs}})


@contextmanager
def locatieserver() -> Iterator[str]:
    with serving(_Handler, "/bzk/locatieserver/search/v3_1") as url:
        yield url
