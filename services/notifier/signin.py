"""Who is signed in to the inbox: OpenID Connect for people, sessions that end, CSRF tokens.

- People sign in at the identity provider (Keycloak, ADR 0016) with the Authorization Code
  flow and PKCE (S256), through Authlib: it keeps the state, nonce and code verifier, checks
  the ID token's signature, issuer, audience, expiry and nonce. The ID token's claims name
  the person's organisation (``organisation``: ``recipient:<id>``, ``table:national`` or
  ``operator:<facility>``) and their roles (``roles``: viewer, handler, coordinator,
  administrator; the highest counts).
- A session is a row (``authorities.InboxSession``); the browser's cookie (Starlette's signed
  session, HTTP-only, SameSite=Lax, Secure outside development and test) holds only its
  random token and the CSRF token. It ends after ``inbox_idle_s`` without use (default eight
  hours), at sign-out (which ends the provider's session too: RP-initiated logout), when the
  provider ends its session (OpenID Connect Back-Channel Logout: Keycloak posts a signed
  ``logout_token`` naming the session's ``sid`` or the person's ``sub``; it is verified against
  the provider's JWKS and every session it names is deleted), or when the API key that opened
  it is revoked.
- Every form of the inbox carries the session's CSRF token; a POST without it is refused (403).
- For development and the tests that predate OIDC, a person may also sign in with one of the
  organisation's API keys (``inbox_key_sign_in``; never in production): a handler session named
  after the key.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import IntEnum
from typing import Any
from urllib.parse import urlencode

from authlib.integrations.starlette_client import OAuth
from fastapi import Request
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlalchemy import delete
from sqlmodel import col

from schemas.leg import Actor, ActorKind
from services.notifier.authorities import ApiKey, InboxSession
from services.notifier.models import Authority
from services.runtime.clock import Clock
from services.runtime.database import SessionFactory, write_transaction

PROVIDER = "provider"
RECIPIENT = "recipient:"
SEEN_STEP = timedelta(minutes=1)  # last use is written at most once a minute per session
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_LEEWAY_S = 120  # clock skew allowed on a logout token's iat and exp


class Role(IntEnum):
    """A person's role in their organisation, each one allowing what the one before does."""

    VIEWER = 1
    HANDLER = 2
    COORDINATOR = 3
    ADMINISTRATOR = 4


class NotSignedInError(Exception):
    """The inbox was opened without a live session."""


class CsrfError(Exception):
    """A form came without the session's CSRF token."""


class LogoutTokenError(Exception):
    """A back-channel logout token that is not the provider's, not for us, or not a logout."""


class NotAllowedError(Exception):
    """The person's role does not allow this (a viewer changes nothing), or they have none."""


@dataclass(frozen=True)
class Person:
    """Someone signed in: their organisation and role, and who they are (pseudonymously)."""

    organisation: str
    organisation_name: str
    role: Role
    subject: str
    display_name: str

    @property
    def recipient_id(self) -> str:
        """The recipient whose legs they see; an organisation that is none (the national
        table, an operator) keeps its ``kind:`` prefix, which no recipient id can match."""
        return self.organisation.removeprefix(RECIPIENT)

    @property
    def name(self) -> str:
        return self.organisation_name

    @property
    def may_change(self) -> bool:
        return self.role >= Role.HANDLER

    @property
    def may_arrange(self) -> bool:
        """Moves legs between incidents and merges them (a coordinator or more)."""
        return self.role >= Role.COORDINATOR

    @property
    def may_manage_keys(self) -> bool:
        """Sees, creates and revokes the organisation's API keys (an administrator)."""
        return self.role >= Role.ADMINISTRATOR

    def actor(self) -> Actor:
        return Actor(
            kind=ActorKind.AUTHORITY,
            actor_id=self.recipient_id,
            subject=self.subject,
            name=self.display_name,
        )


def person_from_claims(claims: dict[str, Any]) -> Person:
    """The person an ID token names (``NotAllowedError`` without organisation or role)."""
    roles = [Role[r.upper()] for r in claims.get("roles") or [] if r.upper() in Role.__members__]
    organisation = str(claims.get("organisation") or "")
    if not roles or not organisation or not claims.get("sub"):
        raise NotAllowedError("no organisation or role")
    return Person(
        organisation=organisation,
        organisation_name=str(claims.get("organisation_name") or organisation),
        role=max(roles),
        subject=str(claims["sub"]),
        display_name=str(claims.get("name") or claims.get("preferred_username") or "?"),
    )


def person_of_key(authority: Authority, key: ApiKey) -> Person:
    """Development sign-in with an API key: a handler named after the key (as the API's
    ``callers.System`` is)."""
    return Person(
        organisation=RECIPIENT + authority.recipient_id,
        organisation_name=authority.name,
        role=Role.HANDLER,
        subject=f"key:{key.id}",
        display_name=f"API-sleutel {key.name}",
    )


