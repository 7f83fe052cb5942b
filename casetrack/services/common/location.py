"""Where a case, a visit or a target is: WGS-84 coordinates checked, and links for map apps."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from casetrack.services.common.text import text_error

MAX_ADDRESS = 200
MAX_ACCURACY = 1e7  # metres: more than the earth's circumference is no reading at all
RANGES = {"lat": (-90.0, 90.0), "long": (-180.0, 180.0)}


@dataclass(frozen=True)
class Place:
    lat: float | None = None
    long: float | None = None
    accuracy: float | None = None

    @property
    def known(self) -> bool:
        return self.lat is not None and self.long is not None


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError
    number = float(value.strip() if isinstance(value, str) else value)
    if not math.isfinite(number):
        raise ValueError
    return number


def coordinate(name: str, value: Any, errors: dict[str, str], field: str) -> float | None:
    """`lat` or `long` in degrees, or None when not given; a bad one is noted under `field`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    low, high = RANGES[name]
    try:
        number = _number(value)
    except (TypeError, ValueError):
        errors[field] = _("%(field)s: a number of degrees, please.", field=field)
        return None
    if not low <= number <= high:
        errors[field] = _("%(field)s must be between %(low)d and %(high)d degrees.",
                          field=field, low=low, high=high)
        return None
    return number


def parse_place(location: Any, errors: dict[str, str], prefix: str = "location") -> Place:
    """A `{"lat", "long", "accuracy"}` object (or None); latitude and longitude come together."""
    if location is None or location == "":
        return Place()
    if not isinstance(location, dict):
        errors[prefix] = _("An object with lat, long and accuracy, please.")
        return Place()
    for key in location:
        if key not in ("lat", "long", "accuracy"):
            errors[f"{prefix}.{key}"] = _("This action takes no such field.")
    lat = coordinate("lat", location.get("lat"), errors, f"{prefix}.lat")
    lng = coordinate("long", location.get("long"), errors, f"{prefix}.long")
    accuracy = None
    raw = location.get("accuracy")
    if raw is not None and not (isinstance(raw, str) and not raw.strip()):
        try:
            accuracy = _number(raw)
        except (TypeError, ValueError):
            accuracy = -1.0
        if not 0 <= accuracy <= MAX_ACCURACY:
            errors[f"{prefix}.accuracy"] = _("%(field)s: metres, zero or more, please.",
                                             field=f"{prefix}.accuracy")
            accuracy = None
    for name, value, other in (("lat", lat, lng), ("long", lng, lat)):
        field = f"{prefix}.{name}"
        if value is None and other is not None and field not in errors:
            errors[field] = _("%(field)s is needed with the other coordinate.", field=field)
    if (lat is None or lng is None) and accuracy is not None:
        accuracy = None
    return Place(lat, lng, accuracy) if lat is not None and lng is not None else Place()


def parse_address(value: Any, errors: dict[str, str], field: str = "address") -> str:
    """A one-line address of at most MAX_ADDRESS characters ('' when not given)."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value.strip()) > MAX_ADDRESS:
        errors[field] = _("At most %(n)d characters.", n=MAX_ADDRESS)
        return ""
    if problem := text_error(value.strip()):
        errors[field] = problem
        return ""
    return value.strip()


def place_json(lat: float | None, lng: float | None, accuracy: float | None = None) -> dict[str, Any] | None:
    """The API's `location` (None when unknown)."""
    return None if lat is None or lng is None else {"lat": lat, "long": lng, "accuracy": accuracy}


# -- map apps ------------------------------------------------------------------------------
# Chinese map apps (Amap, Baidu's own differs again, Tencent) take GCJ-02, WGS-84 shifted by
# the national formula; a WGS-84 point shown on them lands a few hundred metres off.

_A = 6378245.0                 # the Krasovsky ellipsoid's semi-major axis, as the formula uses
_EE = 0.00669342162296594323   # and its eccentricity squared


def _in_china(lat: float, lng: float) -> bool:
    """The formula's own box: outside it GCJ-02 equals WGS-84."""
    return 0.8293 <= lat <= 55.8271 and 72.004 <= lng <= 137.8347


def _shift_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _shift_lng(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """(lat, long) in GCJ-02 for a WGS-84 point; unchanged outside China."""
    if not _in_china(lat, lng):
        return lat, lng
    d_lat = _shift_lat(lng - 105.0, lat - 35.0)
    d_lng = _shift_lng(lng - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lng = (d_lng * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return lat + d_lat, lng + d_lng


def amap_url(lat: float, lng: float) -> str:
    """A link that opens the point in Amap (高德地图), in the app on a phone, else on the web."""
    g_lat, g_lng = wgs84_to_gcj02(lat, lng)
    return f"https://uri.amap.com/marker?position={g_lng:.6f},{g_lat:.6f}"


MAX_URL = 500


def parse_media_url(value: Any, errors: dict[str, str], field: str = "media_url") -> str:
    """An http(s) URL of a photo kept elsewhere ('' when not given)."""
    if value is None or value == "":
        return ""
    text = value.strip() if isinstance(value, str) else ""
    if not text.lower().startswith(("http://", "https://")) or len(text) > MAX_URL \
            or text_error(text) or " " in text:
        errors[field] = _("%(field)s: an http or https address of at most %(n)d characters, please.",
                          field=field, n=MAX_URL)
        return ""
    return text
