"""Reading a multipart upload from the request stream into a temporary file, within a byte limit.

FastAPI's UploadFile would let the whole body be spooled before our code runs. Here the declared
Content-Length is checked first (fast 413), then the body is parsed chunk by chunk with
python-multipart's streaming parser; the file part goes straight to a temporary file and the read
stops as soon as the limit is passed. Memory use stays at one chunk whatever the client sends.
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from api.kernel.problems import Problem
from api.uploads.inspect import HEAD_BYTES, refuse

FIELD = "file"
# Room for boundaries, part headers and a few small form fields around the file itself.
MULTIPART_OVERHEAD = 64 * 1024
MAX_PARTS = 8


@dataclass
class ReceivedFile:
    path: Path
    size: int
    head: bytes
    filename: str | None  # as the client named it: display only, never used for storage

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"


def too_large(limit: int) -> Problem:
    return Problem(413, f"file: larger than the {_mb(limit)} limit",
                   errors=[{"field": FIELD, "reason": f"larger than the {_mb(limit)} limit"}])


def display_name(raw: bytes | None) -> str | None:
    """The client's file name reduced to something safe to show: last path component, printable, ≤255."""
    if not raw:
        return None
    name = raw.decode("utf-8", errors="replace")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255] or None


class _Collector:
    def __init__(self, out, limit: int):
        self.out = out
        self.limit = limit
        self.size = 0
        self.head = b""
        self.parts = 0
        self.in_file = False
        self.file_seen = False
        self.filename: bytes | None = None
        self.ended = False
        self._field = b""
        self._value = b""
        self._headers: dict[bytes, bytes] = {}

    def callbacks(self) -> dict:
        return {"on_part_begin": self.part_begin, "on_header_field": self.header_field,
                "on_header_value": self.header_value, "on_header_end": self.header_end,
                "on_headers_finished": self.headers_finished, "on_part_data": self.part_data,
                "on_part_end": self.part_end, "on_end": self.end}

    def part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise field_problem(f"too many form parts (at most {MAX_PARTS})")
        self._headers = {}
        self.in_file = False

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def header_end(self) -> None:
        self._headers[self._field.strip().lower()] = self._value.strip()
        self._field, self._value = b"", b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if options.get(b"name") == FIELD.encode():
            if self.file_seen:
                raise field_problem("send exactly one file")
            self.file_seen = self.in_file = True
            self.filename = options.get(b"filename")

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if not self.in_file:
            return  # other form fields are ignored (their bytes still count towards the body limit)
        chunk = data[start:end]
        self.size += len(chunk)
        if self.size > self.limit:
            raise too_large(self.limit)
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[:HEAD_BYTES - len(self.head)]
        self.out.write(chunk)

    def part_end(self) -> None:
        self.in_file = False

    def end(self) -> None:
        self.ended = True


def field_problem(reason: str, status: int = 422) -> Problem:
    return refuse(status, reason)


async def receive_file(request: Request, *, max_bytes: int) -> ReceivedFile:
    """Stream the multipart field `file` into a temporary file; raise 413/415/422 Problems on bad input."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise Problem(415, f"send the file as multipart/form-data in the field '{FIELD}'",
                      errors=[{"field": FIELD, "reason": "the request body must be multipart/form-data"}])
    body_limit = max_bytes + MULTIPART_OVERHEAD
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Problem(400, "Content-Length is not a number")
        if int(declared) > body_limit:
            raise too_large(max_bytes)

    fd, name = tempfile.mkstemp(prefix="filmo-upload-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            collector = _Collector(out, max_bytes)
            parser = MultipartParser(boundary, collector.callbacks())
            received = 0
            async for chunk in request.stream():
                received += len(chunk)
                if received > body_limit:
                    raise too_large(max_bytes)
                parser.write(chunk)
            parser.finalize()
        if not collector.ended:
            raise field_problem("the multipart body is incomplete")
        if not collector.file_seen:
            raise field_problem(f"no file: send it in the multipart field '{FIELD}'")
        if collector.size == 0:
            raise field_problem("the file is empty")
        return ReceivedFile(path=path, size=collector.size, head=collector.head,
                            filename=display_name(collector.filename))
    except MultipartParseError:
        path.unlink(missing_ok=True)
        raise field_problem("the multipart body is malformed", status=400) from None
    except BaseException:  # refused, too large, or the client went away: no temporary file stays behind
        path.unlink(missing_ok=True)
        raise
