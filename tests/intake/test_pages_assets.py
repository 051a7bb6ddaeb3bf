"""What the resident's pages load and ask for besides themselves: the NL Design System CSS and
Leaflet from npm, the map's settings and boundaries, the form's nearby list, and the
Content-Security-Policy that lets in nothing else (issue 19, ADR 0017)."""

from __future__ import annotations

import re

import pytest

from tests.intake.conftest import IntakeUnderTest

TILES = "https://tiles.example.nl/brt/{z}/{x}/{y}.png"


def sent(category: str = "odour", lat: str = "52.0900", lon: str = "5.1200") -> dict[str, str]:
    return {
        "language": "nl",
        "category": category,
        "lat": lat,
        "lon": lon,
        "observed_date": "23-11-2026",
        "observed_time": "12:30",
    }


async def test_pages_load_the_npm_packages_from_the_service_itself(
    intake_service: IntakeUnderTest,
) -> None:
    client = intake_service.client
    form = await client.get("/")
    loaded = re.findall(r'(?:href|src)="(/(?:vendor|assets|static)/[^"]+)"', form.text)
    assert "/vendor/utrecht/index.css" in loaded
    assert "/vendor/leaflet/leaflet.js" in loaded
    for path in loaded:
        assert (await client.get(path)).status_code == 200, path
    assert "utrecht-form-field" in form.text
    assert "utrecht-button--primary-action" in form.text
    # without JavaScript: no map, the address fields say where
    assert re.search(r'id="map-picker" hidden', form.text)
    assert 'id="field-postcode"' in form.text
    policy = form.headers["content-security-policy"]
    assert "img-src 'self' data:;" in policy, "no tiles configured: no other origin"
    assert "unsafe-inline" not in policy
    assert (await client.get("/map/settings.json")).json()["tiles"] == ""


async def test_municipal_boundaries_for_maps_without_tiles(
    intake_service: IntakeUnderTest,
) -> None:
    answer = await intake_service.client.get("/map/municipalities.geojson")
    assert answer.headers["content-type"] == "application/geo+json"
    features = answer.json()["features"]
    assert len(features) == 342
    names = {f["properties"]["code"]: f["properties"]["name"] for f in features}
    assert names["GM0375"] == "Beverwijk"
    assert len(answer.content) < 150_000, "simplified"


@pytest.mark.parametrize("intake_service", [{"map_tiles_url": TILES}], indirect=True)
async def test_configured_tiles_are_the_one_other_image_origin(
    intake_service: IntakeUnderTest,
) -> None:
    answer = await intake_service.client.get("/map/settings.json")
    assert answer.json()["tiles"] == TILES
    policy = answer.headers["content-security-policy"]
    assert "img-src 'self' data: https://tiles.example.nl;" in policy
    assert "default-src 'self';" in policy, "scripts, styles and fonts stay the service's own"


async def test_nearby_list_for_the_form_before_sending(intake_service: IntakeUnderTest) -> None:
    client = intake_service.client
    first = await client.post("/", data=sent())
    assert first.status_code == 303
    number = (await client.get(first.headers["location"])).text
    shown = re.search(r'id="report-number">(\d+)<', number)
    assert shown
    fragment = await client.get(
        "/nearby", params={"category": "odour", "lat": "52.0905", "lon": "5.12", "lang": "nl"}
    )
    assert fragment.status_code == 200
    assert "Al gemeld in de buurt" in fragment.text
    assert f'id="notice-too-{shown.group(1)}"' in fragment.text
    assert "<html" not in fragment.text, "a fragment the form puts in place"
    other = await client.get(
        "/nearby", params={"category": "noise", "lat": "52.0905", "lon": "5.12", "lang": "en"}
    )
    assert "notice-too" not in other.text, "another kind of nuisance"
    refused = await client.get("/nearby", params={"category": "smell", "lat": "x", "lon": "5"})
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/problem+json")


async def test_tracking_page_shows_the_place_coarsened(intake_service: IntakeUnderTest) -> None:
    client = intake_service.client
    answer = await client.post("/", data=sent(lat="52.09123", lon="5.12345"))
    confirmation = await client.get(answer.headers["location"])
    link = re.search(r'id="tracking-link" href="([^"]+)"', confirmation.text)
    assert link
    page = await client.get(link.group(1).replace("http://intake.test", ""))
    assert "afgerond op 500 meter" in page.text
    assert "52.09123" not in page.text, "never the exact place"
    assert "5.12345" not in page.text
    assert "data-points=" in page.text


async def test_nearby_list_for_a_typed_address(intake_service: IntakeUnderTest) -> None:
    """Without a pin, the form's typed address is looked up (the local PDOK knows 1949 AB 10,
    in Wijk aan Zee)."""
    client = intake_service.client
    first = await client.post("/", data=sent(lat="52.49325", lon="4.59954"))
    assert first.status_code == 303
    typed = {"category": "odour", "postcode": "1949 ab", "house_number": "10", "lang": "en"}
    fragment = await client.get("/nearby", params=typed)
    assert "Already reported nearby" in fragment.text
    assert 'id="notice-too-' in fragment.text
    unknown = await client.get("/nearby", params={**typed, "postcode": "9999 ZZ"})
    assert unknown.status_code == 200
    assert unknown.text == "", "an address not found: nothing to show yet"
