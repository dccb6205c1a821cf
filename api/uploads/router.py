"""HTTP endpoints for uploads (rules live in service.py)."""
from fastapi import APIRouter

router = APIRouter(prefix="/upload", tags=["uploads"])
