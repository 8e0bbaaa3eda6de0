"""How the Events API wants identifiers: SHA-256 of the normalised email, E.164 phone and external id, and event ids."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime
from functools import lru_cache

_SHA256_HEX = re.compile(r"^[a-f0-9]{64}$")


# Separators people type inside phone numbers; anything else (letters, "*" masks, extensions) means "can't normalise".
_PHONE_SEPARATORS = re.compile(r"[\s().\-/]")
_ASCII_DIGITS = re.compile(r"^[0-9]+$")


def is_sha256_hex(value: str) -> bool:
    """True when the value already is a lowercase SHA-256 hex digest (and so must not be hashed again)."""
    return bool(_SHA256_HEX.match(value))


# A conversion credited to several ttclids becomes several events for the same buyer: their identifiers are hashed once.
_REPEATS = 4096


def _sha256(value: str) -> str:
    """Lowercase SHA-256 hex of the UTF-8 text."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@lru_cache(maxsize=_REPEATS)
def hash_email(value: str) -> str:
    """Trim, lowercase, SHA-256 hex; an already-hashed value is returned unchanged (ValueError when blank)."""
    normalised = value.strip().lower()
    if not normalised:
        raise ValueError("email is blank")
    return normalised if is_sha256_hex(normalised) else _sha256(normalised)


def normalise_phone(value: str) -> str | None:
    """E.164 with the leading "+" ("(+1)2133734253" → "+12133734253"), or None when the number can't be placed.

    Separators (spaces, brackets, dots, dashes, slashes) are dropped. A "+" or "00" prefix carries the country code.
    Without one, only North American numbers are accepted: 10 digits (area code 2-9) are assumed to be +1, and 11
    digits starting with 1 are read as +1 too; any other bare number has no knowable country and gives None, as do
    letters, extensions and masked ("*") values.
    """
    compact = _PHONE_SEPARATORS.sub("", value.strip())
    if compact.startswith("+"):
        digits = compact[1:]
    elif compact.startswith("00"):
        digits = compact[2:]
    elif _ASCII_DIGITS.match(compact) and len(compact) == 10 and compact[0] in "23456789":
        digits = "1" + compact
    elif _ASCII_DIGITS.match(compact) and len(compact) == 11 and compact.startswith("1") and compact[1] in "23456789":
        digits = compact
    else:
        return None
    # E.164: a country code never starts with 0, and the whole number is at most 15 digits (7 is the shortest in use).
    if not _ASCII_DIGITS.match(digits) or digits[0] == "0" or not 7 <= len(digits) <= 15:
        return None
    return "+" + digits


@lru_cache(maxsize=_REPEATS)
def hash_phone(value: str) -> str | None:
    """SHA-256 hex of the E.164 number (with "+"); an already-hashed value is returned unchanged; None if unusable."""
    stripped = value.strip()
    if is_sha256_hex(stripped):
        return stripped
    e164 = normalise_phone(stripped)
    return _sha256(e164) if e164 else None


@lru_cache(maxsize=_REPEATS)
def hash_external_id(value: str) -> str:
    """SHA-256 hex of the trimmed id (case kept: ids may be case-sensitive); already-hashed values pass through."""
    stripped = value.strip()
    if not stripped:
        raise ValueError("external_id is blank")
    return stripped if is_sha256_hex(stripped) else _sha256(stripped)


def event_id_for(ttclid: str, conversion_date: date) -> str:
    """Deterministic event id "<ttclid>_<yyyy-mm-dd>": TikTok de-duplicates on pixel + event + event_id, so reruns are safe.

    A datetime is reduced to its UTC date (a naive one is taken as UTC), so the id never depends on the caller's zone.
    """
    ttclid = ttclid.strip()
    if not ttclid:
        raise ValueError("ttclid is blank")
    if isinstance(conversion_date, datetime):
        aware = conversion_date if conversion_date.tzinfo else conversion_date.replace(tzinfo=UTC)
        conversion_date = aware.astimezone(UTC).date()
    return f"{ttclid}_{conversion_date.isoformat()}"
