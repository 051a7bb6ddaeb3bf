"""Security headers on every answer of every service: a Content-Security-Policy the pages
satisfy (no inline script or style; the digest's charts are ``data:`` images), no MIME
sniffing, no referrer (tracking and feedback links carry tokens in their path), no framing.

A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` would cost every request a task
and a stream copy on the intake's hot path.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(
    form_action: Sequence[str] = (), image_origins: Sequence[str] = ()
) -> str:
    """The pages' policy; ``form_action`` adds origins a form may be redirected to (the
    notifier's sign-out goes on to the identity provider's logout), ``image_origins`` the map
    tiles' origin, the one image source beyond the service itself (scripts, styles and fonts
    stay the service's own)."""
    return "; ".join(
        (
            "default-src 'self'",
            " ".join(("img-src 'self' data:", *image_origins)),
            "object-src 'none'",
            "base-uri 'self'",
            " ".join(("form-action 'self'", *form_action)),
            "frame-ancestors 'none'",
        )
    )


CONTENT_SECURITY_POLICY = content_security_policy()
HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
# FastAPI's /docs page loads Swagger UI from a CDN and runs an inline script: it keeps
# working under a policy of its own (developers read it; residents never do).
DOCS_PATHS = ("/docs", "/redoc")
DOCS_POLICY = (
    b"default-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com;"
    b" script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; style-src 'self' 'unsafe-inline'"
    b" https://cdn.jsdelivr.net; frame-ancestors 'none'"
)


class SecurityHeaders:
    def __init__(
        self, app: ASGIApp, form_action: Sequence[str] = (), image_origins: Sequence[str] = ()
    ) -> None:
        self.app = app
        self.headers = HEADERS
        if form_action or image_origins:
            policy = content_security_policy(form_action, image_origins).encode()
            self.headers = [(b"content-security-policy", policy), *HEADERS[1:]]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = self.headers
        if str(scope.get("path", "")).startswith(DOCS_PATHS):
            headers = [(b"content-security-policy", DOCS_POLICY), *HEADERS[1:]]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, with_headers)
