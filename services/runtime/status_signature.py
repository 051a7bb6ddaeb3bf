"""Which authority wrote a status report: a signature header the notifier checks (ADR 0018).

Kafka's ACLs let every authority write the one status-reported topic, but a consumer is not
told which principal produced a record.  So each authority's producer signs what it sends:
``buursignaal-signature: v1=<hex HMAC-SHA256(key, ce_id + "\\n" + value)>`` with its own status
key, ``HMAC-SHA256(secret_key, "kafka-status:" + recipient_id)``.  The notifier derives the key
of the recipient the event names and refuses (dead letter with the reason) a record whose
signature is missing or made with another key: authority A cannot answer for B.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_HEADER = "buursignaal-signature"
VERSION = "v1"


def status_key(secret: str, recipient_id: str) -> bytes:
    """The recipient's own status key (given to its system with its Kafka credentials)."""
    return hmac.new(
        secret.encode(), f"kafka-status:{recipient_id}".encode(), hashlib.sha256
    ).digest()


def signature(key: bytes, event_id: str, body: bytes) -> str:
    mac = hmac.new(key, event_id.encode() + b"\n" + body, hashlib.sha256).hexdigest()
    return f"{VERSION}={mac}"


def signature_problem(
    secret: str, recipient_id: str, headers: Mapping[str, str], body: bytes
) -> str | None:
    """Why the record is not ``recipient_id``'s own (None: it is)."""
    given = headers.get(SIGNATURE_HEADER)
    if not given:
        return f"status report for {recipient_id} is not signed ({SIGNATURE_HEADER} missing)"
    expected = signature(status_key(secret, recipient_id), headers.get("ce_id", ""), body)
    if not hmac.compare_digest(given, expected):
        return f"status report for {recipient_id} is not signed with {recipient_id}'s key"
    return None
