"""Search requests (parsed, validated filters both engines read) and responses."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

ProjectSort = Literal["distance", "relevance", "newest"]
Match = Literal["any", "all"]
MAX_LIMIT = 100
# Offset paging stops here (OpenSearch's max_result_window); deeper pages use `cursor`.
MAX_OFFSET_WINDOW = 10_000
# Facet sizes (top buckets by count, then key).
FACET_SIZES = {"skills": 30, "project_types": 10, "payment_types": 5, "cities": 20}
# Project and people totals are exact up to SEARCH_TOTAL_EXACT_UP_TO matches and "at least" that beyond, in
# both engines (OpenSearch's track_total_hits, a LIMITed count in PostGIS).
TotalRelation = Literal["eq", "gte"]
# Clusters with at most this many projects list their ids.
CLUSTER_IDS_MAX = 10


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


@dataclass(frozen=True)
class BBox:
    """RFC 7946 §5.2: min_lon > max_lon crosses the antimeridian (api/search/geojson.normalise_bbox)."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


@dataclass(frozen=True)
class Reach:
    """How far a person travels from their grid point, and the days they are not free (api/search/reach.py)."""

    lat: float
    lon: float
    km: float
    busy: tuple[tuple[str, str], ...] = ()  # inclusive (start, end) ISO days


@dataclass(frozen=True)
class ProjectFilters:
    """Every filter of a project search. `statuses=None` means the default: active and not fully staffed."""

    query: str | None = None
    city: str | None = None
    project_types: tuple[str, ...] = ()
    skill_ids: tuple[int, ...] = ()
    match: Match = "any"
    payment_types: tuple[str, ...] = ()
    statuses: tuple[str, ...] | None = None
    centre: Point | None = None
    radius_km: float | None = None
    bbox: BBox | None = None
    exclude_creator: uuid.UUID | None = None
    reach: Reach | None = None  # fits_my_availability


@dataclass(frozen=True)
class ProjectSearch:
    filters: ProjectFilters
    sort: ProjectSort
    limit: int
    offset: int = 0
    # Sort values of the last hit of the previous page (keyset / search_after); None for offset paging.
    after: tuple | None = None
    facets: bool = True


@dataclass(frozen=True)
class UserFilters:
    name: str | None = None
    profession: str | None = None
    city: str | None = None
    is_actor: bool | None = None
    skill_ids: tuple[int, ...] = ()
    match: Match = "any"
    min_experience: int | None = None
    max_experience: int | None = None
    centre: Point | None = None
    radius_km: float | None = None


UserSort = Literal["distance", "relevance", "newest"]


@dataclass(frozen=True)
class UserSearch:
    filters: UserFilters
    sort: UserSort
    limit: int
    offset: int = 0
    after: tuple | None = None
    facets: bool = True


@dataclass(frozen=True)
class ClusterQuery:
    filters: ProjectFilters
    precision: int


@dataclass(frozen=True)
class RecommendQuery:
    user_id: uuid.UUID
    skill_ids: tuple[int, ...]
    origin: Point | None
    radius_km: float | None
    limit: int
    offset: int


@dataclass
class EngineHit:
    """One hit as an engine returns it: the document fields plus the sort values used for the cursor."""

    doc: dict[str, Any]
    sort: tuple
    score: float | None = None


@dataclass
class EnginePage:
    hits: list[EngineHit]
    total: int
    facets: dict[str, list[tuple[Any, int]]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    total_relation: TotalRelation = "eq"


# ------------------------------------------------------------------ responses


class RoleOut(BaseModel):
    id: uuid.UUID
    skill_id: int
    role_title: str
    description: str | None = None
    slots_available: int
    slots_filled: int
    is_filled: bool
    payment_type: str
    payment_amount: float | None = None
    payment_details: str | None = None


class ProjectHit(BaseModel):
    id: uuid.UUID
    creator_id: uuid.UUID
    name: str
    description: str | None = None
    project_type: str
    status: str
    is_fully_staffed: bool
    city: str | None = None
    state: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    distance_km: float | None = Field(None, description="Great-circle distance from the search centre, 0.01 km")
    created_at: datetime
    roles: list[RoleOut]


class FacetBucket(BaseModel):
    key: str | int
    count: int
    name: str | None = Field(None, description="Skill name (skill facet only)")


class ProjectFacets(BaseModel):
    skills: list[FacetBucket]
    project_types: list[FacetBucket]
    payment_types: list[FacetBucket]
    cities: list[FacetBucket]


class ProjectSearchResponse(BaseModel):
    results: list[ProjectHit]
    total: int
    total_relation: TotalRelation = Field("eq", description="eq: total is exact; gte: at least total matches "
                                                            "(totals are exact up to 10,000 by default)")
    page: int | None
    limit: int
    sort: ProjectSort
    next_cursor: str | None
    facets: ProjectFacets | None = None


class SkillOut(BaseModel):
    id: int
    name: str
    category: str | None = None


class UserHit(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    profession: str | None = None
    is_actor: bool
    city: str | None = None
    state: str | None = None
    country: str | None = None
    years_of_experience: int | None = None
    profile_photo_url: str | None = None
    skills: list[SkillOut]
    distance_km: int | None = Field(None, description="Whole km, at least 1, from a ~1 km grid point")
    created_at: datetime


class UserFacets(BaseModel):
    skills: list[FacetBucket]
    cities: list[FacetBucket]
    professions: list[FacetBucket]
    is_actor: list[FacetBucket]


class UserSearchResponse(BaseModel):
    results: list[UserHit]
    total: int
    total_relation: TotalRelation = Field("eq", description="eq: total is exact; gte: at least total matches "
                                                            "(totals are exact up to 10,000 by default)")
    page: int | None
    limit: int
    sort: UserSort
    next_cursor: str | None
    facets: UserFacets | None = None


class Cluster(BaseModel):
    id: int = Field(description="Numeric id (api/search/geojson.py): the same as the cluster's in vector tiles")
    key: str = Field(description="geotile key zoom/x/y")
    count: int
    point_count: int = Field(description="= count, the name supercluster-style clients read")
    centroid: dict[str, float] = Field(description="Mean lat/lon of its projects, 6 decimals")
    bounds: dict[str, float] = Field(description="min/max lat/lon of its projects, 6 decimals")
    project_ids: list[uuid.UUID] | None = Field(None, description=f"Only for clusters of at most {CLUSTER_IDS_MAX}")


class ClustersResponse(BaseModel):
    zoom: int
    precision: int
    total: int
    clusters: list[Cluster]


class SuggestProject(BaseModel):
    id: uuid.UUID
    name: str
    city: str | None = None


class SuggestPerson(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    profession: str | None = None
    profile_photo_url: str | None = None


class SuggestResponse(BaseModel):
    q: str
    projects: list[SuggestProject]
    skills: list[SkillOut]
    people: list[SuggestPerson]


class RecommendedHit(ProjectHit):
    score: float
    matching_roles: list[RoleOut]


class RecommendedResponse(BaseModel):
    results: list[RecommendedHit]
    total: int
    page: int
    limit: int
