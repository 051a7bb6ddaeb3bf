"""What intake's HTTP modules share: the use case as an ``Annotated`` dependency, the caller's
address and the service's public base URL."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.intake.actions import Intake


async def intake_of(request: Request) -> Intake:
    intake = request.app.state.intake
    assert isinstance(intake, Intake)
    return intake


IntakeDep = Annotated[Intake, Depends(intake_of)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def public_base_url(request: Request) -> str:
    url: str = request.app.state.settings.public_base_url
    return url.rstrip("/")


BaseUrlDep = Annotated[str, Depends(public_base_url)]
