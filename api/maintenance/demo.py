"""A small demo data set (`filmo seed --demo`): people and projects in real film cities.

Everything goes through the domain services, so the search outbox sees it like any user write.
Idempotent: people who already exist are left alone. Demo accounts share one password,
printed by the command and written in the README.
"""
from __future__ import annotations

from sqlalchemy import func, select

from api.auth.passwords import hash_password
from api.profiles.schemas import ProfileCreate
from api.profiles.service import create_profile
from api.projects.schemas import ProjectCreate
from api.projects.service import create_project
from db.models import Skill, User
from db.session import unit_of_work

DEMO_PASSWORD = "filmo-demo-password"

CITIES = {
    "Los Angeles": ("California", "United States", 34.0522, -118.2437),
    "London": ("England", "United Kingdom", 51.5072, -0.1276),
    "Mumbai": ("Maharashtra", "India", 19.0760, 72.8777),
    "Lagos": ("Lagos", "Nigeria", 6.5244, 3.3792),
    "Berlin": ("Berlin", "Germany", 52.5200, 13.4050),
    "Atlanta": ("Georgia", "United States", 33.7490, -84.3880),
}

# (email local part, name, profession, city, skill names, actor?)
PEOPLE = [
    ("maya", "Maya Torres", "Director of Photography", "Los Angeles", ["Director of Photography", "Camera Operator"], False),
    ("sam", "Sam Okafor", "Director", "Lagos", ["Director", "Screenwriter"], False),
    ("priya", "Priya Raman", "Film Editor", "Mumbai", ["Film Editor", "Colorist"], False),
    ("jonas", "Jonas Weber", "Production Sound Mixer", "Berlin", ["Production Sound Mixer", "Boom Operator"], False),
    ("ella", "Ella Brooks", "Actor", "London", ["Lead Actor", "Voice Actor"], True),
    ("dee", "Dee Carter", "Gaffer", "Atlanta", ["Gaffer", "Key Grip"], False),
]

# (owner, name, type, city, description, [(skill name, title, slots, payment type, amount)])
PROJECTS = [
    ("sam", "Harmattan", "feature_film", "Lagos", "A coming-of-age drama set during the dry season.",
     [("Director of Photography", "DP for a 24-day shoot", 1, "paid", 3500),
      ("Production Sound Mixer", "Location sound", 1, "paid", 1800),
      ("Lead Actor", "Lead: Tunde, 20s", 1, "negotiable", None)]),
    ("maya", "The Last Light", "short_film", "Los Angeles", "A 15-minute sci-fi short about humanity's final moments.",
     [("Gaffer", "Gaffer for night exteriors", 1, "paid", 500),
      ("Film Editor", "Editor, remote friendly", 1, "unpaid", None)]),
    ("priya", "Monsoon Letters", "documentary", "Mumbai", "Letters between two sisters across one rainy season.",
     [("Camera Operator", "Second camera", 2, "paid", 900), ("Colorist", "Grade in Resolve", 1, "negotiable", None)]),
    ("jonas", "Spree", "music_video", "Berlin", "One-take music video along the river.",
     [("Steadicam Operator", "Steadicam, one long take", 1, "paid", 1200), ("Dancer", "Dancers", 4, "paid", 300)]),
    ("ella", "Understudy", "series", "London", "A six-part comedy set backstage in the West End.",
     [("Screenwriter", "Writers' room", 2, "paid", 2500), ("Casting Director", "Casting", 1, "paid", 2000)]),
]


async def seed_demo() -> str:
    async with unit_of_work() as session:
        skills = {name.lower(): skill_id for skill_id, name in (await session.execute(select(Skill.id, Skill.name)))}
        users: dict[str, User] = {}
        created_people = 0
        for key, name, profession, city, skill_names, is_actor in PEOPLE:
            email = f"{key}@demo.filmo.example.com"
            user = await session.scalar(select(User).where(func.lower(User.email) == email))
            if user is None:
                user = User(email=email, password_hash=hash_password(DEMO_PASSWORD), is_verified=True)
                session.add(user)
                await session.flush()
                state, country, lat, lon = CITIES[city]
                extra = {"age": 29, "gender": "female"} if is_actor else {}
                await create_profile(session, user.id, ProfileCreate(
                    name=name, profession=profession, city=city, state=state, country=country, latitude=lat,
                    longitude=lon, years_of_experience=6, is_actor=is_actor, bio=f"{profession} based in {city}.",
                    skill_ids=[skills[s.lower()] for s in skill_names], **extra))
                created_people += 1
            users[key] = user
        created_projects = 0
        if created_people:  # projects only on the first run, with their owners
            for owner, name, ptype, city, description, roles in PROJECTS:
                state, country, lat, lon = CITIES[city]
                await create_project(session, users[owner], ProjectCreate(
                    name=name, project_type=ptype, city=city, state=state, country=country, latitude=lat,
                    longitude=lon, description=description,
                    roles=[{"skill_id": skills[s.lower()], "role_title": title, "slots_available": slots,
                            "payment_type": pay, "payment_amount": amount}
                           for s, title, slots, pay, amount in roles]))
                created_projects += 1
    return (f"demo: {created_people} people, {created_projects} projects added "
            f"(sign in as maya@demo.filmo.example.com / {DEMO_PASSWORD})")
