"""Users for the tests: what `make_user` returns, and sign-up through HTTP with the emailed code."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import httpx

from tests.helpers.http import API
from tests.helpers.mail import Mailbox

PASSWORD = "a long enough password"

DEFAULT_PROFILE = {
    "name": "Test Person", "profession": "Director of Photography", "city": "Los Angeles", "state": "California",
    "country": "United States", "latitude": 34.0522, "longitude": -118.2437, "years_of_experience": 5,
    "is_actor": False, "skill_ids": [],
}


@dataclass
class TestUser:
    __test__ = False  # a data class, not a test class

    id: uuid.UUID
    email: str
    password: str
    token: str
    profile: dict | None = None
    headers: dict = field(default_factory=dict)
    # The sign-in the token belongs to (its `sid`), and that session's refresh token.
    session_id: uuid.UUID | None = None
    refresh_token: str | None = None


def new_email() -> str:
    return f"person-{uuid.uuid4().hex[:10]}@example.com"


async def people(make_user, *names) -> list[TestUser]:
    """One user with a profile per name (the `make_user` fixture makes them)."""
    return [await make_user(profile={"name": n}) for n in names]


async def sign_up(client: httpx.AsyncClient, mailbox: Mailbox, email: str | None = None,
                  password: str = PASSWORD) -> dict:
    """The whole sign-up through HTTP and the received email; returns the token response plus email/password."""
    email = email or new_email()
    resp = await client.post(f"{API}/auth/signup/send-otp", json={"email": email, "password": password})
    assert resp.status_code == 200, resp.text
    code = await mailbox.code_for(email)
    resp = await client.post(f"{API}/auth/signup/verify-otp/{email}", json={"otp": code})
    assert resp.status_code == 200, resp.text
    return {**resp.json(), "email": email, "password": password}
