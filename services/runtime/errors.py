"""The project's error tree: what a failure means decides what is done with it.

::

    BuursignaalError                      the root: every domain error of the project
    ├── RefusedError                      never retried: HTTP 4xx, a consumer dead-letters
    │   ├── UnprocessableEventError       a valid event that can never take effect (runtime)
    │   ├── UnsupportedMediaTypeError     a body that is not JSON where JSON is taken: 415
    │   ├── TransitionError               a status change the table forbids (notifier)
    │   ├── SubmissionRefusedError        a report that cannot be accepted (intake)
    │   ├── RateLimitedError              too many reports from one sender: 429 (intake)
    │   ├── PhotoError                    a photo that is not a usable image (intake)
    │   ├── OutsideNetherlandsError       a point outside the Netherlands (intake)
    │   └── Open311Error                  a refused Open311 request (intake)
    └── TransientError                    retried with backoff: HTTP 503
        ├── BrokerUnavailableError        Kafka cannot be reached
        ├── DatabaseUnavailableError      the database cannot be reached
        ├── MailServerUnavailableError    the SMTP server cannot be reached
        └── GeocoderUnavailableError      PDOK cannot be reached

Outside the tree but classified with it (``classify``): a malformed event
(``schemas.cloudevents.InvalidCloudEventError``, kept free of the runtime) and pydantic's
``ValidationError`` are refused; SQLAlchemy's ``OperationalError`` and a DBAPI error that
invalidated its connection are transient.  Anything else is *unknown*: consumers retry it a
bounded number of times and then dead-letter it (docs/adr/0010-error-tree.md).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError

from schemas.cloudevents import InvalidCloudEventError


class BuursignaalError(Exception):
    """The root of every domain error; a subclass names its branch."""


class RefusedError(BuursignaalError):
    """Bad input, a forbidden transition, an unknown event: trying again cannot help.

    ``status`` and ``kind`` are what the HTTP edge answers (problem+json ``type``).
    """

    status: int = 422
    kind: str = "refused"  # its problem title: the catalogue's problem.<kind>


class TransientError(BuursignaalError):
    """A dependency is unavailable for now: the same work may succeed later."""

    status: int = 503
    kind: str = "unavailable"
    retry_after_s: int = 5


class UnprocessableEventError(RefusedError):
    """A well-formed event that can never take effect; the message is the dead-letter reason."""


class UnsupportedMediaTypeError(RefusedError):
    """A request body sent with a content type the operation does not take."""

    status = 415
    kind = "unsupported-media-type"


class BrokerUnavailableError(TransientError):
    """Kafka cannot be reached."""


class DatabaseUnavailableError(TransientError):
    """The service's database cannot be reached."""


class MailServerUnavailableError(TransientError):
    """The SMTP server cannot be reached."""


class GeocoderUnavailableError(TransientError):
    """PDOK's location server cannot be reached."""


class Verdict(StrEnum):
    """What to do with a failure."""

    REFUSED = "refused"  # dead letter now / HTTP 4xx
    TRANSIENT = "transient"  # retry with backoff / HTTP 503
    UNKNOWN = "unknown"  # retried a bounded number of times, then dead-lettered / HTTP 500


def classify(error: BaseException) -> Verdict:
    """The one place that reads the tree (and the library errors that belong to a branch)."""
    if isinstance(error, RefusedError | InvalidCloudEventError | ValidationError):
        return Verdict.REFUSED
    if isinstance(error, TransientError | OperationalError):
        return Verdict.TRANSIENT
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return Verdict.TRANSIENT
    return Verdict.UNKNOWN
