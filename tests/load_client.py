"""A client for live-server tests that behaves like the tracking snippet: it retries a failed send
(no answer, 429, 5xx) with the same body, so the same event ids, and records every attempt, so a
test can hold each answer against what the store holds afterwards."""

import http.client
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tests.factories import ORIGIN
from tests.tracking_helpers import BROWSER_UA


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt: when it ran (``time.monotonic()``) and what came back."""

    started: float
    ended: float
    status: int | None  # None: no HTTP answer (connection reset or refused, cut-off body)
    retry_after: str | None = None
    error: str | None = None  # the JSON error code, or the exception's name

    def overlaps(self, start: float, end: float) -> bool:
        """Whether the attempt was in flight at some moment of [start, end]."""
        return self.started <= end and self.ended >= start


class RequestFailed(AssertionError):
    """A send that got a non-retryable answer, or no 200 within the allowed attempts."""


class TrackerClient:
    """POSTs collect bodies, spreading attempts round-robin over ``bases`` (a load balancer),
    retrying like the snippet; thread-safe."""

    def __init__(
        self,
        bases: list[str],
        *,
        max_attempts: int = 20,
        backoff: float = 0.0,
        timeout: float = 30.0,
    ) -> None:
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.timeout = timeout
        self.attempts: list[Attempt] = []
        self._bases = itertools.cycle(bases)
        self._lock = threading.Lock()

    def _next_base(self) -> str:
        with self._lock:
            return next(self._bases)

    def _record(self, attempt: Attempt) -> None:
        with self._lock:
            self.attempts.append(attempt)

    def _try(self, body: bytes) -> tuple[Attempt, dict | None]:
        request = urllib.request.Request(  # noqa: S310 - loopback test server
            self._next_base() + "/t/v1/collect",
            data=body,
            method="POST",
            headers={"Content-Type": "text/plain", "Origin": ORIGIN, "User-Agent": BROWSER_UA},
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                payload = json.loads(response.read())
            return Attempt(started, time.monotonic(), 200), payload
        except urllib.error.HTTPError as exc:
            try:
                code = json.loads(exc.read()).get("error")
            except (ValueError, OSError, http.client.HTTPException):
                code = "not-json"
            attempt = Attempt(
                started, time.monotonic(), exc.code, exc.headers.get("Retry-After"), code
            )
            return attempt, None
        except (OSError, http.client.HTTPException) as exc:  # reset, refused, cut-off body
            return Attempt(started, time.monotonic(), None, error=type(exc).__name__), None

    def send(self, body: dict) -> dict:
        """The first 200 answer to ``body``, retrying no answer, 429 and 5xx."""
        data = json.dumps(body).encode()
        for n in range(self.max_attempts):
            attempt, payload = self._try(data)
            self._record(attempt)
            if payload is not None:
                return payload
            if attempt.status is not None and attempt.status < 500 and attempt.status != 429:
                raise RequestFailed(f"answered {attempt.status} {attempt.error}")
            time.sleep(min(self.backoff * 2**n, 1.0))
        raise RequestFailed(f"no 200 after {self.max_attempts} attempts: {attempt}")


def page_events(pages: int) -> list[list[dict]]:
    """A visitor's batches: per page a page visit and a click, each with a fresh id."""
    return [
        [
            {
                "id": str(uuid.uuid4()),
                "type": "pagevisit",
                "url": f"http://localhost:5000/p{i}",
                "title": f"Page {i}",
            },
            {"id": str(uuid.uuid4()), "type": "click", "label": "x"},
        ]
        for i in range(pages)
    ]


@dataclass
class Visit:
    """What one visitor sent and every 200 answer it got."""

    guid: str
    event_ids: list[str]
    answers: list[dict] = field(default_factory=list)


def visit(client: TrackerClient, pages: int, channel: str = "shop-site") -> Visit:
    """One visitor on a channel at level All: the first batch (no contact yet) is sent twice at
    the same moment; later batches carry the contact and are each sent again once, as a retry
    whose first answer was lost would be, which must answer ``duplicate`` for every event."""
    batches = page_events(pages)
    first = {"channel": channel, "contact": None, "cookie_level": None, "events": batches[0]}
    with ThreadPoolExecutor(max_workers=2) as twins:
        answers = list(twins.map(client.send, [first, first]))
    contacts = {a["contact"] for a in answers}
    assert len(contacts) == 1, contacts  # both copies name the same single contact
    guid = contacts.pop()
    for events in batches[1:]:
        body = {"channel": channel, "contact": guid, "cookie_level": None, "events": events}
        answers.append(client.send(body))
        retry = client.send(body)
        assert {r["status"] for r in retry["results"]} == {"duplicate"}, retry
        answers.append(retry)
    assert {a["contact"] for a in answers} == {guid}, "a visitor's answers named two contacts"
    return Visit(guid, [e["id"] for batch in batches for e in batch], answers)
