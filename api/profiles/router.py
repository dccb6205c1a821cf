"""HTTP endpoints for profiles (rules live in service.py)."""
from fastapi import APIRouter

router = APIRouter(prefix="/profile", tags=["profile"])
