"""The phone's bind page: a form, a QR image or pasted text, and a page for every answer."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_server_helpers import BATCH, jpeg, metadata, put_headers, server_config, upload_parts

from kiosk.config import CodesSection, ServerConfig
from kiosk.server import bind_page
from kiosk.server.app import create_app

codes = pytest.importorskip("kiosk.codes")
tickets = pytest.importorskip("kiosk.tickets")
segno = pytest.importorskip("segno")

ADMIN = "admin-token-for-the-tests"
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@dataclass
class World:
    client: TestClient
    token: str
    students: list[Any]
    stranger: Any  # a student of another school


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp_path: Path = tmp_path_factory.mktemp("bind-page")
    key_file = tmp_path / "code-keys.json"
    ring = codes.KeyRing.generate(key_file)
    # the per-address rate limit is tested in test_server_edge.py; here every submission comes from one client
    base = server_config(tmp_path, bind_max_misses=5, bind_lock_minutes=15.0, bind_rate_per_minute=10_000)
    config = ServerConfig(server=base.server, codes=CodesSection(key_file=key_file))
    app = create_app(config, admin_token=ADMIN, purge_every_s=None, clock=lambda: NOW)
    app.state.server.batches.put(BATCH, NOW)
    token = app.state.server.tokens.issue("station-01", NOW)
    # one student per successful bind: a student has one photo in review per batch
    students = codes.demo_codes(ring, BATCH, 4, now=NOW - timedelta(days=1))
    other_school = replace(BATCH, feature_code="OTHER1", school_code="99999", school_name="别的大学")
    stranger = codes.demo_codes(ring, other_school, 1, now=NOW - timedelta(days=1))[0]
    with TestClient(app) as client:
        yield World(client, token, students, stranger)


_seed = iter(range(1000))


def codeless_record(w: World) -> tuple[str, str]:
    """Upload a codeless record; its id and ticket."""
    ticket = tickets.new_ticket()
    photo = jpeg(next(_seed))
    meta = metadata(photo, codeless=True, ticket=ticket, captured_at=NOW)
    answer = w.client.put(f"/api/v1/records/{meta['record_id']}", files=upload_parts(meta, photo),
                          headers=put_headers(w.token, meta["record_id"]))
    assert answer.status_code == 201, answer.text
    return str(meta["record_id"]), ticket


def qr_png(payload: str) -> bytes:
    """The code as a downloaded QR image: PNG, no margin (decoders need one; the page adds it)."""
    buf = io.BytesIO()
    segno.make(payload, error="m").save(buf, kind="png", scale=4, border=0)
    return buf.getvalue()


def submit(w: World, ticket: str, last4: str, *, image: bytes | None = None, pasted: str = "",
           filename: str = "code.png") -> Any:
    files: dict[str, Any] = {"ticket": (None, ticket), "id_last4": (None, last4), "code_text": (None, pasted)}
    files["code_image"] = (filename, image or b"", "image/png")
    return w.client.post("/bind", files=files)


def assert_page(answer: Any, status: int, *words: str) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    for word in words:
        assert word in answer.text, word
    return str(answer.text)


def test_the_form_is_a_plain_page_with_the_ticket_prefilled(world: World) -> None:
    page = assert_page(world.client.get("/bind", params={"ticket": "4JN3-AA9H-F"}), 200,
                       "multipart/form-data", "value='4JN3-AA9H-F'", "认领码", "Claim ticket", "type='file'")
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")


def test_the_page_escapes_what_it_echoes(world: World) -> None:
    evil = "<script>alert('x')</script>"
    page = assert_page(world.client.get("/bind", params={"ticket": evil}), 200)
    assert "<script>" not in page and "&lt;script&gt;" in page
    long = world.client.get("/bind", params={"ticket": "A" * 5000})
    assert long.status_code == 200 and "A" * 65 not in long.text
    refused = assert_page(submit(world, evil, "1234", pasted="KC1.x"), 422)
    assert "<script>" not in refused


def test_a_qr_image_of_the_code_binds_the_codeless_record(world: World) -> None:
    record_id, ticket = codeless_record(world)
    student = world.students[0]
    page = assert_page(submit(world, tickets.display(ticket).lower(), student.last_four,
                              image=qr_png(student.payload)), 200, "绑定成功", record_id[:8].upper(), "排队")
    assert f"/api/v1/records/{record_id}" in page
    status = world.client.get(f"/api/v1/records/{record_id}")
    assert status.json()["status"] == "queued"


def test_a_photo_of_the_code_as_jpeg_binds_too(world: World) -> None:
    import cv2
    import numpy as np

    record_id, ticket = codeless_record(world)
    student = world.students[1]
    code = cv2.imdecode(np.frombuffer(qr_png(student.payload), np.uint8), cv2.IMREAD_GRAYSCALE)
    photo = np.full((code.shape[0] + 200, code.shape[1] + 300), 230, np.uint8)  # a grey desk around it
    photo[100:100 + code.shape[0], 150:150 + code.shape[1]] = code
    ok, data = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    assert_page(submit(world, ticket, student.last_four, image=data.tobytes(), filename="photo.jpg"), 200,
                record_id[:8].upper())


def test_a_qr_saved_on_a_transparent_background_binds_too(world: World) -> None:
    import cv2
    import numpy as np

    record_id, ticket = codeless_record(world)
    student = world.students[2]
    code = cv2.imdecode(np.frombuffer(qr_png(student.payload), np.uint8), cv2.IMREAD_GRAYSCALE)
    bgra = np.zeros((*code.shape, 4), np.uint8)  # black everywhere; only the dark modules are opaque
    bgra[:, :, 3] = np.where(code < 128, 255, 0).astype(np.uint8)
    ok, data = cv2.imencode(".png", bgra)
    assert ok
    assert_page(submit(world, ticket, student.last_four, image=data.tobytes()), 200, record_id[:8].upper())


def test_pasted_text_binds(world: World) -> None:
    record_id, ticket = codeless_record(world)
    student = world.students[3]
    assert_page(submit(world, ticket, student.last_four, pasted=f"  {student.payload}\n"), 200,
                record_id[:8].upper())


def test_wrong_last_four_says_so_with_the_tries_left(world: World) -> None:
    _, ticket = codeless_record(world)
    student = world.students[0]
    page = assert_page(submit(world, ticket, "0000", pasted=student.payload), 422,
                       "认领码与身份证号后四位不符", "4 tries left")
    assert f"value='{ticket}'" in page  # the form again, ticket kept


def test_a_code_of_another_school_is_refused_in_words(world: World) -> None:
    _, ticket = codeless_record(world)
    assert_page(submit(world, ticket, world.stranger.last_four, image=qr_png(world.stranger.payload)), 422,
                "别的大学", "tries left")


def test_a_locked_ticket_says_for_how_long(world: World) -> None:
    _, ticket = codeless_record(world)
    student = world.students[0]
    for _ in range(4):
        submit(world, ticket, "0000", pasted=student.payload)
    assert_page(submit(world, ticket, "0000", pasted=student.payload), 422, "No tries left")
    assert_page(submit(world, ticket, student.last_four, pasted=student.payload), 429, "15 min")


def test_unknown_and_mistyped_tickets(world: World) -> None:
    student = world.students[0]
    # the same words as wrong last four: a guesser must not learn which tickets exist
    assert_page(submit(world, tickets.new_ticket(), student.last_four, pasted=student.payload), 422,
                "认领码与身份证号后四位不符")
    _, ticket = codeless_record(world)
    typo = ticket[:3] + ("0" if ticket[3] != "0" else "1") + ticket[4:]
    assert_page(submit(world, typo, student.last_four, pasted=student.payload), 422, "typo")


def test_missing_fields(world: World) -> None:
    assert_page(submit(world, "", "1234", pasted="x"), 422, "Please enter the claim ticket")
    assert_page(submit(world, "4JN3-AA9H-F", "", pasted="x"), 422, "last four")
    assert_page(submit(world, "4JN3-AA9H-F", "1234"), 422, "upload the collection code image")
    assert_page(world.client.post("/bind", content=b"nothing", headers={"content-type": "text/plain"}), 422)


def test_a_file_that_is_not_an_image(world: World) -> None:
    _, ticket = codeless_record(world)
    assert_page(submit(world, ticket, "1234", image=b"%PDF-1.4 not an image" * 10, filename="code.pdf"), 415,
                "not an image")


def test_an_image_without_a_qr_code(world: World) -> None:
    _, ticket = codeless_record(world)
    assert_page(submit(world, ticket, "1234", image=jpeg(3, (200, 200)), filename="desk.jpg"), 422,
                "No QR code was found")


def test_an_image_of_the_claim_ticket_instead_of_the_code(world: World) -> None:
    _, ticket = codeless_record(world)
    assert_page(submit(world, ticket, "1234", image=tickets.ticket_qr_png(ticket)), 422, "not the collection code")


def test_an_oversized_upload_is_refused_with_a_page(world: World) -> None:
    _, ticket = codeless_record(world)
    big = b"\x89PNG" + b"\0" * (bind_page.MAX_BODY + 10)
    assert_page(submit(world, ticket, "1234", image=big), 413, "5 MB")
    # Just under the whole form's limit but over the image's: refused after reading, the same page.
    assert_page(submit(world, ticket, "1234", image=b"\0" * (bind_page.MAX_IMAGE_BYTES + 1)), 413, "5 MB")


def test_a_huge_image_in_a_small_file_is_refused_before_decoding(world: World) -> None:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (9000, 9000)).save(buf, "PNG")  # 81 megapixels in a few kilobytes
    _, ticket = codeless_record(world)
    assert_page(submit(world, ticket, "1234", image=buf.getvalue()), 413, "too many pixels")


def test_a_phone_photo_of_more_than_12_megapixels_is_refused_before_decoding(world: World, monkeypatch) -> None:
    from PIL import Image

    decoded: list[object] = []
    monkeypatch.setattr(bind_page, "picture_gray", decoded.append)
    buf = io.BytesIO()
    Image.new("1", (4300, 3000)).save(buf, "PNG")  # 12.9 megapixels
    _, ticket = codeless_record(world)
    assert_page(submit(world, ticket, "1234", image=buf.getvalue()), 413, "too many pixels", "12")
    assert decoded == []


def test_the_ticket_is_checked_before_the_image_is_looked_at(world: World, monkeypatch) -> None:
    read: list[bytes] = []
    monkeypatch.setattr(bind_page, "read_code_image", lambda data, scanner: read.append(data) or "KC1.x")
    unknown = tickets.new_ticket()
    student = world.students[0]
    # the page says what a phone is told for an unknown ticket with a readable code: ticket and last four differ
    assert_page(submit(world, unknown, student.last_four, image=qr_png(student.payload)), 422,
                "认领码与身份证号后四位不符", "tries left")
    assert read == []
    assert_page(submit(world, unknown, student.last_four, pasted=student.payload), 422, "认领码与身份证号后四位不符")
    _, known = codeless_record(world)
    submit(world, known, world.students[0].last_four, image=qr_png(world.students[0].payload))
    assert len(read) == 1


def test_images_are_decoded_by_a_bounded_pool() -> None:
    import asyncio
    import threading

    release = threading.Event()
    pool = bind_page.DecodePool(workers=1, queue=1)

    async def burst() -> list[object]:
        jobs = [asyncio.ensure_future(pool.run(release.wait, 30)) for _ in range(2)]
        await asyncio.sleep(0.05)
        with pytest.raises(bind_page.PageRefusal) as busy:
            await pool.run(release.wait, 30)
        assert (busy.value.status, busy.value.key) == (503, "server.bind_page.problem.busy")
        release.set()
        return list(await asyncio.gather(*jobs))

    assert asyncio.run(burst()) == [True, True]


def test_the_status_page_links_to_the_bind_page_while_the_code_is_awaited(world: World) -> None:
    record_id, _ = codeless_record(world)
    page = world.client.get(f"/api/v1/records/{record_id}", headers={"accept": "text/html"})
    assert 'href="/bind"' in page.text


def test_the_pages_stay_out_of_the_api_schema(world: World) -> None:
    assert "/bind" not in world.client.get("/openapi.json").json()["paths"]
