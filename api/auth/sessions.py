"""Whether an access token still speaks for its person: the one session check of HTTP and Socket.IO.

A token is refused when it cannot be decoded or names no sign-in session (`invalid_token`: a
token without `sid` could never be revoked by logout), has expired (`token_expired`), its
account is gone or deactivated (`account_inactive`), or its sign-in session has ended
(`session_ended`): a password change after the token was issued, or the refresh-token family it is
bound to (`sid`) revoked by logout, reuse detection or a password reset. HTTP answers a refusal with
401 and its reason (api.auth.dependencies); the Socket.IO server refuses or ends the connection
with its code (realtime.handlers), and re-runs the same rule for all its open connections at once
(`ended_sessions`) so a logout reaches long-lived sockets too.
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.tokens import InvalidToken, decode_access_token
from db.models import RefreshToken, User


class SessionRefused(Exception):
    """`code` is stable for programs (the Socket.IO error codes); `reason` is for a person."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


INVALID = SessionRefused("invalid_token", "The access token is invalid")
EXPIRED = SessionRefused("token_expired", "The access token has expired: refresh it and connect again")
INACTIVE = SessionRefused("account_inactive", "This account is no longer active")
PASSWORD_CHANGED = SessionRefused("session_ended", "The session ended with a password change: sign in again")
SIGNED_OUT = SessionRefused("session_ended", "The session has ended (signed out): sign in again")


@dataclass(frozen=True)
class TokenHolder:
    """What a live token says: who, when it was issued, and the sign-in session it belongs to."""

    user_id: uuid.UUID
    issued_at: float
    expires_at: float
    session_id: uuid.UUID


def read_token(token: str) -> TokenHolder:
    """Decode and check the signature, expiry and shape; raises SessionRefused."""
    try:
        claims = decode_access_token(token)
    except InvalidToken as exc:
        raise (EXPIRED if exc.expired else INVALID) from None
    return TokenHolder(uuid.UUID(claims["sub"]), float(claims["iat"]), float(claims["exp"]),
                       uuid.UUID(claims["sid"]))


def _verdict(active: bool, password_changed_at: datetime | None, holder: TokenHolder,
             session_alive: bool) -> SessionRefused | None:
    """The rule, for one token whose account row and session state have been read."""
    if not active:
        return INACTIVE
    # A password change (reset) ends every token issued before it. iat carries microseconds, and
    # password_changed_at is written from the same clock that issues tokens.
    if password_changed_at is not None and holder.issued_at < password_changed_at.timestamp():
        return PASSWORD_CHANGED
    if not session_alive:
        return SIGNED_OUT
    return None


async def _alive_sessions(session: AsyncSession, holders: Sequence[TokenHolder]) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """(session id, user id) pairs among these holders' sessions that still have an unrevoked token."""
    ids = {h.session_id for h in holders}
    if not ids:
        return set()
    rows = await session.execute(select(RefreshToken.family_id, RefreshToken.user_id).where(
        RefreshToken.family_id.in_(ids), RefreshToken.revoked_at.is_(None)).distinct())
    return {(r.family_id, r.user_id) for r in rows}


async def user_for_token(session: AsyncSession, token: str) -> tuple[User, TokenHolder]:
    """The active user a token speaks for, and what the token says; raises SessionRefused."""
    holder = read_token(token)
    user = await session.get(User, holder.user_id)
    if user is None:
        raise INACTIVE
    alive = (holder.session_id, user.id) in await _alive_sessions(session, [holder])
    refused = _verdict(user.is_active, user.password_changed_at, holder, alive)
    if refused is not None:
        raise refused
    return user, holder


async def ended_sessions(session: AsyncSession, holders: Sequence[TokenHolder]) -> list[SessionRefused | None]:
    """For each holder (in order), why its session has ended, or None while it is live: two queries
    for any number of connections."""
    user_ids = {h.user_id for h in holders}
    users = {r.id: r for r in await session.execute(
        select(User.id, User.is_active, User.password_changed_at).where(User.id.in_(user_ids)))} if user_ids else {}
    alive = await _alive_sessions(session, holders)
    verdicts: list[SessionRefused | None] = []
    for h in holders:
        user = users.get(h.user_id)
        verdicts.append(INACTIVE if user is None else
                        _verdict(user.is_active, user.password_changed_at, h, (h.session_id, h.user_id) in alive))
    return verdicts
