"""Access tokens: short-lived HS JWTs. Decoding pins the algorithm and the token type."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import jwt

from api.kernel.settings import get_settings

ACCESS = "access"


class InvalidToken(Exception):
    """The token is missing, malformed, tampered, expired, of the wrong type or bound to no session."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.expired = expired


def create_access_token(user_id: uuid.UUID | str, *, session_id: uuid.UUID | str,
                        ttl_seconds: int | None = None) -> str:
    """`session_id` (the `sid` claim) ties the token to a refresh-token family: revoking the family
    (logout, reuse detection, password reset) ends the access token too, before it expires. Every
    token has one: a token without it could not be revoked, so decoding refuses it."""
    settings = get_settings()
    now = datetime.now(timezone.utc)
    ttl = ttl_seconds if ttl_seconds is not None else settings.access_token_ttl_seconds
    # iat keeps microseconds (a JWT NumericDate may be fractional), so a token issued in the same
    # second as a password change is still ordered correctly against it.
    claims = {"sub": str(user_id), "iat": now.timestamp(), "exp": now + timedelta(seconds=ttl),
              "jti": uuid.uuid4().hex, "type": ACCESS, "sid": str(session_id)}
    return jwt.encode(claims, settings.secret_key, algorithm=settings.algorithm)


def decode_access_token(token: str) -> dict:
    settings = get_settings()
    try:
        claims = jwt.decode(token, settings.secret_key, algorithms=[settings.algorithm],
                            options={"require": ["sub", "exp", "iat", "jti", "type", "sid"]})
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token expired", expired=True) from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("invalid token") from exc
    if claims.get("type") != ACCESS:
        raise InvalidToken("wrong token type")
    try:
        uuid.UUID(claims["sub"])
        uuid.UUID(claims["sid"])
        float(claims["iat"])
    except (ValueError, TypeError) as exc:
        raise InvalidToken("invalid token") from exc
    return claims
