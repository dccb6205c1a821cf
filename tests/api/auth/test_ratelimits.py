"""Each auth rate limit, per email address and per client address: 429 problem+json with Retry-After."""
from __future__ import annotations

import httpx
import pytest

from api.auth.service import limits
from tests.helpers.accounts import PASSWORD, new_email
from tests.helpers.http import API


def _assert_429(resp, window: int) -> None:
    assert resp.status_code == 429, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(resp.headers["Retry-After"]) <= window


def _ip(i: int) -> str:
    return f"10.1.{i // 200}.{i % 200 + 1}"


# (action, path for an email, body for a request number i)
ACTIONS = {
    "login": (lambda email: "/auth/login", lambda email, i: {"email": email, "password": f"wrong password {i}"}),
    "send_otp": (lambda email: "/auth/reset-password/send-otp", lambda email, i: {"email": email}),
    "verify": (lambda email: f"/auth/signup/verify-otp/{email}", lambda email, i: {"otp": f"{i:06d}"}),
    "reset": (lambda email: f"/auth/reset-password/{email}",
              lambda email, i: {"otp": f"{i:06d}", "new_password": PASSWORD}),
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
async def test_limit_per_client_address(client, client_at, action):
    """Many different addresses from one client address: the address limit stops it."""
    path, body = ACTIONS[action]
    limit, window = limits(action)["ip"]
    for i in range(limit):
        email = new_email()
        resp = await client.post(f"{API}{path(email)}", json=body(email, i))
        assert resp.status_code != 429, f"request {i + 1} of {limit} was limited"
    email = new_email()
    _assert_429(await client.post(f"{API}{path(email)}", json=body(email, limit)), window)
    # Another client address is not affected.
    other = client_at("192.0.2.77")
    assert (await other.post(f"{API}{path(email)}", json=body(email, 0))).status_code != 429


@pytest.mark.parametrize("action", sorted(ACTIONS))
async def test_limit_per_email(client, client_at, settings_env, action):
    """One address from many client addresses: the email limit stops it."""
    settings_env(OTP_RESEND_COOLDOWN_S="0")  # the resend cooldown is tested on its own in test_accounts.py
    path, body = ACTIONS[action]
    limit, window = limits(action)["email"]
    email = new_email()
    for i in range(limit):
        resp = await client_at(_ip(i)).post(f"{API}{path(email)}", json=body(email, i))
        assert resp.status_code != 429, f"request {i + 1} of {limit} was limited"
    _assert_429(await client_at(_ip(limit)).post(f"{API}{path(email)}", json=body(email, limit)), window)
    # Another email from the same place is not affected.
    other = new_email()
    assert (await client_at(_ip(limit)).post(f"{API}{path(other)}", json=body(other, 0))).status_code != 429


async def test_login_limit_also_stops_the_right_password(client, client_at, make_user):
    user = await make_user()
    limit, window = limits("login")["email"]
    for i in range(limit):
        await client_at(_ip(i)).post(f"{API}/auth/login", json={"email": user.email, "password": "wrong one!"})
    resp = await client.post(f"{API}/auth/login", json={"email": user.email, "password": user.password})
    _assert_429(resp, window)


async def test_sign_up_send_otp_limit_per_client_address(client):
    limit, window = limits("send_otp")["ip"]
    for i in range(limit):
        resp = await client.post(f"{API}/auth/signup/send-otp", json={"email": new_email(), "password": PASSWORD})
        assert resp.status_code == 200, resp.text
    resp = await client.post(f"{API}/auth/signup/send-otp", json={"email": new_email(), "password": PASSWORD})
    _assert_429(resp, window)


def _from(server, path: str, body: dict, forwarded_for: str) -> int:
    return httpx.post(f"{server.url}{API}{path}", json=body, headers={"X-Forwarded-For": forwarded_for},
                      timeout=30).status_code


async def test_forwarded_for_from_an_untrusted_peer_does_not_dodge_the_address_limit(start_server):
    """`filmo serve` trusts no proxy by default (FORWARDED_ALLOW_IPS empty): a local process varying
    X-Forwarded-For is still one client address, so the per-address login limit holds."""
    server = start_server(cli=True)
    limit, _ = limits("login")["ip"]
    for i in range(limit):
        status = _from(server, "/auth/login", {"email": new_email(), "password": "wrong password"}, _ip(i))
        assert status == 401, f"request {i + 1} of {limit}: {status}"
    assert _from(server, "/auth/login", {"email": new_email(), "password": "wrong password"}, _ip(limit)) == 429


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(start_server):
    """Behind a proxy listed in FORWARDED_ALLOW_IPS the limit counts the client the proxy names."""
    server = start_server(cli=True, extra_env={"FORWARDED_ALLOW_IPS": "127.0.0.1"})
    limit, _ = limits("send_otp")["ip"]
    for i in range(limit):
        assert _from(server, "/auth/reset-password/send-otp", {"email": new_email()}, "203.0.113.1") == 200, i
    assert _from(server, "/auth/reset-password/send-otp", {"email": new_email()}, "203.0.113.1") == 429
    assert _from(server, "/auth/reset-password/send-otp", {"email": new_email()}, "203.0.113.2") == 200


@pytest.mark.parametrize("action", sorted(ACTIONS))
async def test_limits_come_from_settings(client, client_at, settings_env, action):
    """AUTH_<ACTION>_PER_IP / _PER_EMAIL / _WINDOW_S replace the defaults (operators tune them without code)."""
    name = action.upper()
    settings_env(**{f"AUTH_{name}_PER_IP": "3", f"AUTH_{name}_PER_EMAIL": "2", f"AUTH_{name}_WINDOW_S": "120",
                    "OTP_RESEND_COOLDOWN_S": "0"})
    assert limits(action) == {"ip": (3, 120), "email": (2, 120)}
    path, body = ACTIONS[action]
    for i in range(3):
        email = new_email()
        assert (await client.post(f"{API}{path(email)}", json=body(email, i))).status_code != 429, i
    email = new_email()
    _assert_429(await client.post(f"{API}{path(email)}", json=body(email, 3)), 120)
    email = new_email()
    for i in range(2):
        assert (await client_at(_ip(i)).post(f"{API}{path(email)}", json=body(email, i))).status_code != 429, i
    _assert_429(await client_at(_ip(2)).post(f"{API}{path(email)}", json=body(email, 2)), 120)
