"""Headless API keys: random secrets of which only a hash is stored."""

import hashlib
import secrets


def new_api_key() -> str:
    """A fresh random key (about 256 bits), shown to its owner once."""
    return secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """The stored form of a key: its SHA-256 hex digest (keys are random, so no salt is needed)."""
    return hashlib.sha256(key.encode()).hexdigest()
