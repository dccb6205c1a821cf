"""Accounts through HTTP: sign-up by emailed code, login, refresh rotation and reuse, logout, password reset."""
from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, update

from db.models import OtpCode, RefreshToken, User
from tests.helpers.accounts import PASSWORD, new_email, sign_up
from tests.helpers.http import API, bearer
from tests.helpers.mail import CODE, Mailbox
from tests.helpers.processes import free_port

# ---------------------------------------------------------------- sign-up


async def test_sign_up_with_the_code_from_the_email(client, smtp, db):
    email = new_email()
    resp = await client.post(f"{API}/auth/signup/send-otp", json={"email": email.upper(), "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    assert resp.json()["email"] == email and resp.json()["message"]

    mail = await smtp.last_to(email)
    assert mail.message.get_content_type() == "multipart/alternative"
    code = mail.code
    assert code and code in mail.html
    # Stored hashed: the code itself is nowhere in the table.
    row = await db.scalar(select(OtpCode).where(OtpCode.email == email))
    assert row.code_hash != code and code not in row.code_hash and row.password_hash.startswith("$argon2id$")

    resp = await client.post(f"{API}/auth/signup/verify-otp/{email}", json={"otp": code})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) >= {"message", "access_token", "refresh_token", "token_type"} and body["token_type"] == "bearer"

    user = await db.scalar(select(User).where(User.email == email))
    assert user.is_verified and user.is_active and user.password_hash.startswith("$argon2id$")
    # The access token works, and the password works for login.
    assert (await client.get(f"{API}/profile/me", headers=bearer(body["access_token"]))).status_code == 404
    resp = await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    # A code works once.
    again = await client.post(f"{API}/auth/signup/verify-otp/{email}", json={"otp": code})
    assert again.status_code == 400


async def test_dev_mode_without_smtp_writes_the_mail_to_the_folder(client):
    from api.kernel.settings import get_settings

    email = new_email()
    resp = await client.post(f"{API}/auth/signup/send-otp", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    files = [p for p in get_settings().mail_dir.glob("*.eml") if email in p.name]
    assert len(files) == 1
    msg = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    code = CODE.search(msg.get_body(("plain",)).get_content()).group(1)
    resp = await client.post(f"{API}/auth/signup/verify-otp/{email}", json={"otp": code})
    assert resp.status_code == 200, resp.text


async def test_sign_up_for_a_registered_email_answers_the_same_and_mails_a_notice(client, smtp, make_user, db):
    existing = await make_user()
    fresh = new_email()
    r1 = await client.post(f"{API}/auth/signup/send-otp", json={"email": existing.email, "password": PASSWORD})
    r2 = await client.post(f"{API}/auth/signup/send-otp", json={"email": fresh, "password": PASSWORD})
    assert r1.status_code == r2.status_code == 200
    assert r1.json()["message"] == r2.json()["message"]
    assert r1.headers["content-type"] == r2.headers["content-type"]

    notice = await smtp.last_to(existing.email)
    assert notice.code is None and "already" in notice.text
    assert notice.subject == (await smtp.last_to(fresh)).subject
    # The registered address's code (stored only so both cases do the same work) was never sent and
    # carries no password, and the account's password is untouched.
    assert (await db.scalars(select(OtpCode.password_hash).where(OtpCode.email == existing.email))).all() == [None]
    resp = await client.post(f"{API}/auth/signup/verify-otp/{existing.email}", json={"otp": "123456"})
    assert resp.status_code == 400
    login = await client.post(f"{API}/auth/login", json={"email": existing.email, "password": existing.password})
    assert login.status_code == 200


async def test_five_wrong_codes_void_the_code(client, smtp):
    email = new_email()
    await client.post(f"{API}/auth/signup/send-otp", json={"email": email, "password": PASSWORD})
    code = await smtp.code_for(email)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        resp = await client.post(f"{API}/auth/signup/verify-otp/{email}", json={"otp": wrong})
        assert resp.status_code == 400
        assert resp.json()["errors"][0]["field"] == "otp"
    resp = await client.post(f"{API}/auth/signup/verify-otp/{email}", json={"otp": code})
    assert resp.status_code == 400, "the right code must no longer work after 5 wrong ones"


async def test_fourth_wrong_then_right_code_still_works(client, smtp):
    email = new_email()
    await client.post(f"{API}/auth/signup/send-otp", json={"email": email, "password": PASSWORD})
    code = await smtp.code_for(email)
    wrong = f"{(int(code) + 7) % 1_000_000:06d}"
    for _ in range(4):
        assert (await client.post(f"{API}/auth/signup/verify-otp/{email}", json={"otp": wrong})).status_code == 400
    assert (await client.post(f"{API}/auth/signup/verify-otp/{email}", json={"otp": code})).status_code == 200


async def test_expired_code_is_refused(client, smtp, db):
    email = new_email()
    await client.post(f"{API}/auth/signup/send-otp", json={"email": email, "password": PASSWORD})
    code = await smtp.code_for(email)
    # Arrange: the code was issued more than 5 minutes ago.
    await db.execute(update(OtpCode).where(OtpCode.email == email)
                     .values(expires_at=func.now() - func.make_interval(0, 0, 0, 0, 0, 1)))
    await db.commit()
    resp = await client.post(f"{API}/auth/signup/verify-otp/{email}", json={"otp": code})
    assert resp.status_code == 400


async def test_resend_cooldown_is_429_with_retry_after(client, smtp):
    email = new_email()
    assert (await client.post(f"{API}/auth/signup/send-otp",
                              json={"email": email, "password": PASSWORD})).status_code == 200
    resp = await client.post(f"{API}/auth/signup/send-otp", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 429
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert len(smtp.to(email)) == 1
    # The same for a reset code, also for an unknown address.
    unknown = new_email()
    assert (await client.post(f"{API}/auth/reset-password/send-otp", json={"email": unknown})).status_code == 200
    resp = await client.post(f"{API}/auth/reset-password/send-otp", json={"email": unknown})
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1


async def test_a_new_code_voids_the_previous_one(client, smtp, settings_env):
    settings_env(OTP_RESEND_COOLDOWN_S="0")
    email = new_email()
    await client.post(f"{API}/auth/signup/send-otp", json={"email": email, "password": PASSWORD})
    first = await smtp.code_for(email)
    await client.post(f"{API}/auth/signup/send-otp", json={"email": email, "password": PASSWORD + "!"})
    second = (smtp.to(email))[-1].code
    if first != second:
        assert (await client.post(f"{API}/auth/signup/verify-otp/{email}", json={"otp": first})).status_code == 400
    assert (await client.post(f"{API}/auth/signup/verify-otp/{email}", json={"otp": second})).status_code == 200
    # The password of the latest request counts.
    assert (await client.post(f"{API}/auth/login",
                              json={"email": email, "password": PASSWORD + "!"})).status_code == 200


async def test_unreachable_smtp_server_is_503_and_nothing_is_kept(client, settings_env, db):
    settings_env(SMTP_SERVER="127.0.0.1", SMTP_PORT=str(free_port()), SMTP_SECURITY="none")
    email = new_email()
    resp = await client.post(f"{API}/auth/signup/send-otp", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 503
    assert "Traceback" not in resp.text and "Errno" not in resp.text
    assert await db.scalar(select(func.count()).select_from(OtpCode).where(OtpCode.email == email)) == 0


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_smtp_login_with_credentials(client, monkeypatch):
    """A server that requires AUTH: the app logs in with SMTP_USERNAME / SMTP_PASSWORD."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from api.kernel.settings import get_settings

    seen: list[tuple[str, str]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"s3cret-pass")

    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_required=True, auth_require_tls=False)
    controller.start()
    try:
        with monkeypatch.context() as mp:
            for key, value in {"SMTP_SERVER": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SECURITY": "none",
                               "SMTP_USERNAME": "mailer", "SMTP_PASSWORD": "s3cret-pass"}.items():
                mp.setenv(key, value)
            get_settings.cache_clear()
            email = new_email()
            resp = await client.post(f"{API}/auth/reset-password/send-otp", json={"email": email})
            assert resp.status_code == 200, resp.text
            assert seen == [("mailer", "s3cret-pass")]
            assert "no active Filmo account" in (await box.last_to(email)).text
    finally:
        controller.stop()
        get_settings.cache_clear()


# ---------------------------------------------------------------- login


async def test_login_with_json_and_with_the_oauth2_form(client, make_user):
    user = await make_user(password="the right password")
    resp = await client.post(f"{API}/auth/login", json={"email": user.email.upper(), "password": "the right password"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["token_type"] == "bearer" and resp.json()["refresh_token"]
    form = await client.post(f"{API}/auth/login", data={"grant_type": "password", "username": user.email,
                                                         "password": "the right password"})
    assert form.status_code == 200, form.text
    assert (await client.get(f"{API}/skills/1")).status_code == 200
    me = await client.post(f"{API}/skills/create", json={"name": "Gaffer Tape Artist", "category": "Lighting & Grip"},
                           headers=bearer(form.json()["access_token"]))
    assert me.status_code == 201


async def test_wrong_password_and_unknown_email_get_the_same_401(client, make_user):
    user = await make_user()
    wrong = await client.post(f"{API}/auth/login", json={"email": user.email, "password": "not the password"})
    unknown = await client.post(f"{API}/auth/login", json={"email": new_email(), "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    form = await client.post(f"{API}/auth/login", data={"username": user.email, "password": "nope nope"})
    assert form.status_code == 401


async def test_login_rehashes_a_password_made_with_old_parameters(client, db):
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    email = new_email()
    user = User(email=email, password_hash=weak.hash("old parameters pw"), is_verified=True)
    db.add(user)
    await db.commit()
    old_hash, user_id = user.password_hash, user.id
    resp = await client.post(f"{API}/auth/login", json={"email": email, "password": "old parameters pw"})
    assert resp.status_code == 200, resp.text
    new_hash = await db.scalar(select(User.password_hash).where(User.id == user_id))
    assert new_hash != old_hash and not PasswordHasher().check_needs_rehash(new_hash)
    assert (await client.post(f"{API}/auth/login",
                              json={"email": email, "password": "old parameters pw"})).status_code == 200


async def test_deactivated_user_tokens_stop_working(client, smtp, db):
    tokens = await sign_up(client, smtp)
    await db.execute(update(User).where(User.email == tokens["email"]).values(is_active=False))
    await db.commit()
    assert (await client.get(f"{API}/profile/me", headers=bearer(tokens["access_token"]))).status_code == 401
    assert (await client.post(f"{API}/auth/refresh",
                              json={"refresh_token": tokens["refresh_token"]})).status_code == 401
    login = await client.post(f"{API}/auth/login", json={"email": tokens["email"], "password": tokens["password"]})
    assert login.status_code == 403


# ---------------------------------------------------------------- refresh, reuse, logout


async def test_refresh_rotates_the_token(client, smtp, db):
    first = await sign_up(client, smtp)
    resp = await client.post(f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert resp.status_code == 200, resp.text
    second = resp.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert set(second) >= {"message", "access_token", "refresh_token", "token_type"}
    # Only hashes are stored.
    stored = set(await db.scalars(select(RefreshToken.token_hash)))
    assert first["refresh_token"] not in stored and second["refresh_token"] not in stored
    # The new pair works; the new access token too; and the old access token is still alive (same session).
    resp = await client.post(f"{API}/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert resp.status_code == 200
    assert (await client.get(f"{API}/profile/me", headers=bearer(first["access_token"]))).status_code == 404


async def test_reusing_a_rotated_refresh_token_ends_the_whole_family(client, smtp):
    tokens = await sign_up(client, smtp)
    other_login = (await client.post(f"{API}/auth/login",
                                     json={"email": tokens["email"], "password": tokens["password"]})).json()
    rotated = (await client.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).json()

    # An attacker replays the old token: refused, and the legitimate successor dies with it.
    replay = await client.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert replay.status_code == 401
    assert replay.headers["content-type"].startswith("application/problem+json")
    assert (await client.post(f"{API}/auth/refresh",
                              json={"refresh_token": rotated["refresh_token"]})).status_code == 401
    # Access tokens of that session end too.
    for access in (tokens["access_token"], rotated["access_token"]):
        assert (await client.get(f"{API}/profile/me", headers=bearer(access))).status_code == 401
    # Another sign-in of the same person is a different family and keeps working.
    assert (await client.get(f"{API}/profile/me", headers=bearer(other_login["access_token"]))).status_code == 404
    assert (await client.post(f"{API}/auth/refresh",
                              json={"refresh_token": other_login["refresh_token"]})).status_code == 200


async def test_refresh_rejects_unknown_and_expired_tokens(client, smtp, db):
    assert (await client.post(f"{API}/auth/refresh", json={"refresh_token": "not-a-token"})).status_code == 401
    tokens = await sign_up(client, smtp)
    await db.execute(update(RefreshToken).values(expires_at=func.now()))
    await db.commit()
    resp = await client.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert resp.status_code == 401 and "expired" in resp.json()["detail"]


async def test_logout_with_the_access_token_ends_that_session(client, smtp):
    a = await sign_up(client, smtp)
    b = (await client.post(f"{API}/auth/login", json={"email": a["email"], "password": a["password"]})).json()
    resp = await client.post(f"{API}/auth/logout", headers=bearer(a["access_token"]))
    assert resp.status_code == 200 and resp.json() == {"message": "Logged out"}
    assert (await client.get(f"{API}/profile/me", headers=bearer(a["access_token"]))).status_code == 401
    assert (await client.post(f"{API}/auth/refresh", json={"refresh_token": a["refresh_token"]})).status_code == 401
    # The other session is untouched.
    assert (await client.get(f"{API}/profile/me", headers=bearer(b["access_token"]))).status_code == 404


async def test_logout_with_only_the_refresh_token(client, smtp):
    a = await sign_up(client, smtp)
    resp = await client.post(f"{API}/auth/logout", json={"refresh_token": a["refresh_token"]})
    assert resp.status_code == 200
    assert (await client.post(f"{API}/auth/refresh", json={"refresh_token": a["refresh_token"]})).status_code == 401
    assert (await client.get(f"{API}/profile/me", headers=bearer(a["access_token"]))).status_code == 401
    # Idempotent, and an unknown token reveals nothing.
    assert (await client.post(f"{API}/auth/logout", json={"refresh_token": a["refresh_token"]})).status_code == 200
    assert (await client.post(f"{API}/auth/logout", json={"refresh_token": "whatever"})).status_code == 200


async def test_logout_everywhere(client, smtp):
    a = await sign_up(client, smtp)
    b = (await client.post(f"{API}/auth/login", json={"email": a["email"], "password": a["password"]})).json()
    resp = await client.post(f"{API}/auth/logout", json={"all_sessions": True}, headers=bearer(a["access_token"]))
    assert resp.status_code == 200
    for t in (a, b):
        assert (await client.get(f"{API}/profile/me", headers=bearer(t["access_token"]))).status_code == 401
        assert (await client.post(f"{API}/auth/refresh", json={"refresh_token": t["refresh_token"]})).status_code == 401


async def test_logout_needs_some_credential(client):
    resp = await client.post(f"{API}/auth/logout")
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"] == "Bearer"
    assert (await client.post(f"{API}/auth/logout", json={"all_sessions": True},
                              headers=bearer("garbage"))).status_code == 401


# ---------------------------------------------------------------- password reset


async def test_password_reset_ends_every_session(client, smtp, make_user):
    a = await sign_up(client, smtp)
    b = (await client.post(f"{API}/auth/login", json={"email": a["email"], "password": a["password"]})).json()
    resp = await client.post(f"{API}/auth/reset-password/send-otp", json={"email": a["email"]})
    assert resp.status_code == 200 and resp.json()["email"] == a["email"]
    code = await smtp.code_for(a["email"])
    resp = await client.post(f"{API}/auth/reset-password/{a['email']}",
                             json={"otp": code, "new_password": "a brand new password"})
    assert resp.status_code == 200, resp.text
    fresh = resp.json()
    assert set(fresh) >= {"message", "access_token", "refresh_token", "token_type"}

    for t in (a, b):
        assert (await client.get(f"{API}/profile/me", headers=bearer(t["access_token"]))).status_code == 401
        assert (await client.post(f"{API}/auth/refresh", json={"refresh_token": t["refresh_token"]})).status_code == 401
    # The pair handed out by the reset works (issued in the same second as the change).
    assert (await client.get(f"{API}/profile/me", headers=bearer(fresh["access_token"]))).status_code == 404
    assert (await client.post(f"{API}/auth/login", json={"email": a["email"], "password": a["password"]})
            ).status_code == 401
    assert (await client.post(f"{API}/auth/login", json={"email": a["email"], "password": "a brand new password"})
            ).status_code == 200
    # The code is spent.
    again = await client.post(f"{API}/auth/reset-password/{a['email']}",
                              json={"otp": code, "new_password": "yet another password"})
    assert again.status_code == 400


async def test_reset_ends_tokens_issued_just_before_in_the_same_second(client, smtp, make_user):
    """A token issued a moment before a reset ends with it; one issued just after it, in the session the
    reset signed in, works (both within the same second)."""
    user = await make_user()  # its token is issued a moment before the reset below
    await client.post(f"{API}/auth/reset-password/send-otp", json={"email": user.email})
    code = await smtp.code_for(user.email)
    resp = await client.post(f"{API}/auth/reset-password/{user.email}",
                             json={"otp": code, "new_password": "changed password!"})
    assert resp.status_code == 200
    assert (await client.get(f"{API}/profile/me", headers=user.headers)).status_code == 401
    from api.auth.tokens import create_access_token, decode_access_token

    later = create_access_token(user.id, session_id=decode_access_token(resp.json()["access_token"])["sid"])
    assert (await client.get(f"{API}/profile/me", headers=bearer(later))).status_code == 404


async def test_reset_for_an_unknown_email_answers_the_same(client, smtp, make_user):
    user = await make_user()
    unknown = new_email()
    known = await client.post(f"{API}/auth/reset-password/send-otp", json={"email": user.email})
    other = await client.post(f"{API}/auth/reset-password/send-otp", json={"email": unknown})
    assert known.status_code == other.status_code == 200
    assert known.json()["message"] == other.json()["message"]
    notice = await smtp.last_to(unknown)
    assert notice.code is None and notice.subject == (await smtp.last_to(user.email)).subject
    resp = await client.post(f"{API}/auth/reset-password/{unknown}",
                             json={"otp": "000000", "new_password": "whatever password"})
    assert resp.status_code == 400


async def test_reset_wrong_codes_void_the_code(client, smtp, make_user):
    user = await make_user()
    await client.post(f"{API}/auth/reset-password/send-otp", json={"email": user.email})
    code = await smtp.code_for(user.email)
    wrong = f"{(int(code) + 3) % 1_000_000:06d}"
    for _ in range(5):
        assert (await client.post(f"{API}/auth/reset-password/{user.email}",
                                  json={"otp": wrong, "new_password": "new password 1"})).status_code == 400
    assert (await client.post(f"{API}/auth/reset-password/{user.email}",
                              json={"otp": code, "new_password": "new password 1"})).status_code == 400
    assert (await client.post(f"{API}/auth/login", json={"email": user.email, "password": user.password})
            ).status_code == 200


# ---------------------------------------------------------------- malformed bodies

MALFORMED = [
    # (path, body, status, field named in errors)
    ("/auth/signup/send-otp", {"email": "not-an-email", "password": PASSWORD}, 422, "email"),
    ("/auth/signup/send-otp", {"email": "a@example.com", "password": "short"}, 422, "password"),
    ("/auth/signup/send-otp", {"email": "a@example.com", "password": " " * 12}, 422, "password"),
    ("/auth/signup/send-otp", {"email": "a@example.com", "password": "x" * 300}, 422, "password"),
    ("/auth/signup/send-otp", {"password": PASSWORD}, 422, "email"),
    ("/auth/signup/send-otp", {"email": "a@example.com"}, 422, "password"),
    ("/auth/signup/send-otp", {"email": 12, "password": PASSWORD}, 422, "email"),
    ("/auth/signup/send-otp", ["a@example.com", PASSWORD], 422, None),
    ("/auth/signup/verify-otp/a@example.com", {"otp": "12345"}, 422, "otp"),
    ("/auth/signup/verify-otp/a@example.com", {"otp": "1234567"}, 422, "otp"),
    ("/auth/signup/verify-otp/a@example.com", {"otp": "12a456"}, 422, "otp"),
    ("/auth/signup/verify-otp/a@example.com", {}, 422, "otp"),
    ("/auth/signup/verify-otp/not-an-email", {"otp": "123456"}, 422, "email"),
    ("/auth/login", {"email": "a@example.com"}, 422, "password"),
    ("/auth/login", {"email": "nope", "password": "whatever"}, 422, "email"),
    ("/auth/login", {"email": "a@example.com", "password": ""}, 422, "password"),
    ("/auth/login", [1, 2], 422, None),
    ("/auth/refresh", {}, 422, "refresh_token"),
    ("/auth/refresh", {"refresh_token": ""}, 422, "refresh_token"),
    ("/auth/refresh", {"refresh_token": 5}, 422, "refresh_token"),
    ("/auth/reset-password/send-otp", {}, 422, "email"),
    ("/auth/reset-password/send-otp", {"email": "@example.com"}, 422, "email"),
    ("/auth/reset-password/a@example.com", {"otp": "123456", "new_password": "short"}, 422, "new_password"),
    ("/auth/reset-password/a@example.com", {"otp": "abcdef", "new_password": PASSWORD}, 422, "otp"),
    ("/auth/reset-password/a@example.com", {"new_password": PASSWORD}, 422, "otp"),
    ("/auth/reset-password/bad", {"otp": "123456", "new_password": PASSWORD}, 422, "email"),
]


@pytest.mark.parametrize(("path", "body", "status", "field"), MALFORMED)
async def test_malformed_auth_bodies(client, path, body, status, field):
    resp = await client.post(f"{API}{path}", json=body)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem = resp.json()
    if field:
        assert field in [e["field"] for e in problem["errors"]], problem


async def test_login_body_that_is_not_json_or_a_form(client):
    resp = await client.post(f"{API}/auth/login", content=b"email=x", headers={"content-type": "text/plain"})
    assert resp.status_code == 415
    resp = await client.post(f"{API}/auth/login", content=b"{not json", headers={"content-type": "application/json"})
    assert resp.status_code == 400
    resp = await client.post(f"{API}/auth/login", data={"password": "x"})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "username"


async def test_openapi_login_is_the_oauth2_token_url(client):
    spec = (await client.get("/openapi.json")).json()
    scheme = next(iter(spec["components"]["securitySchemes"].values()))
    assert scheme["flows"]["password"]["tokenUrl"] == "/api/v1/auth/login"
    body = spec["paths"]["/api/v1/auth/login"]["post"]["requestBody"]["content"]
    assert {"application/json", "application/x-www-form-urlencoded"} <= set(body)


async def test_nothing_registered_for_unverified_sign_up(client, smtp, db):
    email = new_email()
    await client.post(f"{API}/auth/signup/send-otp", json={"email": email, "password": PASSWORD})
    assert await db.scalar(select(func.count()).select_from(User).where(User.email == email)) == 0
    resp = await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 401


# ---------------------------------------------------------------- races


async def test_parallel_refresh_with_one_token_counts_as_reuse(client, smtp):
    import asyncio

    account = await sign_up(client, smtp)
    # Several rounds, so the interleavings differ (first SELECT before / after the winner commits).
    for _ in range(5):
        tokens = (await client.post(f"{API}/auth/login",
                                    json={"email": account["email"], "password": account["password"]})).json()
        results = await asyncio.wait_for(asyncio.gather(*[
            client.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}) for _ in range(3)]),
            timeout=60)
        statuses = sorted(r.status_code for r in results)
        assert statuses[0] == 200 and statuses[1:] == [401, 401], [r.text for r in results]
        # The family is gone, including the pair the winner received.
        winner = next(r for r in results if r.status_code == 200).json()
        assert (await client.post(f"{API}/auth/refresh",
                                  json={"refresh_token": winner["refresh_token"]})).status_code == 401


async def test_parallel_verification_creates_one_account(client, smtp, db):
    import asyncio

    email = new_email()
    await client.post(f"{API}/auth/signup/send-otp", json={"email": email, "password": PASSWORD})
    code = await smtp.code_for(email)
    results = await asyncio.gather(*[client.post(f"{API}/auth/signup/verify-otp/{email}", json={"otp": code})
                                     for _ in range(3)])
    assert sorted(r.status_code for r in results) == [200, 400, 400], [r.text for r in results]
    assert await db.scalar(select(func.count()).select_from(User).where(User.email == email)) == 1


# ---------------------------------------------------------------- real server processes


async def test_sign_up_against_a_real_server_and_smtp(start_server, smtp):
    """uvicorn in its own process, sending to the in-process SMTP server; login via the /docs OAuth2 form."""
    import httpx

    from api.kernel.settings import get_settings

    settings = get_settings()
    server = start_server(extra_env={"SMTP_SERVER": "127.0.0.1", "SMTP_PORT": str(settings.smtp_port),
                                     "SMTP_SECURITY": "none"})
    email = new_email()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        resp = await http.post(f"{API}/auth/signup/send-otp", json={"email": email, "password": PASSWORD})
        assert resp.status_code == 200, resp.text
        code = await smtp.code_for(email)
        resp = await http.post(f"{API}/auth/signup/verify-otp/{email}", json={"otp": code})
        assert resp.status_code == 200, resp.text
        form = await http.post(f"{API}/auth/login", data={"username": email, "password": PASSWORD})
        assert form.status_code == 200 and form.json()["token_type"] == "bearer"
        assert (await http.get(f"{API}/profile/me", headers=bearer(form.json()["access_token"]))).status_code == 404


@pytest.mark.parametrize(("env", "code_in_log"), [("dev", True), ("prod", False)])
async def test_codes_are_logged_only_outside_production(start_server, tmp_path, env, code_in_log):
    import httpx

    server = start_server(extra_env={"FILMO_ENV": env, "SMTP_SERVER": "", "MAIL_DIR": str(tmp_path)})
    email = new_email()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        resp = await http.post(f"{API}/auth/signup/send-otp", json={"email": email, "password": PASSWORD})
        assert resp.status_code == 200, resp.text
    files = list(tmp_path.glob("*.eml"))
    assert len(files) == 1
    msg = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    code = CODE.search(msg.get_body(("plain",)).get_content()).group(1)
    server.stop()
    log = server.log.read_text()
    assert str(tmp_path) in log  # the mail was reported
    assert (code in log) is code_in_log
