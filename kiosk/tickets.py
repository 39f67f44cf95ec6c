"""Claim tickets of codeless records: short, typeable, self-checking.

A ticket is 8 random Crockford base32 characters (40 bits) and one check
character from the same alphabet, shown as ``ABCD-EFGH-J``. The student keeps
it (on paper or as a photo of the screen) and types or scans it later to bind
the collection code to the record.

The check character is a Damm check over the field GF(32) (x∘y = 2·x + y with
the polynomial x^5 + x^2 + 1). That operation is a totally anti-symmetric
quasigroup, so every single-character substitution and every transposition of
two neighbours (the check character included) is caught, while the check
character stays inside the 32 typeable symbols; Crockford's own mod-37 check
would need five extra symbols (``*~$=U``) that a phone keyboard hides.

Reading is forgiving the way Crockford intends: case is ignored, ``I``/``L``
read as ``1``, ``O`` as ``0``, hyphens (and other dashes), spaces and full-width
forms are dropped.
"""

from __future__ import annotations

import io
import re
import secrets
import unicodedata
from urllib.parse import parse_qs, urlsplit

import segno

from kiosk.errors import KioskError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DATA_LENGTH = 8
LENGTH = DATA_LENGTH + 1

_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_ALIASES = str.maketrans({"I": "1", "L": "1", "O": "0"})
_SEPARATORS = re.compile(r"[\s\-_.]+")
_POLY = 0b100101  # x^5 + x^2 + 1, primitive over GF(2)


class TicketError(KioskError):
    """A ticket that cannot be right: wrong length, a foreign symbol or a typo."""

    default_key = "ticket.typo"


def _times_two(x: int) -> int:
    x <<= 1
    if x & 0b100000:
        x ^= _POLY
    return x


def _interim(values: list[int]) -> int:
    acc = 0
    for v in values:
        acc = _times_two(acc) ^ v
    return acc


def check_character(data: str) -> str:
    """The check character of ``data`` (already normalised Crockford characters)."""
    # Appending c makes the Damm interim 2*acc ^ c, zero exactly when c = 2*acc.
    return ALPHABET[_times_two(_interim([_VALUE[ch] for ch in data]))]


def _is_valid(ticket: str) -> bool:
    return _interim([_VALUE[ch] for ch in ticket]) == 0


def new_ticket() -> str:
    """A fresh random ticket in its normalised 9-character form."""
    data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_LENGTH))
    return data + check_character(data)


def _clean(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).upper()
    # any dash (en, em, minus: what documents and keyboards put for a hyphen) separates too,
    # and invisible format characters copied along with the text are dropped
    kept = "".join("-" if unicodedata.category(ch) == "Pd" or ch == "\u2212" else ch
                   for ch in folded if unicodedata.category(ch) != "Cf")
    return _SEPARATORS.sub("", kept).translate(_ALIASES)


def normalise_ticket(text: str) -> str:
    """``text`` as a normalised ticket; ``TicketError`` unless it is a valid one.

    Raises with key ``ticket.length`` for the wrong number of characters,
    ``ticket.symbol`` for a character outside the alphabet and ``ticket.typo``
    when the check character does not match.
    """
    if not isinstance(text, str) or len(text) > 64:
        raise TicketError("ticket.length", "oversized")
    cleaned = _clean(text)
    if len(cleaned) != LENGTH:
        raise TicketError("ticket.length", f"len={len(cleaned)}")
    if any(ch not in _VALUE for ch in cleaned):
        raise TicketError("ticket.symbol", "foreign symbol")
    if not _is_valid(cleaned):
        raise TicketError("ticket.typo", "check character mismatch")
    return cleaned


def ticket_of(text: str) -> str:
    """The ticket in a scanned text: the ``ticket`` parameter of a bind-page link (its QR), else the text."""
    if isinstance(text, str) and "ticket=" in text and len(text) <= 512:
        values = parse_qs(urlsplit(text.strip()).query).get("ticket")
        if values:
            return values[0]
    return text


def bind_link(public_url: str, ticket: str) -> str:
    """The phone bind page with ``ticket`` filled in (the claim ticket's QR); the ticket alone without a URL."""
    try:
        shown = display(ticket)
    except TicketError:  # not a ticket this module made: link what was given rather than fail a screen
        shown = ticket
    return f"{public_url.rstrip('/')}/bind?ticket={shown}" if public_url else shown


def is_ticket(text: str) -> bool:
    """Whether ``text`` reads as a valid ticket, or a bind-page link holding one (for sorting scanned QR texts)."""
    try:
        normalise_ticket(ticket_of(text))
    except TicketError:
        return False
    return True


def display(ticket: str) -> str:
    """The ticket grouped for people: ``ABCD-EFGH-J``."""
    t = normalise_ticket(ticket)
    return f"{t[:4]}-{t[4:8]}-{t[8:]}"


def ticket_qr_png(ticket: str, scale: int = 8) -> bytes:
    """A PNG of a QR code holding the ticket's display form, for the screen and for printing.

    Always a full QR code (never Micro QR), the only symbology the station's
    scanner asks its decoder for.
    """
    qr = segno.make_qr(display(ticket), error="m")
    out = io.BytesIO()
    qr.save(out, kind="png", scale=max(1, int(scale)), border=4)
    return out.getvalue()
