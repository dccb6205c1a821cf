"""HTTP endpoints for chat (rules live in service.py)."""
from fastapi import APIRouter

router = APIRouter(prefix="/chat", tags=["chat"])

dm_router = APIRouter(prefix="/dm", tags=["direct messages"])
