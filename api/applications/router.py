"""HTTP endpoints for applications (rules live in service.py)."""
from fastapi import APIRouter

router = APIRouter(prefix="/applications", tags=["applications"])
