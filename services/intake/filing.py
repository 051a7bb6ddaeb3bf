"""Filing a report: the one submission path that every channel (form, app API, Open311) calls.

A channel parses its request into a validated ``ReportSubmission`` and calls ``file_report``;
the outcome is ``Accepted``, ``Refused`` or ``RateLimited``, which the channel translates back
into its own response format. Idempotency, rate limits, the durable commit and the metrics
happen here, once.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.report import Channel
from services.intake.actions import Accepted, Intake, RateLimitedError, SubmissionRefusedError
from services.intake.metrics import ACCEPT_SECONDS, REPORTS_ACCEPTED, REPORTS_REJECTED
from services.intake.photos import CleanPhoto
from services.intake.submission import ReportSubmission


@dataclass(frozen=True)
class Refused:
    """A valid-looking submission that cannot be accepted (``code`` keys the message table)."""

    code: str
    field: str


@dataclass(frozen=True)
class RateLimited:
    retry_after_s: int
    reason: str


Filed = Accepted | Refused | RateLimited


@dataclass(frozen=True)
class Filing:
    """Who sent a submission and how: what the use case needs besides the report itself."""

    channel: Channel
    ip_address: str | None = None
    idempotency_key: str | None = None
    client_id: str | None = None


async def file_report(
    intake: Intake,
    submission: ReportSubmission,
    filing: Filing,
    photos: list[CleanPhoto] | None = None,
) -> Filed:
    """Accept one validated submission, counting the outcome under the filing's channel."""
    channel = filing.channel.value
    try:
        with ACCEPT_SECONDS.time():
            accepted = await intake.accept_report(
                submission,
                channel=filing.channel,
                photos=photos or [],
                ip_address=filing.ip_address,
                idempotency_key=filing.idempotency_key,
                client_id=filing.client_id,
            )
    except SubmissionRefusedError as error:
        REPORTS_REJECTED.labels(channel, error.code).inc()
        return Refused(error.code, error.field)
    except RateLimitedError as error:
        REPORTS_REJECTED.labels(channel, "rate_limited").inc()
        return RateLimited(error.retry_after_s, error.reason)
    if not accepted.replayed:
        REPORTS_ACCEPTED.labels(channel, submission.category.value).inc()
    return accepted
