"""An omgevingsdienst's own consumer: read its delivery topic, acknowledge each report.

    pip install aiokafka
    export KAFKA_PASSWORD=...  BUURSIGNAAL_STATUS_KEY=...   # both given to you with your account
    python deploy/authority/consumer.py --recipient od-odnzkg --bootstrap kafka:9093 \\
        --username authority-od-odnzkg           # SCRAM-SHA-512 over TLS (SASL_SSL)

Locally (``buursignaal stack up``) the broker takes SASL without TLS: add
``--security-protocol SASL_PLAINTEXT``; ``buursignaal kafka credentials authority-<id>`` prints
the password and the status key.  Your principal may read only your delivery topic (with
consumer groups ``authority-<id>*``) and write only the status-reported topic (ADR 0018).

Every delivery (CloudEvents headers, JSON body: the report, the place, the recipient with its
role and reason) is printed and answered with "acknowledged" on the status-reported topic,
signed with your status key (header ``buursignaal-signature``: ``v1=`` and the hex
HMAC-SHA256 of the ``ce_id``, a newline and the body): the notifier refuses an answer not signed
with the key of the authority it names. The notifier checks the transition and records it.
Answering over HTTP instead: ``POST /api/v1/legs/{leg_id}/status`` with the authority's API
key. Needs only aiokafka and the standard library: this file is meant to be copied.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import ssl
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

STATUS_TOPIC = "buursignaal.leg.status-reported.v1"
STATUS_TYPE = "nl.buursignaal.leg.status-reported.v1"


def status_report(
    delivery: dict, recipient: str, status: str, status_key: bytes | None = None
) -> tuple[bytes, list]:
    body = {
        "report_id": delivery["report_id"],
        "recipient_id": recipient,
        "status": status,
        "actor": {"kind": "authority", "actor_id": recipient},
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    headers = {
        "ce_specversion": "1.0",
        "ce_id": str(uuid.uuid4()),
        "ce_source": f"/authority/{recipient}",
        "ce_type": STATUS_TYPE,
        "ce_time": body["occurred_at"],
        "ce_subject": f"{delivery['report_id']}/{recipient}",
        "content-type": "application/json",
    }
    value = json.dumps(body).encode()
    if status_key is not None:
        mac = hmac.new(status_key, headers["ce_id"].encode() + b"\n" + value, hashlib.sha256)
        headers["buursignaal-signature"] = f"v1={mac.hexdigest()}"
    return value, [(k, v.encode()) for k, v in headers.items()]


async def run(args: argparse.Namespace) -> int:
    security: dict = {}
    if args.username:
        security = {
            "security_protocol": args.security_protocol,
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": args.username,
            "sasl_plain_password": args.password,
        }
        if args.security_protocol == "SASL_SSL":
            security["ssl_context"] = ssl.create_default_context()
    status_key = bytes.fromhex(args.status_key) if args.status_key else None
    topic = f"buursignaal.delivery.{args.recipient}.v1"
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=args.bootstrap, group_id=f"authority-{args.recipient}",
        auto_offset_reset="earliest", enable_auto_commit=False, **security,
    )  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=args.bootstrap, acks="all", **security)
    await consumer.start()
    await producer.start()
    answered = 0
    try:
        while args.limit is None or answered < args.limit:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    delivery = json.loads(record.value)
                    who = delivery["recipient"]
                    print(f"report {delivery['report_id']}: {delivery['report']['category']} "
                          f"as {who['role']} — {who['reason']['nl']}", flush=True)  # fmt: skip
                    value, headers = status_report(
                        delivery, args.recipient, "acknowledged", status_key
                    )
                    await producer.send_and_wait(
                        STATUS_TOPIC, value, key=delivery["report_id"].encode(), headers=headers
                    )
                    answered += 1
            await consumer.commit()  # after the answers are on the broker
    finally:
        await consumer.stop()
        await producer.stop()
    return answered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipient", required=True, help="your recipient id, e.g. od-odnzkg")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--username", help="your Kafka principal: authority-<recipient id>")
    parser.add_argument("--password", default=os.environ.get("KAFKA_PASSWORD"))
    parser.add_argument(
        "--security-protocol", choices=("SASL_SSL", "SASL_PLAINTEXT"), default="SASL_SSL"
    )
    parser.add_argument(
        "--status-key",
        default=os.environ.get("BUURSIGNAAL_STATUS_KEY"),
        help="hex; signs your answers (the notifier refuses unsigned ones when Kafka has SASL)",
    )
    parser.add_argument("--limit", type=int, help="stop after this many reports")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
