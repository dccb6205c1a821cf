"""Who is calling: FastAPI dependencies every router uses (the rule itself: api.auth.sessions)."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.sessions import SessionRefused, TokenHolder, user_for_token
from api.http.deps import SessionDep
from api.kernel.problems import Problem
from db.models import User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _unauthorized(reason: str, code: str) -> Problem:
    # The code says what to do: `token_expired` -> refresh; `session_ended`, `account_inactive` -> sign in.
    return Problem(401, reason, headers=_CHALLENGE, code=code)


async def caller(session: AsyncSession, token: str | None) -> tuple[User, TokenHolder]:
    """The active user behind a bearer token and what the token says; raises a 401 Problem otherwise."""
    if not token:
        raise _unauthorized("Not authenticated: send 'Authorization: Bearer <access token>'", "missing_token")
    try:
        return await user_for_token(session, token)
    except SessionRefused as refused:
        raise _unauthorized(refused.reason, refused.code) from None


async def get_current_user(session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> User:
    return (await caller(session, token))[0]


async def get_optional_user(session: SessionDep,
                            token: Annotated[str | None, Depends(oauth2_scheme)]) -> User | None:
    if not token:
        return None
    return (await caller(session, token))[0]


CurrentUser = Annotated[User, Depends(get_current_user)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]
