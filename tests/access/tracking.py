"""The public tracking API and the demo website: no login, never a redirect to it."""

from . import PUBLIC

RULES = {
    "tracking.collect_events": (("POST", "OPTIONS"), PUBLIC),
    "tracking.consent": (("GET", "POST", "OPTIONS"), PUBLIC),
    "tracking.consent_state": (("GET",), PUBLIC),
    "tracking.click": (("GET",), PUBLIC),
    "tracking.tracker_js": (("GET",), PUBLIC),
    "demo.page": (("GET",), PUBLIC),
    "demo.submit_contact": (("POST",), PUBLIC),
    "demo.subscribed": (("POST",), PUBLIC),
}
URL_VALUES = {"site": "corporate", "page": "pricing"}
