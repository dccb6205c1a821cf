"""HTTP endpoints for shoot dates, availability and "who can work my shoot" (rules in service.py)."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.auth.dependencies import CurrentUser, OptionalUser
from api.availability import service
from api.availability.schemas import AvailabilityIn, AvailabilityOut, CrewHit, ShootDatesIn, ShootDatesOut
from api.http.deps import SessionDep
from api.http.openapi import HEADERS, problems
from api.kernel.problems import field_error

router = APIRouter(tags=["availability"])


@router.get("/projects/{project_id}/shoot-dates", name="get-shoot-dates", summary="Read a project's shoot days",
            response_model=ShootDatesOut, responses=problems(404))
async def get_shoot_dates(project_id: uuid.UUID, session: SessionDep, user: OptionalUser):
    """Public like the project: its shoot days and each role's own (null: the project's apply)."""
    return await service.shoot_dates(session, project_id, user)


@router.put("/projects/{project_id}/shoot-dates", name="set-shoot-dates", summary="Plan a project's shoot days",
            response_model=ShootDatesOut, responses=problems(403, 404, 409))
async def set_shoot_dates(project_id: uuid.UUID, body: ShootDatesIn, session: SessionDep, user: CurrentUser):
    """Admins and parents. Inclusive day ranges, several allowed; `[]` clears. Saved-search alerts and crew
    searches see the change once it is indexed."""
    return await service.set_shoot_dates(session, project_id, user, body)


@router.get("/profile/me/availability", name="get-availability", summary="Read my availability and travel radius",
            response_model=AvailabilityOut, responses=problems(404))
async def get_availability(session: SessionDep, user: CurrentUser):
    return await service.availability(session, user)


@router.put("/profile/me/availability", name="set-availability", summary="Set my unavailable days and travel radius",
            response_model=AvailabilityOut, responses=problems(404))
async def set_availability(body: AvailabilityIn, session: SessionDep, user: CurrentUser):
    """`unavailable`: the days you are booked or away (replaces the list); `willing_to_travel_km`: whole km
    (0 = local only, which reaches 30 km). Omitted fields stay."""
    return await service.set_availability(session, user, body)


@router.get("/projects/{project_id}/roles/{role_id}/available-crew", name="available-crew",
            summary="Find people who can work a role's shoot", response_model=list[CrewHit],
            responses={200: {"headers": {n: HEADERS[n] for n in ("X-Total-Count", "X-Search-Engine")}},
                       **problems(403, 404, 409)})
async def available_crew(project_id: uuid.UUID, role_id: uuid.UUID, session: SessionDep, user: CurrentUser,
                         response: Response,
                         also_skill_ids: Annotated[list[int] | None, Query(description="Skills that rank people "
                                                                                       "higher (repeatable)")] = None,
                         page: Annotated[int, Query(ge=1, le=1000)] = 1,
                         limit: Annotated[int, Query(ge=1, le=100)] = 20):
    """The project's admins and parents: people with the role's skill, free on every shoot day of the role
    (its own or the project's), whose home is within their own travel radius of the project's location;
    ranked by skill match and distance decay. People are located by their ~1 km grid point only, distances
    in whole km. Members of the project are left out."""
    extras = sorted(set(also_skill_ids or []))
    if any(s < 1 or s > 2_147_483_647 for s in extras) or len(extras) > 20:
        raise field_error("also_skill_ids", "at most 20 skill ids, each a positive 32-bit integer")
    hits, total, engine = await service.available_crew(session, project_id, role_id, user, extras, limit,
                                                       (page - 1) * limit)
    response.headers["X-Total-Count"] = str(total)
    response.headers["X-Search-Engine"] = engine
    return hits
