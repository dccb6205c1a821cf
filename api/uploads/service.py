"""Upload rules: what is accepted, where it is stored, and how rows and objects stay consistent.

Order of work for an upload: the bytes are checked and re-encoded (no database lock held), the objects
are written, then the rows. If the database part fails, the just-written objects are deleted before
the error leaves the service; if the transaction rolls back later (e.g. the commit fails), a rollback
hook deletes them. Objects that a change makes obsolete (a replaced photo, a deleted item) are deleted
only after the commit, so a failure never leaves a row pointing at a missing object.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.kernel.after_commit import after_commit
from api.kernel.problems import Problem, conflict, not_found
from api.kernel.settings import get_settings
from api.profiles import service as profile_service
from api.uploads.inspect import Detected, check_pdf, check_video, prepare_image, refuse, sniff
from api.uploads.receive import ReceivedFile
from api.uploads.storage import PutItem, Storage, StorageError, new_key, variant_key
from db.models import Profile, StoredFile, User

log = logging.getLogger("filmo.uploads")

PHOTO = "profile_photo"
PORTFOLIO = "portfolio"
_FOLDERS = {PHOTO: "photos", PORTFOLIO: "portfolio"}
_PHOTO_TYPES = "JPEG, PNG or WebP"
_PORTFOLIO_TYPES = "JPEG, PNG, WebP, MP4, MOV or PDF"
# Deletions scheduled from rollback hooks; referenced so they are not garbage-collected mid-flight.
_cleanup_tasks: set[asyncio.Task] = set()


def object_keys(row: StoredFile) -> list[str]:
    return [row.storage_key] + [t["key"] for t in (row.thumbnails or {}).values()]


def _no_profile() -> Problem:
    return Problem(404, "You have no profile yet: create it (POST /api/v1/profile/create) before adding a photo",
                   errors=[{"field": "profile", "reason": "no profile for this account"}])


async def _profile_of(session: AsyncSession, user_id: uuid.UUID, *, lock: bool) -> Profile | None:
    stmt = select(Profile).where(Profile.user_id == user_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def _portfolio_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    return await session.scalar(select(func.count()).select_from(StoredFile)
                                .where(StoredFile.owner_id == user_id, StoredFile.purpose == PORTFOLIO))


# ------------------------------------------------------------------ checks before the body is read

async def require_profile(session: AsyncSession, user_id: uuid.UUID) -> None:
    if await _profile_of(session, user_id, lock=False) is None:
        raise _no_profile()


async def require_portfolio_room(session: AsyncSession, user_id: uuid.UUID) -> None:
    limit = get_settings().upload_portfolio_max_items
    if await _portfolio_count(session, user_id) >= limit:
        raise conflict(f"Your portfolio already holds {limit} items: delete one before adding another")


# ------------------------------------------------------------------ turning bytes into objects

async def _prepare(received: ReceivedFile, purpose: str) -> tuple[Detected, list[PutItem], dict, int]:
    """Check the content and build the objects to store: (detected, items, thumbnails json, main size)."""
    detected = sniff(received.head)
    allowed = {"image"} if purpose == PHOTO else {"image", "video", "pdf"}
    if detected.kind not in allowed:
        kinds = _PHOTO_TYPES if purpose == PHOTO else _PORTFOLIO_TYPES
        raise refuse(415, f"detected: {detected.mime}; accepted types are {kinds}")
    folder = _FOLDERS[purpose]
    key = new_key(folder, detected.ext)
    if detected.kind == "image":
        prepared = await asyncio.to_thread(prepare_image, received.path, detected,
                                           max_pixels=get_settings().upload_max_image_pixels,
                                           avatar=purpose == PHOTO)
        items = [PutItem(key, detected.mime, data=prepared.main.data)]
        thumbs = {}
        for size, blob in prepared.thumbnails.items():
            thumb_key = variant_key(key, size)
            items.append(PutItem(thumb_key, blob.content_type, data=blob.data))
            thumbs[str(size)] = {"key": thumb_key}
        return detected, items, thumbs, len(prepared.main.data)
    await asyncio.to_thread(check_video if detected.kind == "video" else check_pdf, received.path)
    return detected, [PutItem(key, detected.mime, path=received.path)], {}, received.size


async def _write_objects(storage: Storage, items: list[PutItem]) -> list[str]:
    try:
        await storage.put_many(items)
    except StorageError:
        log.exception("storing an upload failed")
        raise Problem(503, "File storage is unavailable right now; please try again") from None
    return [item.key for item in items]


def _discard_unless_committed(session: AsyncSession, storage: Storage, keys: list[str]) -> dict:
    """Delete `keys` if this transaction rolls back instead of committing (e.g. the commit itself fails)."""
    state = {"settled": False}

    async def _committed() -> None:
        state["settled"] = True

    def _rolled_back(_session) -> None:
        if not state["settled"]:
            state["settled"] = True
            task = asyncio.get_running_loop().create_task(storage.delete_many(keys))
            _cleanup_tasks.add(task)
            task.add_done_callback(_cleanup_tasks.discard)

    after_commit(session, _committed)
    event.listen(session.sync_session, "after_rollback", _rolled_back, once=True)
    return state


def _delete_after_commit(session: AsyncSession, storage: Storage, keys: list[str]) -> None:
    if keys:
        async def _delete() -> None:
            await storage.delete_many(keys)
        after_commit(session, _delete)


def _row(user_id: uuid.UUID, purpose: str, detected: Detected, items: list[PutItem], thumbs: dict, size: int,
         received: ReceivedFile, storage: Storage) -> StoredFile:
    key = items[0].key
    for entry in thumbs.values():
        entry["url"] = storage.url_for(entry["key"])
    return StoredFile(id=uuid.uuid4(), owner_id=user_id, purpose=purpose, file_type=detected.kind,
                      content_type=detected.mime, storage_key=key, url=storage.url_for(key), size_bytes=size,
                      original_filename=received.filename, thumbnails=thumbs)


@asynccontextmanager
async def _staged_upload(session: AsyncSession, storage: Storage, user_id: uuid.UUID, purpose: str,
                         received: ReceivedFile) -> AsyncIterator[StoredFile]:
    """Check the upload, store its objects and yield their row (not yet added). If the block fails,
    the objects are deleted at once; if the transaction rolls back instead of committing, soon after."""
    detected, items, thumbs, size = await _prepare(received, purpose)
    keys = await _write_objects(storage, items)
    guard = _discard_unless_committed(session, storage, keys)
    try:
        yield _row(user_id, purpose, detected, items, thumbs, size, received, storage)
    except Exception:
        guard["settled"] = True
        await storage.delete_many(keys)
        raise


# ------------------------------------------------------------------ uploads

async def save_profile_photo(session: AsyncSession, user_id: uuid.UUID, received: ReceivedFile,
                             storage: Storage) -> StoredFile:
    async with _staged_upload(session, storage, user_id, PHOTO, received) as row:
        # Re-read under a row lock: the profile may have gone while the bytes streamed in, and two
        # replacements of one photo must not both keep their old objects.
        profile = await _profile_of(session, user_id, lock=True)
        if profile is None:
            raise _no_profile()
        old_rows = (await session.scalars(select(StoredFile).where(
            StoredFile.owner_id == user_id, StoredFile.purpose == PHOTO).with_for_update())).all()
        session.add(row)
        for old in old_rows:
            await session.delete(old)
        await session.flush()
        # The profile domain owns the URL change and its outbox entry (same transaction).
        await profile_service.set_photo_url(session, user_id, row.url)
        await session.refresh(row)
    _delete_after_commit(session, storage, [k for old in old_rows for k in object_keys(old)])
    return row


async def save_portfolio_item(session: AsyncSession, user_id: uuid.UUID, received: ReceivedFile,
                              storage: Storage) -> StoredFile:
    async with _staged_upload(session, storage, user_id, PORTFOLIO, received) as row:
        # Lock the owner so concurrent uploads cannot pass the item limit together.
        owner = (await session.execute(select(User.id).where(User.id == user_id)
                                       .with_for_update(key_share=True))).scalar_one_or_none()
        if owner is None:
            raise conflict("This account no longer exists")
        await require_portfolio_room(session, user_id)
        session.add(row)
        await session.flush()
        await session.refresh(row)
    return row


# ------------------------------------------------------------------ reading and deleting

async def delete_profile_photo(session: AsyncSession, user_id: uuid.UUID, storage: Storage) -> None:
    profile = await _profile_of(session, user_id, lock=True)
    if profile is None:
        raise _no_profile()
    rows = (await session.scalars(select(StoredFile).where(
        StoredFile.owner_id == user_id, StoredFile.purpose == PHOTO).with_for_update())).all()
    if not rows and not profile.profile_photo_url:
        raise not_found("Profile photo")
    for row in rows:
        await session.delete(row)
    await session.flush()
    await profile_service.set_photo_url(session, user_id, None)
    _delete_after_commit(session, storage, [k for row in rows for k in object_keys(row)])


async def list_portfolio(session: AsyncSession, user_id: uuid.UUID) -> list[StoredFile]:
    return list((await session.scalars(select(StoredFile).where(
        StoredFile.owner_id == user_id, StoredFile.purpose == PORTFOLIO)
        .order_by(StoredFile.created_at.desc(), StoredFile.id))).all())


async def delete_portfolio_item(session: AsyncSession, user_id: uuid.UUID, item_id: uuid.UUID,
                                storage: Storage) -> None:
    # Someone else's item answers exactly like a missing one: ids of other people's files are not confirmed.
    row = (await session.execute(select(StoredFile).where(
        StoredFile.id == item_id, StoredFile.owner_id == user_id, StoredFile.purpose == PORTFOLIO)
        .with_for_update())).scalar_one_or_none()
    if row is None:
        raise not_found("Portfolio item")
    keys = object_keys(row)
    await session.delete(row)
    await session.flush()
    _delete_after_commit(session, storage, keys)
