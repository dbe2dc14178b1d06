"""A short fuzzing run of the tracking API's parsing path (dashboard/domain/events.py), without
Flask or a database: JSON-ish text, valid documents and byte mutations of them.

Whatever the bytes, ``parse_json`` -> ``parse_collect`` -> ``parse_event`` either yields values
within the contract's limits or refuses with ``CollectError`` (the whole request, a 400) or a
``Rejection`` (one event); nothing else is raised, and nothing it accepts is unstorable. Bounded
by a fixed ``max_examples``: a few seconds.
"""

import json
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.domain.events import (
    CONTACT_FIELDS,
    MAX_EVENTS,
    MAX_TEXT,
    MAX_URL,
    CollectError,
    Event,
    Rejection,
    activity_title,
    parse_collect,
    parse_event,
    parse_json,
    parse_utm,
)

FUZZ = settings(max_examples=200, deadline=None, derandomize=True)

# Text including what JSON may carry but a database may not: lone surrogates and NUL.
any_text = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=()),
    max_size=30,
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=15,
)
events = st.fixed_dictionaries(
    {
        "id": st.uuids().map(str) | any_text,
        "type": st.sampled_from(
            ["pagevisit", "landingpage", "click", "datainput", "bizformsubmit", "customactivity"]
        )
        | any_text,
    },
    optional={
        "url": st.sampled_from(["http://a.example/p?utm_source=x&utm_medium=%ff", "https://b/"])
        | any_text,
        "referrer": st.sampled_from(["", "https://search.example/?q=1"]) | any_text,
        "title": any_text,
        "value": any_text | json_values,
        "label": any_text,
        "form": any_text,
        "activity_type": any_text,
        "landing": json_values,
        "fields": st.dictionaries(st.sampled_from([*CONTACT_FIELDS, "nope"]), any_text)
        | json_values,
    },
)
documents = st.fixed_dictionaries(
    {"channel": st.sampled_from(["shop-site", ""]) | any_text},
    optional={
        "contact": st.uuids().map(str) | json_values,
        "cookie_level": st.sampled_from([-1000, -100, 0, 100, 200, 1000, 7]) | json_values,
        # A few real events, or just enough filler to cross the 50-event limit.
        "events": st.lists(events | json_values, max_size=5)
        | st.lists(st.just({}), min_size=MAX_EVENTS, max_size=MAX_EVENTS + 1),
    },
)


def _serialise(document: object, ascii_only: bool) -> bytes:
    """JSON bytes; without ``ascii_only``, a lone surrogate becomes invalid UTF-8 bytes."""
    return json.dumps(document, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


# JSON-ish tokens: structure, keys the parser looks for, and the awkward corners of JSON.
TOKENS = [
    "{", "}", "[", "]", ",", ":", " ", "\n", '"', "\\", "\ufeff", "\x00",
    '"channel"', '"events"', '"id"', '"type"', '"url"', '"fields"', '"email"', '"contact"',
    '"cookie_level"', '"shop-site"', '"pagevisit"', '"click"', '"datainput"', '"label"',
    f'"{uuid.UUID(int=1)}"', '"http://a.example/"', '"a@b.example"',
    "0", "-0", "1000", "1e400", "-1e400", "1" * 30, "0.5", "true", "false", "null",
    "NaN", "Infinity", "-Infinity", '"\\ud800"', '"\\udc00\\ud800"', '"\\ud83d\\ude00"',
    '"\\u0000"', '"\\\\u0000"', '"\\x"', '"é"', '"\\u00e9"',
]  # fmt: skip
jsonish = st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A serialised valid document with a few byte-level mutations."""
    raw = bytearray(_serialise(draw(documents), draw(st.booleans())))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "duplicate", "truncate"]))
        at = draw(st.integers(0, len(raw)))
        if kind == "flip" and at < len(raw):
            raw[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            raw[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif kind == "delete":
            del raw[at : at + draw(st.integers(1, 8))]
        elif kind == "duplicate":
            raw[at:at] = raw[at : at + draw(st.integers(1, 16))]
        else:
            del raw[at:]
    return bytes(raw)


def _strings(value: object):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _check_event(event: Event) -> None:
    """An accepted event is within the contract's limits (tracking-api.md, R13)."""
    assert isinstance(event.id, uuid.UUID)
    for url in (event.url, event.referrer):
        assert url is None or (
            len(url) <= MAX_URL and url.lower().startswith(("http://", "https://"))
        )
    for text in (event.title, event.value):
        assert text is None or (0 < len(text) <= MAX_TEXT and _storable(text))
    for name, value in event.fields.items():
        assert name in CONTACT_FIELDS and 0 < len(value) <= CONTACT_FIELDS[name]
        assert _storable(value)
    if event.email is not None:
        assert event.email == event.email.lower() and "@" in event.email
    title = activity_title(event, "Custom")
    assert title is None or len(title) <= MAX_TEXT
    assert all(len(v) <= MAX_TEXT for v in parse_utm(event.url).values())


def _run_pipeline(raw: bytes) -> object | None:
    """Run the parsing path over ``raw``; return the decoded data when parse_json accepted it.

    Any exception other than CollectError fails the test (it would be a 500)."""
    try:
        data = parse_json(raw)
    except CollectError:
        return None
    assert all(_storable(text) for text in _strings(data))
    try:
        request = parse_collect(data)
    except CollectError:
        return data
    assert isinstance(request.channel, str) and 0 < len(request.channel) <= 100
    assert len(request.events) <= MAX_EVENTS
    for item in request.events:
        result = parse_event(item)
        assert isinstance(result, Event | Rejection)
        if isinstance(result, Event):
            _check_event(result)
        else:
            assert result.reason and (result.id is None or len(result.id) <= 64)
    return data


@FUZZ
@given(raw=jsonish.map(lambda text: text.encode("utf-8", "surrogatepass")))
def test_jsonish_text(raw):
    _run_pipeline(raw)


@FUZZ
@given(raw=mutated())
def test_byte_mutations_of_valid_documents(raw):
    _run_pipeline(raw)


@FUZZ
@given(document=documents)
def test_valid_json_is_read_exactly_or_refused_for_unstorable_text(document):
    """Escaped (ASCII) JSON always decodes; it is accepted, unchanged, exactly when all of its
    strings are storable. Raw lone surrogates are invalid UTF-8 and always refused."""
    storable = all(_storable(text) for text in _strings(document))
    data = _run_pipeline(_serialise(document, ascii_only=True))
    assert (data == document) if storable else (data is None)
    raw_utf8 = _serialise(document, ascii_only=False)
    if not storable:
        assert _run_pipeline(raw_utf8) is None
    else:
        assert _run_pipeline(raw_utf8) == document
