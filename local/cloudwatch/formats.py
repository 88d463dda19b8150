"""How CloudWatch writes numbers, times and Regions in alarm state reasons and SNS notifications.

CloudWatch is written in Java and it shows: every number in a StateReason, a StateReasonData document
or a notification is Java's `Double.toString` (`1.0`, `0.19726775956284198`, `1.50785441792E10`),
dates in a StateReason are `dd/MM/yy HH:mm:ss` in UTC (`[613.0 (16/03/24 12:15:00)]`), timestamps
in StateReasonData (compact JSON) and notifications are `yyyy-MM-dd'T'HH:mm:ss.SSS+0000`, and a notification names
the Region by its long name (`"Region":"EU (Ireland)"`: notifications still say "EU", never "Europe").
These were matched field by field against alarm history items, DescribeAlarms output, EventBridge
alarm events and SNS alarm notifications published in public repositories.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

# The Region names CloudWatch writes in notifications; a Region not listed is written as its code.
REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)", "us-west-2": "US West (Oregon)",
    "af-south-1": "Africa (Cape Town)", "ap-east-1": "Asia Pacific (Hong Kong)",
    "ap-south-1": "Asia Pacific (Mumbai)", "ap-south-2": "Asia Pacific (Hyderabad)",
    "ap-southeast-1": "Asia Pacific (Singapore)", "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-southeast-3": "Asia Pacific (Jakarta)", "ap-southeast-4": "Asia Pacific (Melbourne)",
    "ap-northeast-1": "Asia Pacific (Tokyo)", "ap-northeast-2": "Asia Pacific (Seoul)",
    "ap-northeast-3": "Asia Pacific (Osaka)", "ca-central-1": "Canada (Central)",
    "ca-west-1": "Canada West (Calgary)", "eu-central-1": "EU (Frankfurt)", "eu-central-2": "EU (Zurich)",
    "eu-west-1": "EU (Ireland)", "eu-west-2": "EU (London)", "eu-west-3": "EU (Paris)",
    "eu-north-1": "EU (Stockholm)", "eu-south-1": "EU (Milan)", "eu-south-2": "EU (Spain)",
    "il-central-1": "Israel (Tel Aviv)", "me-south-1": "Middle East (Bahrain)",
    "me-central-1": "Middle East (UAE)", "sa-east-1": "South America (Sao Paulo)",
    "cn-north-1": "China (Beijing)", "cn-northwest-1": "China (Ningxia)",
    "us-gov-west-1": "AWS GovCloud (US-West)", "us-gov-east-1": "AWS GovCloud (US-East)",
}


def region_name(region: str) -> str:
    return REGION_NAMES.get(region, region)


def java_double(value: float) -> str:
    """Java's Double.toString: plain between 10^-3 and 10^7, else d.dddE±n; always a fraction digit."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    value = float(value)
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        return repr(value)  # Python's shortest round-trip digits, positional in this range, like Java
    _, digits, exponent = Decimal(repr(abs(value))).as_tuple()
    text = "".join(map(str, digits))
    significant = text.rstrip("0")
    power = len(text) + int(exponent) - 1
    return f"{'-' if value < 0 else ''}{significant[0]}.{significant[1:] or '0'}E{power}"


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def epoch_to_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def reason_date(seconds: float) -> str:
    """A datapoint's time in a StateReason: 16/03/24 12:15:00."""
    return epoch_to_datetime(seconds).strftime("%d/%m/%y %H:%M:%S")


def timestamp(moment: datetime | float) -> str:
    """A time in StateReasonData and notifications: 2024-03-16T12:16:45.770+0000."""
    moment = epoch_to_datetime(moment) if isinstance(moment, int | float) else utc(moment)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}+0000"


def counted(count: int, noun: str) -> str:
    """1 datapoint, 3 datapoints, 1 period."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def was(count: int) -> str:
    return "was" if count == 1 else "were"
