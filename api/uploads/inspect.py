"""What an uploaded file really is: decided by its bytes, never by its name or the client's Content-Type.

`sniff` names the type from the leading bytes; `check_video` / `check_pdf` make sure an accepted
container actually parses; `prepare_image` decodes an image within a pixel bound and re-encodes it
(and its thumbnails) so nothing of the original file (EXIF, GPS, trailing payloads) is kept.
These functions are blocking (file I/O, decoding): call them through `asyncio.to_thread`.
"""
from __future__ import annotations

import io
import logging
import re
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from api.kernel.problems import Problem

log = logging.getLogger("filmo.uploads")

HEAD_BYTES = 64

# ISO BMFF major/compatible brands we accept as MP4 or QuickTime video.
MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41", b"mp42",
              b"mp71", b"avc1", b"M4V ", b"M4VH", b"M4VP", b"dash", b"msnv"}
QT_BRANDS = {b"qt  "}
# Brands we recognise only to name them in a refusal.
OTHER_BRANDS = {b"M4A ": "audio/mp4", b"M4B ": "audio/mp4", b"heic": "image/heic", b"heix": "image/heic",
                b"mif1": "image/heif", b"msf1": "image/heif", b"avif": "image/avif", b"crx ": "image/x-canon-cr3",
                b"3gp4": "video/3gpp", b"3gp5": "video/3gpp", b"3gp6": "video/3gpp", b"3g2a": "video/3gpp2"}

MAX_TOP_LEVEL_BOXES = 4096
MAX_IMAGE_SIDE_PHOTO = 2048
THUMBNAIL_SIZES = (128, 512)


@dataclass(frozen=True)
class Detected:
    mime: str
    kind: str | None = None  # image | video | pdf; None = not accepted anywhere
    ext: str | None = None


@dataclass
class Blob:
    data: bytes
    content_type: str
    ext: str


@dataclass
class PreparedImage:
    main: Blob
    width: int
    height: int
    thumbnails: dict[int, Blob] = field(default_factory=dict)


def refuse(status: int, reason: str) -> Problem:
    return Problem(status, f"file: {reason}", errors=[{"field": "file", "reason": reason}])


def _brands(head: bytes) -> list[bytes]:
    box_size = struct.unpack(">I", head[:4])[0]
    end = min(box_size, len(head)) if box_size >= 16 else 16
    return [head[8:12]] + [head[i:i + 4] for i in range(16, end - 3, 4)]


