"""Authorities' API keys: shown once at registration, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import select

from services.notifier.models import Authority
from services.runtime.database import SessionFactory, write_transaction


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def register_authority(sessions: SessionFactory, recipient_id: str, name: str) -> str:
    """Add (or give a new key to) ``recipient_id``; returns the key, which is not kept."""
    key = secrets.token_urlsafe(32)
    async with write_transaction(sessions) as session:
        existing = await session.get(Authority, recipient_id)
        if existing is None:
            session.add(Authority(recipient_id=recipient_id, name=name, key_hash=key_digest(key)))
        else:
            existing.name, existing.key_hash = name, key_digest(key)
            session.add(existing)
    return key


async def authority_for_key(sessions: SessionFactory, key: str) -> Authority | None:
    if not key:
        return None
    async with sessions() as session:
        return (
            await session.exec(select(Authority).where(Authority.key_hash == key_digest(key)))
        ).first()
