"""Claim tickets: forgiving reading, and a check character that catches every single typo."""

from __future__ import annotations

import random

import numpy as np
import pytest

from kiosk.tickets import (
    ALPHABET,
    LENGTH,
    TicketError,
    check_character,
    display,
    is_ticket,
    new_ticket,
    normalise_ticket,
    ticket_qr_png,
)

SAMPLES = ["00000000", "ZZZZZZZZ", "ABCDEFGH", "9K3M7QXR", "10V0TWY5"]


def ticket(data: str) -> str:
    return data + check_character(data)


def test_new_tickets_are_valid_distinct_and_of_the_alphabet() -> None:
    seen = {new_ticket() for _ in range(200)}
    assert len(seen) == 200
    for t in seen:
        assert len(t) == LENGTH and set(t) <= set(ALPHABET)
        assert normalise_ticket(t) == t


@pytest.mark.parametrize("data", SAMPLES)
def test_every_single_character_substitution_is_caught(data: str) -> None:
    good = ticket(data)
    for i in range(LENGTH):
        for ch in ALPHABET:
            if ch == good[i]:
                continue
            typo = good[:i] + ch + good[i + 1:]
            with pytest.raises(TicketError) as info:
                normalise_ticket(typo)
            assert info.value.key == "ticket.typo"


def test_every_adjacent_transposition_is_caught() -> None:
    rng = random.Random(5)
    datas = SAMPLES + ["".join(rng.choice(ALPHABET) for _ in range(8)) for _ in range(300)]
    for data in datas:
        good = ticket(data)
        for i in range(LENGTH - 1):
            if good[i] == good[i + 1]:
                continue
            swapped = good[:i] + good[i + 1] + good[i] + good[i + 2:]
            assert not is_ticket(swapped), (good, i)


@pytest.mark.parametrize(
    "variant",
    [
        lambda t: t.lower(),
        display,
        lambda t: display(t).lower(),
        " ".join,
        lambda t: f"  {t[:4]} - {t[4:]}  ",
        lambda t: "".join(chr(ord(c) + 0xFEE0) for c in t),  # full-width, as a Chinese IME types it
        # dashes that word processors, PDFs and phone keyboards put in place of a hyphen
        lambda t: f"{t[:4]}\u2013{t[4:8]}\u2014{t[8:]}",
        lambda t: f"{t[:4]}\u2010{t[4:8]}\u2212{t[8:]}",
        lambda t: f"\u200b{t[:4]}\u00ad{t[4:]}\ufeff",  # invisible characters copied along
    ],
)
def test_tickets_are_read_the_way_people_type_them(variant) -> None:
    t = ticket("9K3M7QXR")
    assert normalise_ticket(variant(t)) == t


def test_look_alike_letters_read_as_digits() -> None:
    t = ticket("10V0TWY1")
    assert normalise_ticket(t.replace("1", "I").replace("0", "O")) == t
    assert normalise_ticket(t.replace("1", "l").replace("0", "o")) == t


@pytest.mark.parametrize(("text", "key"), [("", "ticket.length"), ("ABCD-EFGH", "ticket.length"),
                                             ("ABCD-EFGH-JK", "ticket.length"), ("ABCD-EFGH-U", "ticket.symbol"),
                                             ("ABCD-EFG*-J", "ticket.symbol"), ("x" * 100, "ticket.length")])
def test_malformed_tickets_say_what_is_wrong(text: str, key: str) -> None:
    with pytest.raises(TicketError) as info:
        normalise_ticket(text)
    assert info.value.key == key
    assert info.value.message("zh") != key


def test_display_groups_the_ticket() -> None:
    t = ticket("ABCDEFGH")
    assert display(t) == f"ABCD-EFGH-{t[8]}"
    assert display(display(t).lower()) == display(t)


def test_the_ticket_qr_holds_the_ticket_and_is_a_full_qr_code() -> None:
    import cv2
    import zxingcpp

    t = new_ticket()
    png = ticket_qr_png(t, scale=6)
    assert png.startswith(b"\x89PNG")
    gray = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    found = zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCodeModel2)
    assert [r.text for r in found] == [display(t)]
    assert normalise_ticket(found[0].text) == t
