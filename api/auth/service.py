"""Account rules: OTP sign-up and reset, login, refresh-token rotation with reuse detection, logout.

Answers never reveal whether an address is registered: sign-up for a known address sends a
"you already have an account" mail, a reset for an unknown one a "no account here" mail, and the
HTTP answer is the same in every case. Nor does their timing: every endpoint does the same work
for a registered address as for an unknown one (the same hashing, the same statements, one mail).
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import mail_templates
from api.auth.passwords import burn_verify, hash_password, needs_rehash, verify_password
from api.auth.schemas import TokenPair
from api.auth.tokens import create_access_token
from api.kernel import ratelimit
from api.kernel.clock import utcnow
from api.kernel.email import EmailDeliveryError, send_email
from api.kernel.problems import Problem
from api.kernel.settings import get_settings
from db.models import OtpCode, RefreshToken, User
from db.models.enums import OtpPurpose
from db.session import rollback, unit_of_work

log = logging.getLogger("filmo.auth")

OTP_TTL = timedelta(minutes=5)
OTP_MAX_ATTEMPTS = 5


def limits(action: str) -> dict[str, tuple[int, int]]:
    """(limit, window in seconds) of `action`, counted per e-mail address and per client address: the settings
    AUTH_<ACTION>_PER_EMAIL, AUTH_<ACTION>_PER_IP and AUTH_<ACTION>_WINDOW_S (.env.example has the defaults)."""
    settings = get_settings()
    window = getattr(settings, f"auth_{action}_window_s")
    return {"email": (getattr(settings, f"auth_{action}_per_email"), window),
            "ip": (getattr(settings, f"auth_{action}_per_ip"), window)}


SENT_MESSAGE = "If this address can be used, a 6-digit code has been sent to it. It is valid for 5 minutes."


def _bad_code() -> Problem:
    return Problem(400, "The code is wrong, used up or expired; request a new one",
                   errors=[{"field": "otp", "reason": "wrong, used up or expired code"}])


def _bad_credentials() -> Problem:
    return Problem(401, "Incorrect email or password", headers={"WWW-Authenticate": "Bearer"})


def _bad_refresh(reason: str) -> Problem:
    return Problem(401, reason, errors=[{"field": "refresh_token", "reason": reason}],
                   headers={"WWW-Authenticate": "Bearer"})


def hash_refresh_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def hash_code(email: str, purpose: OtpPurpose, code: str) -> str:
    # Keyed with SECRET_KEY: a leaked table cannot be brute-forced over the tiny 6-digit space.
    key = get_settings().secret_key.encode()
    return hmac.new(key, f"{purpose.value}:{email}:{code}".encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


async def _limit(action: str, email: str, client: str) -> None:
    ip_limit, ip_window = limits(action)["ip"]
    email_limit, email_window = limits(action)["email"]
    await ratelimit.hit(f"{action}:ip:{client}", ip_limit, ip_window,
                        detail="Too many attempts from this network address")
    await ratelimit.hit(f"{action}:email:{ratelimit.key_part(email)}", email_limit, email_window,
                        detail="Too many attempts for this email address")


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


# ---------------------------------------------------------------- mail


async def _deliver(email: str, mail: tuple[str, str, str], cooldown_key: str) -> None:
    subject, text, html = mail
    try:
        await send_email(email, subject, text, html)
    except EmailDeliveryError:
        # Nothing was sent: let the person try again at once; the transaction rolls back.
        await ratelimit.clear(cooldown_key, is_cooldown=True)
        raise Problem(503, "The email could not be sent right now; please try again in a minute",
                      headers={"Retry-After": "30"}) from None


async def _start_cooldown(purpose: OtpPurpose, email: str) -> str:
    key = f"otp:{purpose.value}:{ratelimit.key_part(email)}"
    seconds = get_settings().otp_resend_cooldown_s
    if seconds > 0:
        await ratelimit.cooldown(key, seconds, detail="A code was sent to this address moments ago; wait before "
                                                      "asking for another")
    return key


async def _store_code(session: AsyncSession, email: str, purpose: OtpPurpose, password_hash: str | None) -> str:
    code = new_code()
    # One live code per address and purpose: a new one voids the previous.
    await session.execute(delete(OtpCode).where(OtpCode.email == email, OtpCode.purpose == purpose.value))
    session.add(OtpCode(email=email, purpose=purpose.value, code_hash=hash_code(email, purpose, code),
                        password_hash=password_hash, expires_at=utcnow() + OTP_TTL))
    await session.flush()
    return code


@dataclass
class _CheckedCode:
    id: int
    password_hash: str | None


async def _check_code(email: str, purpose: OtpPurpose, code: str) -> _CheckedCode:
    """Count the attempt, then compare. The count runs in its own committed transaction so that a
    wrong guess is remembered even though this request fails; the conditional UPDATE also makes
    parallel guesses queue on the row instead of sharing one attempt."""
    latest = (select(func.max(OtpCode.id)).where(OtpCode.email == email, OtpCode.purpose == purpose.value)
              .scalar_subquery())
    async with unit_of_work() as counter:
        row = (await counter.execute(
            update(OtpCode)
            .where(OtpCode.id == latest, OtpCode.consumed_at.is_(None), OtpCode.expires_at > func.now(),
                   OtpCode.attempts < OTP_MAX_ATTEMPTS)
            .values(attempts=OtpCode.attempts + 1)
            .returning(OtpCode.id, OtpCode.code_hash, OtpCode.password_hash))).first()
    if row is None or not hmac.compare_digest(row.code_hash, hash_code(email, purpose, code)):
        raise _bad_code()
    return _CheckedCode(id=row.id, password_hash=row.password_hash)


async def _consume_code(session: AsyncSession, code_id: int) -> None:
    consumed = await session.scalar(update(OtpCode).where(OtpCode.id == code_id, OtpCode.consumed_at.is_(None))
                                    .values(consumed_at=func.now()).returning(OtpCode.id))
    if consumed is None:  # used by a parallel request a moment ago
        raise _bad_code()


# ---------------------------------------------------------------- tokens


async def issue_tokens(session: AsyncSession, user: User, message: str,
                       family_id: uuid.UUID | None = None) -> TokenPair:
    """A new refresh token (in `family_id`, or a new family = a new sign-in) and an access token bound to it."""
    settings = get_settings()
    raw = secrets.token_urlsafe(32)
    family = family_id or uuid.uuid4()
    session.add(RefreshToken(user_id=user.id, family_id=family, token_hash=hash_refresh_token(raw),
                             expires_at=utcnow() + timedelta(days=settings.refresh_token_expire_days)))
    await session.flush()
    access = create_access_token(user.id, session_id=family)
    return TokenPair(message=message, access_token=access, refresh_token=raw, token_type="bearer",
                     expires_in=settings.access_token_ttl_seconds)


async def _reuse_detected(session: AsyncSession, row: RefreshToken) -> Problem:
    """Revoke the whole family in its own, committed transaction: the request answers 401 and rolls back.

    The request transaction is rolled back first: a conditional UPDATE that lost a race can still hold a
    row lock on the token (PostgreSQL keeps the lock taken while re-checking the row), and the family
    update below would wait on that lock forever.
    """
    family_id, user_id = row.family_id, row.user_id
    await rollback(session)
    async with unit_of_work() as s:
        await s.execute(update(RefreshToken).where(RefreshToken.family_id == family_id,
                                                   RefreshToken.revoked_at.is_(None)).values(revoked_at=func.now()))
    log.warning("refresh token reuse detected; session family revoked", extra={"user_id": str(user_id)})
    return _bad_refresh("This refresh token was already used; the session has been ended for safety, sign in again")


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(update(RefreshToken).where(RefreshToken.family_id == family_id,
                                                     RefreshToken.revoked_at.is_(None)).values(revoked_at=func.now()))


async def revoke_all_sessions(session: AsyncSession, user_id: uuid.UUID) -> None:
    """End every sign-in of a user (password reset, deactivation): their access tokens die with them."""
    await session.execute(update(RefreshToken).where(RefreshToken.user_id == user_id,
                                                     RefreshToken.revoked_at.is_(None)).values(revoked_at=func.now()))


# ---------------------------------------------------------------- flows


async def send_signup_code(session: AsyncSession, email: str, password: str, client: str) -> dict:
    await _limit("send_otp", email, client)
    cooldown_key = await _start_cooldown(OtpPurpose.signup, email)
    # Hashed and stored in every case, so a known address costs the same work as a new one. Its code
    # carries no password and is never sent: verify-otp could only answer 409 for it.
    password_hash = await asyncio.to_thread(hash_password, password)
    known = await user_by_email(session, email) is not None
    code = await _store_code(session, email, OtpPurpose.signup, None if known else password_hash)
    if known:
        mail = mail_templates.already_registered()
    else:
        mail = mail_templates.signup_code(code, int(OTP_TTL.total_seconds() // 60))
    await _deliver(email, mail, cooldown_key)
    return {"message": SENT_MESSAGE, "email": email}


async def verify_signup(session: AsyncSession, email: str, code: str, client: str) -> TokenPair:
    await _limit("verify", email, client)
    checked = await _check_code(email, OtpPurpose.signup, code)
    await _consume_code(session, checked.id)
    if checked.password_hash is None or await user_by_email(session, email) is not None:
        raise Problem(409, "An account with this email already exists; sign in instead")
    user = User(email=email, password_hash=checked.password_hash, is_verified=True)
    session.add(user)
    await session.flush()
    log.info("account created", extra={"user_id": str(user.id)})
    return await issue_tokens(session, user, "Email verified; your account is ready")


async def login(session: AsyncSession, email: str, password: str, client: str) -> TokenPair:
    await _limit("login", email, client)
    user = await user_by_email(session, email)
    if user is None:
        await asyncio.to_thread(burn_verify, password)
        raise _bad_credentials()
    if not await asyncio.to_thread(verify_password, user.password_hash, password):
        raise _bad_credentials()
    if not user.is_active:
        raise Problem(403, "This account has been deactivated")
    if needs_rehash(user.password_hash):
        # Hashing parameters were raised since this hash was made: upgrade it while we know the password.
        user.password_hash = await asyncio.to_thread(hash_password, password)
    return await issue_tokens(session, user, "Login successful")


async def refresh(session: AsyncSession, raw_token: str) -> TokenPair:
    row = await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(raw_token)))
    if row is None or row.revoked_at is not None:
        raise _bad_refresh("Invalid or revoked refresh token; sign in again")
    if row.rotated_at is not None:
        raise await _reuse_detected(session, row)
    if row.expires_at <= utcnow():
        raise _bad_refresh("Refresh token expired; sign in again")
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise _bad_refresh("Account is not active")
    claimed = await session.scalar(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.rotated_at.is_(None), RefreshToken.revoked_at.is_(None))
        .values(rotated_at=func.now()).returning(RefreshToken.id))
    if claimed is None:  # a parallel request rotated it first: that is reuse as well
        raise await _reuse_detected(session, row)
    return await issue_tokens(session, user, "Token refreshed", family_id=row.family_id)


async def logout(session: AsyncSession, *, user: User | None, session_id: uuid.UUID | None,
                 raw_refresh: str | None, all_sessions: bool) -> dict:
    """Revoke the sign-in named by the refresh token and/or the one the access token belongs to;
    with all_sessions (and an access token) every sign-in of the account."""
    if user is None and raw_refresh is None:
        raise Problem(401, "Send the access token (Authorization: Bearer) or the refresh token to sign out",
                      headers={"WWW-Authenticate": "Bearer"})
    if all_sessions:
        if user is None:
            raise Problem(401, "Ending every session needs a valid access token", headers={"WWW-Authenticate": "Bearer"})
        await revoke_all_sessions(session, user.id)
        return {"message": "Signed out of every session"}
    if raw_refresh is not None:
        row = await session.scalar(select(RefreshToken).where(
            RefreshToken.token_hash == hash_refresh_token(raw_refresh)))
        # An unknown token gets the same answer: signing out is idempotent and reveals nothing.
        if row is not None:
            await revoke_family(session, row.family_id)
    if session_id is not None and user is not None:
        await session.execute(update(RefreshToken).where(RefreshToken.family_id == session_id,
                                                         RefreshToken.user_id == user.id,
                                                         RefreshToken.revoked_at.is_(None))
                              .values(revoked_at=func.now()))
    return {"message": "Logged out"}


async def send_reset_code(session: AsyncSession, email: str, client: str) -> dict:
    await _limit("send_otp", email, client)
    cooldown_key = await _start_cooldown(OtpPurpose.reset, email)
    user = await user_by_email(session, email)
    # A code is stored for every address, so an unknown one costs the same work as a registered one.
    # Nobody receives the code of an unknown address, and reset-password refuses it anyway.
    code = await _store_code(session, email, OtpPurpose.reset, None)
    if user is not None and user.is_active:
        mail = mail_templates.reset_code(code, int(OTP_TTL.total_seconds() // 60))
    else:
        mail = mail_templates.reset_no_account()
    await _deliver(email, mail, cooldown_key)
    return {"message": SENT_MESSAGE, "email": email}


async def reset_password(session: AsyncSession, email: str, code: str, new_password: str, client: str) -> TokenPair:
    await _limit("reset", email, client)
    checked = await _check_code(email, OtpPurpose.reset, code)
    user = await user_by_email(session, email)
    if user is None or not user.is_active:
        raise _bad_code()
    await _consume_code(session, checked.id)
    user.password_hash = await asyncio.to_thread(hash_password, new_password)
    # Same clock as token issuance (see tokens.create_access_token): everything issued before this ends.
    user.password_changed_at = utcnow()
    await revoke_all_sessions(session, user.id)
    await session.flush()
    return await issue_tokens(session, user, "Password reset; every other session has been signed out")

