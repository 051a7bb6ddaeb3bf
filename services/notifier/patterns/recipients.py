"""Who a signal was delivered to, and in which role, as a value instead of a ``"ca:…"`` string.

A signal keeps the recipients of its report that patterns are announced to: the competent
authority (``ca``) and the executing body (``eb``). The column stores them as text,
``"ca:pv27"`` or ``"eb:od-nzkg"``; ``parse`` and ``str`` translate at that edge only.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.routing import Recipient, Role

PREFIX_OF_ROLE = {Role.COMPETENT_AUTHORITY: "ca", Role.EXECUTING_BODY: "eb"}
ROLE_OF_PREFIX = {prefix: role for role, prefix in PREFIX_OF_ROLE.items()}


@dataclass(frozen=True)
class SignalRecipient:
    role: Role
    recipient_id: str

    @classmethod
    def of(cls, recipient: Recipient) -> SignalRecipient | None:
        """The signal's view of a delivery's recipient; None for roles patterns ignore."""
        if recipient.role not in PREFIX_OF_ROLE:
            return None
        return cls(recipient.role, recipient.recipient_id)

    @classmethod
    def parse(cls, text: str) -> SignalRecipient:
        """From the stored form, ``"ca:pv27"``."""
        prefix, separator, recipient_id = text.partition(":")
        if not separator or prefix not in ROLE_OF_PREFIX:
            raise ValueError(f"{text!r} is not a signal recipient (ca:… or eb:…)")
        return cls(ROLE_OF_PREFIX[prefix], recipient_id)

    @property
    def competent(self) -> bool:
        return self.role is Role.COMPETENT_AUTHORITY

    def __str__(self) -> str:
        return f"{PREFIX_OF_ROLE[self.role]}:{self.recipient_id}"


def recipient_ids(stored: list[str], *, competent_only: bool = False) -> list[str]:
    """The recipient ids in a signal's stored recipients, in order."""
    parsed = (SignalRecipient.parse(text) for text in stored)
    return [r.recipient_id for r in parsed if r.competent or not competent_only]
