"""Address match keys for crossover (docs/reports.md#crossover): normalise a shipping address, then hash it per tenant.

Two spellings of one address must give one key: case, accents and punctuation are folded, USPS street-suffix,
directional and unit-designator words are abbreviated (Publication 28, appendices C1 and C2), the unit is written
"APT 4B" however it was typed, and the ZIP is cut to 5 digits. City and region are left out because TikTok sends
full state names and Shopify codes, and the street with the ZIP already pins the place down. A masked address
(`*` anywhere) never matches. Only the salted hash is stored or compared; raw addresses are never logged.
Pure: no AWS here, the crossover report reads and writes the hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from typing import Final

from ordertrail.core.models import Address, is_masked
from ordertrail.tally.usps_tables import DIRECTIONAL_ABBREVIATIONS, NUMBERED_ROADS, SUFFIX_ABBREVIATIONS, UNIT_DESIGNATORS, WORDS

DEFAULT_COUNTRY: Final = "US"


# Written between a designator and its number ("Apt # 4B", "Apt No. 4B"): noise once the designator is known.
_NUMBER_SIGNS: Final = frozenset({"#", "NO", "NUM", "NUMBER", "NBR"})
# "APT4B", "STE200": a designator typed without its space; only those that take a number are split off.
_GLUED_UNIT: Final = re.compile(r"^(APARTMENT|APT|UNIT|SUITE|STE|ROOM|RM|BLDG|FLOOR|FL|LOT|SPACE|SPC|TRLR)(\d\w*)$")

_APOSTROPHES: Final = re.compile(r"['’`]")
# A hyphen touching a digit joins ("4-B" is unit 4B, "123-45" a Queens house number); elsewhere it separates words.
_DIGIT_HYPHEN: Final = re.compile(r"(?<=\d)-(?=\w)|(?<=\w)-(?=\d)")
_NOT_WORD: Final = re.compile(r"[^\w#]|_")
_US_ZIP: Final = re.compile(r"(\d{5})(\d{4})?")
# Countries and territories on US ZIP codes, where ZIP+4 is cut to the first 5 digits.
_ZIP_COUNTRIES: Final = frozenset({"US", "PR", "VI", "GU", "AS", "MP", "UM"})


def _fold(text: str) -> str:
    """Upper-case with accents dropped, so "Peñón" and "PENON" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).upper()


def _tokens(text: str | None) -> list[str]:
    """Split one address line into upper-case words, with punctuation gone and `#` kept as its own word."""
    if not text:
        return []
    text = _APOSTROPHES.sub("", _fold(text))  # O'Farrell and OFarrell are one street
    text = _DIGIT_HYPHEN.sub("", text)
    return _NOT_WORD.sub(" ", text.replace("#", " # ")).split()


def _is_unit_value(token: str) -> bool:
    """Tell whether a bare word reads as an apartment number: "4B", "12", or one letter that is not a direction."""
    if any(char.isdigit() for char in token):
        return True
    return len(token) == 1 and token.isalpha() and token not in DIRECTIONAL_ABBREVIATIONS


def _standardise(tokens: list[str]) -> list[str]:
    """Abbreviate suffixes, directionals and unit designators the USPS way, with a lone `#` meaning APT."""
    split: list[str] = []
    for token in tokens:
        glued = _GLUED_UNIT.match(token)
        split.extend(glued.groups() if glued else (token,))
    words: list[str] = []
    index = 0
    while index < len(split):
        token = split[index]
        # "P.O. Box", "PO Box" and "Post Office Box" arrive as different words; the box number is the match.
        if split[index : index + 3] in (["P", "O", "BOX"], ["POST", "OFFICE", "BOX"]):
            words += ["PO", "BOX"]
            index += 3
            continue
        if token in _NUMBER_SIGNS and words and words[-1] in UNIT_DESIGNATORS:
            index += 1
            continue
        word = "APT" if token == "#" else WORDS.get(token, token)
        # "N.E." arrives as N E; the two letters are one directional, like NE and NORTHEAST.
        if words and words[-1] in {"N", "S"} and word in {"E", "W"}:
            words[-1] += word
        else:
            words.append(word)
        index += 1
    return words


def _mark_bare_unit(words: list[str]) -> list[str]:
    """Write a trailing bare unit as APT: "123 Main St 4B" is "123 Main St Apt 4B"."""
    # Only US-style lines (house number first) with the number right after the suffix (or suffix + directional),
    # so "Baker Street 221" or a route number are not read as apartments.
    if len(words) < 4 or not any(char.isdigit() for char in words[0]) or not _is_unit_value(words[-1]):
        return words
    at = -3 if words[-2] in DIRECTIONAL_ABBREVIATIONS else -2
    before = words[at]
    numbered = before in NUMBERED_ROADS or (before == "RD" and words[at - 1] == "COUNTY")  # "County Road 12"
    if before in SUFFIX_ABBREVIATIONS and not numbered:
        return [*words[:-1], "APT", words[-1]]
    return words


def _street(line1: str | None, line2: str | None) -> str:
    """The standardised street line: line1, then line2 unless line1 already ends with it."""
    first = _standardise(_tokens(line1))
    second = _standardise(_tokens(line2))
    # line2 is the unit field: a bare "4B" there is apartment 4B.
    if len(second) == 1 and _is_unit_value(second[0]):
        second = ["APT", second[0]]
    # Some stores repeat line2 at the end of line1; counting it twice would split one address into two keys.
    if second and first[-len(second) :] != second:
        first += second
    return " ".join(_mark_bare_unit(first))


def _country(address: Address) -> str:
    """The ISO-2 country, upper-case, US when the store left it out."""
    return (address.country or "").strip().upper() or DEFAULT_COUNTRY


def _postal_code(code: str, country: str) -> str | None:
    """The postal code as compared: ZIP to 5 digits (ZIP+4 cut), others upper-case without spaces or hyphens."""
    compact = re.sub(r"[\s-]", "", _fold(code))
    if country in _ZIP_COUNTRIES and (zip_code := _US_ZIP.fullmatch(compact)):
        return zip_code.group(1)
    return compact or None


def normalise(address: Address) -> str | None:
    """The match key of an address, e.g. "123 MAIN ST APT 4B|90012|US"; None when it cannot match (masked or incomplete)."""
    parts = (address.line1, address.line2, address.city, address.region, address.postal_code, address.country)
    # A masked part means the platform hid the address; a partial one could match a different household. The name is
    # not part of the address: a masked name with a full street still matches.
    if any(is_masked(part) for part in parts):
        return None
    if not address.line1 or not address.line1.strip() or not address.postal_code:
        return None
    street = _street(address.line1, address.line2)
    country = _country(address)
    postal_code = _postal_code(address.postal_code, country)
    if not street or postal_code is None:
        return None
    return f"{street}|{postal_code}|{country}"


def address_hash(address: Address, tenant_salt: str) -> str | None:
    """The tenant-salted SHA-256 (HMAC) hex of the match key; None when the address cannot match."""
    # An empty salt would make one tenant's hashes comparable with another's and open to a dictionary of addresses.
    if not tenant_salt:
        raise ValueError("a tenant salt is required")
    key = normalise(address)
    if key is None:
        return None
    return hmac.new(tenant_salt.encode(), key.encode(), hashlib.sha256).hexdigest()
