"""What a consumer does with a failure is decided by its type.

- ``InvalidCloudEvent`` (schemas.cloudevents): the event itself is malformed -> dead letter now.
- ``UnprocessableEvent``: valid, but it can never be applied (unknown report, forbidden
  transition) -> dead letter now, with the reason.
- any other exception: presumed transient (database busy, broker hiccup) -> retried a bounded
  number of times, then dead-lettered so the consumer carries on.
"""


class UnprocessableEvent(Exception):
    """A well-formed event that can never take effect; the message is the dead-letter reason."""
