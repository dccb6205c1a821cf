"""The discovery page in Debian's Chromium (WebGL on SwiftShader) against a real server with the demo data:
it loads cleanly and offline, the map shows pins where the projects are, filters change pins and counts,
clusters split when clicked, and the list follows the map."""
from __future__ import annotations

from tests.helpers.browser import (DESKTOP, PHONE, SCREENSHOTS, jump, map_idle, projects_shown, rendered,
                                   wait_until, watched_page)

DEMO_CITIES = {"Harmattan": (3.3792, 6.5244), "The Last Light": (-118.2437, 34.0522),
               "Monsoon Letters": (72.8777, 19.0760), "Spree": (13.4050, 52.5200), "Understudy": (-0.1276, 51.5072)}
BERLIN = (13.43, 52.53)


async def _open(browser_context, site, **options):
    watched = await watched_page(await browser_context(**options))
    await watched.page.goto(f"{site.url}/discover")
    await map_idle(watched.page)
    return watched


async def _list_names(page) -> list[str]:
    return await page.locator(".project-row .row-title").all_inner_texts()


async def _chip_count(page, group: str, key: str) -> int | None:
    chip = page.locator(f'.chip[data-group="{group}"][data-key="{key}"] .chip-count')
    return int(await chip.inner_text()) if await chip.count() else None


async def test_the_page_loads_offline_and_shows_a_pin_at_every_demo_city(browser_context, discover_site):
    watched = await _open(browser_context, discover_site, viewport=DESKTOP)
    page = watched.page
    # The whole world: every project is a pin or inside a cluster.
    total = len(discover_site.projects)
    assert await wait_until(page, lambda p: _shown_if(p, total)) == total
    assert len(await _list_names(page)) == total
    await page.screenshot(path=SCREENSHOTS / "discover-world.png")
    for name, (lon, lat) in DEMO_CITIES.items():
        await jump(page, lon, lat, 11)
        pins = await wait_until(page, lambda p: _pins_named(p, lon, lat, name))
        assert pins[0]["project_id"] == discover_site.projects[name]["id"]
        # The list shows what the map shows (Berlin's view holds the other Berlin projects too).
        names = await _list_names(page)
        assert name in names and (name == "Spree" or names == [name]), names
    # The root answers with the page too, and a fresh load of it stays on this machine.
    await page.goto(discover_site.url + "/")
    await map_idle(page)
    assert page.url.endswith("/discover")
    # An icon of its own, inline: otherwise the browser asks for /favicon.ico (a console 404 on every visit).
    assert await page.evaluate("() => document.querySelector('link[rel=icon]')?.href.startsWith('data:image/svg')")
    watched.assert_clean()


async def _pins_named(page, lon, lat, name):
    pins = [f for f in await rendered(page, lon, lat, layers=("pins",))]
    return pins if pins and any(True for _ in pins) else None


async def test_a_filter_changes_the_pins_and_the_facet_counts(browser_context, discover_site):
    watched = await _open(browser_context, discover_site, viewport=DESKTOP)
    page = watched.page
    total = len(discover_site.projects)
    assert await _chip_count(page, "type", "documentary") == 2  # Monsoon Letters and Spandau Story
    paid_before = await _chip_count(page, "pay", "paid")
    await page.locator('.chip[data-group="type"][data-key="documentary"]').click()
    await map_idle(page)
    shown = await wait_until(page, lambda p: _shown_if(p, 2))
    assert shown == 2
    assert sorted(await _list_names(page)) == ["Monsoon Letters", "Spandau Story"]
    assert await page.locator('.chip[data-group="type"][data-key="documentary"]').get_attribute("aria-pressed") == "true"
    paid_after = await _chip_count(page, "pay", "paid")
    assert paid_after is not None and paid_after < paid_before, (paid_before, paid_after)
    # Within a group the counts say what adding a choice would bring ("any of"): short films still 2.
    short = page.locator('.chip[data-group="type"][data-key="short_film"]')
    assert await _chip_count(page, "type", "short_film") == 2 and await short.is_enabled()
    await page.screenshot(path=SCREENSHOTS / "discover-filtered.png")
    await short.click()
    await map_idle(page)
    assert await wait_until(page, lambda p: _shown_if(p, 4)) == 4
    assert sorted(await _list_names(page)) == ["Kreuzberg Nights", "Monsoon Letters", "Spandau Story",
                                               "The Last Light"]
    await page.locator("#clear-filters").click()
    await map_idle(page)
    assert await wait_until(page, lambda p: _shown_if(p, total)) == total
    watched.assert_clean()


async def _shown_if(page, expected):
    features = await rendered(page)
    shown = projects_shown(features)
    assert shown == expected, features  # wait_until retries; the last features are reported
    return shown


