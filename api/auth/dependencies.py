"""Who is calling: FastAPI dependencies every router uses."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.tokens import InvalidToken, decode_access_token
from api.core.deps import SessionDep
from api.core.errors import Problem
from db.models import User

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
    # A password change (reset) ends every token issued before it.
    if user.password_changed_at is not None:
        issued = datetime.fromtimestamp(claims["iat"], tz=timezone.utc)
        if issued.replace(microsecond=0) < user.password_changed_at.replace(microsecond=0):
            raise _unauthorized("Invalid access token: session ended by a password change")
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
