"""Registered and unknown addresses cost the same work on every auth endpoint: timing reveals nothing.

A wall-clock comparison is too noisy to assert on a shared machine, so the rule is checked
structurally: for a registered address each endpoint must run the same SQL statements, in the same
order, with the same commits and rollbacks, and send as many mails as for an address nobody registered.
"""
from __future__ import annotations

from contextlib import contextmanager

import pytest

from tests.helpers.accounts import PASSWORD, new_email
from tests.helpers.http import API


@contextmanager
def _database_work():
    """Every statement (whitespace-normalised, without parameters), commit and rollback of the app's engine."""
    from sqlalchemy import event

    from db.session import get_engine

    engine = get_engine().sync_engine
    seen: list[str] = []

    def on_statement(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    listeners = [("before_cursor_execute", on_statement), ("commit", lambda conn: seen.append("COMMIT")),
                 ("rollback", lambda conn: seen.append("ROLLBACK"))]
    for name, fn in listeners:
        event.listen(engine, name, fn)
    try:
        yield seen
    finally:
        for name, fn in listeners:
            event.remove(engine, name, fn)


# endpoint -> (path for an email, JSON body); every request is one an attacker can send without a secret.
ENDPOINTS = {
    "signup send-otp": (lambda e: "/auth/signup/send-otp", lambda e: {"email": e, "password": PASSWORD}),
    "reset send-otp": (lambda e: "/auth/reset-password/send-otp", lambda e: {"email": e}),
    "login": (lambda e: "/auth/login", lambda e: {"email": e, "password": "not the password"}),
    "signup verify-otp": (lambda e: f"/auth/signup/verify-otp/{e}", lambda e: {"otp": "000000"}),
    "reset-password": (lambda e: f"/auth/reset-password/{e}", lambda e: {"otp": "000000", "new_password": PASSWORD}),
}


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
async def test_known_and_unknown_addresses_do_the_same_work(client, smtp, make_user, endpoint):
    path, body = ENDPOINTS[endpoint]
    known, unknown = (await make_user()).email, new_email()
    answers, work = {}, {}
    for email in (known, unknown):
        with _database_work() as seen:
            resp = await client.post(f"{API}{path(email)}", json=body(email))
        answers[email], work[email] = (resp.status_code, resp.json().get("message")), seen
    assert answers[known] == answers[unknown]
    assert work[known] and work[known] == work[unknown]
    assert len(smtp.to(known)) == len(smtp.to(unknown))