async def test_clicking_a_cluster_zooms_in_and_splits_it(browser_context, discover_site):
    watched = await _open(browser_context, discover_site, viewport=DESKTOP)
    page = watched.page
    await jump(page, BERLIN[0], BERLIN[1], 6)
    # The six Berlin projects, at least two of them in a cluster.
    features = await wait_until(page, lambda p: _berlin_with_a_cluster(p))
    clusters = [f for f in features if f["cluster"]]
    assert clusters, features
    # Each cluster shows its count (an icon drawn by the page: the style has no glyphs to draw text with).
    labels = await page.evaluate("() => window.filmoMap.queryRenderedFeatures({layers: ['cluster-counts']})"
                                 ".map((f) => String(f.properties.point_count_abbreviated))")
    assert {str(f["point_count_abbreviated"]) for f in clusters} <= set(labels), labels
    cluster = max(clusters, key=lambda f: int(f["point_count"]))
    zoom_before = await page.evaluate("() => window.filmoMap.getZoom()")
    point = await page.evaluate("(c) => window.filmoMap.project(c)", cluster["coords"])
    box = await page.locator("#map canvas").bounding_box()
    await page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    await page.wait_for_function(f"() => window.filmoMap.getZoom() > {zoom_before + 0.5}", timeout=10_000)
    await map_idle(page)
    after = await wait_until(page, lambda p: _split(p, len(features)))
    assert projects_shown(after) == projects_shown(features)  # the same projects, in more pieces
    await page.screenshot(path=SCREENSHOTS / "discover-cluster-split.png")
    watched.assert_clean()


async def _berlin_with_a_cluster(page):
    features = await rendered(page, *BERLIN, px=80)
    return features if projects_shown(features) == 6 and any(f["cluster"] for f in features) else None


async def _split(page, before):
    after = await rendered(page, *BERLIN, px=400)
    return after if len(after) > before else None


async def test_the_list_follows_the_map_and_a_hovered_row_lights_its_pin(browser_context, discover_site):
    watched = await _open(browser_context, discover_site, viewport=DESKTOP)
    page = watched.page
    assert len(await _list_names(page)) == len(discover_site.projects)
    await jump(page, 72.8777, 19.0760, 9)
    assert await _list_names(page) == ["Monsoon Letters"]
    await jump(page, -0.1276, 51.5072, 9)
    assert await _list_names(page) == ["Understudy"]
    # Berlin at city zoom: every pin is its own; hovering a row lights that pin (feature-state).
    await jump(page, BERLIN[0], BERLIN[1], 11)
    west, south, east, north = await page.evaluate("() => window.filmoMap.getBounds().toArray().flat()")
    in_view = {name for name, p in discover_site.projects.items()
               if west <= p["longitude"] <= east and south <= p["latitude"] <= north}
    assert len(in_view) >= 4 and "Tegel Tapes" in in_view, in_view
    assert sorted(await _list_names(page)) == sorted(in_view)
    target = discover_site.projects["Tegel Tapes"]
    await page.locator(f'.project-row[data-project-id="{target["id"]}"]').hover()
    lit = await wait_until(page, lambda p: _hovered_pins(p))
    assert [f["project_id"] for f in lit] == [target["id"]]
    await page.screenshot(path=SCREENSHOTS / "discover-hover.png")
    await page.mouse.move(5, 5)
    await wait_until(page, lambda p: _no_hovered_pins(p))
    watched.assert_clean()


HOVERED = """() => { const m = window.filmoMap; const src = m.getSource('projects');
  const layer = src.type === 'vector' ? {sourceLayer: 'projects'} : {};
  return m.queryRenderedFeatures({layers: ['pins']})
    .filter((f) => (m.getFeatureState({source: 'projects', ...layer, id: f.id}) || {}).hover)
    .map((f) => ({project_id: f.properties.project_id})); }"""


async def _hovered_pins(page):
    return await page.evaluate(HOVERED) or None


async def _no_hovered_pins(page):
    return not await page.evaluate(HOVERED)


async def test_on_a_phone_the_map_sits_above_the_list(browser_context, discover_site):
    watched = await _open(browser_context, discover_site, viewport=PHONE, is_mobile=True, has_touch=True)
    page = watched.page
    map_box = await page.locator("#map").bounding_box()
    list_box = await page.locator(".list-pane").bounding_box()
    assert map_box["width"] >= PHONE["width"] - 2 and list_box["width"] >= PHONE["width"] - 2
    assert map_box["y"] + map_box["height"] <= list_box["y"] + 1
    total = len(discover_site.projects)
    assert await wait_until(page, lambda p: _shown_if(p, total)) == total
    await page.screenshot(path=SCREENSHOTS / "discover-phone.png", full_page=True)
    watched.assert_clean()
