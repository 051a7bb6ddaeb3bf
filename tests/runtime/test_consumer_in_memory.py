"""The subscriber path on FastStream's in-memory broker: fast, and in addition to the real one."""

from __future__ import annotations

from pathlib import Path

from faststream.kafka import TestKafkaBroker
from sqlmodel.ext.asyncio.session import AsyncSession

from schemas._base import Event
from schemas.cloudevents import CloudEventAttributes, headers_for
from schemas.topics import REPORT_RECEIVED
from services.runtime.broker import make_broker
from services.runtime.database import make_engine, session_factory
from services.runtime.errors import UnprocessableEventError
from services.runtime.logs import REPORT_ID
from services.runtime.metrics import DEAD_LETTERS
from services.runtime.migrations import upgrade
from tests.support.consumers import memory_consumer
from tests.support.factories import report_received


async def test_applies_once_and_dead_letters_unprocessable(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite'}"
    upgrade("router", url)
    engine = make_engine(url)
    broker = make_broker("127.0.0.1:1", client_id="memory")
    applied: list[Event] = []
    logged_as: list[str | None] = []
    refuse = report_received(description="refuse me")

    async def apply(_s: AsyncSession, _a: CloudEventAttributes, event: Event) -> None:
        logged_as.append(REPORT_ID.get())  # what log lines written now would carry
        if event == refuse:
            raise UnprocessableEventError("this report cannot be routed")
        applied.append(event)

    dead_letters = DEAD_LETTERS.labels(REPORT_RECEIVED.name, "unprocessable")
    counted = dead_letters._value.get()
    made = memory_consumer(session_factory(engine), apply)
    broker, dead = made.broker, made.dead

    good = report_received()
    good_headers = headers_for(good, source="/t")
    async with TestKafkaBroker(broker) as test_broker:
        for _ in range(2):
            await test_broker.publish(
                good.model_dump_json().encode(), REPORT_RECEIVED.name, headers=good_headers
            )
        await test_broker.publish(
            refuse.model_dump_json().encode(),
            REPORT_RECEIVED.name,
            headers=headers_for(refuse, source="/t"),
        )
    await engine.dispose()
    assert applied == [good], "the second delivery of the same ce_id is a duplicate"
    assert str(good.report_id) in logged_as, "log lines while applying name the report"
    assert REPORT_ID.get() is None, "and the name does not leak past the event"
    assert len(dead) == 1
    assert dead[0]["x-deadletter-reason"] == "unprocessable: this report cannot be routed"
    assert dead_letters._value.get() == counted + 1, "the metric the alert rule watches"
