"""Server-rendered pages: the authority inbox, the digests and the resident's "is it solved?".

People sign in to the inbox with OpenID Connect (``signin.py``, ADR 0016); every form of the
inbox carries the session's CSRF token. Feedback links carry a token
of the leg and its cycle (itsdangerous, valid for thirty days: ``mail.FEEDBACK_LINK_S``); the
link shows a question and only a POST changes anything, so mail scanners that open links do not
reopen legs. The pages only translate: queries and changes are
the desk's (``desk.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from authlib.integrations.starlette_client import OAuthError
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from services.notifier.authorities import authority_for_key
from services.notifier.callers import SIGN_IN, CsrfChecked, DeskDep, SignInDep
from services.notifier.desk import Desk, Feedback, UnknownLegError
from services.notifier.inbox import remaining
from services.notifier.signin import (
    NotAllowedError,
    csrf_token,
    person_from_claims,
    person_of_key,
)
from services.notifier.worktime import AMSTERDAM
from services.runtime import catalogue

TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))
catalogue.install(TEMPLATES.env, "nl")
LANGUAGE_COOKIE = "inbox_lang"
FLASH = "inbox_flash"


@pass_context
def _local(context: Context, moment: datetime | None) -> str:
    """Amsterdam time, the way each language writes it."""
    if not moment:
        return ""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    shape = "%Y-%m-%d %H:%M" if context.get("lang") == "en" else "%d-%m-%Y %H:%M"
    return moment.astimezone(AMSTERDAM).strftime(shape)


@pass_context
def _label(context: Context, code: object, kind: str) -> str:
    return catalogue.label(code, kind, str(context.get("lang") or "nl"))


@pass_context
def _decimal(context: Context, value: float | None, digits: int = 1) -> str:
    """A number with ``digits`` decimals: a decimal comma in Dutch, a point in English."""
    if value is None:
        return ""
    shown = f"{round(float(value), digits) + 0.0:.{digits}f}"  # + 0.0: never "-0,0"
    return shown if context.get("lang") == "en" else shown.replace(".", ",")


TEMPLATES.env.filters.update(local=_local, label=_label, decimal=_decimal)
TEMPLATES.env.globals["remaining"] = remaining
TEMPLATES.env.globals["text"] = catalogue.text  # a text in the page's language: text(key, lang)


FEEDBACK_DONE = {
    Feedback.ALREADY_TAKEN: "feedback.already_taken",
    Feedback.SOLVED: "feedback.solved",
    Feedback.REOPENED: "feedback.reopened",
}

router = APIRouter(include_in_schema=False)


DIGEST_TITLE = {"nl": "Overzicht voor de landelijke tafel", "en": "Overview for the national table"}


def render_digest(document: dict[str, Any], charts: dict[str, str], lang: str = "nl") -> str:
    """The digest page in one language, rendered once at publication and archived as it was
    (the archive keeps the Dutch one)."""
    words = catalogue.translations(lang)
    return TEMPLATES.get_template("digest.html").render(
        d=document,
        charts=charts,
        lang=lang,
        title=DIGEST_TITLE[lang],
        _=words.gettext,
        gettext=words.gettext,
        pgettext=words.pgettext,
    )


def inbox_language(request: Request) -> str:
    """The inbox's language: ``?lang=``, else the one chosen before (a cookie), else the
    browser's (English or Dutch), else Dutch."""
    for chosen in (request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if chosen in catalogue.LANGUAGES:
            return str(chosen)
    accepted = (request.headers.get("accept-language") or "").strip().lower()
    return "en" if accepted.startswith("en") else "nl"


def page(request: Request, name: str, code: int = 200, **context: Any) -> HTMLResponse:
    """A page in its language (``lang``; the inbox's: ``inbox_language``), every text from the
    catalogue; an inbox page also gets the CSRF token, the other language's link and the flash
    message a redirect left."""
    inbox = request.url.path.startswith("/inbox")
    lang = context.setdefault("lang", inbox_language(request) if inbox else "nl")
    words = catalogue.translations(lang)
    context.update(_=words.gettext, gettext=words.gettext, pgettext=words.pgettext)
    if inbox:
        context.setdefault("csrf_token", csrf_token(request))
        other = "en" if lang == "nl" else "nl"
        query = {**request.query_params, "lang": other}
        context["other_language"] = other
        context["other_language_url"] = f"{request.url.path}?{urlencode(query)}"
        context.setdefault("done", request.session.pop(FLASH, None))
    response = TEMPLATES.TemplateResponse(request, name, context, status_code=code)
    if inbox and request.query_params.get("lang") in catalogue.LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="lax"
        )
    return response


def _said(request: Request, key: str) -> str:
    return catalogue.text(key, inbox_language(request))


def login_form(request: Request, sign_in: SignInDep, code: int = 200, **extra: Any) -> Response:
    oidc, keys = sign_in.provider is not None, sign_in.key_sign_in
    return page(
        request,
        "login.html",
        code,
        title=_said(request, "inbox.login.title"),
        oidc=oidc,
        keys=keys,
        **extra,
    )


@router.get("/inbox/login", response_class=HTMLResponse)
async def login_page(request: Request, sign_in: SignInDep) -> Response:
    return login_form(request, sign_in)


@router.get("/inbox/login/oidc")
async def login_oidc(request: Request, sign_in: SignInDep) -> Response:
    """To the provider's sign-in (Authorization Code with PKCE; Authlib keeps the verifier)."""
    if sign_in.provider is None:
        return RedirectResponse(SIGN_IN, status_code=303)
    client = sign_in.provider.client
    response: Response = await client.authorize_redirect(request, sign_in.provider.redirect_uri)
    return response


