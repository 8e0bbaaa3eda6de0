"""USPS Publication 28 word tables (appendices C1 and C2): street suffixes, directionals, unit designators and ordinals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final


def _merge(*tables: Mapping[str, str]) -> dict[str, str]:
    """Join word tables into one, refusing a word two tables would abbreviate differently."""
    merged: dict[str, str] = {}
    for table in tables:
        for word, abbreviation in table.items():
            if merged.setdefault(word, abbreviation) != abbreviation:
                raise ValueError(f"{word} abbreviates both to {merged[word]} and to {abbreviation}")
    return merged


def _table(groups: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Expand `standard: (variants...)` into `word -> standard`, the standard itself included."""
    return _merge(*({word: standard for word in (standard, *variants)} for standard, variants in groups.items()))


# USPS Publication 28 appendix C1: standard suffix abbreviation -> the spellings people type for it.
SUFFIXES: Final = _table(
    {
        "ALY": ("ALLEY", "ALLEE", "ALLY"),
        "ANX": ("ANNEX", "ANEX", "ANNX"),
        "ARC": ("ARCADE",),
        "AVE": ("AVENUE", "AV", "AVEN", "AVENU", "AVN", "AVNUE"),
        "BYU": ("BAYOU", "BAYOO"),
        "BCH": ("BEACH",),
        "BND": ("BEND",),
        "BLF": ("BLUFF", "BLUF"),
        "BLFS": ("BLUFFS",),
        "BTM": ("BOTTOM", "BOT", "BOTTM"),
        "BLVD": ("BOULEVARD", "BOUL", "BOULV", "BLV"),
        "BR": ("BRANCH", "BRNCH"),
        "BRG": ("BRIDGE", "BRDGE"),
        "BRK": ("BROOK",),
        "BRKS": ("BROOKS",),
        "BG": ("BURG",),
        "BGS": ("BURGS",),
        "BYP": ("BYPASS", "BYPA", "BYPAS", "BYPS"),
        "CP": ("CAMP", "CMP"),
        "CYN": ("CANYON", "CANYN", "CNYN"),
        "CPE": ("CAPE",),
        "CSWY": ("CAUSEWAY", "CAUSWA"),
        "CTR": ("CENTER", "CENTRE", "CEN", "CENT", "CENTR", "CNTER", "CNTR"),
        "CTRS": ("CENTERS", "CENTRES"),
        "CIR": ("CIRCLE", "CIRC", "CIRCL", "CRCL", "CRCLE"),
        "CIRS": ("CIRCLES",),
        "CLF": ("CLIFF",),
        "CLFS": ("CLIFFS",),
        "CLB": ("CLUB",),
        "CMN": ("COMMON",),
        "CMNS": ("COMMONS",),
        "COR": ("CORNER",),
        "CORS": ("CORNERS",),
        "CRSE": ("COURSE",),
        "CT": ("COURT", "CRT"),
        "CTS": ("COURTS",),
        "CV": ("COVE",),
        "CVS": ("COVES",),
        "CRK": ("CREEK",),
        "CRES": ("CRESCENT", "CRSENT", "CRSNT"),
        "CRST": ("CREST",),
        "XING": ("CROSSING", "CRSSNG"),
        "XRD": ("CROSSROAD",),
        "XRDS": ("CROSSROADS",),
        "CURV": ("CURVE",),
        "DL": ("DALE",),
        "DM": ("DAM",),
        "DV": ("DIVIDE", "DIV", "DVD"),
        "DR": ("DRIVE", "DRIV", "DRV"),
        "DRS": ("DRIVES",),
        "EST": ("ESTATE",),
        "ESTS": ("ESTATES",),
        "EXPY": ("EXPRESSWAY", "EXP", "EXPR", "EXPRESS", "EXPW"),
        "EXT": ("EXTENSION", "EXTN", "EXTNSN"),
        "EXTS": ("EXTENSIONS",),
        "FLS": ("FALLS",),
        "FRY": ("FERRY", "FRRY"),
        "FLD": ("FIELD",),
        "FLDS": ("FIELDS",),
        "FLT": ("FLAT",),
        "FLTS": ("FLATS",),
        "FRD": ("FORD",),
        "FRDS": ("FORDS",),
        "FRST": ("FOREST", "FORESTS"),
        "FRG": ("FORGE", "FORG"),
        "FRGS": ("FORGES",),
        "FRK": ("FORK",),
        "FRKS": ("FORKS",),
        "FT": ("FORT", "FRT"),
        "FWY": ("FREEWAY", "FREEWY", "FRWAY", "FRWY"),
        "GDN": ("GARDEN", "GARDN", "GRDEN", "GRDN"),
        "GDNS": ("GARDENS", "GRDNS"),
        "GTWY": ("GATEWAY", "GATEWY", "GATWAY", "GTWAY"),
        "GLN": ("GLEN",),
        "GLNS": ("GLENS",),
        "GRN": ("GREEN",),
        "GRNS": ("GREENS",),
        "GRV": ("GROVE", "GROV"),
        "GRVS": ("GROVES",),
        "HBR": ("HARBOR", "HARBOUR", "HARB", "HARBR", "HRBOR"),
        "HBRS": ("HARBORS",),
        "HVN": ("HAVEN",),
        "HTS": ("HEIGHTS", "HT"),
        "HWY": ("HIGHWAY", "HIGHWY", "HIWAY", "HIWY", "HWAY"),
        "HL": ("HILL",),
        "HLS": ("HILLS",),
        "HOLW": ("HOLLOW", "HOLLOWS", "HLLW", "HOLWS"),
        "INLT": ("INLET",),
        "IS": ("ISLAND", "ISLND"),
        "ISS": ("ISLANDS", "ISLNDS"),
        "ISLE": ("ISLES",),
        "JCT": ("JUNCTION", "JCTION", "JCTN", "JUNCTN", "JUNCTON"),
        "JCTS": ("JUNCTIONS", "JCTNS"),
        "KY": ("KEY",),
        "KYS": ("KEYS",),
        "KNL": ("KNOLL", "KNOL"),
        "KNLS": ("KNOLLS",),
        "LK": ("LAKE",),
        "LKS": ("LAKES",),
        "LNDG": ("LANDING", "LNDNG"),
        "LN": ("LANE",),
        "LGT": ("LIGHT",),
        "LGTS": ("LIGHTS",),
        "LF": ("LOAF",),
        "LCK": ("LOCK",),
        "LCKS": ("LOCKS",),
        "LDG": ("LODGE", "LDGE", "LODG"),
        "LOOP": ("LOOPS",),
        "MNR": ("MANOR",),
        "MNRS": ("MANORS",),
        "MDW": ("MEADOW",),
        "MDWS": ("MEADOWS", "MEDOWS"),
        "ML": ("MILL",),
        "MLS": ("MILLS",),
        "MSN": ("MISSION", "MISSN", "MSSN"),
        "MTWY": ("MOTORWAY",),
        "MT": ("MOUNT", "MNT"),
        "MTN": ("MOUNTAIN", "MNTAIN", "MNTN", "MOUNTIN", "MTIN"),
        "MTNS": ("MOUNTAINS", "MNTNS"),
        "NCK": ("NECK",),
        "ORCH": ("ORCHARD", "ORCHRD"),
        "OVAL": ("OVL",),
        "OPAS": ("OVERPASS",),
        "PARK": ("PARKS", "PRK"),
        "PKWY": ("PARKWAY", "PARKWAYS", "PARKWY", "PKWAY", "PKY", "PKWYS"),
        "PSGE": ("PASSAGE",),
        "PATH": ("PATHS",),
        "PIKE": ("PIKES",),
        "PNE": ("PINE",),
        "PNES": ("PINES",),
        "PL": ("PLACE",),
        "PLN": ("PLAIN",),
        "PLNS": ("PLAINS",),
        "PLZ": ("PLAZA", "PLZA"),
        "PT": ("POINT",),
        "PTS": ("POINTS",),
        "PRT": ("PORT",),
        "PRTS": ("PORTS",),
        "PR": ("PRAIRIE", "PRR"),
        "RADL": ("RADIAL", "RAD", "RADIEL"),
        "RNCH": ("RANCH", "RANCHES", "RNCHS"),
        "RPD": ("RAPID",),
        "RPDS": ("RAPIDS",),
        "RST": ("REST",),
        "RDG": ("RIDGE", "RDGE"),
        "RDGS": ("RIDGES",),
        "RIV": ("RIVER", "RVR", "RIVR"),
        "RD": ("ROAD",),
        "RDS": ("ROADS",),
        "RTE": ("ROUTE",),
        "SHL": ("SHOAL",),
        "SHLS": ("SHOALS",),
        "SHR": ("SHORE", "SHOAR"),
        "SHRS": ("SHORES", "SHOARS"),
        "SKWY": ("SKYWAY",),
        "SPG": ("SPRING", "SPNG", "SPRNG"),
        "SPGS": ("SPRINGS", "SPNGS", "SPRNGS"),
        "SPUR": ("SPURS",),
        "SQ": ("SQUARE", "SQR", "SQRE", "SQU"),
        "SQS": ("SQUARES", "SQRS"),
        "STA": ("STATION", "STATN", "STN"),
        "STRA": ("STRAVENUE", "STRAV", "STRAVEN", "STRAVN", "STRVN", "STRVNUE"),
        "STRM": ("STREAM", "STREME"),
        # SAINT shares ST with STREET on purpose: "St. James St" and "Saint James Street" are one street.
        "ST": ("STREET", "STRT", "STR", "SAINT"),
        "STS": ("STREETS",),
        "SMT": ("SUMMIT", "SUMIT", "SUMITT"),
        "TER": ("TERRACE", "TERR"),
        "TRWY": ("THROUGHWAY",),
        "TRCE": ("TRACE", "TRACES"),
        "TRAK": ("TRACK", "TRACKS", "TRK", "TRKS"),
        "TRFY": ("TRAFFICWAY",),
        "TRL": ("TRAIL", "TRAILS", "TRLS"),
        "TRLR": ("TRAILER", "TRLRS"),
        "TUNL": ("TUNNEL", "TUNNELS", "TUNEL", "TUNLS", "TUNNL"),
        "TPKE": ("TURNPIKE", "TRNPK", "TURNPK"),
        "UPAS": ("UNDERPASS",),
        "UN": ("UNION",),
        "UNS": ("UNIONS",),
        "VLY": ("VALLEY", "VALLY", "VLLY"),
        "VLYS": ("VALLEYS",),
        "VIA": ("VIADUCT", "VDCT", "VIADCT"),
        "VW": ("VIEW",),
        "VWS": ("VIEWS",),
        "VLG": ("VILLAGE", "VILL", "VILLAG", "VILLG", "VILLIAGE"),
        "VLGS": ("VILLAGES",),
        "VL": ("VILLE",),
        "VIS": ("VISTA", "VIST", "VST", "VSTA"),
        "WALK": ("WALKS",),
        "WAY": ("WY",),
        "WL": ("WELL",),
        "WLS": ("WELLS",),
    }
)


