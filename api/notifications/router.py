"""HTTP endpoints for notifications (rules in service.py). Live delivery: the Socket.IO `notification` event."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from api.auth.dependencies import CurrentUser
from api.http.deps import SessionDep
from api.http.openapi import headers, problems
from api.http.pagination import Page
from api.kernel import ratelimit
from api.notifications import service
from api.notifications.schemas import (MarkedRead, NotificationOut, PreferencesIn, PreferencesOut, UnreadCount,
                                       Unsubscribed)

router = APIRouter(prefix="/notifications", tags=["notifications"])

NotificationId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Token = Annotated[str, Query(min_length=1, max_length=2048, description="The signed token of the e-mail's link")]
# Unsubscribe links are signed, so guessing is hopeless; the limit keeps a flood of bad tokens cheap.
UNSUBSCRIBE_PER_MINUTE = 30


@router.get("", name="list", summary="List my notifications", response_model=list[NotificationOut],
            responses=headers("X-Total-Count"))
async def list_notifications(user: CurrentUser, session: SessionDep, response: Response, page: Page,
                             unread_only: Annotated[bool, Query(description="Only unread ones")] = False):
    """Your notifications, newest first, `?page=&limit=` like every list; the total is in `X-Total-Count`."""
    items, total = await service.list_page(session, user.id, page, unread_only)
    response.headers["X-Total-Count"] = str(total)
    return items


@router.get("/unread-count", name="unread-count", summary="Count my unread notifications",
            response_model=UnreadCount)
async def unread_count(user: CurrentUser, session: SessionDep):
    """How many of your notifications are unread (the badge)."""
    return UnreadCount(unread=await service.unread_count(session, user.id))


@router.post("/{notification_id}/read", name="mark-read", summary="Mark one notification read",
             response_model=NotificationOut, responses=problems(404))
async def mark_read(notification_id: NotificationId, user: CurrentUser, session: SessionDep):
    """Marks it read (again is fine). Someone else's notification is 404."""
    return await service.mark_one_read(session, user.id, notification_id)


@router.post("/read-all", name="mark-all-read", summary="Mark all my notifications read", response_model=MarkedRead)
async def mark_all_read(user: CurrentUser, session: SessionDep):
    return MarkedRead(marked=await service.mark_read(session, user.id, None))


@router.get("/preferences", name="get-preferences", summary="Read my e-mail settings", response_model=PreferencesOut)
async def get_preferences(user: CurrentUser, session: SessionDep):
    return await service.preferences(session, user.id)


@router.put("/preferences", name="set-preferences", summary="Change my e-mail settings", response_model=PreferencesOut)
async def set_preferences(body: PreferencesIn, user: CurrentUser, session: SessionDep):
    """E-mail on or off, the time zone (IANA name) and the local hour of the daily digest. Omitted fields stay."""
    return await service.update_preferences(session, user.id, body)


async def _unsubscribe(request: Request, session, token: str) -> Unsubscribed:
    host = request.client.host if request.client else "-"
    await ratelimit.hit(f"unsubscribe:ip:{ratelimit.key_part(host)}", UNSUBSCRIBE_PER_MINUTE, 60,
                        detail="Too many unsubscribe attempts")
    await service.unsubscribe(session, token)
    return Unsubscribed(message="You will not receive Filmo e-mails any more. Notifications stay in the app; "
                                "turn e-mails back on in your settings.")


@router.get("/unsubscribe", name="unsubscribe", summary="Unsubscribe from e-mails (the link in every mail)",
            response_model=Unsubscribed, responses=problems(400, 429))
async def unsubscribe_link(request: Request, session: SessionDep, token: Token):
    """No sign-in: the link's signed, expiring token (60 days) says whose e-mails stop. Idempotent."""
    return await _unsubscribe(request, session, token)


@router.post("/unsubscribe", name="unsubscribe-one-click", summary="Unsubscribe from e-mails (RFC 8058 one-click)",
             response_model=Unsubscribed, responses=problems(400, 429))
async def unsubscribe_one_click(request: Request, session: SessionDep, token: Token):
    """What a mail client's "Unsubscribe" button sends (`List-Unsubscribe-Post: List-Unsubscribe=One-Click`)."""
    return await _unsubscribe(request, session, token)
