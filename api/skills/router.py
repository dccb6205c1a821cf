"""HTTP endpoints for skills (rules live in service.py)."""
from fastapi import APIRouter

router = APIRouter(prefix="/skills", tags=["skills"])
