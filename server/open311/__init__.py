"""Open311 GeoReport v2 (``/open311/v2``): 12345 platforms and any Open311 client file and
follow cases here. API keys, not cookies, authenticate a POST, so the blueprint is exempt from
CSRF. See docs/open311.md.
"""

from server.extensions import csrf
from server.open311.views import bp

csrf.exempt(bp)

__all__ = ["bp"]
