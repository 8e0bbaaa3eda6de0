"""Address match keys (docs/reports.md#crossover): spellings of one address agree, different addresses do not."""

from __future__ import annotations

import pytest

from ordertrail.core.models import Address
from ordertrail.tally.addresses import address_hash, normalise

SALT = "tenant-acme-salt"


def address(line1: str | None, postal_code: str | None = "90012", line2: str | None = None, **extra: str) -> Address:
    return Address(line1=line1, line2=line2, postal_code=postal_code, **extra)


def test_the_contracts_example_gives_one_key() -> None:
    # given the CONTRACTS example, as a store splits it and as it is written inline
    split = address("123 Main Street", line2="Apt. 4B", postal_code="90012-3401")
    inline = address("123 Main Street, Apt. 4B", postal_code="90012-3401")
    shouted = address("123 MAIN ST APT 4B", postal_code="90012")
    # when normalised, then all three are the contract's key
    assert normalise(split) == normalise(inline) == normalise(shouted) == "123 MAIN ST APT 4B|90012|US"
    assert address_hash(split, SALT) == address_hash(inline, SALT) == address_hash(shouted, SALT)


@pytest.mark.parametrize(
    ("line1", "line2", "postal_code"),
    [
        ("123 North Main Street", "Apartment 4B", "90012"),
        ("123 N. Main St.", "Apt #4B", "90012-3401"),
        ("123 n main st", "#4b", "90012 3401"),
        ("123 N Main Str", "apt 4-B", "900123401"),
        ("123 N Main St #4B", None, "90012"),
        ("123 N Main St Apt. 4B", "Apt 4B", "90012"),  # line2 repeated at the end of line1
        ("123 N Main St, 4B", None, "90012"),  # a bare unit after the suffix
        ("123 N Main St", "4B", "90012"),  # a bare unit in line2, the unit field
        ("123  N.  MAIN  ST  APT4B", None, " 90012 "),
        ("123 N Main St Apt No. 4B", None, "90012"),
    ],
)
def test_spellings_of_one_address_hash_alike(line1: str, line2: str | None, postal_code: str) -> None:
    # given one address spelt the way people and stores spell it
    reference = address("123 N MAIN ST", line2="APT 4B")
    spelt = address(line1, line2=line2, postal_code=postal_code)
    # when hashed, then it is the same address
    assert normalise(spelt) == "123 N MAIN ST APT 4B|90012|US"
    assert address_hash(spelt, SALT) == address_hash(reference, SALT)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("500 Northeast Sunset Boulevard", "500 N.E. Sunset Blvd"),
        ("500 North East Sunset Blvd", "500 NE Sunset Blvd"),
        ("77 Fifth Avenue", "77 5th Ave"),
        ("77 Fifth Av", "77 5TH AVEN"),
        ("9 Saint James Place", "9 St. James Pl"),
        ("9 O'Farrell Terrace", "9 OFarrell Ter"),
        ("12 Lakeview Parkway Suite 200", "12 Lakeview Pkwy Ste. 200"),
        ("12 Lakeview Pkwy, Floor 3", "12 Lakeview Pkwy Fl 3"),
        ("40 Elm Court Unit #7", "40 Elm Ct Unit 7"),
        ("P.O. Box 42", "PO Box 42"),
        ("Post Office Box 42", "po box 42"),
        ("8 Calle Peñón", "8 CALLE PENON"),
        ("3 Circle Drive Southwest", "3 Cir Dr SW"),
    ],
)
def test_suffixes_directionals_and_units_are_abbreviated_alike(one: str, other: str) -> None:
    assert normalise(address(one)) == normalise(address(other)) is not None


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("123 Main St Apt 4B", "123 Main St Apt 4C"),
        ("123 Main St Apt 4B", "125 Main St Apt 4B"),
        ("123 Main St", "123 Main St Apt 4B"),
        ("123 Main St", "123 Main Ave"),
        ("123 N Main St", "123 S Main St"),
    ],
)
def test_a_different_unit_house_or_street_is_a_different_address(one: str, other: str) -> None:
    assert address_hash(address(one), SALT) != address_hash(address(other), SALT)


