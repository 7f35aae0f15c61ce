"""axe-core and the narrow-screen check, for the browser tests.

axe-core is vendored in tests/browser/vendor/axe.min.js (npm package axe-core 4.14.1, MPL-2.0, licence beside it):
the tests reach no CDN. It is injected into the page, so the context that runs it bypasses the app's CSP, which
would refuse an inline script (the app itself never needs that)."""

import json
from pathlib import Path

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
PHONE_WIDTH = 390
FAILING_IMPACTS = ("serious", "critical")


def axe_violations(page) -> list[dict]:
    """The serious and critical violations axe-core finds on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE)
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
            }));
        }"""
    )
    return [v for v in found if v["impact"] in FAILING_IMPACTS]


def sideways_scroll(page) -> int:
    """How much wider than the viewport the page is (0: it does not scroll sideways)."""
    return page.evaluate("document.scrollingElement.scrollWidth") - page.viewport_size["width"]


def describe(violations: list[dict]) -> str:
    return json.dumps(violations, indent=1)


def widest_elements(page, limit: int = 5) -> list[str]:
    """The deepest elements that stick out past the viewport's right edge outside any scrolling box (a wide table
    inside its scrolling wrapper is fine), to say what makes a page too wide."""
    return page.evaluate(
        """(limit) => {
            const width = document.documentElement.clientWidth;
            const clipped = (el) => {
                for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
                    if (getComputedStyle(a).overflowX !== 'visible') return true;
                }
                return false;
            };
            const out = [];
            for (const el of document.querySelectorAll('body *')) {
                if (el.getBoundingClientRect().right <= width + 1 || clipped(el)) continue;
                if ([...el.children].some(c => c.getBoundingClientRect().right > width + 1 && !clipped(c))) continue;
                const name = `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${[...el.classList].join('.')}`;
                out.push(`${name} right=${Math.round(el.getBoundingClientRect().right)}`);
            }
            return out.slice(0, limit);
        }""",
        limit,
    )