def sniff(head: bytes) -> Detected:
    """Name the file type from its first bytes (HEAD_BYTES are enough)."""
    if head.startswith(b"\xff\xd8\xff"):
        return Detected("image/jpeg", "image", "jpg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Detected("image/png", "image", "png")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Detected("image/webp", "image", "webp")
    if head.startswith(b"%PDF-"):
        return Detected("application/pdf", "pdf", "pdf")
    if len(head) >= 16 and head[4:8] == b"ftyp":
        brands = _brands(head)
        if brands[0] in QT_BRANDS:
            return Detected("video/quicktime", "video", "mov")
        if any(b in MP4_BRANDS for b in brands):
            return Detected("video/mp4", "video", "mp4")
        for brand in brands:
            if brand in QT_BRANDS:
                return Detected("video/quicktime", "video", "mov")
            if brand in OTHER_BRANDS:
                return Detected(OTHER_BRANDS[brand])
        return Detected("application/x-iso-bmff")
    return Detected(_name_other(head))


def _name_other(head: bytes) -> str:
    signatures = [
        (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"), (b"BM", "image/bmp"), (b"II*\x00", "image/tiff"),
        (b"MM\x00*", "image/tiff"), (b"\x00\x00\x01\x00", "image/x-icon"), (b"PK\x03\x04", "application/zip"),
        (b"\x1f\x8b", "application/gzip"), (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
        (b"Rar!", "application/vnd.rar"), (b"\x7fELF", "application/x-executable"),
        (b"MZ", "application/x-msdownload"), (b"ID3", "audio/mpeg"), (b"OggS", "application/ogg"),
        (b"fLaC", "audio/flac"), (b"\x1aE\xdf\xa3", "video/x-matroska"),
    ]
    for magic, mime in signatures:
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF":
        return {b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}.get(head[8:12], "application/x-riff")
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    lower = text.lower()
    if text.startswith(b"#!"):
        first = lower.split(b"\n", 1)[0]
        if b"python" in first:
            return "text/x-python"
        if b"sh" in first:
            return "text/x-shellscript"
        return "text/x-script"
    if lower.startswith((b"<!doctype html", b"<html", b"<script", b"<head", b"<body")):
        return "text/html"
    if lower.startswith(b"<svg") or (lower.startswith(b"<?xml") and b"<svg" in lower):
        return "image/svg+xml"
    if lower.startswith(b"<?xml"):
        return "application/xml"
    if lower.startswith(b"<?php"):
        return "application/x-httpd-php"
    if head and b"\x00" not in head:
        try:
            head.decode("utf-8")
            return "text/plain"
        except UnicodeDecodeError:
            # A multi-byte character may be cut at the end of the sample.
            try:
                head[:-3].decode("utf-8")
                return "text/plain"
            except UnicodeDecodeError:
                pass
    return "application/octet-stream"


# ------------------------------------------------------------------ video (ISO BMFF)

def _read_box_header(f, offset: int, end: int) -> tuple[bytes, int, int]:
    """Return (type, header length, box size) of the box at `offset`; raise ValueError if malformed."""
    f.seek(offset)
    header = f.read(8)
    if len(header) < 8:
        raise ValueError("box header cut short")
    size, box_type = struct.unpack(">I4s", header)
    header_len = 8
    if size == 1:
        large = f.read(8)
        if len(large) < 8:
            raise ValueError("box header cut short")
        size = struct.unpack(">Q", large)[0]
        header_len = 16
    elif size == 0:  # "extends to the end of the enclosing container"
        size = end - offset
    if not all(0x20 <= c <= 0x7E for c in box_type):
        raise ValueError("box type is not printable")
    if size < header_len or offset + size > end:
        raise ValueError(f"box '{box_type.decode('latin-1')}' has an impossible size")
    return box_type, header_len, size


def _walk(f, start: int, end: int) -> list[tuple[bytes, int, int, int]]:
    boxes = []
    offset = start
    while offset < end:
        if len(boxes) >= MAX_TOP_LEVEL_BOXES:
            raise ValueError("too many boxes")
        box_type, header_len, size = _read_box_header(f, offset, end)
        boxes.append((box_type, offset, header_len, size))
        offset += size
    return boxes


def check_video(path: Path) -> None:
    """The file must be a well-formed chain of top-level boxes: ftyp first, a moov holding an mvhd."""
    end = path.stat().st_size
    try:
        with path.open("rb") as f:
            boxes = _walk(f, 0, end)
            if not boxes or boxes[0][0] != b"ftyp":
                raise ValueError("the first box is not 'ftyp'")
            moovs = [b for b in boxes if b[0] == b"moov"]
            if not moovs:
                raise ValueError("no 'moov' box (movie header) found")
            _, offset, header_len, size = moovs[0]
            children = {c[0] for c in _walk(f, offset + header_len, offset + size)}
            if b"mvhd" not in children:
                raise ValueError("the 'moov' box has no 'mvhd' header")
    except ValueError as exc:
        raise refuse(422, f"the video container does not parse: {exc}") from None


# ------------------------------------------------------------------ PDF

def check_pdf(path: Path) -> None:
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(0, size - 2048))
        tail = f.read()
    if b"%%EOF" not in tail:
        raise refuse(422, "the PDF is incomplete: no '%%EOF' marker at its end")
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise refuse(422, "password-protected PDFs are not accepted")
        pages = len(reader.pages)
    except Problem:
        raise
    except Exception as exc:  # noqa: BLE001 - hostile PDFs make pypdf raise almost any exception type
        log.info("pdf refused: %s", exc.__class__.__name__)
        raise refuse(422, "the PDF does not parse") from None
    if pages < 1:
        raise refuse(422, "the PDF has no pages")


# ------------------------------------------------------------------ images

_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


def _normalise_mode(img: Image.Image, pil_format: str) -> Image.Image:
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if pil_format == "JPEG":
        return img if img.mode in ("RGB", "L") else img.convert("RGB")
    if pil_format == "WEBP":
        return img if img.mode in ("RGB", "RGBA") else img.convert("RGBA" if has_alpha else "RGB")
    # PNG: palette images are resampled badly; everything exotic becomes 8-bit RGB(A).
    return img if img.mode in ("RGB", "RGBA", "L", "LA") else img.convert("RGBA" if has_alpha else "RGB")


def _encode(img: Image.Image, pil_format: str, icc: bytes | None) -> bytes:
    buf = io.BytesIO()
    options: dict = {}
    if icc:
        options["icc_profile"] = icc  # colour profile only: not personal data, needed for correct colours
    if pil_format == "JPEG":
        options.update(quality=88, optimize=True, progressive=True)
    elif pil_format == "WEBP":
        options.update(quality=85, method=4)
    img.save(buf, pil_format, **options)
    return buf.getvalue()


def prepare_image(path: Path, detected: Detected, *, max_pixels: int, avatar: bool) -> PreparedImage:
    """Decode within `max_pixels`, apply EXIF orientation, then re-encode without any metadata.

    avatar=True (profile photo): the main image is capped at MAX_IMAGE_SIDE_PHOTO and thumbnails are
    square centre crops; otherwise the full size is kept and thumbnails keep the aspect ratio.
    """
    pil_format = _FORMATS[detected.mime]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=[pil_format]) as src:
                width, height = src.size
                if width * height > max_pixels:
                    raise refuse(422, f"the image is {width}x{height} pixels ({width * height / 1e6:.0f} MP); "
                                      f"the limit is {max_pixels / 1e6:.0f} MP")
                src.seek(0)  # animated images: the first frame only
                src.load()
                icc = src.info.get("icc_profile")
                img = ImageOps.exif_transpose(src)
                img.load()
    except Problem:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow refused it while reading the header, before we saw the size; its message has the count.
        found = re.search(r"\((\d+) pixels\)", str(exc))
        declared = f"{int(found.group(1)) / 1e6:.0f} MP" if found else "too many pixels"
        raise refuse(422, f"the image declares {declared}; the limit is {max_pixels / 1e6:.0f} MP "
                          "(decompression bomb)") from None
    except UnidentifiedImageError:
        raise refuse(422, f"the file starts like {detected.mime} but is not a readable image") from None
    except (OSError, SyntaxError, ValueError, struct.error, EOFError, MemoryError) as exc:
        reason = "truncated" if "truncated" in str(exc) else "corrupt"
        raise refuse(422, f"the image data is {reason} ({detected.mime})") from None

    # A fresh image carries no info dict: EXIF, GPS, XMP, comments and text chunks are all dropped.
    clean = _normalise_mode(img, pil_format)
    clean.info = {}
    if avatar and max(clean.size) > MAX_IMAGE_SIDE_PHOTO:
        clean.thumbnail((MAX_IMAGE_SIDE_PHOTO, MAX_IMAGE_SIDE_PHOTO), Image.Resampling.LANCZOS)
    main = Blob(_encode(clean, pil_format, icc), detected.mime, detected.ext or "")
    thumbs: dict[int, Blob] = {}
    for size in THUMBNAIL_SIZES:
        if avatar:
            side = min(size, *clean.size)  # never upscale a small photo
            thumb = ImageOps.fit(clean, (side, side), Image.Resampling.LANCZOS)
        else:
            thumb = clean.copy()
            thumb.thumbnail((size, size), Image.Resampling.LANCZOS)
        thumb.info = {}
        thumbs[size] = Blob(_encode(thumb, pil_format, icc), detected.mime, detected.ext or "")
    return PreparedImage(main=main, width=clean.width, height=clean.height, thumbnails=thumbs)
