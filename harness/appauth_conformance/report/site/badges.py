"""Shields-style SVG badges, made here (no service): a label, a message, a colour, accessible text.

    badge("App ID auth", "348/348 pass", "green")  -> '<svg ... role="img" aria-label="App ID auth: 348/348 pass">...'

Text widths are estimated per character (Verdana 11 px, as shields draws them); the badge carries
its text in <title> and aria-label, so a screen reader reads it and no font is needed to understand it.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from appauth_conformance.report import views

LABEL = "App ID auth"
COLOURS = {"green": "#2e7d32", "yellow": "#8a6d00", "red": "#c62828", "grey": "#5f6368"}  # white text >= 4.5:1
NARROW = set("fijlrt.,:;!|' ")
WIDE = set("mwMW@%")


def _width(text: str) -> int:
    w = 0.0
    for c in text:
        w += 3.6 if c in NARROW else 9.5 if c in WIDE else 7.3 if c.isupper() or c.isdigit() else 6.4
    return int(w + 10.5)


def status(counts: dict[str, int]) -> tuple[str, str]:
    """(message, colour) for a run's counts by verdict: failures first, then known divergences."""
    total = sum(counts.values()) - counts.get("unsupported", 0)
    failing = sum(counts.get(v, 0) for v in views.FAILING)
    known = counts.get("known-divergence", 0)
    if total == 0:
        return "not measured", "grey"
    if failing:
        return f"{failing:,} failing of {total:,}", "red"
    if known:
        return f"{counts.get('pass', 0):,} pass, {known:,} known", "yellow"
    if counts.get("skipped", 0):
        return f"{counts.get('pass', 0):,}/{total:,} pass", "grey"
    return f"{total:,}/{total:,} pass", "green"


def badge(label: str, message: str, colour: str) -> str:
    lw, mw = _width(label), _width(message)
    w = lw + mw
    text = f"{label}: {message}"
    fill = COLOURS[colour]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="20" viewBox="0 0 {w} 20" role="img" '
        f"aria-label={quoteattr(text)}><title>{escape(text)}</title>"
        f'<rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{mw}" height="20" fill="{fill}"/>'
        '<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" aria-hidden="true">'
        f'<text x="{lw / 2:.1f}" y="14" text-anchor="middle">{escape(label)}</text>'
        f'<text x="{lw + mw / 2:.1f}" y="14" text-anchor="middle">{escape(message)}</text></g></svg>'
    )


def for_counts(counts: dict[str, int], label: str = LABEL) -> str:
    message, colour = status(counts)
    return badge(label, message, colour)
