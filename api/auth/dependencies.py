"""Who is calling: FastAPI dependencies every router uses."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.tokens import InvalidToken, decode_access_token
from api.core.deps import SessionDep
from api.core.errors import Problem
from db.models import RefreshToken, User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _unauthorized(reason: str) -> Problem:
    return Problem(401, reason, headers=_CHALLENGE)


async def user_from_token(session: AsyncSession, token: str | None) -> User:
    """Validate an access token and load its active user; raises 401 Problem otherwise."""
    if not token:
        raise _unauthorized("Not authenticated: send 'Authorization: Bearer <access token>'")
    try:
        claims = decode_access_token(token)
    except InvalidToken as exc:
        raise _unauthorized(f"Invalid access token: {exc}") from None
    user = await session.get(User, uuid.UUID(claims["sub"]))
    if user is None or not user.is_active:
        raise _unauthorized("Invalid access token: account is not active")
    # A password change (reset) ends every token issued before it. iat carries microseconds, and
    # password_changed_at is written from the same clock that issues tokens.
    if user.password_changed_at is not None and float(claims["iat"]) < user.password_changed_at.timestamp():
        raise _unauthorized("Invalid access token: session ended by a password change")
    # A token bound to a sign-in session dies with it (logout, refresh-token reuse, password reset).
    if "sid" in claims:
        alive = await session.scalar(select(exists().where(RefreshToken.family_id == uuid.UUID(claims["sid"]),
                                                           RefreshToken.user_id == user.id,
                                                           RefreshToken.revoked_at.is_(None))))
        if not alive:
            raise _unauthorized("Invalid access token: the session has ended")
    return user


async def get_current_user(session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> User:
    return await user_from_token(session, token)


async def get_optional_user(session: SessionDep,
                            token: Annotated[str | None, Depends(oauth2_scheme)]) -> User | None:
    if not token:
        return None
    return await user_from_token(session, token)


CurrentUser = Annotated[User, Depends(get_current_user)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]
