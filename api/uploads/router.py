"""HTTP endpoints for uploads (rules live in service.py; body streaming in receive.py)."""
from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from api.auth.dependencies import CurrentUser
from api.http.deps import SessionDep
from api.http.openapi import problems
from api.kernel.settings import get_settings
from api.uploads import service
from api.uploads.receive import FIELD, receive_file
from api.uploads.schemas import MessageOut, PortfolioList, StoredFileOut
from api.uploads.storage import get_storage

router = APIRouter(prefix="/upload", tags=["uploads"])

# The body is read by receive_file (streamed, size-limited), so describe it for the OpenAPI docs by hand.
_MULTIPART_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": [FIELD],
    "properties": {FIELD: {"type": "string", "format": "binary"}}}}}}}
_ERRORS = problems(400, 413, 415, 422, s400="Malformed multipart body or Content-Length",
                   s413="File larger than the limit", s415="Not an accepted type (the detected type is named)",
                   s422="No file, an empty one, or one that does not decode/parse, or is too many pixels")


async def _receive_and_save(request: Request, session, user_id: uuid.UUID, max_bytes: int, save) -> StoredFileOut:
    # The upload may stream for a long time: do not hold a pooled DB connection (or a transaction) meanwhile.
    await session.rollback()
    received = await receive_file(request, max_bytes=max_bytes)
    try:
        row = await save(session, user_id, received, get_storage())
    finally:
        received.remove()
    return StoredFileOut.from_row(row)


@router.post("/profile-photo", name="put-photo", response_model=StoredFileOut, openapi_extra=_MULTIPART_BODY,
             responses={**_ERRORS, **problems(404, s404="You have no profile yet")},
             summary="Upload or replace your profile photo (JPEG, PNG, WebP; max 5 MB)")
async def upload_profile_photo(request: Request, user: CurrentUser, session: SessionDep) -> StoredFileOut:
    await service.require_profile(session, user.id)
    return await _receive_and_save(request, session, user.id, get_settings().upload_photo_max_bytes,
                                   service.save_profile_photo)


@router.delete("/profile-photo", name="delete-photo", response_model=MessageOut,
               summary="Remove your profile photo", responses=problems(404))
async def delete_profile_photo(user: CurrentUser, session: SessionDep) -> MessageOut:
    await service.delete_profile_photo(session, user.id, get_storage())
    return MessageOut(message="Profile photo deleted")


@router.post("/portfolio", name="add-portfolio-item", response_model=StoredFileOut,
             openapi_extra=_MULTIPART_BODY,
             responses={**_ERRORS, **problems(409, s409="The portfolio is full: delete an item first")},
             summary="Add a portfolio item (JPEG, PNG, WebP, MP4, MOV, PDF; max 50 MB)")
async def upload_portfolio(request: Request, user: CurrentUser, session: SessionDep) -> StoredFileOut:
    await service.require_portfolio_room(session, user.id)
    return await _receive_and_save(request, session, user.id, get_settings().upload_portfolio_max_bytes,
                                   service.save_portfolio_item)


@router.get("/portfolio", name="list-portfolio", response_model=PortfolioList,
            summary="List your portfolio items, newest first")
async def list_portfolio(user: CurrentUser, session: SessionDep) -> PortfolioList:
    rows = await service.list_portfolio(session, user.id)
    return PortfolioList(items=[StoredFileOut.from_row(r) for r in rows], total=len(rows))


@router.delete("/portfolio/{item_id}", name="delete-portfolio-item", response_model=MessageOut,
               responses=problems(404), summary="Delete one of your portfolio items")
async def delete_portfolio_item(item_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> MessageOut:
    await service.delete_portfolio_item(session, user.id, item_id, get_storage())
    return MessageOut(message="Portfolio item deleted")
