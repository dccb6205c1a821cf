"""HTTP endpoints for team (rules live in service.py)."""
from fastapi import APIRouter

router = APIRouter(prefix="/management", tags=["management"])
