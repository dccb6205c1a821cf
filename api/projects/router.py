"""HTTP endpoints for projects (rules live in service.py)."""
from fastapi import APIRouter

router = APIRouter(prefix="/projects", tags=["projects"])
