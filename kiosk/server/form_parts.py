"""The parts of an upload's form body, read in one pass over the body in memory.

The record upload is ``multipart/form-data`` of at most a few megabytes (the
edge bounds it before the route runs), so the route reads the whole body and
cuts it at its boundary lines with ``bytes.find``: a photo is sliced out once,
where the general streaming parser ran a Python callback per chunk and spooled
each file into a temporary file object, several times the CPU of the upload's
own checks. ``application/x-www-form-urlencoded`` is read too (a form without
files), so that a missing photo is named as missing whichever way it was sent.

What it does not do: nested multipart, ``Content-Transfer-Encoding`` (RFC 7578
forbids it in form data); a body it cannot read is ``FormError``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from python_multipart.multipart import parse_options_header


class FormError(ValueError):
    """The body is not the form its content type says."""


def form_parts(body: bytes, content_type: str) -> dict[str, bytes]:
    """The form's fields by name (the last of a repeated name), each as its bytes.

    A body of another type than multipart or URL-encoded form data has no fields.
    """
    kind, options = parse_options_header(content_type or "")
    if kind == b"application/x-www-form-urlencoded":
        try:
            return {k: v.encode() for k, v in parse_qsl(body.decode("utf-8"), keep_blank_values=True)}
        except (UnicodeDecodeError, ValueError):
            raise FormError("the form is not URL-encoded text") from None
    if kind != b"multipart/form-data":
        return {}
    boundary = options.get(b"boundary")
    if not boundary or len(boundary) > 200:
        raise FormError("the multipart body has no boundary")
    return _multipart(body, b"--" + boundary)


def _multipart(body: bytes, delimiter: bytes) -> dict[str, bytes]:
    """The parts between ``delimiter`` lines (RFC 2046: each after CRLF, the last one closed by ``--``)."""
    if body.startswith(delimiter):
        at = 0
    else:  # a preamble, ignored
        at = body.find(b"\r\n" + delimiter)
        if at < 0:
            raise FormError("the multipart body has no part")
        at += 2
    parts: dict[str, bytes] = {}
    while True:
        at += len(delimiter)
        if body.startswith(b"--", at):
            return parts  # the close delimiter: the rest is an epilogue
        line_end = body.find(b"\r\n", at)
        if line_end < 0 or body[at:line_end].strip(b" \t"):
            raise FormError("a multipart boundary line is broken")
        head_start = line_end + 2
        if body.startswith(b"\r\n", head_start):
            head, data_start = b"", head_start + 2
        else:
            head_end = body.find(b"\r\n\r\n", head_start)
            if head_end < 0:
                raise FormError("a multipart part's headers do not end")
            head, data_start = body[head_start:head_end], head_end + 4
        data_end = body.find(b"\r\n" + delimiter, data_start)
        if data_end < 0:
            raise FormError("the multipart body ends inside a part")
        name = _field_name(head)
        if name is not None:
            parts[name] = body[data_start:data_end]
        at = data_end + 2


def _field_name(head: bytes) -> str | None:
    """The ``name`` of a part's ``Content-Disposition: form-data`` header, or None."""
    for line in head.split(b"\r\n"):
        field, _, value = line.partition(b":")
        if field.strip().lower() == b"content-disposition":
            kind, options = parse_options_header(value.strip())
            name = options.get(b"name")
            if kind == b"form-data" and name is not None:
                try:
                    return name.decode("utf-8")
                except UnicodeDecodeError:
                    raise FormError("a multipart field name is not UTF-8") from None
    return None
