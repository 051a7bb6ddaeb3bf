from __future__ import annotations

import pytest

from schemas.cloudevents import EVENT_TYPES
from schemas.topics import TOPICS, TopicSpec, all_static_topics, dead_letter_topics, delivery_topic


def test_names_are_unique_and_versioned() -> None:
    names = [spec.name for spec in all_static_topics()]
    assert len(names) == len(set(names))
    assert all(name.split(".")[-1].startswith("v") for name in names)


def test_every_event_type_has_a_topic() -> None:
    delivery = delivery_topic("od-ijmond")
    carried = {spec.event for spec in TOPICS} | {delivery.event, *delivery.also_carries}
    assert set(EVENT_TYPES.values()) <= carried


def test_every_consumed_topic_with_a_dead_letter_has_that_topic_registered() -> None:
    dead = {spec.name for spec in dead_letter_topics()}
    for spec in TOPICS:
        if spec.dead_letter:
            assert spec.dead_letter in dead


def test_delivery_topic_is_named_from_the_recipient() -> None:
    spec = delivery_topic("od-noordzeekanaalgebied")
    assert spec.name == "buursignaal.delivery.od-noordzeekanaalgebied.v1"
    assert spec.partitions >= 1
    assert spec.retention_ms > 0


@pytest.mark.parametrize("bad", ["", "OD IJmond", "../etc", "a" * 80])
def test_delivery_topic_refuses_bad_recipient_ids(bad: str) -> None:
    with pytest.raises(ValueError, match="recipient id"):
        delivery_topic(bad)


def test_topic_names_without_a_version_are_refused() -> None:
    with pytest.raises(ValueError, match="version suffix"):
        TopicSpec("buursignaal.report", None, "k", 1, None, (), ())
