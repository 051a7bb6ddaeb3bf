"""The notifier under test and a producer, as in ``tests/notifier`` (its fixtures)."""

from tests.notifier.conftest import notifier_service, producer

__all__ = ["notifier_service", "producer"]
