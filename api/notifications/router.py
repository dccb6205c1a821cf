"""HTTP endpoints for notifications (rules in service.py). Live delivery: the Socket.IO `notification` event."""
from __future__ import annotations

import html
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from api.auth.dependencies import CurrentUser
from api.http.deps import SessionDep
from api.http.openapi import headers, problems
from api.http.pagination import Page
from api.kernel import ratelimit
from api.kernel.settings import get_settings
from api.notifications import service
from api.notifications.schemas import (MarkedRead, NotificationOut, PreferencesIn, PreferencesOut, UnreadCount,
                                       Unsubscribed)

router = APIRouter(prefix="/notifications", tags=["notifications"])

NotificationId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Token = Annotated[str, Query(min_length=1, max_length=2048, description="The signed token of the e-mail's link")]
# The page a GET of an unsubscribe link shows: mail scanners and link previews fetch links, so a GET changes
# nothing; its button POSTs to the same address (what a mail client's RFC 8058 one-click button sends too).
_CONFIRM_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Unsubscribe from Filmo e-mails</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem">
<h1>Stop Filmo e-mails?</h1>
<p>You will not receive e-mails from Filmo any more. Your notifications stay in the app, and you can turn
e-mails back on in your settings.</p>
<form method="post" action="{action}"><button type="submit">Unsubscribe</button></form>
</body></html>
"""
_DONE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>Unsubscribed</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem">
<h1>You are unsubscribed</h1><p>{message}</p></body></html>
"""


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


async def _limit_unsubscribe(request: Request) -> None:
    host = request.client.host if request.client else "-"
    await ratelimit.hit(f"unsubscribe:ip:{ratelimit.key_part(host)}", get_settings().unsubscribe_per_minute, 60,
                        detail="Too many unsubscribe attempts")


@router.get("/unsubscribe", name="unsubscribe", summary="Unsubscribe from e-mails: the confirmation page (the link in "
            "every mail)", response_class=HTMLResponse,
            responses={200: {"content": {"text/html": {}}, "description": "A page whose button POSTs the unsubscribe"},
                       **problems(400, 429)})
async def unsubscribe_link(request: Request, token: Token):
    """No sign-in. Changes nothing (mail scanners and link previews fetch links): the page's button POSTs to the
    same address. A bad or expired token is a 400 naming `token`."""
    await _limit_unsubscribe(request)
    service.check_unsubscribe_token(token)
    action = html.escape(f"{request.url.path}?{urlencode({'token': token})}", quote=True)
    return HTMLResponse(_CONFIRM_PAGE.format(action=action), headers={"Cache-Control": "no-store"})


@router.post("/unsubscribe", name="unsubscribe-one-click", summary="Unsubscribe from e-mails (RFC 8058 one-click)",
             response_model=Unsubscribed, responses={200: {"content": {"text/html": {}}}, **problems(400, 429)})
async def unsubscribe_one_click(request: Request, session: SessionDep, token: Token):
    """What a mail client's "Unsubscribe" button sends (`List-Unsubscribe-Post: List-Unsubscribe=One-Click`, the
    token in the address) and the confirmation page's button. No sign-in: the link's signed, expiring token (60
    days) says whose e-mails stop. Idempotent. A browser (Accept: text/html) gets a page, others JSON."""
    await _limit_unsubscribe(request)
    await service.unsubscribe(session, token)
    done = Unsubscribed(message="You will not receive Filmo e-mails any more. Notifications stay in the app; "
                                "turn e-mails back on in your settings.")
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(_DONE_PAGE.format(message=html.escape(done.message)))
    return done
