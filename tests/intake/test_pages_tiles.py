"""Background tiles that can be reached (PDOK's BRT-Achtergrondkaart in production,
``BUURSIGNAAL_MAP_TILES_URL``): the form's map loads them from a local tile server the test
starts, within the Content-Security-Policy, and draws no boundaries instead (issue 19)."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from tests.intake.test_form_browser import form_in_browser
from tests.support.browser import policy_violations

pytestmark = pytest.mark.kafka


def _tile() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 220, 200)).save(out, "PNG")
    return out.getvalue()


@contextmanager
def tile_server() -> Iterator[tuple[str, list[str]]]:
    """A tile server on a free port: (its URL template, the paths asked for)."""
    asked: list[str] = []
    tile = _tile()

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(tile)))
            self.end_headers()
            self.wfile.write(tile)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/brt/{{z}}/{{x}}/{{y}}.png", asked
    finally:
        server.shutdown()
        server.server_close()


def test_the_map_loads_the_configured_tiles(kafka_bootstrap_servers: str, tmp_path: Path) -> None:
    with (
        tile_server() as (tiles, asked),
        form_in_browser(kafka_bootstrap_servers, tmp_path, tiles) as (base, driver),
    ):
        driver.get(base + "/")
        WebDriverWait(driver, 30).until(
            expected_conditions.presence_of_element_located(
                (By.CSS_SELECTOR, "#pick-map img.leaflet-tile-loaded")
            )
        )
        sources = [
            str(img.get_attribute("src"))
            for img in driver.find_elements(By.CSS_SELECTOR, "#pick-map img.leaflet-tile")
        ]
        assert all(src.startswith(tiles.split("/brt/")[0] + "/brt/7/") for src in sources)
        assert any(path.startswith("/brt/7/") for path in asked), asked
        assert "bs-map--boundaries" not in (
            driver.find_element(By.ID, "pick-map").get_attribute("class") or ""
        ), "tiles reached: no boundaries instead"
        assert "Kadaster" in driver.find_element(By.ID, "pick-map").text, "the attribution"
        assert not policy_violations(driver), "the tiles' origin is allowed for images"
