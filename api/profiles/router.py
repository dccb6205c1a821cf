"""HTTP endpoints for profiles (rules live in service.py)."""
from __future__ import annotations

import uuid

from fastapi import APIRouter

from api.auth.dependencies import CurrentUser
from api.http.deps import SessionDep
from api.http.openapi import problems
from api.profiles import service
from api.profiles.schemas import ProfileCreate, ProfileOut, ProfileUpdate

router = APIRouter(prefix="/profile", tags=["profile"])


@router.post("/create", name="create", summary="Create your profile", response_model=ProfileOut, status_code=201,
             responses=problems(409, s409="You already have a profile"))
async def create_profile(body: ProfileCreate, user: CurrentUser, session: SessionDep):
    """Create your profile (one per account)."""
    profile = await service.create_profile(session, user.id, body)
    return await service.to_view(session, profile, viewer_id=user.id)


@router.get("/me", name="me", summary="Read your own profile", response_model=ProfileOut,
            responses=problems(404, s404="You have no profile yet"))
async def my_profile(user: CurrentUser, session: SessionDep):
    """Your own profile, with your exact location."""
    profile = await service.require_by_user(session, user.id, own=True)
    return await service.to_view(session, profile, viewer_id=user.id)


@router.put("/update", name="update", summary="Change your profile (partial)", response_model=ProfileOut,
            responses=problems(404, s404="You have no profile yet"))
async def update_profile(body: ProfileUpdate, user: CurrentUser, session: SessionDep):
    """Change your profile. Only the fields you send change; send null to clear an optional one."""
    profile = await service.update_profile(session, user.id, body)
    return await service.to_view(session, profile, viewer_id=user.id)


@router.get("/{user_id}", name="get", summary="Read another person's profile", response_model=ProfileOut,
            responses=problems(404))
async def public_profile(user_id: uuid.UUID, viewer: CurrentUser, session: SessionDep):
    """Another person's profile (signed-in users only). Their location is city-level and rounded to ~1 km."""
    profile = await service.require_by_user(session, user_id)
    return await service.to_view(session, profile, viewer_id=viewer.id)
