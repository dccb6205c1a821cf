"""Auth request/response bodies (field names as in the original product)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

PASSWORD_MIN = 8
PASSWORD_MAX = 256  # generous, but bounded: every byte is hashed with Argon2
OTP_PATTERN = r"^[0-9]{6}$"


def _normalise_email(value: str) -> str:
    return value.strip().lower()


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


class Password(_Body):
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)

    @field_validator("password")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be only whitespace")
        return value


class EmailRequest(_Body):
    email: EmailStr

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return _normalise_email(value)


class SignupRequest(EmailRequest, Password):
    pass


class VerifyOtpRequest(_Body):
    otp: str = Field(pattern=OTP_PATTERN, description="the 6-digit code from the email")


class LoginRequest(EmailRequest):
    # No minimum here: a wrong password is a 401, not a validation error that hints at the rules.
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class RefreshRequest(_Body):
    refresh_token: str = Field(min_length=1, max_length=512)


class LogoutRequest(_Body):
    refresh_token: str | None = Field(default=None, min_length=1, max_length=512)
    # Strict: a JSON boolean, not "yes" or 1 (lax parsing accepted what the schema refuses).
    all_sessions: bool = Field(default=False, strict=True,
                               description="end every session of this account (needs the access token)")


class ResetPasswordRequest(_Body):
    otp: str = Field(pattern=OTP_PATTERN)
    new_password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)

    @field_validator("new_password")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be only whitespace")
        return value


class OtpSent(BaseModel):
    message: str
    email: str


class TokenPair(BaseModel):
    message: str
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="access token lifetime in seconds")


class Message(BaseModel):
    message: str
