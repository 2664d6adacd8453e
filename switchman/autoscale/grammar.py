"""The ``az monitor autoscale`` mini-languages: conditions, scale actions, durations, time zones.

Every parser raises :class:`BadArgumentError` with one paragraph that says what is valid, so the
CLI and the REST API reject bad input the same way and nothing is half-created.
"""

from __future__ import annotations

import math
import re
import shlex
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from switchman.errors import BadArgumentError

# Metric name → (scope, kind). Scope: which resource emits it (reference §8.2/§8.3). Kind: how the
# rows of one time slot combine — "instance" metrics are per-instance values (the statistic is
# taken across instances, and a scale-in divides them over fewer instances), "sum" metrics add up
# across their dimension values (RequestsPerMinute per status code), "gauge" metrics are one value.
METRICS: dict[str, tuple[str, str]] = {
    "CpuUtilizationPercentage": ("deployment", "instance"),
    "CpuMemoryUtilizationPercentage": ("deployment", "instance"),
    "ConcurrentRequestsPerInstance": ("deployment", "instance"),
    "DeploymentCapacity": ("deployment", "sum"),
    "RequestsPerMinute": ("both", "sum"),
    "RequestLatency": ("endpoint", "gauge"),
    "RequestLatency_P50": ("both", "gauge"),
    "RequestLatency_P90": ("both", "gauge"),
    "RequestLatency_P95": ("both", "gauge"),
    "RequestLatency_P99": ("both", "gauge"),
    "NetworkBytes": ("endpoint", "sum"),
    "ColdStartLatency": ("deployment", "gauge"),
}
OPERATORS = {
    ">": "GreaterThan",
    ">=": "GreaterThanOrEqual",
    "<": "LessThan",
    "<=": "LessThanOrEqual",
    "==": "Equals",
    "!=": "NotEquals",
}
AGGREGATIONS = {
    "avg": "Average",
    "min": "Minimum",
    "max": "Maximum",
    "total": "Total",
    "count": "Count",
    "last": "Last",
}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_ISO = re.compile(
    r"^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# Windows time-zone names (what `az monitor autoscale --timezone` takes) → IANA. The CLDR
# "001" territory mapping for the zones people schedule in; IANA names are accepted as they are.
WINDOWS_ZONES = {
    "Dateline Standard Time": "Etc/GMT+12",
    "UTC-11": "Etc/GMT+11",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Alaskan Standard Time": "America/Anchorage",
    "Pacific Standard Time": "America/Los_Angeles",
    "Pacific Standard Time (Mexico)": "America/Tijuana",
    "US Mountain Standard Time": "America/Phoenix",
    "Mountain Standard Time": "America/Denver",
    "Central America Standard Time": "America/Guatemala",
    "Central Standard Time": "America/Chicago",
    "Central Standard Time (Mexico)": "America/Mexico_City",
    "Canada Central Standard Time": "America/Regina",
    "SA Pacific Standard Time": "America/Bogota",
    "Eastern Standard Time": "America/New_York",
    "US Eastern Standard Time": "America/Indianapolis",
    "Atlantic Standard Time": "America/Halifax",
    "SA Western Standard Time": "America/La_Paz",
    "Newfoundland Standard Time": "America/St_Johns",
    "E. South America Standard Time": "America/Sao_Paulo",
    "Argentina Standard Time": "America/Buenos_Aires",
    "UTC": "Etc/UTC",
    "Coordinated Universal Time": "Etc/UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Romance Standard Time": "Europe/Paris",
    "Central European Standard Time": "Europe/Warsaw",
    "W. Central Africa Standard Time": "Africa/Lagos",
    "GTB Standard Time": "Europe/Bucharest",
    "E. Europe Standard Time": "Europe/Chisinau",
    "FLE Standard Time": "Europe/Kiev",
    "Israel Standard Time": "Asia/Jerusalem",
    "Egypt Standard Time": "Africa/Cairo",
    "South Africa Standard Time": "Africa/Johannesburg",
    "Turkey Standard Time": "Europe/Istanbul",
    "Russian Standard Time": "Europe/Moscow",
    "Arab Standard Time": "Asia/Riyadh",
    "Arabian Standard Time": "Asia/Dubai",
    "Iran Standard Time": "Asia/Tehran",
    "Pakistan Standard Time": "Asia/Karachi",
    "India Standard Time": "Asia/Calcutta",
    "Nepal Standard Time": "Asia/Katmandu",
    "Bangladesh Standard Time": "Asia/Dhaka",
    "SE Asia Standard Time": "Asia/Bangkok",
    "China Standard Time": "Asia/Shanghai",
    "Singapore Standard Time": "Asia/Singapore",
    "Taipei Standard Time": "Asia/Taipei",
    "W. Australia Standard Time": "Australia/Perth",
    "Tokyo Standard Time": "Asia/Tokyo",
    "Korea Standard Time": "Asia/Seoul",
    "Cen. Australia Standard Time": "Australia/Adelaide",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "E. Australia Standard Time": "Australia/Brisbane",
    "New Zealand Standard Time": "Pacific/Auckland",
}


def _bad(message: str) -> BadArgumentError:
    return BadArgumentError(message)


def seconds(text: str, *, what: str) -> float:
    """``30s`` / ``5m`` / ``1h`` / ``1d`` or ISO 8601 ``PT5M`` → seconds (> 0)."""
    raw = str(text).strip()
    match = _DURATION.match(raw.lower())
    if match:
        value = float(match.group(1)) * _UNIT[match.group(2)]
    else:
        iso = _ISO.match(raw.upper())
        if not iso or raw.upper() in ("P", "PT"):
            raise _bad(
                f"{what} {text!r} is not a duration: use a number with s, m, h or d "
                "(30s, 5m, 1h, 1d) or ISO 8601 (PT30S, PT5M, PT1H)."
            )
        d, h, m, s = (float(g) if g else 0.0 for g in iso.groups())
        value = d * 86400 + h * 3600 + m * 60 + s
    if value <= 0:
        raise _bad(f"{what} {text!r} must be longer than zero.")
    return value


def iso(value: float) -> str:
    """Seconds → ISO 8601 duration as Azure writes it (``PT5M``, ``PT30S``, ``PT1H30M``)."""
    total = round(value, 3)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    out = "PT"
    if hours:
        out += f"{int(hours)}H"
    if minutes:
        out += f"{int(minutes)}M"
    if secs or out == "PT":
        out += f"{secs:g}S"
    return out


def cooldown_seconds(text: str) -> float:
    """``--cooldown``: minutes as ``az`` takes them (``5``, ``0.5``) or a duration (``30s``)."""
    raw = str(text).strip()
    try:
        value = float(raw) * 60.0
    except ValueError:
        return seconds(raw, what="--cooldown")
    if value < 0 or not math.isfinite(value):
        raise _bad(f"--cooldown {text!r} must be zero or more minutes, e.g. --cooldown 5.")
    return value


def metric_names() -> str:
    return ", ".join(sorted(METRICS))


def parse_condition(text: str) -> dict[str, Any]:
    """``"<metric> <op> <threshold> <avg|min|max|total|count> <window> [where DIM == V [or V] [and ...]]"``.

    The ``where`` clause may also come first, right after the metric (``RequestLatency where
    Deployment == blue > 70 avg 5m``). Returns the ``metricTrigger`` JSON without the resource URI.
    """
    usage = (
        'Use "<metric> <op> <threshold> <aggregation> <window> [where <dimension> == <value>]", '
        'e.g. "CpuUtilizationPercentage > 70 avg 5m" or "RequestLatency > 70 avg 5m where '
        'Deployment == blue"; operators: > >= < <= == !=; aggregations: avg, min, max, total, '
        "count; windows: 30s, 5m, 1h."
    )
    try:
        tokens = shlex.split(text or "")
    except ValueError as exc:
        raise _bad(f"--condition {text!r} is malformed ({exc}). {usage}") from None
    lower = [t.lower() for t in tokens]
    where: list[str] = []
    if "where" in lower:
        at = lower.index("where")
        # the where clause ends where the comparison starts (if it came right after the metric)
        end = len(tokens)
        for i in range(at + 1, len(tokens) - 2):
            if tokens[i] in OPERATORS and tokens[i + 1] not in OPERATORS:
                nxt = tokens[i + 2].lower() if i + 2 < len(tokens) else ""
                if nxt in AGGREGATIONS:
                    end = i
                    break
        where = tokens[at + 1 : end]
        tokens = tokens[:at] + tokens[end:]
    if len(tokens) != 5:
        raise _bad(f"--condition {text!r} is malformed. {usage}")
    metric, op, threshold, aggregation, window = tokens
    if metric not in METRICS:
        close = [m for m in METRICS if m.lower() == metric.lower()]
        if close:
            metric = close[0]
        else:
            raise _bad(
                f"--condition names metric {metric!r}, which Switchman does not record. Valid "
                f"metrics: {metric_names()}."
            )
    if op not in OPERATORS:
        raise _bad(
            f"--condition {text!r}: {op!r} is not an operator; use one of > >= < <= == !=. {usage}"
        )
    try:
        value = float(threshold)
    except ValueError:
        raise _bad(
            f"--condition {text!r}: threshold {threshold!r} is not a number. {usage}"
        ) from None
    if aggregation.lower() not in AGGREGATIONS:
        raise _bad(
            f"--condition {text!r}: {aggregation!r} is not an aggregation; use avg, min, max, "
            "total or count."
        )
    window_s = seconds(window, what=f"--condition {text!r}: window")
    return {
        "metricName": metric,
        "metricNamespace": "",
        "operator": OPERATORS[op],
        "threshold": value,
        "timeAggregation": AGGREGATIONS[aggregation.lower()],
        "timeWindow": iso(window_s),
        "dimensions": parse_where(where, text),
    }


def parse_where(tokens: list[str], text: str) -> list[dict[str, Any]]:
    """``Deployment == blue or green and statusCodeClass != 5xx`` → Azure's dimension filters."""
    if not tokens:
        return []
    out: list[dict[str, Any]] = []
    clauses: list[list[str]] = [[]]
    for token in tokens:
        if token.lower() == "and":
            clauses.append([])
        else:
            clauses[-1].append(token)
    for clause in clauses:
        if len(clause) < 3 or clause[1] not in ("==", "!=") or clause[0] in ("==", "!="):
            raise _bad(
                f"--condition {text!r}: the where clause must read '<dimension> == <value> "
                "[or <value>] [and <dimension> != <value>]', e.g. 'where Deployment == blue'."
            )
        values = [v for i, v in enumerate(clause[2:]) if i % 2 == 0]
        joiners = [v for i, v in enumerate(clause[2:]) if i % 2 == 1]
        if any(j.lower() != "or" for j in joiners):
            raise _bad(
                f"--condition {text!r}: join values of one dimension with 'or', dimensions with 'and'."
            )
        out.append(
            {
                "DimensionName": clause[0],
                "Operator": "Equals" if clause[1] == "==" else "NotEquals",
                "Values": values,
            }
        )
    return out


def parse_timegrain(text: str) -> tuple[str, str]:
    """``--timegrain "avg 1m"`` → (statistic, ISO grain)."""
    parts = str(text).split()
    if len(parts) != 2 or parts[0].lower() not in ("avg", "min", "max", "sum"):
        raise _bad(
            f"--timegrain {text!r} is malformed: use '<avg|min|max|sum> <grain>', e.g. 'avg 1s'."
        )
    statistic = {"avg": "Average", "min": "Min", "max": "Max", "sum": "Sum"}[parts[0].lower()]
    return statistic, iso(seconds(parts[1], what="--timegrain grain"))


def parse_scale(tokens: list[str], *, cooldown: str = "5") -> dict[str, Any]:
    """``--scale out 2`` / ``in 1`` / ``to 5`` / ``out 50%`` / ``out 50 percent`` / ``target``."""
    usage = (
        "Use --scale out N, --scale in N, --scale to N (add % or 'percent' after N for a percent "
        "change), or --scale target (target tracking: the condition's threshold is the target)."
    )
    words = [t.strip() for t in tokens if t.strip()]
    if not words:
        raise _bad(f"--scale is missing its direction. {usage}")
    direction = words[0].lower()
    cool = iso(cooldown_seconds(cooldown)) if cooldown_seconds(cooldown) > 0 else "PT0S"
    if direction == "target":
        if len(words) != 1:
            raise _bad(f"--scale target takes no value. {usage}")
        return {"direction": "Increase", "type": "TargetTracking", "value": "0", "cooldown": cool}
    if direction not in ("out", "in", "to") or len(words) not in (2, 3):
        raise _bad(f"--scale {' '.join(tokens)!r} is malformed. {usage}")
    raw = words[1]
    percent = raw.endswith("%") or (len(words) == 3 and words[2].lower() in ("percent", "%"))
    if len(words) == 3 and not percent:
        raise _bad(f"--scale {' '.join(tokens)!r} is malformed. {usage}")
    try:
        value = int(raw.rstrip("%"))
    except ValueError:
        raise _bad(
            f"--scale {' '.join(tokens)!r}: {raw!r} is not a whole number. {usage}"
        ) from None
    if value < 0 or (direction != "to" and value == 0):
        raise _bad(f"--scale {' '.join(tokens)!r}: the amount must be a positive number. {usage}")
    if direction == "to":
        if percent:
            raise _bad(f"--scale to takes a count, not a percent. {usage}")
        return {"direction": "None", "type": "ExactCount", "value": str(value), "cooldown": cool}
    return {
        "direction": "Increase" if direction == "out" else "Decrease",
        "type": "PercentChangeCount" if percent else "ChangeCount",
        "value": str(value),
        "cooldown": cool,
    }


def timezone(name: str | None) -> str:
    """A Windows zone name (``Pacific Standard Time``) or an IANA name → the name as stored.

    Windows names are kept as given (``az`` shows them back); :func:`zone` resolves either kind.
    """
    if not name:
        return "UTC"
    zone(name)
    return name


def zone(name: str) -> ZoneInfo:
    key = WINDOWS_ZONES.get(name) or next(
        (v for k, v in WINDOWS_ZONES.items() if k.lower() == name.lower()), name
    )
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        sample = ", ".join(list(WINDOWS_ZONES)[4:8])
        raise _bad(
            f"--timezone {name!r} is not a time zone: use a Windows name as az does ({sample}, "
            "...) or an IANA name (America/Los_Angeles, Europe/Berlin, UTC)."
        ) from None


def is_known_zone(name: str) -> bool:
    return name in WINDOWS_ZONES or name in available_timezones()


def parse_days(tokens: list[str]) -> list[str]:
    """``--recurrence week sat sun`` → ``["Saturday", "Sunday"]``."""
    usage = (
        "Use --recurrence week <days>, with days from mon tue wed thu fri sat sun (full names "
        "work too), e.g. --recurrence week sat sun."
    )
    if not tokens or tokens[0].lower() != "week":
        raise _bad(f"--recurrence {' '.join(tokens)!r} is malformed: {usage}")
    days: list[str] = []
    for token in tokens[1:]:
        matches = [d for d in DAYS if len(token) >= 2 and d.startswith(token.lower())]
        if len(matches) != 1:
            raise _bad(f"--recurrence: {token!r} is not a day of the week. {usage}")
        name = matches[0].capitalize()
        if name not in days:
            days.append(name)
    if not days:
        raise _bad(f"--recurrence week needs at least one day. {usage}")
    return days


def parse_clock(text: str, *, what: str) -> tuple[int, int]:
    """``08:00`` → (8, 0)."""
    match = re.match(r"^(\d{1,2}):(\d{2})$", str(text).strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise _bad(f"{what} {text!r} is not a time of day: use HH:MM, e.g. 08:00.")
    return int(match.group(1)), int(match.group(2))
