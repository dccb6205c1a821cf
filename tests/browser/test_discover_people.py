"""A person on the discovery page, in Debian's Chromium against a real server: creates an account with the
e-mailed code, applies to a role from the project card (making a profile on the way), and, once accepted,
talks with the project's owner, who is signed in from a second browser context."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import httpx

from tests.helpers.browser import DESKTOP, SCREENSHOTS, code_from_mail_dir, map_idle, watched_page

DEMO_PASSWORD = "filmo-demo-password"
OWNER = "jonas@demo.filmo.example.com"  # runs "Spree" in the demo data


async def _accept_all(site_url: str, project_id: str) -> None:
    """The owner accepts the pending applications (through the API, as the team's own screens would)."""
    async with httpx.AsyncClient(base_url=site_url, timeout=20) as http:
        resp = await http.post("/api/v1/auth/login", json={"email": OWNER, "password": DEMO_PASSWORD})
        assert resp.status_code == 200, resp.text
        headers = {"Authorization": f"Bearer {resp.json()['access_token']}"}
        resp = await http.get(f"/api/v1/applications/project/{project_id}", headers=headers)
        assert resp.status_code == 200, resp.text
        pending = [a for a in resp.json() if a["status"] == "pending"]
        assert len(pending) == 1, pending
        resp = await http.post(f"/api/v1/applications/accept/{pending[0]['id']}", headers=headers)
        assert resp.status_code == 200, resp.text


async def test_sign_up_by_code_apply_and_chat_with_the_team(browser_context, discover_site):
    site = discover_site
    spree = site.projects["Spree"]
    newcomer = f"nia-{uuid.uuid4().hex[:8]}@example.com"

    # 1. A newcomer creates an account with the code the app e-mailed (written to MAIL_DIR in tests).
    me = await watched_page(await browser_context(viewport=DESKTOP))
    page = me.page
    await page.goto(f"{site.url}/discover")
    await map_idle(page)
    await page.locator("#sign-in-button").click()
    await page.locator("#tab-signup").click()
    await page.locator("#signup-form input[name=email]").fill(newcomer)
    await page.locator("#signup-form input[name=password]").fill("a long enough password")
    await page.locator("#signup-form button[type=submit]").click()
    await page.locator("#code-form").wait_for(state="visible")
    code = code_from_mail_dir(Path(os.environ["MAIL_DIR"]), newcomer)
    await page.locator("#code-form input[name=otp]").fill(code)
    await page.locator("#code-form button[type=submit]").click()
    await page.locator("#account-name").wait_for()

    # 2. The project card: open roles, each with Apply; applying asks for a profile first.
    await page.locator(".project-row", has_text="Spree").click()
    card = page.locator("#project-card")
    await card.locator(".role").first.wait_for()
    assert await card.locator(".card-title").inner_text() == "Spree"
    assert await card.locator(".role").count() == 2
    await card.locator(".role", has_text="Steadicam").get_by_role("button", name="Apply").click()
    await card.locator("textarea[name=cover_letter]").fill("Steadicam op, 8 years, free in June.")
    await page.screenshot(path=SCREENSHOTS / "discover-card-apply.png")
    await card.get_by_role("button", name="Send application").click()
    await page.locator("#profile-form").wait_for(state="visible")
    await page.locator("#profile-form input[name=name]").fill("Nia Newcomer")
    await page.locator("#profile-form input[name=profession]").fill("Steadicam Operator")
    await page.locator("#profile-form button[type=submit]").click()
    await card.locator(".applied").wait_for()
    assert await page.locator("#account-name").inner_text() == "Nia Newcomer"

    # 3. The owner accepts; the newcomer's page (reloaded: same tab, same sign-in) now has the team chat.
    await _accept_all(site.url, spree["id"])
    await page.reload()
    await map_idle(page)
    await page.locator(f'#chat[data-joined="{spree["id"]}"]').wait_for()

    # 4. The owner signs in with a password in another browser context and writes to the team.
    owner = await watched_page(await browser_context(viewport=DESKTOP))
    await owner.page.goto(f"{site.url}/discover")
    await map_idle(owner.page)
    await owner.page.locator("#sign-in-button").click()
    await owner.page.locator("#login-form input[name=email]").fill(OWNER)
    await owner.page.locator("#login-form input[name=password]").fill(DEMO_PASSWORD)
    await owner.page.locator("#login-form button[type=submit]").click()
    await owner.page.locator(f'#chat[data-joined="{spree["id"]}"]').wait_for()
    await owner.page.locator("#chat-input").fill("Welcome aboard! Call time 6am at the Oberbaum bridge.")
    await owner.page.locator("#chat-form button[type=submit]").click()

    # 5. It arrives in the newcomer's chat, live; the answer goes back the same way.
    await page.locator(".chat-message", has_text="Call time 6am").wait_for(timeout=10_000)
    assert "Jonas Weber" in await page.locator(".chat-message").last.inner_text()
    await page.locator("#chat-input").fill("See you there!")
    await page.locator("#chat-form button[type=submit]").click()
    await owner.page.locator(".chat-message", has_text="See you there!").wait_for(timeout=10_000)
    await page.screenshot(path=SCREENSHOTS / "discover-chat.png")
    # The one error answer on the way: no profile yet, until the newcomer makes one.
    me.assert_clean(expected_failures={("GET", "/api/v1/profile/me", 404)})
    owner.assert_clean()
