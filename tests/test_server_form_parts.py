"""The upload's form read from its body: what browsers and HTTP libraries send, and what no one should."""

from __future__ import annotations

import httpx
import pytest

from kiosk.server.form_parts import FormError, form_parts


def encoded(files: dict[str, tuple[str | None, bytes | str, str | None]], data: dict[str, str] | None = None
            ) -> tuple[bytes, str]:
    request = httpx.Request("PUT", "http://x/", files=files, data=data)
    return request.read(), request.headers["content-type"]


def test_parts_come_back_byte_for_byte_as_an_http_library_sent_them() -> None:
    photo = bytes(range(256)) * 40 + b"\r\n--not-the-boundary\r\n"
    body, kind = encoded({"metadata": (None, '{"a": "名字"}', "application/json"),
                          "photo": ("p.jpg", photo, "image/jpeg"), "original": ("o.jpg", b"", "image/jpeg")})
    assert form_parts(body, kind) == {"metadata": '{"a": "名字"}'.encode(), "photo": photo, "original": b""}


def test_preamble_epilogue_padding_and_a_part_without_headers() -> None:
    body = (b"ignored preamble\r\n--b  \r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
            b"--b\r\n\r\nno name\r\n--b\r\ncontent-disposition: form-data; name=a\r\n\r\n2\r\n--b--\r\nepilogue")
    assert form_parts(body, "multipart/form-data; boundary=\"b\"") == {"a": b"2"}


def test_url_encoded_forms_and_other_types() -> None:
    assert form_parts(b"metadata=%7B%7D&x=", "application/x-www-form-urlencoded") == {"metadata": b"{}", "x": b""}
    assert form_parts(b'{"metadata": 1}', "application/json") == {}
    assert form_parts(b"", "") == {}


@pytest.mark.parametrize("body,kind", [
    (b"--b\r\n\r\nx\r\n--b--", "multipart/form-data"),  # no boundary given
    (b"no delimiter at all", "multipart/form-data; boundary=b"),
    (b"--bjunk\r\n\r\nx\r\n--b--", "multipart/form-data; boundary=b"),
    (b"--b\r\nContent-Disposition: form-data; name=a\r\n", "multipart/form-data; boundary=b"),
    (b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\ncut short", "multipart/form-data; boundary=b"),
    (b"--b", "multipart/form-data; boundary=b"),
    (b"\xff\xfe=1", "application/x-www-form-urlencoded"),
])
def test_broken_bodies_are_form_errors(body: bytes, kind: str) -> None:
    with pytest.raises(FormError):
        form_parts(body, kind)
