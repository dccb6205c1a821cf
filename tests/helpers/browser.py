"""Debian's Chromium driven by Playwright (async API), WebGL on SwiftShader; watching what a page does.

Nothing here downloads a browser: Playwright is pointed at /usr/bin/chromium (installed by infra/install.sh).
`Watched` records console errors, uncaught page errors and every request to a host other than 127.0.0.1,
which are aborted (the page must work with nothing but this server).
"""
from __future__ import annotations

import email
import os
import re
import time
from dataclasses import dataclass, field
from email import policy
from pathlib import Path
from urllib.parse import urlsplit

from tests.helpers.run import REPO

CHROMIUM = Path(os.environ.get("FILMO_CHROMIUM", "/usr/bin/chromium"))
# WebGL without a GPU: ANGLE on SwiftShader (software Vulkan), which Chromium only allows when asked to.
CHROMIUM_ARGS = ["--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist",
                 "--no-sandbox", "--disable-dev-shm-usage"]
SCREENSHOTS = REPO / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 780}
CODE = re.compile(r"\b(\d{6})\b")


def chromium_or_fail() -> str:
    """The system Chromium's path; a missing browser is an error, never a skip."""
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"Chromium is missing at {CHROMIUM}: install it with `bash infra/install.sh` "
                           "(Debian package `chromium`); the browser tests never download a browser")
    return str(CHROMIUM)


@dataclass
class Watched:
    page: object
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    offsite: list[str] = field(default_factory=list)
    failed: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path, status) of 4xx/5xx answers

    def assert_clean(self, expected_failures: set[tuple[str, str, int]] = frozenset()) -> None:
        """Nothing left the machine, no uncaught error, no console error. An API answer the page expects
        (e.g. 404 from /profile/me before a profile exists) is named in `expected_failures`: the browser logs
        it as a console error, which is then allowed, once per such answer, and nothing else is."""
        assert not self.offsite, f"requests left 127.0.0.1: {self.offsite}"
        assert not self.page_errors, f"uncaught errors in the page: {self.page_errors}"
        unexpected = [f for f in self.failed if f not in expected_failures]
        assert not unexpected, f"error answers the page did not expect: {unexpected}"
        errors = list(self.console_errors)
        for _, _, status in self.failed:
            logged = next((e for e in errors if e.startswith("Failed to load resource") and f"status of {status} " in e),
                          None)
            if logged:
                errors.remove(logged)
        assert not errors, f"console errors: {errors}"


async def watched_page(context) -> Watched:
    """A new page in `context` whose console errors, page errors and off-machine requests are recorded."""
    page = await context.new_page()
    watched = Watched(page)

    def on_console(msg) -> None:
        if msg.type == "error":
            watched.console_errors.append(msg.text)

    async def guard(route) -> None:
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            await route.continue_()
        else:
            watched.offsite.append(route.request.url)
            await route.abort()

    page.on("console", on_console)
    page.on("pageerror", lambda exc: watched.page_errors.append(str(exc)))
    page.on("response", lambda resp: watched.failed.append((resp.request.method, urlsplit(resp.url).path, resp.status))
            if resp.status >= 400 else None)
    await context.route("**/*", guard)
    # Workers and WebSockets are not routed through page.route: a listener sees them all.
    page.on("request", lambda req: watched.offsite.append(req.url)
            if urlsplit(req.url).hostname not in ("127.0.0.1", None) else None)
    page.on("websocket", lambda ws: watched.offsite.append(ws.url)
            if urlsplit(ws.url).hostname != "127.0.0.1" else None)
    return watched


# ---------------------------------------------------------------- the map, read back through window.filmoMap

MAP_IDLE = """() => { const m = window.filmoMap; return !!m && m.loaded() && !m.isMoving() && m.areTilesLoaded()
                      && !!m.getSource('projects') && document.body.dataset.list === 'ready'; }"""

# Rendered project features (pins and clusters) in the whole viewport or near a point, one per feature
# (world copies and tile edges can show the same feature twice).
RENDERED = """({layers, lon, lat, px}) => {
  const m = window.filmoMap;
  let box;
  if (lon !== undefined) { const p = m.project([lon, lat]); box = [[p.x - px, p.y - px], [p.x + px, p.y + px]]; }
  const seen = new Map();
  for (const f of m.queryRenderedFeatures(box, {layers})) {
    const c = f.geometry.coordinates;
    const key = f.properties.cluster ? `c${f.id}:${c[0].toFixed(3)}:${c[1].toFixed(3)}` : `p${f.properties.project_id}`;
    if (!seen.has(key)) seen.set(key, {id: f.id, coords: c, ...f.properties,
                                       cluster: f.properties.cluster === true || f.properties.cluster === 'true'});
  }
  return [...seen.values()];
}"""


async def map_idle(page, timeout: float = 20_000) -> None:
    await page.wait_for_function(MAP_IDLE, timeout=timeout, polling=100)
    await page.wait_for_timeout(150)  # the moveend debounce (120 ms) may still start a list request
    await page.wait_for_function(MAP_IDLE, timeout=timeout, polling=100)


async def jump(page, lon: float, lat: float, zoom: float) -> None:
    await page.evaluate("([lon, lat, zoom]) => window.filmoMap.jumpTo({center: [lon, lat], zoom})", [lon, lat, zoom])
    await map_idle(page)


async def rendered(page, lon: float | None = None, lat: float | None = None, px: int = 12,
                   layers: tuple[str, ...] = ("pins", "clusters")) -> list[dict]:
    args = {"layers": list(layers), **({"lon": lon, "lat": lat, "px": px} if lon is not None else {})}
    return await page.evaluate(RENDERED, args)


def projects_shown(features: list[dict]) -> int:
    """How many projects the rendered pins and clusters stand for."""
    return sum(int(f["point_count"]) if f["cluster"] else 1 for f in features)


async def wait_until(page, check, timeout: float = 15.0, interval: float = 0.2):
    """Poll an async `check(page)` until it returns something truthy (the map renders asynchronously)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = await check(page)
        except AssertionError as exc:  # a check may explain itself with an assert
            last = exc
        else:
            if last:
                return last
        await page.wait_for_timeout(interval * 1000)
    if isinstance(last, AssertionError):
        raise last
    raise AssertionError(f"not true within {timeout}s; last value: {last!r}")


# ---------------------------------------------------------------- mail the test server wrote

def code_from_mail_dir(mail_dir: Path, address: str, timeout: float = 10.0) -> str:
    """The 6-digit code in the newest message to `address` that the app wrote to MAIL_DIR (no SMTP server)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.eml"), reverse=True):
            msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if address.lower() in str(msg["To"]).lower():
                found = CODE.search(msg.get_body(("plain",)).get_content())
                assert found, f"no code in {path.name}"
                return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no mail to {address} in {mail_dir} within {timeout}s")
