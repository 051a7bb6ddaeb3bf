"""One shared case (issue 16 §3) through the real broker, on SQLite and PostgreSQL: two bodies
on one report see each other's legs and answers in the API, the inbox and a ``case.updated``
on their own delivery topic; a body takes the lead; a second answer needs the first read."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from faststream.kafka import KafkaBroker

from schemas.case import CaseUpdated
from schemas.cloudevents import decode
from schemas.topics import DELIVERY_DEAD_LETTER, delivery_topic
from services.notifier.authorities import register_authority
from tests.notifier.conftest import NotifierUnderTest
from tests.notifier.test_notifier_service import deliver
from tests.support.kafka import Record, consume_until, headers_of
from tests.support.signin import key_sign_in

pytestmark = pytest.mark.kafka
OD_ANSWER = "Wij hebben de installatie van het bedrijf gecontroleerd en de lekkage laten dichten."
PV_ANSWER = (
    "De provincie heeft het bedrijf een last onder dwangsom opgelegd om herhaling te voorkomen."
)


async def test_two_bodies_on_one_report_see_each_others_answers(
    notifier_service: NotifierUnderTest, producer: KafkaBroker, kafka_bootstrap_servers: str
) -> None:
    service = notifier_service
    province, od = await deliver(service, producer, None, "pv27", "od-odnzkg")
    sessions = service.notifier.runtime.sessions
    as_pv = {"Authorization": f"Bearer {await register_authority(sessions, 'pv27', 'NH')}"}
    as_od = {"Authorization": f"Bearer {await register_authority(sessions, 'od-odnzkg', 'OD')}"}
    api = service.client

    for leg_id, headers in ((od, as_od), (province, as_pv)):
        read = await api.post(
            f"/api/v1/legs/{leg_id}/status", json={"status": "acknowledged"}, headers=headers
        )
        assert read.status_code == 200, read.text
    led = await api.post(f"/api/v1/legs/{od}/lead", headers=as_od)
    assert led.status_code == 200, led.text
    answered = await api.post(
        f"/api/v1/legs/{od}/status",
        json={"status": "resolved", "explanation": OD_ANSWER, "seen_answers_of": []},
        headers=as_od,
    )
    assert answered.status_code == 200, answered.text

    seen_by_pv = (await api.get(f"/api/v1/legs/{province}", headers=as_pv)).json()
    case = seen_by_pv["case"]
    assert case["lead_recipient_id"] == "od-odnzkg"
    [other] = case["others"]
    assert (other["recipient_id"], other["role"], other["status"]) == (
        "od-odnzkg", "executing_body", "resolved",
    )  # fmt: skip
    assert [a["explanation"] for a in other["answers"]][-1] == OD_ANSWER
    assert "reporter_key" not in str(case)
    assert "description" not in str(case), "the case has no report content"

    # the province answers anyway: first it must have read the OD's answer
    blind = await api.post(
        f"/api/v1/legs/{province}/status",
        json={"status": "resolved", "explanation": PV_ANSWER, "seen_answers_of": []},
        headers=as_pv,
    )
    assert blind.status_code == 409
    assert OD_ANSWER in blind.json()["detail"]
    informed = await api.post(
        f"/api/v1/legs/{province}/status",
        json={"status": "resolved", "explanation": PV_ANSWER, "seen_answers_of": ["od-odnzkg"]},
        headers=as_pv,
    )
    assert informed.status_code == 200, informed.text
    seen_by_od = (await api.get(f"/api/v1/legs/{od}", headers=as_od)).json()["case"]["others"]
    assert seen_by_od[0]["answers"][-1]["explanation"] == PV_ANSWER

    # each body hears of the other's changes on its own delivery topic
    key = seen_by_pv["report_id"].encode()
    for topic, other_body, count in (("pv27", "od-odnzkg", 3), ("od-odnzkg", "pv27", 2)):
        records = await consume_until(
            kafka_bootstrap_servers,
            delivery_topic(topic).name,
            _updates(key, count),
        )
        updates = [decode(headers_of(r), r.value or b"")[1] for r in records if r.key == key]
        news = [u for u in updates if isinstance(u, CaseUpdated)]
        assert {u.changed.recipient_id for u in news} == {other_body}
        assert all(u.recipient_id == topic for u in news)
        assert news[-1].changed.answers[-1].explanation in {OD_ANSWER, PV_ANSWER}
        assert news[-1].lead_recipient_id == "od-odnzkg"
    await asyncio.sleep(2)  # the notifier consumed its own case.updated: ignored, not dead
    with pytest.raises(TimeoutError):
        await consume_until(
            kafka_bootstrap_servers,
            DELIVERY_DEAD_LETTER.name,
            lambda rs: any(r.key == key for r in rs),
            timeout_s=3,
        )

    # the inbox shows the same case
    await key_sign_in(api, as_pv["Authorization"].removeprefix("Bearer "))
    page = await api.get(f"/inbox/legs/{province}")
    assert OD_ANSWER in page.text
    assert "heeft de leiding" in page.text


def _updates(key: bytes, count: int) -> Callable[[list[Record]], bool]:
    """Whether ``count`` case.updated records about the report are there."""
    return lambda rs: sum(r.key == key and b"case.updated" in _type(r) for r in rs) >= count


def _type(record: object) -> bytes:
    headers = dict(getattr(record, "headers", []) or [])
    return bytes(headers.get("ce_type", b""))
