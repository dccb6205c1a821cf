"""Realistic benchmark data: people and projects clustered around real film cities.

    generate(database_url, projects=100_000, profiles=100_000, seed=42) -> dict

Creates the database if needed, migrates it, loads the skill catalogue, EMPTIES the data tables and
writes users + profiles (+ profile_skills) and projects (+ roles) with binary COPY. Deterministic for a
seed. Never point it at a database you care about (it refuses names that do not contain "bench").

    .venv/bin/python -m bench.data_gen --projects 20000 --profiles 20000 [--database-url ...]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import asyncpg

REPO = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql+asyncpg://filmo:filmo@127.0.0.1:5433/filmo_bench"

# (city, state, country, lat, lon, weight, spread_km): weight ~ share of the film industry in the data set.
CITIES = [
    ("Los Angeles", "California", "United States", 34.0522, -118.2437, 18, 25),
    ("New York", "New York", "United States", 40.7128, -74.0060, 10, 15),
    ("London", "England", "United Kingdom", 51.5074, -0.1278, 9, 15),
    ("Mumbai", "Maharashtra", "India", 19.0760, 72.8777, 8, 15),
    ("Lagos", "Lagos", "Nigeria", 6.5244, 3.3792, 5, 15),
    ("Atlanta", "Georgia", "United States", 33.7490, -84.3880, 5, 20),
    ("Toronto", "Ontario", "Canada", 43.6532, -79.3832, 4, 15),
    ("Vancouver", "British Columbia", "Canada", 49.2827, -123.1207, 4, 12),
    ("Berlin", "Berlin", "Germany", 52.5200, 13.4050, 4, 12),
    ("Paris", "Île-de-France", "France", 48.8566, 2.3522, 4, 12),
    ("Seoul", "Seoul", "South Korea", 37.5665, 126.9780, 4, 12),
    ("Mexico City", "CDMX", "Mexico", 19.4326, -99.1332, 4, 15),
    ("Hyderabad", "Telangana", "India", 17.3850, 78.4867, 3, 12),
    ("Chennai", "Tamil Nadu", "India", 13.0827, 80.2707, 2, 12),
    ("Tokyo", "Tokyo", "Japan", 35.6762, 139.6503, 3, 15),
    ("Sydney", "New South Wales", "Australia", -33.8688, 151.2093, 2, 15),
    ("Cape Town", "Western Cape", "South Africa", -33.9249, 18.4241, 2, 12),
    ("Johannesburg", "Gauteng", "South Africa", -26.2041, 28.0473, 1, 12),
    ("Nairobi", "Nairobi", "Kenya", -1.2921, 36.8219, 1, 10),
    ("Cairo", "Cairo", "Egypt", 30.0444, 31.2357, 1, 12),
    ("Istanbul", "Istanbul", "Turkey", 41.0082, 28.9784, 2, 15),
    ("Rome", "Lazio", "Italy", 41.9028, 12.4964, 2, 10),
    ("Madrid", "Madrid", "Spain", 40.4168, -3.7038, 2, 10),
    ("Budapest", "Budapest", "Hungary", 47.4979, 19.0402, 1, 8),
    ("Prague", "Prague", "Czechia", 50.0755, 14.4378, 1, 8),
    ("Dublin", "Leinster", "Ireland", 53.3498, -6.2603, 1, 8),
    ("Glasgow", "Scotland", "United Kingdom", 55.8642, -4.2518, 1, 8),
    ("Manchester", "England", "United Kingdom", 53.4808, -2.2426, 1, 8),
    ("Chicago", "Illinois", "United States", 41.8781, -87.6298, 2, 15),
    ("Austin", "Texas", "United States", 30.2672, -97.7431, 1, 12),
    ("New Orleans", "Louisiana", "United States", 29.9511, -90.0715, 1, 10),
    ("Albuquerque", "New Mexico", "United States", 35.0844, -106.6504, 1, 10),
    ("São Paulo", "São Paulo", "Brazil", -23.5505, -46.6333, 2, 15),
    ("Buenos Aires", "Buenos Aires", "Argentina", -34.6037, -58.3816, 1, 12),
    ("Hong Kong", "Hong Kong", "China", 22.3193, 114.1694, 1, 8),
    ("Shanghai", "Shanghai", "China", 31.2304, 121.4737, 1, 15),
    ("Wellington", "Wellington", "New Zealand", -41.2866, 174.7756, 1, 8),
    ("Auckland", "Auckland", "New Zealand", -36.8485, 174.7633, 1, 10),
]

FIRST = ["Ava", "Liam", "Zara", "Noah", "Amara", "Kenji", "Priya", "Mateo", "Chloé", "Tunde", "Ji-woo", "Lena",
         "Omar", "Sofia", "Arjun", "Isla", "Diego", "Yuki", "Fatima", "Lucas", "Nia", "Hugo", "Mei", "Kwame",
         "Elena", "Ravi", "Aisha", "Jonas", "Camila", "Sipho", "Ingrid", "Tomás", "Leila", "Marcus", "Hana",
         "Felix", "Adaeze", "Pierre", "Rosa", "Dmitri", "Grace", "Emeka", "Anya", "Malik", "Clara", "Sanjay"]
LAST = ["Okafor", "Smith", "Kim", "García", "Patel", "Müller", "Dubois", "Nakamura", "Adeyemi", "Johnson",
        "Rossi", "Hernández", "Singh", "Park", "Novak", "O'Brien", "Mensah", "Silva", "Cohen", "Ivanova",
        "Kowalski", "Tanaka", "Nwosu", "Brown", "Martin", "Sharma", "López", "Lee", "Schmidt", "Bianchi",
        "Khan", "Reyes", "Wright", "Chen", "Fischer", "Moreau", "Eze", "Lindqvist", "Costa", "Murphy"]
ADJ = ["Silent", "Crimson", "Broken", "Golden", "Last", "Hidden", "Electric", "Paper", "Midnight", "Wild",
       "Distant", "Quiet", "Burning", "Lonely", "Neon", "Frozen", "Hollow", "Bright", "Secret", "Endless"]
NOUN = ["Harbor", "Summer", "Tide", "Machine", "Orchard", "Signal", "Kingdom", "Echo", "River", "Garden",
        "Frontier", "Mirror", "Storm", "Lantern", "Station", "Horizon", "Carnival", "Archive", "Shadow", "Road"]
GENRE = ["drama", "thriller", "comedy", "documentary", "romance", "horror", "sci-fi", "coming-of-age story",
         "music film", "crime story", "animated short", "period piece"]
TOPIC = ["a fishing town", "two estranged sisters", "a jazz club", "a failing startup", "climate migrants",
         "a street food family", "an aging boxer", "a lost film reel", "a night bus driver", "a youth choir",
         "the last video store", "a rooftop garden", "a missing astronaut", "a tailor's apprentice"]
PLATFORMS = ["Festival circuit", "Netflix", "YouTube", "Theatrical", "Amazon Prime", "Vimeo", "Broadcast TV", None]
PROJECT_TYPES = [("short_film", 30), ("feature_film", 15), ("series", 10), ("documentary", 15), ("music_video", 12),
                 ("commercial", 12), ("other", 6)]
STATUSES = [("active", 82), ("completed", 7), ("shelved", 4), ("dead", 4), ("disposed", 3)]
PAYMENTS = [("paid", 55), ("unpaid", 20), ("negotiable", 25)]
GENDERS = [("female", 45), ("male", 45), ("other", 4), ("prefer_not_to_say", 4), (None, 2)]
# Password "bench-password" (one Argon2id hash shared by every generated user: hashing 100k would take minutes).
PASSWORD_HASH = ("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$"
                 "b0Bnvy5h0oqGg8oE3w0MfQ0Xb8SYuN5m2o4Z3r6wV9k")


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs)
    return rng.choices(values, weights=weights, k=1)[0]


def _point(rng: random.Random, city) -> tuple[float, float]:
    """Gaussian around the centre (a few percent further out: suburbs and nearby towns)."""
    _, _, _, lat, lon, _, spread = city
    km = spread * (3 if rng.random() < 0.05 else 1)
    dlat = rng.gauss(0, km) / 111.0
    dlon = rng.gauss(0, km) / (111.0 * max(math.cos(math.radians(lat)), 0.2))
    return round(max(-89.9, min(89.9, lat + dlat)), 6), round(((lon + dlon + 180) % 360) - 180, 6)


def _asyncpg_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _ensure_database(url: str) -> None:
    name = url.rsplit("/", 1)[1].split("?")[0]
    if "bench" not in name:
        raise SystemExit(f"refusing to generate into {name!r}: the database name must contain 'bench'")
    admin = await asyncpg.connect(url.rsplit("/", 1)[0] + "/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


def _migrate(url: str) -> None:
    from db.migrate import upgrade

    upgrade(url)


async def _load(url: str, n_projects: int, n_profiles: int, seed: int) -> dict:
    rng = random.Random(seed)
    conn = await asyncpg.connect(_asyncpg_url(url))
    try:
        # CASCADE empties every table that references users (skills too, via created_by): the catalogue is
        # reloaded right after, with the same ids (1..N) as in `filmo seed`.
        await conn.execute("TRUNCATE search_outbox, project_roles, projects, profile_skills, user_profiles, users "
                           "RESTART IDENTITY CASCADE")
        catalogue = json.loads((REPO / "db" / "skill_catalogue.json").read_text())
        await conn.executemany("INSERT INTO skills (name, category) SELECT $1::varchar, $2::varchar WHERE NOT EXISTS "
                               "(SELECT 1 FROM skills WHERE lower(name) = lower($1::varchar))",
                               [(s["name"], s["category"]) for s in catalogue])
        skills = await conn.fetch("SELECT id, name, category FROM skills WHERE created_by IS NULL ORDER BY id")
        skill_ids = [s["id"] for s in skills]
        acting = {s["id"] for s in skills if s["category"] == "Acting"}
        skill_name = {s["id"]: s["name"] for s in skills}
        # Crew roles are more common than, say, distribution roles; actors are common everywhere.
        category_weight = {"Acting": 3, "Camera": 2, "Sound": 2, "Lighting & Grip": 2, "Editing & Post-Production": 2,
                           "Production": 2, "Directing": 1.5}
        skill_weights = [category_weight.get(s["category"], 1) for s in skills]

        now = datetime.now(timezone.utc)
        city_weights = [c[5] for c in CITIES]
        n_users = max(n_profiles, 1)
        users, profiles, profile_skills = [], [], []
        user_ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(n_users)]
        for i, user_id in enumerate(user_ids):
            created = now - timedelta(days=rng.uniform(0, 730))
            active = rng.random() > 0.02
            users.append((user_id, f"bench-{i}@example.com", PASSWORD_HASH, active, True, created))
            if i >= n_profiles:
                continue
            city = rng.choices(CITIES, weights=city_weights, k=1)[0]
            lat, lon = _point(rng, city)
            own = sorted(set(rng.choices(skill_ids, weights=skill_weights, k=rng.randint(1, 5))))
            is_actor = bool(acting.intersection(own))
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            profession = skill_name[own[0]]
            years = rng.randint(0, 40)
            bio = (f"{profession} based in {city[0]} with {years} years on {rng.choice(GENRE)}s. "
                   f"Recently worked on a film about {rng.choice(TOPIC)}.")
            photo = f"https://media.example.com/photos/{i}.jpg" if rng.random() < 0.6 else None
            profile_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            profiles.append((profile_id, user_id, name, rng.randint(18, 70), _weighted(rng, GENDERS), profession,
                             bio, is_actor, photo, city[0], city[1], city[2], lon, lat, years, own,
                             created, created))
            profile_skills.extend((profile_id, s) for s in own)

        projects, roles = [], []
        for i in range(n_projects):
            city = rng.choices(CITIES, weights=city_weights, k=1)[0]
            lat, lon = _point(rng, city)
            created = now - timedelta(days=rng.uniform(0, 540))
            project_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            open_skills, open_payments, live, all_filled = set(), set(), 0, True
            for _ in range(rng.choices([1, 2, 3, 4, 5, 6], weights=[15, 25, 25, 18, 10, 7], k=1)[0]):
                skill = rng.choices(skill_ids, weights=skill_weights, k=1)[0]
                available = rng.choices([1, 2, 3, 5], weights=[60, 25, 10, 5], k=1)[0]
                filled = available if rng.random() < 0.3 else rng.randint(0, available - 1)
                payment = _weighted(rng, PAYMENTS)
                amount = (Decimal(rng.randrange(100, 20_000, 50)) if payment == "paid"
                          else Decimal(rng.randrange(100, 5000, 50)) if payment == "negotiable" and rng.random() < 0.5
                          else None)
                removed = now - timedelta(days=1) if rng.random() < 0.03 else None
                live += removed is None
                if removed is None and filled < available:
                    open_skills.add(skill)
                    open_payments.add(payment)
                    all_filled = False
                roles.append((uuid.UUID(int=rng.getrandbits(128), version=4), project_id, skill,
                              skill_name[skill], f"Looking for a {skill_name[skill].lower()}", available, filled,
                              payment, amount, "Rate per day" if amount else None, removed,
                              created + timedelta(minutes=len(roles) % 997)))
            name = f"The {rng.choice(ADJ)} {rng.choice(NOUN)}"
            description = (f"A {rng.choice(GENRE)} about {rng.choice(TOPIC)}, shooting in and around {city[0]}.")
            updated = created + timedelta(days=rng.uniform(0, 30))
            completion = (created + timedelta(days=rng.randint(60, 600))).date() if rng.random() < 0.7 else None
            projects.append((project_id, rng.choice(user_ids), name, description, _weighted(rng, PROJECT_TYPES),
                             rng.choice(PLATFORMS), completion, _weighted(rng, STATUSES), bool(live) and all_filled,
                             city[0], city[1], city[2], lon, lat, sorted(open_skills), sorted(open_payments), created, updated,
                             min(updated + timedelta(days=rng.uniform(0, 20)), now)))

        started = time.monotonic()
        async with conn.transaction():
            await conn.copy_records_to_table(
                "users", records=users,
                columns=["id", "email", "password_hash", "is_active", "is_verified", "created_at"])
            await conn.execute("""CREATE TEMP TABLE tmp_profiles (id uuid, user_id uuid, name text, age int,
                gender text, profession text, bio text, is_actor bool, profile_photo_url text, city text, state text,
                country text, lon float8, lat float8, years_of_experience int, skill_ids int[],
                created_at timestamptz, updated_at timestamptz) ON COMMIT DROP""")
            await conn.copy_records_to_table("tmp_profiles", records=profiles)
            await conn.execute("""INSERT INTO user_profiles (id, user_id, name, age, gender, profession, bio, is_actor,
                profile_photo_url, city, state, country, location, years_of_experience, skill_ids, created_at,
                updated_at)
                SELECT id, user_id, name, age, gender, profession, bio, is_actor, profile_photo_url, city, state,
                country, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography, years_of_experience, skill_ids,
                created_at, updated_at FROM tmp_profiles""")
            await conn.copy_records_to_table("profile_skills", records=profile_skills,
                                             columns=["profile_id", "skill_id"])
            await conn.execute("""CREATE TEMP TABLE tmp_projects (id uuid, creator_id uuid, name text,
                description text, project_type text, release_platform text, estimated_completion date, status text,
                is_fully_staffed bool, city text, state text, country text, lon float8, lat float8,
                open_skill_ids int[], open_payment_types varchar(16)[], created_at timestamptz, updated_at timestamptz,
                last_activity_at timestamptz) ON COMMIT DROP""")
            await conn.copy_records_to_table("tmp_projects", records=projects)
            await conn.execute("""INSERT INTO projects (id, creator_id, name, description, project_type,
                release_platform, estimated_completion, status, is_fully_staffed, city, state, country, location,
                open_skill_ids, open_payment_types, created_at, updated_at, last_activity_at)
                SELECT id, creator_id, name, description, project_type, release_platform, estimated_completion,
                status, is_fully_staffed, city, state, country, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography,
                open_skill_ids, open_payment_types, created_at, updated_at, last_activity_at FROM tmp_projects""")
            await conn.copy_records_to_table(
                "project_roles", records=roles,
                columns=["id", "project_id", "skill_id", "role_title", "description", "slots_available",
                         "slots_filled", "payment_type", "payment_amount", "payment_details", "removed_at",
                         "created_at"])
        await conn.execute("ANALYZE users, user_profiles, profile_skills, projects, project_roles")
        return {"projects": len(projects), "roles": len(roles), "profiles": len(profiles), "users": len(users),
                "seed": seed, "copy_seconds": round(time.monotonic() - started, 2)}
    finally:
        await conn.close()


def generate(database_url: str = DEFAULT_URL, projects: int = 100_000, profiles: int = 100_000,
             seed: int = 42) -> dict:
    """Create/migrate `database_url` and fill it with a fresh data set (previous data is removed)."""
    asyncio.run(_ensure_database(_asyncpg_url(database_url)))
    _migrate(database_url)
    return asyncio.run(_load(database_url, projects, profiles, seed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--projects", type=int, default=100_000)
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    started = time.monotonic()
    summary = generate(args.database_url, args.projects, args.profiles, args.seed)
    print(json.dumps({**summary, "seconds": round(time.monotonic() - started, 2)}))


if __name__ == "__main__":
    main()
