"""HTTP endpoints for auth (rules live in service.py)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from pydantic import EmailStr, TypeAdapter, ValidationError

from api.auth import service
from api.auth.dependencies import caller, oauth2_scheme
from api.auth.schemas import (EmailRequest, LoginRequest, LogoutRequest, Message, OtpSent, RefreshRequest,
                              ResetPasswordRequest, SignupRequest, TokenPair, VerifyOtpRequest)
from api.http.deps import SessionDep
from api.http.openapi import problems
from api.kernel.problems import Problem

router = APIRouter(prefix="/auth", tags=["auth"])

_email_adapter = TypeAdapter(EmailStr)
_BAD_CODE = "The code is wrong, used up or expired (code `bad_request`, `errors` names `otp`)"


def client_address(request: Request) -> str:
    # The connection's peer: `filmo serve` rewrites it from X-Forwarded-For only for a proxy listed in
    # FORWARDED_ALLOW_IPS (default none), so a caller cannot pick its own address for the rate limits.
    return request.client.host if request.client else "unknown"


def _path_email(email: str) -> str:
    try:
        return _email_adapter.validate_python(email).strip().lower()
    except ValidationError:
        raise Problem(422, "email: not a valid email address",
                      errors=[{"field": "email", "reason": "not a valid email address"}]) from None


EmailPath = Annotated[str, Path(description="the address the code was sent to", max_length=320)]


@router.post("/signup/send-otp", name="signup-send-otp", summary="Start sign-up: e-mail a 6-digit code",
             response_model=OtpSent, responses=problems(429, 503))
async def signup_send_otp(body: SignupRequest, request: Request, session: SessionDep) -> dict:
    """Email a 6-digit code to finish sign-up (the same answer whether or not the address is registered)."""
    return await service.send_signup_code(session, body.email, body.password, client_address(request))


@router.post("/signup/verify-otp/{email}", name="signup-verify-otp",
             summary="Finish sign-up with the code: create the account, get tokens", response_model=TokenPair,
             responses=problems(400, 409, 429, s400=_BAD_CODE, s409="An account with this e-mail already exists"))
async def signup_verify_otp(email: EmailPath, body: VerifyOtpRequest, request: Request, session: SessionDep):
    """Check the code and create the account; answers with a first pair of tokens."""
    return await service.verify_signup(session, _path_email(email), body.otp, client_address(request))


_LOGIN_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {
            "type": "object", "required": ["email", "password"],
            "properties": {"email": {"type": "string", "format": "email"},
                           "password": {"type": "string", "format": "password"}}}},
        "application/x-www-form-urlencoded": {"schema": {
            "type": "object", "required": ["username", "password"],
            "properties": {"username": {"type": "string", "description": "your email address"},
                           "password": {"type": "string", "format": "password"},
                           "grant_type": {"type": "string", "enum": ["password"]}}}},
    },
}


async def _login_body(request: Request) -> LoginRequest:
    """JSON {email, password}, or the OAuth2 password form (username = email) used by /docs "Authorize"."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            data = await request.json()
        except ValueError:
            raise Problem(400, "The body is not valid JSON") from None
        if not isinstance(data, dict):
            raise RequestValidationError([{"loc": ("body",), "msg": "must be a JSON object", "type": "type"}])
        payload, rename = {"email": data.get("email"), "password": data.get("password")}, {}
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        payload = {"email": form.get("username") or form.get("email"), "password": form.get("password")}
        rename = {"email": "username"}
    else:
        raise Problem(415, "Send JSON {email, password} or an OAuth2 password form (username, password)")
    try:
        return LoginRequest.model_validate(payload)
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False, include_input=False):
            loc = tuple(rename.get(str(part), part) for part in err["loc"])
            errors.append({**err, "loc": ("body", *loc)})
        raise RequestValidationError(errors) from None


@router.post("/login", name="login", summary="Sign in with e-mail and password", response_model=TokenPair,
             openapi_extra={"requestBody": _LOGIN_BODY},
             responses=problems(400, 401, 403, 415, 429, s400="The body is not valid JSON",
                                s401="Incorrect e-mail or password (code `unauthorized`)",
                                s403="The account has been deactivated"))
async def login(request: Request, session: SessionDep):
    """Sign in with email and password."""
    body = await _login_body(request)
    return await service.login(session, body.email, body.password, client_address(request))


@router.post("/refresh", name="refresh", summary="Trade a refresh token for a new token pair",
             response_model=TokenPair,
             responses=problems(401, s401="The refresh token is invalid, revoked or expired, or was already used "
                                          "(the session then ends): sign in again (code `unauthorized`)"))
async def refresh(body: RefreshRequest, session: SessionDep):
    """Trade a refresh token for a new pair. Each refresh token works once; presenting a used one ends the session."""
    return await service.refresh(session, body.refresh_token)


@router.post("/logout", name="logout", summary="Sign out: end this session or every session",
             response_model=Message)
async def logout(session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)],
                 body: LogoutRequest | None = None):
    """End the session of the refresh token in the body and/or the one the access token belongs to.
    `all_sessions: true` (with an access token) ends every session of the account."""
    body = body or LogoutRequest()
    user, session_id = None, None
    if token:
        try:
            user, holder = await caller(session, token)
            session_id = holder.session_id
        except Problem:
            # An expired access token must not stop a client from revoking its refresh token.
            if body.refresh_token is None:
                raise
            user = None
    return await service.logout(session, user=user, session_id=session_id, raw_refresh=body.refresh_token,
                                all_sessions=body.all_sessions)


@router.post("/reset-password/send-otp", name="reset-password-send-otp",
             summary="Start a password reset: e-mail a 6-digit code", response_model=OtpSent,
             responses=problems(429, 503))
async def reset_send_otp(body: EmailRequest, request: Request, session: SessionDep) -> dict:
    """Email a 6-digit password reset code (the same answer whether or not the address is registered)."""
    return await service.send_reset_code(session, body.email, client_address(request))


@router.post("/reset-password/{email}", name="reset-password",
             summary="Set a new password with the code (ends every other session)", response_model=TokenPair,
             responses=problems(400, 429, s400=_BAD_CODE))
async def reset_password(email: EmailPath, body: ResetPasswordRequest, request: Request, session: SessionDep):
    """Set a new password with the emailed code. Every existing session of the account ends."""
    return await service.reset_password(session, _path_email(email), body.otp, body.new_password,
                                        client_address(request))
