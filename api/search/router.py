"""HTTP endpoints for search (rules live in service.py)."""
from fastapi import APIRouter

router = APIRouter(prefix="/search", tags=["search"])