# Roads whose "suffix" is followed by a route number, not a unit: "100 Highway 1" has no apartment 1.
NUMBERED_ROADS: Final = frozenset({"HWY", "RTE", "FWY", "EXPY", "TPKE", "PIKE"})


DIRECTIONALS: Final = _table(
    {
        "N": ("NORTH",),
        "S": ("SOUTH",),
        "E": ("EAST",),
        "W": ("WEST",),
        "NE": ("NORTHEAST",),
        "NW": ("NORTHWEST",),
        "SE": ("SOUTHEAST",),
        "SW": ("SOUTHWEST",),
    }
)


# USPS Publication 28 appendix C2. KEY is left out: as a suffix it abbreviates to KY, and nobody types "Key 4".
UNITS: Final = _table(
    {
        "APT": ("APARTMENT", "APPT", "APTS"),
        "BSMT": ("BASEMENT",),
        "BLDG": ("BUILDING", "BLDNG"),
        "DEPT": ("DEPARTMENT",),
        "FL": ("FLOOR", "FLR"),
        "FRNT": ("FRONT",),
        "HNGR": ("HANGAR",),
        "LBBY": ("LOBBY",),
        "LOT": (),
        "LOWR": ("LOWER",),
        "OFC": ("OFFICE",),
        "PH": ("PENTHOUSE",),
        "PIER": (),
        "REAR": (),
        "RM": ("ROOM",),
        "SIDE": (),
        "SLIP": (),
        "SPC": ("SPACE",),
        "STOP": (),
        "STE": ("SUITE", "SUIT"),
        "TRLR": ("TRAILER",),
        "UNIT": (),
        "UPPR": ("UPPER",),
    }
)


# Numbered street names: "Fifth Avenue" and "5th Ave" are one street.
ORDINALS: Final = _table(
    {
        "1ST": ("FIRST",),
        "2ND": ("SECOND",),
        "3RD": ("THIRD",),
        "4TH": ("FOURTH",),
        "5TH": ("FIFTH",),
        "6TH": ("SIXTH",),
        "7TH": ("SEVENTH",),
        "8TH": ("EIGHTH",),
        "9TH": ("NINTH",),
        "10TH": ("TENTH",),
        "11TH": ("ELEVENTH",),
        "12TH": ("TWELFTH",),
    }
)


WORDS: Final = _merge(SUFFIXES, DIRECTIONALS, UNITS, ORDINALS)


SUFFIX_ABBREVIATIONS: Final = frozenset(SUFFIXES.values())


DIRECTIONAL_ABBREVIATIONS: Final = frozenset(DIRECTIONALS.values())


UNIT_DESIGNATORS: Final = frozenset(UNITS.values())