@router.get("/inbox/auth")
async def login_callback(request: Request, sign_in: SignInDep) -> Response:
    """Back from the provider: the code exchanged, the ID token checked, a session opened."""
    if sign_in.provider is None:
        return RedirectResponse(SIGN_IN, status_code=303)
    try:
        token = await sign_in.provider.client.authorize_access_token(request)
        person = person_from_claims(dict(token.get("userinfo") or {}))
    except OAuthError:
        error = _said(request, "inbox.login.failed")
        return login_form(request, sign_in, 401, error=error)
    except NotAllowedError:
        error = _said(request, "inbox.login.no_role")
        return login_form(request, sign_in, 403, error=error)
    claims = dict(token.get("userinfo") or {})
    await sign_in.open(
        request,
        person,
        id_token=str(token.get("id_token") or "") or None,
        provider_sid=str(claims.get("sid") or "") or None,
    )
    return RedirectResponse("/inbox", status_code=303)


@router.post("/inbox/login", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def login(request: Request, desk: DeskDep, sign_in: SignInDep) -> Response:
    """Development sign-in with one of the organisation's API keys (never in production)."""
    if not sign_in.key_sign_in:
        return login_form(request, sign_in, 403, error=_said(request, "inbox.login.keys_off"))
    key = str((await request.form()).get("api_key", ""))
    found = await authority_for_key(desk.sessions, key, desk.legs.clock.now())
    if found is None:
        return login_form(request, sign_in, 401, error=_said(request, "inbox.login.unknown_key"))
    authority, api_key = found
    await sign_in.open(request, person_of_key(authority, api_key), api_key_id=api_key.id)
    return RedirectResponse("/inbox", status_code=303)


@router.post("/inbox/logout", dependencies=[CsrfChecked])
async def logout(request: Request, sign_in: SignInDep) -> Response:
    """End the session here and, for a provider's sign-in, at the provider too."""
    id_token = await sign_in.close(request)
    if id_token and sign_in.provider is not None:
        return RedirectResponse(await sign_in.provider.logout_url(id_token), status_code=303)
    return RedirectResponse(SIGN_IN, status_code=303)


def feedback_page_for(
    request: Request, lang: str, code: int = 200, heading: str = "feedback.title", **context: Any
) -> HTMLResponse:
    """The resident's "is it solved?" page in their language (texts: ``feedback.*``)."""

    def t(key: str) -> str:
        return catalogue.text(key, lang)

    return page(request, "feedback.html", code, title=t(heading), lang=lang, t=t, **context)


async def _feedback_language(desk: Desk, leg_id: str, cycle: int, token: str) -> str | None:
    """The resident's language for a valid link; None for a link expired or not signed."""
    try:
        return await desk.feedback_language(leg_id, cycle, token)
    except UnknownLegError:
        return None


def _unknown_link(request: Request) -> HTMLResponse:
    lang = "en" if request.headers.get("accept-language", "").lower().startswith("en") else "nl"
    if request.query_params.get("lang") in ("nl", "en"):
        lang = request.query_params["lang"]
    return feedback_page_for(request, lang, 404, "feedback.unknown_title", unknown=True)


@router.get("/feedback/{leg_id}/{cycle}/{token}", response_class=HTMLResponse)
async def feedback_page(
    request: Request, leg_id: str, cycle: int, token: str, desk: DeskDep, answer: str = ""
) -> Response:
    lang = await _feedback_language(desk, leg_id, cycle, token)
    if lang is None:
        return _unknown_link(request)
    return feedback_page_for(request, lang, answer=answer)


@router.post("/feedback/{leg_id}/{cycle}/{token}", response_class=HTMLResponse)
async def feedback(
    request: Request, leg_id: str, cycle: int, token: str, desk: DeskDep
) -> Response:
    lang = await _feedback_language(desk, leg_id, cycle, token)
    if lang is None:
        return _unknown_link(request)
    solved = str((await request.form()).get("answer", "")) == "yes"
    outcome = await desk.take_feedback(leg_id, cycle, solved)
    return feedback_page_for(request, lang, done=catalogue.text(FEEDBACK_DONE[outcome], lang))


@router.get("/digests/", response_class=HTMLResponse)
async def digests(request: Request, desk: DeskDep) -> Response:
    """The archive of digests in the reader's language (as the inbox chooses it); each digest
    page itself is the Dutch page archived at publication."""
    lang = inbox_language(request)
    other = "en" if lang == "nl" else "nl"
    return page(
        request,
        "digests.html",
        lang=lang,
        title=catalogue.text("digest.list.title", lang),
        digests=await desk.digests(),
        other_language=other,
        other_language_url=f"{request.url.path}?{urlencode({'lang': other})}",
    )


@router.get("/digests/{digest_id}.json")
async def digest_json(digest_id: str, desk: DeskDep) -> Response:
    record = await desk.digest(digest_id)
    if record is None:
        return JSONResponse({"detail": "no such digest"}, status_code=404)
    return JSONResponse(record.document)


@router.get("/digests/{digest_id}", response_class=HTMLResponse)
async def digest_page(digest_id: str, desk: DeskDep) -> Response:
    record = await desk.digest(digest_id)
    if record is None:
        return HTMLResponse("Onbekend overzicht", status_code=404)
    return HTMLResponse(record.html)
