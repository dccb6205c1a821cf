"""HTTP endpoints for auth (rules live in service.py)."""
from fastapi import APIRouter

router = APIRouter(prefix="/auth", tags=["auth"])
