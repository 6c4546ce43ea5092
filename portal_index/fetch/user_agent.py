"""How our fetchers name themselves to the portals they visit (crawler, prober, browser)."""

from portal_index import __version__

CONTACT_URL = "https://github.com/portal-index/portal-index"
USER_AGENT = f"portal-index/{__version__} (+{CONTACT_URL}; open data research crawler)"
ROBOTS_AGENT = "portal-index"  # the product token robots.txt groups are matched against
