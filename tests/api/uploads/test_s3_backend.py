"""Uploads on the S3-compatible backend, against moto's standalone S3 server over real HTTP."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time

import boto3
import httpx
import pytest
from PIL import Image
from sqlalchemy import delete, func, select

from api.kernel.settings import get_settings
from db.models import Profile, StoredFile
from db.session import get_sessionmaker
from tests.helpers.processes import free_port
from tests.helpers.run import TMP
from tests.helpers.uploads import (GPS_IFD, PHOTO, PORTFOLIO, StreamedBody, exif_with_gps, image_bytes, mp4_bytes,
                                  pdf_bytes)

BUCKET = "filmo-test-media"
KEYS = {"aws_access_key_id": "filmo-test", "aws_secret_access_key": "filmo-test-secret"}


@pytest.fixture(scope="module")
def moto_url():
    port = free_port()
    log = (TMP / f"moto-{port}.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"moto server exited early (log: {log.name})")
        try:
            httpx.get(f"{url}/moto-api/", timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("moto server did not start in 30 s")
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def bucket(moto_url):
    """A fresh bucket and the app switched to the S3 backend (settings restored afterwards)."""
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1", **KEYS)
    s3.create_bucket(Bucket=BUCKET)
    # As an operator would: objects are publicly readable (their URLs go to browsers), listing is not.
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}))
    env = {"STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": moto_url, "S3_BUCKET": BUCKET, "S3_REGION": "us-east-1",
           "S3_ACCESS_KEY_ID": KEYS["aws_access_key_id"], "S3_SECRET_ACCESS_KEY": KEYS["aws_secret_access_key"],
           "S3_PUBLIC_BASE_URL": ""}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        yield s3
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        for obj in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
        s3.delete_bucket(Bucket=BUCKET)


def object_keys(s3) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def key_of(url: str, moto_url: str) -> str:
    prefix = f"{moto_url}/{BUCKET}/"
    assert url.startswith(prefix), url
    return url[len(prefix):]


async def test_s3_photo_is_stored_clean_with_thumbnails_and_replaced(client, owner, bucket, moto_url):
    resp = await client.post(PHOTO, headers=owner.headers,
                             files={"file": ("me.jpg", image_bytes("JPEG", exif=exif_with_gps()), "image/jpeg")})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    key = key_of(body["url"], moto_url)
    assert key.startswith("photos/") and key.endswith(body["filename"])
    thumb_keys = {key_of(u, moto_url) for u in body["thumbnails"].values()}
    assert object_keys(bucket) == {key} | thumb_keys

    head = bucket.head_object(Bucket=BUCKET, Key=key)
    assert head["ContentType"] == "image/jpeg"
    assert head["CacheControl"] == "public, max-age=31536000, immutable"
    stored = bucket.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    img = Image.open(io.BytesIO(stored))
    assert len(img.getexif()) == 0 and not img.getexif().get_ifd(GPS_IFD) and b"FilmoCamMaker" not in stored
    # The public URL points at the object store itself.
    public = httpx.get(body["url"], timeout=10)
    assert public.status_code == 200 and public.content == stored
    assert public.headers["cache-control"] == "public, max-age=31536000, immutable"

    async with get_sessionmaker()() as s:
        profile = (await s.execute(select(Profile).where(Profile.user_id == owner.id))).scalar_one()
    assert profile.profile_photo_url == body["url"]

    second = await client.post(PHOTO, headers=owner.headers,
                               files={"file": ("me2.png", image_bytes("PNG"), "image/png")})
    assert second.status_code == 200, second.text
    new = second.json()
    assert object_keys(bucket) == {key_of(new["url"], moto_url)} | {
        key_of(u, moto_url) for u in new["thumbnails"].values()}

    assert (await client.delete(PHOTO, headers=owner.headers)).status_code == 200
    assert object_keys(bucket) == set()


async def test_s3_portfolio_video_pdf_and_delete(client, owner, bucket, moto_url):
    ids = {}
    for name, data, mime in [("reel.mp4", mp4_bytes(), "video/mp4"), ("cv.pdf", pdf_bytes(), "application/pdf")]:
        resp = await client.post(PORTFOLIO, headers=owner.headers, files={"file": (name, data, "text/plain")})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        key = key_of(body["url"], moto_url)
        obj = bucket.get_object(Bucket=BUCKET, Key=key)
        assert obj["ContentType"] == mime and obj["Body"].read() == data
        ids[name] = (body["id"], key)

    other = await client.delete(f"{PORTFOLIO}/{ids['reel.mp4'][0]}",
                                headers={"Authorization": "Bearer not-a-token"})
    assert other.status_code == 401
    resp = await client.delete(f"{PORTFOLIO}/{ids['reel.mp4'][0]}", headers=owner.headers)
    assert resp.status_code == 200
    assert object_keys(bucket) == {ids["cv.pdf"][1]}


async def test_s3_refused_upload_writes_nothing(client, owner, bucket):
    resp = await client.post(PORTFOLIO, headers=owner.headers,
                             files={"file": ("x.jpg", b"<?php system($_GET['c']); ?>", "image/jpeg")})
    assert resp.status_code == 415 and "detected: application/x-httpd-php" in resp.json()["detail"]
    assert object_keys(bucket) == set()


async def test_s3_failed_database_write_leaves_no_orphan_object(client, owner, bucket):
    async def delete_profile():
        async with get_sessionmaker()() as s:
            await s.execute(delete(Profile).where(Profile.user_id == owner.id))
            await s.commit()

    body = StreamedBody("a.jpg", image_bytes("JPEG", size=(1200, 900)), chunk=8 * 1024, midway=delete_profile)
    resp = await client.post(PHOTO, headers={**owner.headers, **body.headers}, content=body)
    assert resp.status_code == 404, resp.text
    assert object_keys(bucket) == set()
    async with get_sessionmaker()() as s:
        assert await s.scalar(select(func.count()).select_from(StoredFile)) == 0


async def test_s3_unreachable_store_is_503_and_leaves_no_row(client, owner, bucket):
    os.environ["S3_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    get_settings.cache_clear()
    resp = await client.post(PORTFOLIO, headers=owner.headers,
                             files={"file": ("cv.pdf", pdf_bytes(), "application/pdf")})
    assert resp.status_code == 503, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "127.0.0.1" not in resp.text and "Traceback" not in resp.text
    async with get_sessionmaker()() as s:
        assert await s.scalar(select(func.count()).select_from(StoredFile)) == 0
