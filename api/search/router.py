"""HTTP endpoints for search (rules live in service.py).

Projects and map clusters are public, as in the original. People search is public too, but only
returns whole-km distances from a ~1 km grid point and is rate limited per caller. Recommendations
need a signed-in person. Every response says which engine answered in `X-Search-Engine`.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter

from api.auth.dependencies import CurrentUser, OptionalUser
from api.http.deps import SessionDep
from api.http.openapi import HEADERS, problems
from api.http.pagination import next_link
from api.kernel import ratelimit
from api.kernel.problems import field_error
from api.kernel.settings import get_settings
from api.search import reach, service
from api.search.textmatch import words
from api.search.geojson import GEOJSON_MEDIA_TYPE, normalise_bbox, projects_collection
from api.search.schemas import (MAX_LIMIT, BBox, ClusterQuery, ClustersResponse, Match, Point, ProjectFilters,
                                ProjectHit, ProjectSearch, ProjectSearchResponse, ProjectSort, RecommendedResponse,
                                SuggestResponse, UserFilters, UserHit, UserSearch, UserSearchResponse, UserSort)
from db.models.enums import PaymentType, ProjectType

router = APIRouter(prefix="/search", tags=["search"])

SearchableStatus = Literal["active", "completed", "shelved", "dead"]
Lat = Annotated[float | None, Query(ge=-90, le=90, description="Centre latitude (0.0 is a valid value)",
                                    openapi_examples={"paris": {"summary": "Paris", "value": 48.8566}})]
Lon = Annotated[float | None, Query(ge=-180, le=180, description="Centre longitude",
                                    openapi_examples={"paris": {"summary": "Paris", "value": 2.3522}})]
Radius = Annotated[float | None, Query(gt=0, le=20000, description="Radius around the centre, km",
                                       openapi_examples={"city": {"summary": "Within 25 km", "value": 25}})]
Page = Annotated[int, Query(ge=1, le=10000)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")]
SkillIds = Annotated[list[int] | None, Query(description="Repeatable; combined with skill_id")]
# Existing clients read a bare list of hits (the original's shape), so that stays the default; the envelope
# with total, facets and next_cursor is opt-in. Total and cursor also travel in headers for list readers.
Envelope = Annotated[bool, Query(description="true: {results, total, page, limit, sort, next_cursor, facets}; "
                                             "false (default, as the original): the list of hits, with "
                                             "X-Total-Count and X-Next-Cursor headers")]
MAX_ZOOM = 29

# The headers of a list of hits (api.http.openapi.HEADERS says what each means).
_LIST_HEADERS = {name: HEADERS[name] for name in ("X-Total-Count", "X-Total-Relation", "X-Next-Cursor", "Link",
                                                   "X-Search-Engine")}
_ENGINE_HEADER = {"X-Search-Engine": HEADERS["X-Search-Engine"]}
_HIT_TIME = "2025-03-01T09:30:00Z"
_PROJECT_HIT = {
    "id": "6f1c1c1e-2b7a-4d53-9d35-0c3a4f0e8b11", "creator_id": "0b9e0f4e-7c1d-4d8e-9a55-3f1f2d6b7a90",
    "name": "Night Train", "description": "A short thriller shot on a moving train.", "project_type": "short_film",
    "status": "active", "is_fully_staffed": False, "city": "Paris", "state": None, "country": "France",
    "latitude": 48.8443, "longitude": 2.3744, "distance_km": 1.87, "created_at": _HIT_TIME,
    "roles": [{"id": "5d0f6c0e-8f1b-4c2a-b5f4-9e3a2d1c0b7a", "skill_id": 12, "role_title": "Gaffer",
               "description": "Two night shoots", "slots_available": 1, "slots_filled": 0, "is_filled": False,
               "payment_type": "paid", "payment_amount": 250.0, "payment_details": "per day"}]}
_PROJECT_EXAMPLES = {
    "list": {"summary": "Default: the list of hits (total and cursor in headers)", "value": [_PROJECT_HIT]},
    "envelope": {"summary": "envelope=true", "value": {
        "results": [_PROJECT_HIT], "total": 57, "total_relation": "eq", "page": 1, "limit": 1, "sort": "distance",
        "next_cursor": "WzE4NywiNmYxYzFjMWUiXQ", "facets": {"skills": [{"key": 12, "count": 1, "name": "Gaffer"}],
                                        "project_types": [{"key": "short_film", "count": 1}],
                                        "payment_types": [{"key": "paid", "count": 1}],
                                        "cities": [{"key": "Paris", "count": 1}]}}},
}
_USER_HIT = {"id": "9a7e3c51-0d4b-4f6e-8c2a-1b5d7e9f0a13", "user_id": "2c4e6a8b-1d3f-4a5c-9e7b-0f2d4c6e8a1b",
             "name": "Ana Lima", "profession": "Gaffer", "is_actor": False, "city": "Lyon", "state": None,
             "country": "France", "years_of_experience": 8, "profile_photo_url": None,
             "skills": [{"id": 12, "name": "Gaffer", "category": "Lighting"}], "distance_km": 4,
             "created_at": _HIT_TIME}


def _engine_header(response: Response, engine: str) -> None:
    response.headers["X-Search-Engine"] = engine


_HIT_LISTS = {ProjectSearchResponse: TypeAdapter(list[ProjectHit]), UserSearchResponse: TypeAdapter(list[UserHit])}


def _shape(result: ProjectSearchResponse | UserSearchResponse, request: Request, response: Response,
           envelope: bool) -> Response:
    """The envelope, or the bare list of hits (the original's shape) with total and cursor in headers.

    Serialised once, by pydantic-core, straight to bytes: the response is already a validated model, and
    letting FastAPI validate it again against response_model and encode it cost ~5 % of a search
    request under load (py-spy, bench/throughput). response_model stays for the OpenAPI schema."""
    headers = dict(response.headers)
    headers["X-Total-Count"] = str(result.total)
    if result.total_relation == "gte":
        # More matches than counted exactly (SEARCH_TOTAL_EXACT_UP_TO): "at least X-Total-Count".
        headers["X-Total-Relation"] = "gte"
    if result.next_cursor:
        headers["X-Next-Cursor"] = result.next_cursor
        headers["Link"] = next_link(request, cursor=result.next_cursor, page=None)
    body = result.model_dump_json() if envelope else _HIT_LISTS[type(result)].dump_json(result.results)
    return Response(body, media_type="application/json", headers=headers)


def _geojson(result: ProjectSearchResponse, response: Response) -> Response:
    """The hits as an RFC 7946 FeatureCollection (api/search/geojson.py); total and cursor as in `_shape`."""
    headers = dict(response.headers)
    headers["X-Total-Count"] = str(result.total)
    if result.total_relation == "gte":
        headers["X-Total-Relation"] = "gte"
    if result.next_cursor:
        headers["X-Next-Cursor"] = result.next_cursor
    hits = _HIT_LISTS[ProjectSearchResponse].dump_python(result.results, mode="json")
    return JSONResponse(projects_collection(hits, total=result.total, next_cursor=result.next_cursor),
                        media_type=GEOJSON_MEDIA_TYPE, headers=headers)


def _centre(latitude: float | None, longitude: float | None, radius: float | None) -> Point | None:
    if (latitude is None) != (longitude is None):
        missing = "longitude" if longitude is None else "latitude"
        raise field_error(missing, "latitude and longitude must be given together")
    if radius is not None and latitude is None:
        raise field_error("max_distance_km", "a radius needs a centre: give latitude and longitude")
    return Point(latitude, longitude) if latitude is not None else None


def _bbox(raw: str | None, required: bool = False) -> BBox | None:
    if raw is None:
        if required:
            raise field_error("bbox", "required: min_lon,min_lat,max_lon,max_lat")
        return None
    parts = raw.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise field_error("bbox", "expected four numbers: min_lon,min_lat,max_lon,max_lat")
    # Antimeridian crossings and wrapped longitudes, as map clients send them (RFC 7946 §5.2).
    return BBox(*normalise_bbox(values))


MAX_SKILL_ID = 2**31 - 1


def _skills(skill_id: int | None, skill_ids: list[int] | None) -> tuple[int, ...]:
    ids = set(skill_ids or [])
    if skill_id is not None:
        ids.add(skill_id)
    # Skill ids are Postgres integers: a bigger number names no skill, and binding it would fail in the database.
    if any(not 1 <= i <= MAX_SKILL_ID for i in ids):
        raise field_error("skill_ids", f"skill ids are integers from 1 to {MAX_SKILL_ID}")
    if len(ids) > 50:
        raise field_error("skill_ids", "at most 50 skills")
    return tuple(sorted(ids))


def _text(value: str | None) -> str | None:
    """Text without a single word (e.g. "*") filters nothing: there is no query syntax to honour."""
    value = (value or "").strip()
    return value if words(value) else None


def _project_filters(query, city, project_type, skill_id, skill_ids, match, payment_type, status, latitude,
                     longitude, max_distance_km, bbox, bbox_required=False) -> ProjectFilters:
    return ProjectFilters(
        query=_text(query), city=_text(city),
        project_types=tuple(sorted({t.value for t in project_type or []})),
        skill_ids=_skills(skill_id, skill_ids), match=match,
        payment_types=tuple(sorted({t.value for t in payment_type or []})),
        statuses=tuple(sorted(set(status))) if status else None,
        centre=_centre(latitude, longitude, max_distance_km), radius_km=max_distance_km,
        bbox=_bbox(bbox, bbox_required))


def _paging(sort: str, cursor: str | None, page: int, limit: int, filters) -> tuple[int, tuple | None, int | None]:
    """(offset, after, page for the response). A cursor replaces page numbers."""
    if cursor is None:
        return (page - 1) * limit, None, page
    if page != 1:
        raise field_error("page", "give either page or cursor, not both")
    return 0, service.decode_cursor(cursor, filters, sort), None


@router.get("/projects", name="projects", response_model=ProjectSearchResponse | list[ProjectHit],
            summary="Search projects",
            responses={200: {"headers": _LIST_HEADERS,
                             "content": {"application/json": {"examples": _PROJECT_EXAMPLES}, GEOJSON_MEDIA_TYPE: {}}}})
async def search_projects(
    session: SessionDep, request: Request, response: Response,
    query: Annotated[str | None,
                     Query(max_length=200, description="Words that must all occur in name or description",
                           openapi_examples={"words": {"summary": "Two words", "value": "night train"}})] = None,
    city: Annotated[str | None, Query(max_length=120, description="Exact city, case-insensitive")] = None,
    project_type: Annotated[list[ProjectType] | None, Query(description="Repeatable")] = None,
    skill_id: Annotated[int | None, Query(ge=1)] = None,
    skill_ids: SkillIds = None,
    match: Annotated[Match, Query(description="Skills: any (default) or all must be open")] = "any",
    payment_type: Annotated[list[PaymentType] | None, Query(description="Open roles paying so; repeatable")] = None,
    status: Annotated[list[SearchableStatus] | None,
                      Query(description="Default: active and not fully staffed; repeatable")] = None,
    latitude: Lat = None, longitude: Lon = None, max_distance_km: Radius = None,
    bbox: Annotated[str | None, Query(description="min_lon,min_lat,max_lon,max_lat",
                                      openapi_examples={"paris": {"summary": "Paris",
                                                                  "value": "2.22,48.81,2.47,48.90"}})] = None,
    sort: Annotated[ProjectSort | None,
                    Query(description="Default: relevance with query, else distance with a centre, else newest")] = None,
    format: Annotated[Literal["json", "geojson"] | None,
                      Query(description="geojson: the hits as an RFC 7946 FeatureCollection (as with Accept: "
                                        "application/geo+json)")] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    page: Page = 1, limit: Limit = 20, cursor: Cursor = None,
    envelope: Envelope = False,
    facets: Annotated[bool, Query(description="Include facet counts (with envelope=true)")] = True,
    fits_my_availability: Annotated[bool, Query(description="Signed in: only projects within your travel radius "
                                                            "(PUT /profile/me/availability) of your home, whose "
                                                            "shoot days miss your unavailable days")] = False,
    user: OptionalUser = None,
):
    """Public. Active projects with open roles by default, filtered by words, place, skills, type, payment.

    Answers a bare list of hits (the original shape) with the total in `X-Total-Count` and the next page's
    cursor in `X-Next-Cursor` (absent on the last page); `envelope=true` answers `{results, total, page,
    limit, sort, next_cursor, facets}`. Page with `page`/`limit` up to 10,000 hits deep, or follow
    `cursor` to the end. A centre (`latitude`+`longitude`) adds `distance_km` and may take a radius
    (`max_distance_km`); `bbox` limits to a map viewport. Default sort: relevance with `query`, else
    distance with a centre, else newest. Inconsistent parameters are a 422 naming the field.
    """
    filters = _project_filters(query, city, project_type, skill_id, skill_ids, match, payment_type, status, latitude,
                               longitude, max_distance_km, bbox)
    if fits_my_availability:
        filters = replace(filters, reach=await reach.of_person(session, user))
    sort = sort or ("relevance" if filters.query else "distance" if filters.centre else "newest")
    if sort == "distance" and filters.centre is None:
        raise field_error("sort", "sort=distance needs latitude and longitude")
    if sort == "relevance" and not filters.query:
        raise field_error("sort", "sort=relevance needs query")
    offset, after, shown_page = _paging(sort, cursor, page, limit, filters)
    q = ProjectSearch(filters=filters, sort=sort, limit=limit, offset=offset, after=after, facets=facets and envelope)
    result, engine = await service.search_projects(session, q, shown_page)
    _engine_header(response, engine)
    if format == "geojson" or (format is None and GEOJSON_MEDIA_TYPE in (accept or "")):
        return _geojson(result, response)
    return _shape(result, request, response, envelope)


@router.get("/users", name="users", response_model=UserSearchResponse | list[UserHit], summary="Search people",
            responses={200: {"headers": _LIST_HEADERS, "content": {"application/json": {"examples": {
                "list": {"summary": "Default: the list of hits", "value": [_USER_HIT]}}}}},
                       **problems(429, s429="Too many people searches from this caller (per minute)")})
async def search_users(
    session: SessionDep, request: Request, response: Response, user: OptionalUser,
    name: Annotated[str | None, Query(max_length=120, description="Words of the person's name",
                                      openapi_examples={"name": {"summary": "A name", "value": "ana"}})] = None,
    profession: Annotated[str | None, Query(max_length=120, description="Words of the profession",
                                            openapi_examples={"gaffer": {"summary": "Gaffer",
                                                                         "value": "gaffer"}})] = None,
    skill_id: Annotated[int | None, Query(ge=1)] = None,
    skill_ids: SkillIds = None,
    match: Match = "any",
    city: Annotated[str | None, Query(max_length=120)] = None,
    is_actor: bool | None = None,
    min_experience: Annotated[int | None, Query(ge=0, le=80)] = None,
    max_experience: Annotated[int | None, Query(ge=0, le=80)] = None,
    latitude: Lat = None, longitude: Lon = None, max_distance_km: Radius = None,
    sort: UserSort | None = None,
    page: Page = 1, limit: Limit = 20, cursor: Cursor = None,
    envelope: Envelope = False,
    facets: Annotated[bool, Query(description="Include facet counts (with envelope=true)")] = True,
):
    """Public, rate limited per caller (429 with `Retry-After`). People with a profile, by name, profession,
    skills, city, actor flag, experience, and distance.

    Nobody's exact location is revealed: distances are whole km (at least 1) from a ~1 km grid point.
    Shapes, headers and paging as in project search: a bare list with `X-Total-Count` and `X-Next-Cursor`,
    or the envelope with `envelope=true`. Default sort: distance with a centre, else relevance with
    `name`/`profession`, else newest.
    """
    if min_experience is not None and max_experience is not None and min_experience > max_experience:
        raise field_error("max_experience", "must be >= min_experience")
    filters = UserFilters(name=_text(name), profession=_text(profession), city=_text(city), is_actor=is_actor,
                          skill_ids=_skills(skill_id, skill_ids), match=match, min_experience=min_experience,
                          max_experience=max_experience, centre=_centre(latitude, longitude, max_distance_km),
                          radius_km=max_distance_km)
    sort = sort or ("distance" if filters.centre else "relevance" if (filters.name or filters.profession)
                    else "newest")
    if sort == "distance" and filters.centre is None:
        raise field_error("sort", "sort=distance needs latitude and longitude")
    if sort == "relevance" and not (filters.name or filters.profession):
        raise field_error("sort", "sort=relevance needs name or profession")
    offset, after, shown_page = _paging(sort, cursor, page, limit, filters)
    # Slows down anyone probing people's whereabouts with many centres.
    caller = f"user:{user.id}" if user is not None else f"ip:{request.client.host if request.client else '-'}"
    await ratelimit.hit(f"search-users:{ratelimit.key_part(caller)}", get_settings().search_users_per_minute, 60,
                        detail="Too many people searches")
    q = UserSearch(filters=filters, sort=sort, limit=limit, offset=offset, after=after, facets=facets and envelope)
    result, engine = await service.search_users(session, q, shown_page)
    _engine_header(response, engine)
    return _shape(result, request, response, envelope)


@router.get("/projects/clusters", name="clusters", response_model=ClustersResponse,
            responses={200: {"headers": _ENGINE_HEADER, "content": {"application/geo+json": {}}}},
            summary="Map clusters of projects")
async def project_clusters(
    session: SessionDep, request: Request,
    zoom: Annotated[int, Query(ge=0, le=MAX_ZOOM, description="Map zoom level",
                               openapi_examples={"city": {"summary": "A city", "value": 11}})],
    bbox: Annotated[str | None, Query(description="Viewport: min_lon,min_lat,max_lon,max_lat (required)",
                                      openapi_examples={"paris": {"summary": "Paris",
                                                                  "value": "2.22,48.81,2.47,48.90"}})] = None,
    format: Annotated[Literal["json", "geojson"] | None, Query(description="geojson = RFC 7946")] = None,
    query: Annotated[str | None, Query(max_length=200)] = None,
    city: Annotated[str | None, Query(max_length=120)] = None,
    project_type: list[ProjectType] | None = Query(None),
    skill_id: Annotated[int | None, Query(ge=1)] = None,
    skill_ids: SkillIds = None,
    match: Match = "any",
    payment_type: list[PaymentType] | None = Query(None),
    status: list[SearchableStatus] | None = Query(None),
):
    """Public. The projects of a map viewport (`bbox`, required) grouped into geotile cells a bit finer than
    `zoom`, with the same filters as project search: each cluster has its count, centroid and bounds, and
    the project ids when it holds at most 10. `format=geojson` (or `Accept: application/geo+json`) answers
    an RFC 7946 FeatureCollection of points instead.
    """
    filters = _project_filters(query, city, project_type, skill_id, skill_ids, match, payment_type, status, None, None,
                               None, bbox, bbox_required=True)
    # A few cells per map tile: precision a bit finer than the zoom.
    precision = min(zoom + 2, MAX_ZOOM)
    result, engine = await service.project_clusters(session, ClusterQuery(filters=filters, precision=precision), zoom)
    headers = {"X-Search-Engine": engine}
    wants_geojson = format == "geojson" or (format is None and "application/geo+json" in
                                            request.headers.get("accept", ""))
    if wants_geojson:
        return JSONResponse(service.clusters_geojson(result), media_type="application/geo+json", headers=headers)
    return JSONResponse(result.model_dump(mode="json"), headers=headers)


@router.get("/suggest", name="suggest", response_model=SuggestResponse,
            summary="Autocomplete: projects, skills, people",
            responses={200: {"headers": _ENGINE_HEADER, "content": {"application/json": {"example": {
                "q": "gaf", "projects": [], "skills": [{"id": 12, "name": "Gaffer", "category": "Lighting"}],
                "people": [{"id": _USER_HIT["id"], "user_id": _USER_HIT["user_id"], "name": "Ana Lima",
                            "profession": "Gaffer", "profile_photo_url": None}]}}}}})
async def suggest(
    session: SessionDep, response: Response,
    q: Annotated[str, Query(min_length=1, max_length=100, description="What the person typed so far",
                            openapi_examples={"prefix": {"summary": "A prefix", "value": "gaf"}})],
    size: Annotated[int, Query(ge=1, le=20, description="At most this many of each kind")] = 5,
) -> SuggestResponse:
    """Public. As-you-type suggestions, at most `size` of each: open projects and people whose names hold
    every word of `q`, the last one as a prefix (accents and case ignored), and skills whose names contain
    or resemble `q`."""
    if not q.strip():
        raise field_error("q", "must contain a letter or digit")
    result, engine = await service.suggest(session, q.strip(), size)
    _engine_header(response, engine)
    return result


@router.get("/projects/recommended", name="recommended", response_model=RecommendedResponse,
            summary="Open roles for my skills near me (signed in)",
            responses={200: {"headers": {"Link": HEADERS["Link"], "X-Search-Engine": {
                **HEADERS["X-Search-Engine"],
                "description": HEADERS["X-Search-Engine"]["description"] + " Absent when your profile has no "
                                                                           "skills (nothing to search)."}}},
                       **problems(404, s404="You have no profile yet")})
async def recommended(
    session: SessionDep, request: Request, response: Response, user: CurrentUser,
    max_distance_km: Radius = None, page: Page = 1, limit: Limit = 20,
) -> RecommendedResponse:
    """Active projects, not yours, with open roles that need your profile's skills (`matching_roles`),
    best first by `score` (skills matched, falling with distance from your profile's place). Only
    projects within `max_distance_km` of it (default 100 km) when your profile has a place."""
    result, engine = await service.recommended(session, user.id, max_distance_km, page, limit)
    if engine != "none":
        _engine_header(response, engine)
    if page * limit < result.total and (page + 1) * limit <= service.MAX_OFFSET_WINDOW:
        response.headers["Link"] = next_link(request, page=page + 1, limit=limit)
    return result
