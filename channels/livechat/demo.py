"""The demo page's widget (GET /demo)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DemoPage:
    """The demo tenant's widget key: set at start when PARLEY_DEMO made the demo tenant (after the services
    are built, so it is the one field set later); None otherwise, and the page says so."""

    widget_key: str | None = None
