"""What a consumer does with a failure is decided by its type.

- ``InvalidCloudEventError`` (schemas.cloudevents): the event is malformed -> dead letter now.
- ``UnprocessableEventError``: valid, but it can never be applied (unknown report, forbidden
  transition) -> dead letter now, with the reason.
- any other exception: presumed transient (database busy, broker hiccup) -> retried a bounded
  number of times, then dead-lettered so the consumer carries on.
"""


class UnprocessableEventError(Exception):
    """A well-formed event that can never take effect; the message is the dead-letter reason."""
