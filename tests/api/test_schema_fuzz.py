"""Schema-conformance fuzz (issues 14 and 16): schemathesis against a real `filmo serve` process.

Every documented operation gets generated requests, signed in as a real user (a bearer token bound to a
session, as a sign-in issues) who owns a project with a member, an application and messages; half of the generated path
parameters are replaced by those real ids, so the fuzz reaches the rules behind a 404. Each response is
checked against /openapi.json: no 5xx, a documented status code, a documented content type, documented
headers, and a body that validates against the documented schema (schemathesis' default checks). A
hand-written chain then carries ids from answer to answer (create a project -> read it -> send it back
edited -> apply -> accept -> promote -> hand over -> archive), each answer checked the same way.

Bounded for CI: MAX_EXAMPLES per operation, derandomized (the same cases on every run), no shrinking.
Measured on the 2-core CI machine: see the README ("Tests").
"""
from __future__ import annotations

import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from tests.helpers.http import DM
from tests.helpers.processes import ServerProcess
from tests.helpers.projects import accept, apply, create_project, project_body

MAX_EXAMPLES = 10
FUZZ_SETTINGS = settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
# The fuzz sends many sign-ins and codes from one address: rate limits stay real but far off.
SERVER_ENV = {"AUTH_SEND_OTP_PER_IP": "100000", "AUTH_VERIFY_PER_IP": "100000",
              "AUTH_LOGIN_PER_IP": "100000", "AUTH_RESET_PER_IP": "100000", "SEARCH_USERS_PER_MINUTE": "100000"}


@pytest.fixture(scope="module")
def fuzz_server():
    server = ServerProcess(extra_env=SERVER_ENV)
    yield server
    server.stop()


@pytest.fixture
async def world(make_user, client) -> dict:
    """Ann owns a project; Ben applied to a role and was accepted; Ann wrote to Ben. Ids by the path parameter
    names the API uses. Made in-process (the server process shares the database and the signing key)."""
    ann = await make_user(profile={"name": "Ann Fuzz", "skill_ids": [5, 6]})
    ben = await make_user(profile={"name": "Ben Fuzz", "skill_ids": [5, 6]})
    project = await create_project(client, ann)
    application = await apply(client, ben, project["roles"][1]["id"])
    await accept(client, ann, application["id"])
    message = await client.post(f"{DM}/send", json={"recipient_id": str(ben.id), "content": "hello"},
                                headers=ann.headers)
    assert message.status_code == 201, message.text
    return {"headers": ann.headers, "ben": ben.headers, "ids": {
        "project_id": project["id"], "user_id": str(ben.id), "other_user_id": str(ben.id), "email": ann.email,
        "application_id": application["id"], "message_id": message.json()["id"], "skill_id": 5,
        "role_id": project["roles"][0]["id"]}}


def _document() -> dict:
    """The app's /openapi.json (the server process builds the same one from the same code)."""
    from api.main import fastapi_app

    return fastapi_app.openapi()


# Loaded at collection: pytest parametrizes one test per operation from it.
schema = schemathesis.openapi.from_dict(_document())


_EXAMPLES = itertools.count()

# Checks left out, and why (each was looked at on a failing run; everything else schemathesis checks by default).
# - positive_data_acceptance: "a schema-valid request must not get a 400/422". The API has rules a JSON Schema
#   cannot state: fields that go together (latitude and longitude), state (`dead` is set by the server, a
#   transfer needs a member), secrets (a wrong e-mailed code), opaque cursors, page * limit <= 10,000. Their
#   answers are still checked: a documented status, content type and Problem body.
# - negative_data_rejection: "a schema-violating request must get a 4xx". Bodies are parsed leniently, as
#   pydantic does by default and the original product did: `false` is taken as 0 and "5" as 5 where a number
#   belongs (a front end that sends numbers as strings keeps working). Out-of-range values, missing fields and
#   wrong types otherwise are refused: tests/api/*/test_*bad_input* and tests/api/test_bad_input.py.
# - unsupported_method and allow_header_conformance on paths that another route's template also matches (kept
#   from the original API): GET /profile/create is GET /profile/{user_id} with user_id "create" (422 naming
#   user_id, not a 405); /dm/messages/1 is both GET /dm/messages/{other_user_id} and DELETE .../{message_id}.
OVERLAPPING_TEMPLATES = {"POST /api/v1/profile/create", "PUT /api/v1/profile/update", "POST /api/v1/skills/create",
                         "POST /api/v1/projects/create", "GET /api/v1/dm/messages/{other_user_id}",
                         "DELETE /api/v1/dm/messages/{message_id}"}


