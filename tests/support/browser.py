"""A real browser for the page tests: Playwright (PyPI) driving Debian's
Chromium (`/usr/bin/chromium`, installed by `scripts/install-chromium`;
Playwright's own browser download does not work on closed networks).

One browser for the whole session (`browser`); each walk opens contexts of
its own (fresh cookies; JavaScript on or off). `PageCheck.visit` runs axe-core
on the page (no serious or critical violation) and writes its screenshots at
360 px and 1280 px to `.artefacts/screenshots/` (gitignored)."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field

import pytest
import pytest_asyncio

from educonnect.settings import PROJECT_ROOT

CHROMIUM = os.environ.get("EDUCONNECT_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags, Chromium's own connections (updates,
# sync, field trials) are refused on a closed network and slow everything down.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = PROJECT_ROOT / ".artefacts" / "screenshots"
WIDTHS = (360, 1280)
HEIGHT = {360: 780, 1280: 900}
BLOCKING_IMPACTS = ("serious", "critical")
AXE_TIMEOUT_S = 60


def _require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-chromium (as root)")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser():
    """One headless Chromium for the session. `launch` gives it a fresh,
    temporary user-data-dir of its own."""
    _require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@dataclass
class PageCheck:
    """What every page visited by a walk goes through. `twin`: for a walk
    with JavaScript off, a context with it on, where axe-core (a script) runs
    on the very HTML the walk's page received, its own scripts kept out."""

    prefix: str = ""  # "sans-js-" for the walks with JavaScript off
    twin: object | None = None  # a BrowserContext with JavaScript on
    visited: list[str] = field(default_factory=list)

    async def visit(self, page, name: str, *, screenshots: bool = True) -> None:
        """axe-core on `page` (at both widths): no serious or critical
        violation; nothing wider than the screen; screenshots
        `<prefix><name>-<width>.png`."""
        await page.wait_for_load_state("load")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        original = page.viewport_size
        audited = page if self.twin is None else await self._twin_of(page)
        try:
            for width in WIDTHS:
                size = {"width": width, "height": HEIGHT[width]}
                await page.set_viewport_size(size)
                if audited is not page:
                    await audited.set_viewport_size(size)
                await self._axe(audited, name, width)
                wide = await page.evaluate("document.documentElement.scrollWidth")
                assert wide <= width, f"{name} at {width} px scrolls sideways ({wide} px wide)"
                if screenshots:
                    await page.screenshot(
                        path=str(SCREENSHOTS / f"{self.prefix}{name}-{width}.png"), full_page=True
                    )
        finally:
            if audited is not page:
                await audited.close()
        if original:
            await page.set_viewport_size(original)
        self.visited.append(name)

    async def _twin_of(self, page):
        html, url = await page.content(), page.url
        twin = await self.twin.new_page()
        await twin.route("**/*.js", lambda route: route.abort())
        await twin.route(
            lambda u: u == url,
            lambda route: route.fulfill(
                status=200, content_type="text/html; charset=utf-8", body=html
            ),
        )
        await twin.goto(url)
        await twin.wait_for_load_state("load")
        return twin

    @staticmethod
    async def _axe(page, name: str, width: int) -> None:
        from axe_playwright_python.async_playwright import Axe

        results = await asyncio.wait_for(Axe().run(page), AXE_TIMEOUT_S)
        blocking = [
            f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(n["target"][0] if n["target"] else "?" for n in v["nodes"][:3])
            for v in results.response["violations"]
            if v.get("impact") in BLOCKING_IMPACTS
        ]
        assert not blocking, f"axe-core on {name} at {width} px:\n" + "\n".join(blocking)
