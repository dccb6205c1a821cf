"""Access tokens: every kind of bad token is refused with 401 problem+json, on a protected endpoint."""
from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest

from api.auth.tokens import create_access_token, decode_access_token
from tests.helpers.http import API, bearer


def _secret() -> str:
    from api.kernel.settings import get_settings

    return get_settings().secret_key


def _claims(user, **overrides) -> dict:
    """A well-formed token's claims for a `make_user` user (bound to its session), with `overrides`
    (None removes a claim)."""
    now = time.time()
    claims = {"sub": str(user.id), "iat": now, "exp": now + 600, "jti": uuid.uuid4().hex, "type": "access",
              "sid": str(user.session_id)}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _unsigned(claims: dict) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


async def test_a_valid_token_is_accepted(client, make_user):
    user = await make_user()
    token = jwt.encode(_claims(user), _secret(), algorithm="HS256")
    assert (await client.get(f"{API}/profile/me", headers=bearer(token))).status_code == 404
    claims = decode_access_token(create_access_token(user.id, session_id=user.session_id))
    assert {"sub", "exp", "iat", "jti", "type", "sid"} <= set(claims) and claims["type"] == "access"


BAD_TOKENS = {
    "alg none": lambda u: _unsigned(_claims(u)),
    "alg none (upper case)": lambda u: f"{_b64({'alg': 'NONE', 'typ': 'JWT'})}.{_b64(_claims(u))}.",
    "other HMAC algorithm": lambda u: jwt.encode(_claims(u), _secret(), algorithm="HS512"),
    "wrong key": lambda u: jwt.encode(_claims(u), "another-secret-key-of-sufficient-length-123", algorithm="HS256"),
    "wrong type": lambda u: jwt.encode(_claims(u, type="refresh"), _secret(), algorithm="HS256"),
    "no type": lambda u: jwt.encode(_claims(u, type=None), _secret(), algorithm="HS256"),
    "expired": lambda u: jwt.encode(_claims(u, iat=time.time() - 1200, exp=time.time() - 600), _secret(),
                                    algorithm="HS256"),
    "no exp": lambda u: jwt.encode(_claims(u, exp=None), _secret(), algorithm="HS256"),
    "no jti": lambda u: jwt.encode(_claims(u, jti=None), _secret(), algorithm="HS256"),
    "sub not a uuid": lambda u: jwt.encode(_claims(u, sub="admin"), _secret(), algorithm="HS256"),
    "unknown user": lambda u: jwt.encode(_claims(u, sub=str(uuid.uuid4())), _secret(), algorithm="HS256"),
    "sid not a uuid": lambda u: jwt.encode(_claims(u, sid="x"), _secret(), algorithm="HS256"),
    # Bound to no sign-in session: logout could never end it.
    "no sid": lambda u: jwt.encode(_claims(u, sid=None), _secret(), algorithm="HS256"),
    "sid of no session": lambda u: jwt.encode(_claims(u, sid=str(uuid.uuid4())), _secret(), algorithm="HS256"),
    "garbage": lambda u: "not.a.jwt",
    "empty segments": lambda u: "..",
}


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["sub"] = str(uuid.uuid4())
    return f"{header}.{_b64(data)}.{signature}"


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
async def test_bad_tokens_are_refused(client, make_user, kind):
    user = await make_user()
    resp = await client.get(f"{API}/profile/me", headers=bearer(BAD_TOKENS[kind](user)))
    assert resp.status_code == 401, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    assert _secret() not in resp.text


async def test_tampered_payload_is_refused(client, make_user):
    user = await make_user()
    resp = await client.get(f"{API}/profile/me", headers=bearer(_tampered(user.token)))
    assert resp.status_code == 401


async def test_tampered_signature_is_refused(client, make_user):
    user = await make_user()
    header, payload, signature = user.token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert (await client.get(f"{API}/profile/me", headers=bearer(f"{header}.{payload}.{flipped}"))).status_code == 401


async def test_missing_or_malformed_authorization_header(client):
    assert (await client.get(f"{API}/profile/me")).status_code == 401
    assert (await client.get(f"{API}/profile/me", headers={"Authorization": "Basic abc"})).status_code == 401
    assert (await client.get(f"{API}/profile/me", headers={"Authorization": "Bearer"})).status_code == 401
