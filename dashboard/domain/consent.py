"""Consent text versions (domain.md section 6): the hash identifying what a visitor was shown."""

import hashlib
import json
from collections.abc import Mapping


def consent_text_hash(
    short_text: str,
    full_text: str,
    translations: Mapping[str, tuple[str, str]] | None = None,
) -> str:
    """Return the SHA-256 hex digest identifying this version of a consent's texts (R15).

    The digest covers a canonical JSON document (sorted keys, no insignificant whitespace, UTF-8)
    of the short and full text and of every language variant, given as
    ``{language: (short_text, full_text)}``. The order of ``translations`` does not matter, and
    ``None`` hashes like an empty mapping; any change to any text changes the hash.
    """
    document = {
        "short": short_text,
        "full": full_text,
        "translations": {
            language: {"short": short, "full": full}
            for language, (short, full) in (translations or {}).items()
        },
    }
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