@dataclass
class Provider:
    """The OpenID Connect provider the inbox signs in with."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str  # {public_base_url}/inbox/auth
    after_logout_uri: str  # {public_base_url}/inbox/login
    metadata_url: str = ""  # the OpenID configuration inside the network; empty: the issuer's

    def __post_init__(self) -> None:
        self.client: Any = OAuth().register(
            PROVIDER,
            client_id=self.client_id,
            client_secret=self.client_secret,
            server_metadata_url=self.metadata_url
            or f"{self.issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"},
        )

    async def logout_url(self, id_token: str) -> str:
        """The provider's end-session endpoint for this ID token (RP-initiated logout)."""
        metadata = await self.client.load_server_metadata()
        query = urlencode(
            {
                "id_token_hint": id_token,
                "post_logout_redirect_uri": self.after_logout_uri,
                "client_id": self.client_id,
            }
        )
        return f"{metadata['end_session_endpoint']}?{query}"

    async def logout_claims(self, logout_token: str) -> tuple[str | None, str | None]:
        """The ``(sid, sub)`` a back-channel logout token names, once it is verified
        (``LogoutTokenError`` otherwise): signed with one of the provider's keys (its JWKS,
        fetched again once for an unknown key id), issued by it for this client, recent, with
        the back-channel logout event, without a nonce, naming a session or a person.

        The JWT is checked with joserfc, the JOSE library Authlib itself verifies ID tokens
        with (``authlib.jose`` is deprecated)."""
        metadata = await self.client.load_server_metadata()
        algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=[a for a in algorithms if a != "none"])
        try:
            try:
                keys = KeySet.import_key_set(await self.client.fetch_jwk_set())
                token = jwt.decode(logout_token, keys, registry=registry)
            except InvalidKeyIdError:
                keys = KeySet.import_key_set(await self.client.fetch_jwk_set(force=True))
                token = jwt.decode(logout_token, keys, registry=registry)
            jwt.JWTClaimsRegistry(
                leeway=LOGOUT_LEEWAY_S,
                iss={"essential": True, "value": metadata.get("issuer", self.issuer)},
                aud={"essential": True, "value": self.client_id},
                iat={"essential": True},
            ).validate(token.claims)
        except (JoseError, ValueError) as error:
            raise LogoutTokenError(str(error) or type(error).__name__) from error
        claims = token.claims
        events = claims.get("events")
        if not isinstance(events, dict) or BACKCHANNEL_EVENT not in events:
            raise LogoutTokenError("not a back-channel logout event")
        if "nonce" in claims:
            raise LogoutTokenError("a logout token carries no nonce")
        sid, sub = claims.get("sid"), claims.get("sub")
        if not sid and not sub:
            raise LogoutTokenError("names neither a session nor a person")
        return (str(sid) if sid else None), (str(sub) if sub else None)


@dataclass
class SignIn:
    sessions: SessionFactory
    clock: Clock
    idle: timedelta
    key_sign_in: bool
    provider: Provider | None

    async def open(
        self,
        request: Request,
        person: Person,
        *,
        api_key_id: str | None = None,
        id_token: str | None = None,
        provider_sid: str | None = None,
    ) -> None:
        """A new session for ``person``; the cookie gets a new token (no fixation)."""
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        row = InboxSession(
            id=_digest(token),
            organisation=person.organisation,
            organisation_name=person.organisation_name,
            role=person.role.name.lower(),
            subject=person.subject,
            display_name=person.display_name,
            api_key_id=api_key_id,
            id_token=id_token,
            provider_sid=provider_sid,
            created_at=now,
            last_seen_at=now,
        )
        async with write_transaction(self.sessions) as session:
            session.add(row)
        request.session.clear()
        request.session.update({"sid": token, "csrf": secrets.token_urlsafe(32)})

    async def person(self, request: Request) -> Person:
        """The person of the request's live session (``NotSignedInError`` otherwise)."""
        token = request.session.get("sid")
        if not isinstance(token, str):
            raise NotSignedInError
        now = self.clock.now()
        async with write_transaction(self.sessions) as session:
            row = await session.get(InboxSession, _digest(token))
            if row is not None and now - row.last_seen_at > self.idle:
                await session.delete(row)
                row = None
            elif row is not None and now - row.last_seen_at >= SEEN_STEP:
                row.last_seen_at = now
                session.add(row)
        if row is None:
            request.session.pop("sid", None)
            raise NotSignedInError
        return _person_of(row)

    async def close(self, request: Request) -> str | None:
        """End the request's session; its ID token, for the provider's logout."""
        token = request.session.get("sid")
        request.session.clear()
        if not isinstance(token, str):
            return None
        async with write_transaction(self.sessions) as session:
            row = await session.get(InboxSession, _digest(token))
            if row is None:
                return None
            await session.delete(row)
            return row.id_token

    async def end_provider_sessions(self, sid: str | None, sub: str | None) -> int:
        """Back-channel logout: delete the sessions of the provider's session ``sid`` (of the
        person ``sub`` when given), or, with only ``sub``, every session the provider opened
        for that person; how many ended."""
        query = delete(InboxSession).where(col(InboxSession.api_key_id).is_(None))
        if sid is not None:
            query = query.where(col(InboxSession.provider_sid) == sid)
        if sub is not None:
            query = query.where(col(InboxSession.subject) == sub)
        if sid is None and sub is None:
            return 0
        async with write_transaction(self.sessions) as session:
            result = await session.exec(query)
            return int(result.rowcount or 0)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, for the forms of a page (made on first use)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """Refuse a form whose ``csrf_token`` is not the session's (``CsrfError``)."""
    sent = str((await request.form()).get("csrf_token", ""))
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not secrets.compare_digest(sent, expected):
        raise CsrfError


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _person_of(row: InboxSession) -> Person:
    return Person(
        organisation=row.organisation,
        organisation_name=row.organisation_name,
        role=Role[row.role.upper()],
        subject=row.subject,
        display_name=row.display_name,
    )