# Operations whose failures the fuzz found and that are not fixed yet: only the named checks are left out, only
# there. Empty now (the tiles' skill_id and available-crew's also_skill_ids past an int4 were 500s; now 422s).
KNOWN_BROKEN: dict[str, tuple[str, ...]] = {}


def _excluded(case) -> list:
    from schemathesis import checks
    from schemathesis.specs.openapi.checks import (allow_header_conformance, negative_data_rejection,
                                                    positive_data_acceptance, unsupported_method)

    label = case.operation.label
    known = [getattr(checks, name) for name in KNOWN_BROKEN.get(label, ())]
    overlapping = [unsupported_method, allow_header_conformance] if label in OVERLAPPING_TEMPLATES else []
    return [positive_data_acceptance, negative_data_rejection, *known, *overlapping]


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_answers_as_documented(case, world, fuzz_server):
    # Every other example (a fixed order: the run is derandomized) aims at the real rows instead of random ids.
    if next(_EXAMPLES) % 2 == 0 and case.path_parameters:
        for name in case.path_parameters:
            if name in world["ids"]:
                case.path_parameters[name] = world["ids"][name]
    case.call_and_validate(base_url=fuzz_server.url, headers=world["headers"], excluded_checks=_excluded(case))


def test_a_chain_of_operations_answers_as_documented(world, fuzz_server):
    """Stateful, written by hand (schemathesis' own state machine draws its next step from what earlier
    answers put in its bundles, so its examples change with the database and hypothesis stops it as flaky):
    create a project, read it, send it back edited, page my projects, apply, accept, promote, hand admin
    over, archive. Each answer is checked like the fuzz's, with the ids the previous answers gave."""
    ann = world["headers"]

    def call(operation_id: str, headers=ann, **parts):
        case = schema.find_operation_by_id(operation_id).Case(**parts)
        response = case.call(base_url=fuzz_server.url, headers=headers)
        case.validate_response(response, excluded_checks=_excluded(case), headers=headers)
        return response

    project = call("projects-create", body=project_body(name="Chained")).json()
    pid = {"project_id": project["id"]}
    read = call("projects-get", path_parameters=pid).json()
    read["roles"][1]["slots_available"] = 3
    assert call("projects-update", path_parameters=pid, body=read).json()["roles"][1]["slots_available"] == 3
    first = call("projects-list-mine", query={"limit": 1})
    assert first.headers["link"][0].endswith('; rel="next"')  # schemathesis' Response: header lists
    applicant = world["ben"]
    application = call("applications-apply", headers=applicant,
                       body={"role_id": project["roles"][1]["id"]}).json()
    assert call("applications-list-for-project", path_parameters=pid).json()[0]["id"] == application["id"]
    call("applications-accept", path_parameters={"application_id": application["id"]})
    members = call("team-list-members", path_parameters=pid).json()
    member = next(m for m in members if m["member_role"] == "child")
    target = {**pid, "user_id": member["user_id"]}
    call("team-promote", path_parameters=target, body={**member, "member_role": "parent"})
    call("projects-transfer", path_parameters=pid, body=member)
    assert call("team-stats", path_parameters=pid).json()["total_members"] == 2
    assert call("projects-archive", path_parameters=pid).status_code == 403  # Ann handed admin over
    assert call("projects-archive", headers=applicant, path_parameters=pid).status_code == 200
    assert call("projects-get", path_parameters=pid).json()["status"] == "disposed"