def test_a_different_zip_is_a_different_address_but_city_and_region_are_ignored() -> None:
    # given TikTok's full state name and Shopify's code for one address
    tiktok = address("123 Main St", city="Los Angeles", region="California")
    shopify = address("123 Main St", city="LOS ANGELES", region="CA")
    # then they match, and another ZIP does not
    assert address_hash(tiktok, SALT) == address_hash(shopify, SALT)
    assert address_hash(tiktok, SALT) != address_hash(address("123 Main St", postal_code="90013"), SALT)


@pytest.mark.parametrize(
    "masked",
    [
        address("1** Main St"),
        address("123 Main St", line2="Apt *B"),
        address("123 Main St", postal_code="900**"),
        address("123 Main St", city="L*s Angeles"),
        address("123 Main St", region="C*"),
        address("123 Main St", country="U*"),
    ],
)
def test_a_masked_part_anywhere_never_matches(masked: Address) -> None:
    assert normalise(masked) is None
    assert address_hash(masked, SALT) is None


def test_a_masked_name_does_not_stop_a_full_street_from_matching() -> None:
    """Given TikTok masked only the recipient's name, then the address still matches its unmasked spelling."""
    assert address_hash(address("123 Main St", name="J*** D**"), SALT) == address_hash(address("123 Main Street", name="Jane Doe"), SALT)


@pytest.mark.parametrize(
    "incomplete",
    [address("123 Main St", postal_code=None), address("123 Main St", postal_code="  "), address(None), address("  "), address("-")],
)
def test_an_address_without_a_street_or_zip_never_matches(incomplete: Address) -> None:
    assert normalise(incomplete) is None
    assert address_hash(incomplete, SALT) is None


def test_the_country_defaults_to_us_and_is_compared() -> None:
    # given one street and postal code with no country, US, and Canada
    missing, us, canada = address("10 Main St"), address("10 Main St", country="us"), address("10 Main St", country="CA")
    # then a missing country is the US, and another country is another address
    assert normalise(missing) == normalise(us) == "10 MAIN ST|90012|US"
    assert address_hash(us, SALT) != address_hash(canada, SALT)


def test_a_non_us_postal_code_is_upper_case_without_spaces() -> None:
    # given a UK postcode typed two ways
    spaced = address("10 Downing Street", postal_code="sw1a 2aa", country="GB")
    compact = address("10 Downing St", postal_code="SW1A2AA", country="gb")
    # then it is kept whole (not cut like a ZIP) and compares equal
    assert normalise(spaced) == normalise(compact) == "10 DOWNING ST|SW1A2AA|GB"
    # and a Canadian code that looks nothing like a ZIP keeps all its characters
    assert normalise(address("1 Yonge St", postal_code="M5E 1W7", country="CA")) == "1 YONGE ST|M5E1W7|CA"


def test_route_numbers_are_not_read_as_apartments() -> None:
    assert normalise(address("100 Highway 1")) == "100 HWY 1|90012|US"
    assert normalise(address("100 County Road 12")) == "100 COUNTY RD 12|90012|US"


def test_the_salt_changes_the_hash() -> None:
    # given one address hashed for two tenants
    one = address("123 Main St Apt 4B")
    # then the hashes differ, are SHA-256 hex, and never contain the address
    first, second = address_hash(one, SALT), address_hash(one, "tenant-globex-salt")
    assert first is not None and second is not None and first != second
    assert len(first) == 64 and int(first, 16) >= 0
    assert "MAIN" not in first.upper()


def test_an_empty_salt_is_refused() -> None:
    with pytest.raises(ValueError, match="salt"):
        address_hash(address("123 Main St"), "")
