"""Discharges to regional water go to the water board found for the point."""

from __future__ import annotations

import json
from pathlib import Path

from schemas.report import Category
from schemas.routing import Role
from services.router.waterboards import BoundaryWaterBoards, PdokWaterBoards
from tests.router.test_reference import reference
from tests.router.test_resolution import report, router
from tests.support import pdok
from tools.local.postgres import free_port

AMSTERDAM = (52.3702, 4.8952)
BOARDS = {"W0155": "Waterschap Amstel Gooi en Vecht", "W0372": "Hoogheemraadschap van Delfland"}


def test_without_a_water_board_the_report_goes_to_triage() -> None:
    resolution = router(None).resolve(report(*AMSTERDAM, Category.WATER, subtype="discharge"))
    assert resolution.needs_water_board
    assert resolution.outcome == "triage"


def test_with_the_water_board_it_is_the_competent_authority() -> None:
    resolution = router(None).resolve(
        report(*AMSTERDAM, Category.WATER, subtype="discharge"), water_board="W0155"
    )
    assert resolution.outcome == "routed"
    assert not resolution.needs_water_board
    assert resolution.place.water_board_code == "W0155"
    board = next(r for r in resolution.recipients if r.recipient_id == "w0155")
    assert board.role is Role.COMPETENT_AUTHORITY
    assert "Waterschap Amstel Gooi en Vecht" in board.reason.nl


async def test_pdok_reverse_lookup_names_the_board_and_is_cached() -> None:
    registry, _ = reference()
    with pdok.locatieserver() as url:
        finder = PdokWaterBoards(url, registry.water_boards)
        before = len(pdok.REQUESTS)
        assert await finder.find(*AMSTERDAM) == "W0155"
        assert await finder.find(AMSTERDAM[0] + 0.0001, AMSTERDAM[1]) == "W0155"
        assert len(pdok.REQUESTS) - before == 1, "a point ~10 m away uses the cached answer"
        assert await finder.find(51.0, 5.9) is None, "no address document: unknown"


async def test_pdok_unreachable_means_unknown_and_a_pause() -> None:
    finder = PdokWaterBoards(f"http://127.0.0.1:{free_port()}/x", BOARDS, timeout_s=0.5)
    assert await finder.find(*AMSTERDAM) is None
    assert finder._paused_until > 0, "later reports do not wait for a timeout again"


async def test_boundary_layer_answers_without_pdok(tmp_path: Path) -> None:
    (tmp_path / "boundaries").mkdir()
    square = [[4.8, 52.3], [5.0, 52.3], [5.0, 52.45], [4.8, 52.45], [4.8, 52.3]]
    layer = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"statcode": "W0155", "statnaam": "AGV"},
                "geometry": {"type": "Polygon", "coordinates": [square]},
            }
        ],
    }
    (tmp_path / "boundaries" / "waterschap_2025.geojson").write_text(json.dumps(layer))
    finder = BoundaryWaterBoards.load(tmp_path, 2025)
    assert finder is not None
    assert await finder.find(*AMSTERDAM) == "W0155"
    assert await finder.find(51.9, 4.4) is None
    assert BoundaryWaterBoards.load(tmp_path, 2024) is None
