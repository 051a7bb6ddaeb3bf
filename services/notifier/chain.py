"""The statutory chain the ladder stays in, per competent authority (configurable).

The third rung goes to the competent authority's administrative lead: its board (Gedeputeerde
Staten of a province, the college van burgemeester en wethouders of a municipality), reached
through a contact the authority names. The resident is then told which routes are open: a
complaint about the handling to the competent authority (Algemene wet bestuursrecht, chapter
9), then the ombudsman. Contacts and links come from a YAML file
(``BUURSIGNAAL_NOTIFIER_CHAIN_FILE``)::

    ombudsman_url: https://www.nationaleombudsman.nl/klacht-indienen   # default for everyone
    authorities:
      pv27:
        board_contact: pv27-gs               # a recipient id (an inbox / a system of its own)
        board_name: Gedeputeerde Staten van Noord-Holland
        complaint_url: https://www.noord-holland.nl/klachten
      gm0363:
        board_contact: gm0363-college
        ombudsman_url: https://www.ombudsman.amsterdam.nl/

Without an entry the board contact is ``<authority id>-bestuur`` and its name is derived from
the kind of authority (``pv`` … Gedeputeerde Staten, ``gm`` … college van B&W).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from schemas.routing import RECIPIENT_ID_PATTERN

NATIONAL_OMBUDSMAN = "https://www.nationaleombudsman.nl/klacht-indienen"


class AuthorityChain(BaseModel):
    model_config = ConfigDict(extra="forbid")

    board_contact: str | None = Field(default=None, pattern=RECIPIENT_ID_PATTERN)
    board_name: str | None = None
    complaint_url: str | None = None
    ombudsman_url: str | None = None


@dataclass(frozen=True)
class Board:
    """Who the third rung reaches, and what the resident is told."""

    contact_id: str
    name: str
    authority_id: str
    authority_name: str
    complaint_url: str | None
    ombudsman_url: str


class Chain(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ombudsman_url: str = NATIONAL_OMBUDSMAN
    authorities: dict[str, AuthorityChain] = Field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None) -> Chain:
        if path is None:
            return cls()
        return cls.model_validate(yaml.safe_load(path.read_text()) or {})

    def board(self, authority_id: str, authority_name: str) -> Board:
        entry = self.authorities.get(authority_id, AuthorityChain())
        return Board(
            contact_id=entry.board_contact or f"{authority_id}-bestuur",
            name=entry.board_name or _board_name(authority_id, authority_name),
            authority_id=authority_id,
            authority_name=authority_name,
            complaint_url=entry.complaint_url,
            ombudsman_url=entry.ombudsman_url or self.ombudsman_url,
        )


def _board_name(authority_id: str, authority_name: str) -> str:
    if authority_id.startswith("pv"):
        return f"Gedeputeerde Staten ({authority_name})"
    if authority_id.startswith("gm"):
        return f"College van burgemeester en wethouders ({authority_name})"
    return f"Bestuur van {authority_name}"
