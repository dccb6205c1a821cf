"""Sample files and request helpers for the upload tests (generated here, nothing binary in the repo)."""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

PHOTO = "/api/v1/upload/profile-photo"
PORTFOLIO = "/api/v1/upload/portfolio"
GPS_IFD = 0x8825


def image_bytes(fmt: str = "JPEG", size=(800, 600), color=(200, 80, 40), exif: Image.Exif | None = None) -> bytes:
    mode = "RGBA" if fmt == "PNG" else "RGB"
    img = Image.new(mode, size, color)
    # Some structure, so re-encoding is not trivially identical.
    for x in range(0, size[0], 16):
        img.putpixel((x, x % size[1]), (0, 0, 0) if mode == "RGB" else (0, 0, 0, 255))
    buf = io.BytesIO()
    options = {"exif": exif} if exif is not None else {}
    img.save(buf, fmt, **options)
    return buf.getvalue()


def exif_with_gps() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "FilmoCamMaker"  # Make
    exif[0x0110] = "SecretModel"  # Model
    exif[GPS_IFD] = {1: "N", 2: (34.0, 3.0, 8.0), 3: "W", 4: (118.0, 14.0, 37.0)}
    return exif


def pdf_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (200, 100), (255, 255, 255)).save(buf, "PDF")
    return buf.getvalue()


def box(box_type: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), box_type) + payload


def mvhd() -> bytes:
    payload = (b"\x00\x00\x00\x00" + struct.pack(">IIII", 0, 0, 1000, 2000) + struct.pack(">I", 0x00010000)
               + struct.pack(">H", 0x0100) + b"\x00" * 10
               + struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
               + b"\x00" * 24 + struct.pack(">I", 2))
    assert len(payload) == 100
    return box(b"mvhd", payload)


def iso_bmff(major: bytes = b"isom", compatible=(b"isom", b"iso2", b"avc1", b"mp41"), with_moov: bool = True,
             mdat: bytes = b"\x00" * 256) -> bytes:
    ftyp = box(b"ftyp", major + struct.pack(">I", 512) + b"".join(compatible))
    moov = box(b"moov", mvhd() + box(b"trak", box(b"tkhd", b"\x00" * 84))) if with_moov else b""
    return ftyp + moov + box(b"mdat", mdat)


def mp4_bytes() -> bytes:
    return iso_bmff()


def mov_bytes() -> bytes:
    return iso_bmff(major=b"qt  ", compatible=(b"qt  ",))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A valid-looking PNG that declares width x height pixels but is tiny on disk."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
            + png_chunk(b"IEND", b""))


BOUNDARY = "filmoTestBoundary7MA4YWxkTrZu0gW"


def multipart_parts(filename: str, content_type: str = "application/octet-stream",
                    field: str = "file") -> tuple[bytes, bytes, dict]:
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    return head, tail, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


class StreamedBody:
    """A chunked request body (no Content-Length) that can run a hook midway and records how much was read."""

    def __init__(self, filename: str, data: bytes, chunk: int = 64 * 1024, midway=None):
        self.head, self.tail, self.headers = multipart_parts(filename)
        self.data, self.chunk, self.midway = data, chunk, midway
        self.sent = 0

    async def __aiter__(self):
        yield self.head
        for i in range(0, len(self.data), self.chunk):
            piece = self.data[i:i + self.chunk]
            self.sent += len(piece)
            yield piece
            if i == 0 and self.midway is not None:
                await self.midway()
        yield self.tail


async def add_profile(user_id, name: str = "Photo Person") -> None:
    """Arrange a profile row directly (the profile endpoints belong to another domain)."""
    from db.models import Profile
    from db.session import get_sessionmaker

    async with get_sessionmaker()() as session:
        session.add(Profile(user_id=user_id, name=name, city="Los Angeles", country="United States"))
        await session.commit()
