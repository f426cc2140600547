"""The YAML configuration: pydantic models, loading, ``${VAR}`` secrets, readable errors.

Every problem is reported at once as ``FILE: dotted.path: what is wrong`` so the lead can fix
the whole file in one go. Secrets are ``SecretStr`` and never appear in a repr or a log line.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from planerka_sync.domain.cadence import DEFAULT_ANCHOR, CadenceError, build_schedule
from planerka_sync.domain.workday import DEFAULT_TIMEZONE, DEFAULT_WORKING_DAY_END, WorkingDay
from planerka_sync.errors import ConfigError
from planerka_sync.kpi_sources.ga4 import Ga4Settings
from planerka_sync.kpi_sources.http_json import HttpJsonSettings
from planerka_sync.kpi_sources.sheet import SheetSettings
from planerka_sync.kpi_sources.yandex_direct import YandexDirectSettings
from planerka_sync.kpi_sources.yandex_metrica import YandexMetricaSettings
from planerka_sync.messages import t

DEFAULT_CONFIG_NAME = "planerka.yaml"
CONFIG_ENV = "PLANERKA_CONFIG"

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
FIRST_DATES = (date(1970, 1, 1), date(2199, 12, 31))
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*$")


# Lead times and intervals are hours or days. A year is a generous bound, and it keeps
# "meeting start - prepare_before" a real date (timedelta itself overflows near 2.7 million years).
MAX_DURATION = timedelta(days=366)


def parse_duration(value: Any) -> timedelta:
    """'24h', '1h30m', '2d', '90m' or a number of minutes; at most MAX_DURATION."""
    if isinstance(value, timedelta):
        return _bounded_duration(value // timedelta(minutes=1), value)
    if isinstance(value, int) and not isinstance(value, bool):
        return _bounded_duration(value)
    match = _DURATION.match(str(value)) if isinstance(value, str) else None
    if not match or not any(match.groups()):
        raise ValueError(t("expected a duration like '24h', '1h30m', '2d' or '90m'",
                           "ожидается длительность вида '24h', '1h30m', '2d' или '90m'"))
    days, hours, minutes = (int(g or 0) for g in match.groups())
    return _bounded_duration(days * 24 * 60 + hours * 60 + minutes)


def _bounded_duration(minutes: int, exact: timedelta | None = None) -> timedelta:
    """Checked as a number first: ``timedelta(days=99999999999)`` raises OverflowError, which
    pydantic would not turn into a problem with the option's path."""
    if minutes < 0:
        raise ValueError(t("expected a duration like '24h' or '90m', not a negative one",
                           "ожидается длительность вида '24h' или '90m', не отрицательная"))
    if minutes > MAX_DURATION // timedelta(minutes=1):
        raise ValueError(t(f"at most {MAX_DURATION.days} days (e.g. '24h', '2d', '30d'); "
                           f"a longer lead time or interval is surely a typo",
                           f"не больше {MAX_DURATION.days} дней (например, '24h', '2d', '30d'); "
                           f"больший срок — наверняка опечатка"))
    return exact if exact is not None else timedelta(minutes=minutes)


Duration = Annotated[timedelta, Field(json_schema_extra={"type": "string", "examples": ["24h"]})]

_CLOCK = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")
CLOCK_HELP = 'expected a time of day like "18:00" (HH:MM, 24-hour clock)'


def _clock_help() -> str:
    return t(CLOCK_HELP, 'ожидается время суток вида "18:00" (ЧЧ:ММ, 24 часа)')


def yaml_clock(value: Any) -> Any:
    """An unquoted ``18:00`` is the number 1080 to YAML (base 60: minutes since midnight), and
    pydantic would read that as 1,080 seconds, 00:18 UTC; such a number is turned back into the
    time that was written. (An unquoted ``10:00:00`` is 36,000, seconds, which pydantic reads
    right.)"""
    if isinstance(value, int) and not isinstance(value, bool) and 60 <= value < 24 * 60:
        return dt.time(value // 60, value % 60)
    return value


def parse_clock(value: Any) -> dt.time:
    """A time of day, HH:MM: '18:00', '9:30', a time, or an unquoted 18:00 (see yaml_clock)."""
    value = yaml_clock(value)
    if isinstance(value, dt.time):
        if value.tzinfo is not None or value.second or value.microsecond:
            raise ValueError(_clock_help() + t(", local to `timezone`: no seconds, no offset",
                                               " в поясе `timezone`: без секунд и смещения"))
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(_clock_help() + t(f'; YAML read the number {value}: write it as '
                                           '"HH:MM" in quotes',
                                           f'; YAML прочитал число {value}: напишите время '
                                           'в кавычках, "ЧЧ:ММ"'))
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(_clock_help())
    return dt.time(int(match.group(1)), int(match.group(2)))


Clock = Annotated[dt.time, Field(json_schema_extra={"type": "string", "pattern": _CLOCK.pattern,
                                                    "examples": ["18:00"]})]


StatusWord = Literal["not_started", "in_progress", "done"]

# A model validator that blames one option of its model raises this error type; its problem is
# then reported under that option's path (see _error_path), like a field validator's.
_OPTION_ERROR = "option_error"


def _option_error(option: str, problem: str) -> PydanticCustomError:
    return PydanticCustomError(_OPTION_ERROR, "{option}: {problem}",
                               {"option": option, "problem": problem})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


SETTLE_AFTER = timedelta(minutes=15)
SETTLE_HELP = ("how long a task whose create got no clear answer (a time-out, a 5xx) is looked "
               "for in the tracker before it is created again; longer than the tracker's "
               "search lag (Jira Cloud: minutes)")
MAX_RETRY_AFTER = timedelta(minutes=10)
MAX_RETRY_AFTER_HELP = ("the longest Retry-After of a 429 that is waited out; a longer one gives "
                        "the request up (the next run resumes it)")


class TrelloTracker(_Model):
    kind: Literal["trello"]
    url: str = Field("https://api.trello.com", description="API base URL (a sandbox URL in demo)")
    api_key: SecretStr = Field(description="Trello API key, e.g. ${TRELLO_API_KEY}")
    token: SecretStr = Field(description="Trello token, e.g. ${TRELLO_TOKEN}")
    board: str = Field(description="board name or id")
    meetings_list: str = "Планёрки"
    tasks_list: str = "To Do"
    done_lists: list[str] = Field(default_factory=lambda: ["Done"])
    status_map: dict[str, StatusWord] = Field(
        default_factory=dict, description='list name -> status, e.g. {"Review": in_progress}'
    )
    settle_after: Duration = Field(SETTLE_AFTER, description=SETTLE_HELP)
    max_retry_after: Duration = Field(MAX_RETRY_AFTER, description=MAX_RETRY_AFTER_HELP)

    _settle = field_validator("settle_after", mode="before")(parse_duration)
    _retry_after = field_validator("max_retry_after", mode="before")(parse_duration)


class JiraTracker(_Model):
    kind: Literal["jira"]
    deployment: Literal["cloud", "datacenter"] = "cloud"
    url: str = Field(description="site URL, e.g. https://acme.atlassian.net")
    email: str | None = Field(None, description="account email (cloud only)")
    token: SecretStr = Field(description="Cloud API token or Data Center personal access token")
    project: str = Field(description="project key, e.g. MKT")
    meeting_issue_type: str = "Task"
    task_issue_type: str = "Task"
    status_map: dict[str, StatusWord] = Field(
        default_factory=dict, description='status name -> status, e.g. {"Review": in_progress}'
    )
    settle_after: Duration = Field(SETTLE_AFTER, description=SETTLE_HELP)
    max_retry_after: Duration = Field(MAX_RETRY_AFTER, description=MAX_RETRY_AFTER_HELP)

    _settle = field_validator("settle_after", mode="before")(parse_duration)
    _retry_after = field_validator("max_retry_after", mode="before")(parse_duration)

    @model_validator(mode="after")
    def _cloud_needs_email(self) -> JiraTracker:
        if self.deployment == "cloud" and not self.email:
            raise ValueError("email: Jira Cloud signs in with email + API token; set email")
        return self


Tracker = Annotated[TrelloTracker | JiraTracker, Field(discriminator="kind")]


class Person(_Model):
    id: Slug
    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    trello: str | None = Field(None, description="Trello username")
    jira: str | None = Field(None, description="Jira Cloud accountId or Data Center username")
    email: str | None = None


class MeetingSeries(_Model):
    id: Slug
    title: str = Field(min_length=1)
    cadence: str = Field("weekly", description="weekly | biweekly | monthly | RRULE:FREQ=...")
    weekday: str | None = Field("MO", description="MO..SU; monthly: e.g. 1MO (first Monday)")
    day_of_month: int | None = Field(None, ge=1, le=31, description="monthly on a day number")
    first_date: date | None = Field(
        None, description="date of a first meeting; biweekly meetings keep its week parity"
    )
    time: dt.time = Field(default=dt.time(10, 0), description="start time, HH:MM, local")
    duration_minutes: int = Field(60, gt=0, le=24 * 60)
    place: str = ""
    facilitator: str | None = None
    participants: list[str] = Field(min_length=1)
    skip_dates: list[date] = Field(default_factory=list)
    agenda: str = "marketing-kpi"
    kpis: str = "marketing"
    prepare_before: Duration = timedelta(hours=24)
    progress_before: Duration = timedelta(hours=1)
    sync_interval: Duration = timedelta(minutes=5)
    default_owner: str | None = None

    _durations = field_validator(
        "prepare_before", "progress_before", "sync_interval", mode="before"
    )(parse_duration)
    _time = field_validator("time", mode="before")(yaml_clock)

    @field_validator("first_date")
    @classmethod
    def _plausible_first_date(cls, value: date | None) -> date | None:
        # Occurrences are counted from this date on every tick, and a date at the calendar's
        # edge (0001-01-01, 9999-12-31) overflows once a time zone or a duration is applied.
        if value is not None and not FIRST_DATES[0] <= value <= FIRST_DATES[1]:
            raise ValueError(t(f"expected a date between {FIRST_DATES[0]} and {FIRST_DATES[1]}",
                               f"ожидается дата от {FIRST_DATES[0]} до {FIRST_DATES[1]}"))
        return value

    @model_validator(mode="after")
    def _schedule_can_be_built(self) -> MeetingSeries:
        """Build the schedule prepare and run will build, so any cadence mistake is reported
        here, against its option, rather than as a crash of the first command that needs it.
        The zone cannot make a rule invalid, so UTC stands in for the config's timezone."""
        try:
            build_schedule(self.cadence, at=self.time, zone="UTC",
                           duration_minutes=self.duration_minutes, weekday=self.weekday,
                           day_of_month=self.day_of_month, skip_dates=frozenset(self.skip_dates),
                           anchor=self.first_date or DEFAULT_ANCHOR)
        except CadenceError as exc:
            raise _option_error(exc.option, str(exc)) from None
        return self

    @field_validator("cadence")
    @classmethod
    def _known_cadence(cls, value: str) -> str:
        if value in ("weekly", "biweekly", "monthly") or value.upper().startswith("RRULE:"):
            return value
        raise ValueError(t("expected weekly, biweekly, monthly or an RRULE:FREQ=... rule",
                           "ожидается weekly, biweekly, monthly или правило RRULE:FREQ=..."))

    @field_validator("weekday")
    @classmethod
    def _known_weekday(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = re.fullmatch(r"([+-]?[1-5])?(MO|TU|WE|TH|FR|SA|SU)", value.strip().upper())
        if not match:
            raise ValueError(t(f"expected one of {', '.join(WEEKDAYS)}, or e.g. 1MO for monthly",
                               f"ожидается один из дней {', '.join(WEEKDAYS)} или, например, 1MO "
                               "для ежемесячных встреч"))
        return value.strip().upper()


HttpJsonSource = HttpJsonSettings  # the name it had when it was the only source


def _source_kind(value: Any) -> str | None:
    """A source without ``kind`` is an http-json one, as it was before there were others."""
    if isinstance(value, dict):
        return str(value.get("kind", "http-json"))
    return getattr(value, "kind", None)


KpiSourceSettings = Annotated[
    Annotated[HttpJsonSettings, Tag("http-json")]
    | Annotated[YandexMetricaSettings, Tag("yandex-metrica")]
    | Annotated[Ga4Settings, Tag("google-analytics-4")]
    | Annotated[YandexDirectSettings, Tag("yandex-direct")]
    | Annotated[SheetSettings, Tag("sheet")],
    Discriminator(_source_kind),
]


class ServeSettings(_Model):
    """`planerka-sync serve` (and `run --http`): webhooks from the trackers, the Power-Up's API."""

    public_url: str | None = Field(
        None, description="base URL the trackers reach this service at, e.g. "
        "https://planerka.example.com (Trello signs the callback URL it was registered with); "
        "default: the address serve listens on")
    trello_app_secret: SecretStr | None = Field(
        None, description="Trello app secret (trello.com/app-key), e.g. ${TRELLO_APP_SECRET}: "
        "verifies Trello's webhook signatures")
    jira_webhook_secret: SecretStr | None = Field(
        None, description="the secret of the Jira admin webhook, e.g. "
        "${PLANERKA_JIRA_WEBHOOK_SECRET}")
    jira_automation_token: SecretStr | None = Field(
        None, description="shared token a Jira Automation rule sends in X-Planerka-Token, for "
        "teams without Jira admin rights")
    powerup_api_key: str | None = Field(
        None, description="the Power-Up's Trello API key (its tokens are checked with it); "
        "default: tracker.api_key")
    allowed_origins: list[str] = Field(
        default_factory=lambda: ["https://trello.com"],
        description="browser origins allowed to call the Power-Up API (CORS)")
    max_body_kb: int = Field(512, ge=1, le=16 * 1024, description="largest request body accepted")
    events_per_minute: int = Field(
        600, ge=1, description="webhook deliveries accepted per source and minute (then 429)")


class Config(_Model):
    locale: Literal["ru", "en"] = "ru"
    timezone: str = DEFAULT_TIMEZONE
    working_day_end: Clock = Field(
        DEFAULT_WORKING_DAY_END,
        description='end of the team\'s working day, HH:MM local to timezone: a task due on a date '
        'is due at this time that day where the tracker keeps a time (Trello); Jira keeps the '
        'date alone')
    database: str | None = Field(None, description="SQLAlchemy URL; default: a SQLite file")
    tracker: Tracker
    people: list[Person] = Field(min_length=1)
    meetings: list[MeetingSeries] = Field(min_length=1)
    kpi_sources: list[KpiSourceSettings] = Field(
        default_factory=list, description="where KPI values come from on their own: "
        "yandex-metrica, google-analytics-4, yandex-direct, sheet, http-json")
    serve: ServeSettings = Field(default_factory=lambda: ServeSettings.model_validate({}))

    _working_day_end = field_validator("working_day_end", mode="before")(parse_clock)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(t(f"unknown time zone {value!r}; use an IANA name",
                               f"неизвестный часовой пояс {value!r}; укажите имя IANA, например "
                               "Europe/Moscow")) from exc
        return value

    @property
    def working_day(self) -> WorkingDay:
        """When a task due on a date is due, in the team's zone."""
        return WorkingDay.of(self.timezone, self.working_day_end)

    def person(self, person_id: str) -> Person:
        return next(p for p in self.people if p.id == person_id)

    def series(self, series_id: str) -> MeetingSeries:
        return next(m for m in self.meetings if m.id == series_id)


# --- cross-checks that need the whole file ---------------------------------------------------


def cross_check(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, problem) pairs for references between sections.

    Works on the raw mapping, so these are reported together with type errors elsewhere.
    """
    people = [p for p in _list(data.get("people")) if isinstance(p, dict)]
    meetings = [m for m in _list(data.get("meetings")) if isinstance(m, dict)]
    problems = list(_duplicates("people", [str(p.get("id")) for p in people]))
    problems += _duplicates("meetings", [str(m.get("id")) for m in meetings])
    known = [str(p.get("id")) for p in people]
    for i, series in enumerate(meetings):
        where = f"meetings[{i}]"
        for j, pid in enumerate(_list(series.get("participants"))):
            problems += _unknown_person(f"{where}.participants[{j}]", str(pid), known)
        for field_name in ("facilitator", "default_owner"):
            pid = series.get(field_name)
            if pid is not None:
                problems += _unknown_person(f"{where}.{field_name}", str(pid), known)
    return problems


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _duplicates(section: str, ids: list[str]) -> Iterator[tuple[str, str]]:
    seen: set[str] = set()
    for i, value in enumerate(ids):
        if value in seen:
            yield f"{section}[{i}].id", t(f"duplicate id {value!r}; ids must be unique",
                                          f"id {value!r} повторяется; id должны быть разными")
        seen.add(value)


def _unknown_person(path: str, pid: str, known: list[str]) -> list[tuple[str, str]]:
    if pid in known:
        return []
    hint = difflib.get_close_matches(pid, known, n=1)
    advice = (t(f"did you mean {hint[0]!r}?", f"может быть, {hint[0]!r}?") if hint
              else t("add them under people:", "добавьте его в `people:`"))
    return [(path, t(f"unknown person {pid!r}; {advice}",
                     f"неизвестный участник {pid!r}; {advice}"))]


# --- ${VAR} interpolation ---------------------------------------------------------------------

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


Problems = list[tuple[str, str]]


def interpolate(data: Any, env: dict[str, str], path: str = "") -> tuple[Any, Problems]:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string; ``$$`` is a literal ``$``."""
    if isinstance(data, dict):
        out: dict[Any, Any] = {}
        problems: list[tuple[str, str]] = []
        for key, value in data.items():
            out[key], more = interpolate(value, env, _join(path, str(key)))
            problems += more
        return out, problems
    if isinstance(data, list):
        items, problems = [], []
        for i, value in enumerate(data):
            item, more = interpolate(value, env, f"{path}[{i}]")
            items.append(item)
            problems += more
        return items, problems
    if isinstance(data, str):
        return _substitute(data, env, path)
    return data, []


def _substitute(text: str, env: dict[str, str], path: str) -> tuple[str, list[tuple[str, str]]]:
    problems: list[tuple[str, str]] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        problems.append((path, t(f"environment variable {name} is not set; export {name}=...",
                                 f"переменная окружения {name} не задана; задайте её: "
                                 f"export {name}=...")))
        return ""

    return _VAR.sub(replace, text), problems


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- loading -------------------------------------------------------------------------------


def find_config(explicit: str | os.PathLike[str] | None) -> Path:
    """--config, then $PLANERKA_CONFIG, then ./planerka.yaml."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return Path(DEFAULT_CONFIG_NAME)


def load_config(path: str | os.PathLike[str], env: dict[str, str] | None = None) -> Config:
    """Read, interpolate and validate; raise ConfigError with every problem found. Without an
    explicit ``env``, ``${VAR}``s come from the environment over the ``.env`` beside the file."""
    file = Path(path)
    raw = _read_yaml(file)
    return parse_config(raw, str(file), environment_for(file) if env is None else env)


# --- .env beside the config -------------------------------------------------------------------

ENV_FILE = ".env"
_ENV_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
_ENV_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def environment_for(config_file: Path) -> dict[str, str]:
    """The variables a config's ``${VAR}``s read: the process environment over the ``.env``
    next to the file (a variable already set wins). The file's values are secrets: they are
    masked in every log line and error from now on, like the environment's own."""
    found = read_env_file(config_file.parent / ENV_FILE)
    if found:
        from planerka_sync.observability import redact_also

        redact_also(found.values())
    return {**found, **os.environ}


def read_env_file(file: Path) -> dict[str, str]:
    """``NAME=value`` lines (``export`` allowed; blank lines and ``#`` comments skipped; a
    value may be 'single-quoted', "double-quoted" with \\n \\" escapes, or bare up to a `` #``
    comment). A missing file is no variables; any other line is a ConfigError naming the line
    number - never its text, which may hold a secret."""
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([t(f"{file}: cannot read the file: {type(exc).__name__}",
                             f"{file}: файл не читается: {type(exc).__name__}")]) from None
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _ENV_LINE.match(stripped)
        value = _env_value(match.group(2)) if match else None
        if match is None or value is None:
            raise ConfigError([t(f"{file}: line {number}: expected NAME=value (a value with "
                                 "spaces or # in quotes)",
                                 f"{file}: строка {number}: нужно ИМЯ=значение (значение с "
                                 "пробелами или # — в кавычках)")])
        found[match.group(1)] = value
    return found


def _env_value(text: str) -> str | None:
    """The value of one line, or None when it is malformed (an unclosed quote, text after the
    closing quote)."""
    if text[:1] == "'":
        end = text.find("'", 1)
        rest = text[end + 1:].strip() if end > 0 else None
        return text[1:end] if rest is not None and rest[:1] in ("", "#") else None
    if text[:1] == '"':
        out, i = [], 1
        while i < len(text):
            char = text[i]
            if char == "\\" and i + 1 < len(text):
                out.append(_ENV_ESCAPES.get(text[i + 1], "\\" + text[i + 1]))
                i += 2
                continue
            if char == '"':
                rest = text[i + 1:].strip()
                return "".join(out) if rest[:1] in ("", "#") else None
            out.append(char)
            i += 1
        return None
    value = re.split(r"\s+#", text, maxsplit=1)[0].strip()
    return None if any(c in value for c in "'\"") else value


def parse_config(raw: dict[str, Any], source: str, env: dict[str, str] | None = None) -> Config:
    """Validate an already-read mapping; problems are reported against ``source``."""
    shape = _shape_problem(raw)
    if shape is not None:  # nothing below could walk it: report this alone
        raise ConfigError([f"{source}: {shape[0]}: {shape[1]}"])
    data, problems = interpolate(raw, dict(os.environ) if env is None else env)
    config: Config | None = None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems += [(_error_path(e), _error_message(e)) for e in exc.errors()]
    problems += cross_check(data)
    if problems or config is None:
        raise ConfigError([f"{source}: {where or _top()}: {what}" for where, what in problems])
    return config


def read_yaml(file: Path) -> dict[str, Any]:
    return _read_yaml(file)


def _read_yaml(file: Path) -> dict[str, Any]:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([t(
            f"{file}: no such config file; run `planerka-sync init` to write one, or pass "
            f"--config PATH (or set {CONFIG_ENV})",
            f"{file}: файла настроек нет; создайте его командой `planerka-sync init` или "
            f"укажите --config ПУТЬ (или переменную {CONFIG_ENV})")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([t(f"{file}: cannot read the file: {exc}",
                             f"{file}: файл не читается: {exc}")]) from None
    try:
        too_deep = _too_deep_in_text(text)
        if too_deep is not None:
            raise ConfigError([f"{file}: {too_deep}: {_too_deep()}"])
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = (t(f"line {mark.line + 1}, column {mark.column + 1}",
                   f"строка {mark.line + 1}, столбец {mark.column + 1}") if mark else _top())
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([t(f"{file}: {where}: not valid YAML: {problem}",
                             f"{file}: {where}: это не корректный YAML: {problem}")]) from None
    except RecursionError:  # the depth check above should make this unreachable; never a crash
        raise ConfigError([f"{file}: {_top()}: {_too_deep()}"]) from None
    # An alias inside the value it names loads fine, as a loop: every reader of the raw data
    # (interpolate, the CLI's redaction) would recurse without end, so it is refused here.
    shape = _shape_problem(data)
    if shape is not None:
        raise ConfigError([f"{file}: {shape[0]}: {shape[1]}"])
    if not isinstance(data, dict):
        raise ConfigError([t(f"{file}: (top): expected a mapping of options, like the example",
                             f"{file}: (верхний уровень): нужен набор параметров «ключ: "
                             "значение», как в примере")])
    return data


# --- the file's shape: how deep and how big ---------------------------------------------------

# A config is a few levels deep (meetings[0].skip_dates[0]) and a few thousand values at most.
# PyYAML, interpolate() and the checks above all recurse, so a file nested thousands deep, or an
# alias inside the value it names, would end in RecursionError; an alias used over and over
# ("billion laughs") would expand to more values than memory holds.
MAX_DEPTH = 50
MAX_VALUES = 100_000
def _too_deep() -> str:
    return t(f"nested more than {MAX_DEPTH} levels deep; a config is a few levels deep, "
             f"so look for unclosed brackets or an alias (*name) inside the value it names",
             f"вложенность глубже {MAX_DEPTH} уровней; в конфиге всего несколько уровней, "
             f"так что ищите незакрытую скобку или ссылку (*имя) внутри значения, на которое "
             f"она ссылается")


def _too_big() -> str:
    return t(f"more than {MAX_VALUES} values; a config holds a few hundred, so look for an "
             f"alias (*name) repeated over and over",
             f"больше {MAX_VALUES} значений; в конфиге их несколько сотен, так что ищите "
             f"ссылку (*имя), повторённую много раз")


def _top() -> str:
    """Where a problem of the whole file is: "(top)"."""
    return t("(top)", "(верхний уровень)")
PathParts = list[str | int]


@dataclass
class _Open:
    """One collection the YAML reader is inside, and which of its entries it is reading."""

    mapping: bool
    key: str | int = "?"
    wants_key: bool = True


def _too_deep_in_text(text: str) -> str | None:
    """The path at which ``text`` nests deeper than MAX_DEPTH, or None. YAML's event stream is
    read without recursion, so this runs before PyYAML builds the (recursive) document."""
    open_: list[_Open] = []
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionEndEvent):
            open_.pop()
        elif isinstance(event, yaml.NodeEvent):  # a scalar, an alias or a collection's start
            _enter_entry(open_, event.value if isinstance(event, yaml.ScalarEvent) else "?")
            if isinstance(event, yaml.CollectionStartEvent):
                if len(open_) >= MAX_DEPTH:
                    return _short_path([level.key for level in open_])
                open_.append(_Open(mapping=isinstance(event, yaml.MappingStartEvent),
                                   key=-1))
    return None


def _enter_entry(open_: list[_Open], scalar: str) -> None:
    """A node begins inside the innermost collection: a mapping's key or value, or the next
    item of a sequence."""
    if not open_:
        return
    level = open_[-1]
    if not level.mapping:
        level.key = int(level.key) + 1 if isinstance(level.key, int) else 0
    elif level.wants_key:
        level.key, level.wants_key = scalar, False
    else:
        level.wants_key = True


def _shape_problem(data: Any) -> tuple[str, str] | None:
    """(path, problem) if the loaded data is deeper than MAX_DEPTH or bigger than MAX_VALUES
    (a loop through an alias is both), walked without recursion."""
    stack: list[tuple[Any, PathParts]] = [(data, [])]
    seen = 0
    while stack:
        node, path = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            return _top(), _too_big()
        if isinstance(node, dict | list) and len(path) >= MAX_DEPTH:
            return _short_path(path), _too_deep()
        if isinstance(node, dict):
            stack.extend((value, [*path, str(key)]) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, [*path, i]) for i, value in enumerate(node))
    return None


def _short_path(parts: PathParts, shown: int = 4) -> str:
    """``tracker[0][0][0]…``: where the nesting starts is what a person needs to find it."""
    text = ""
    for part in parts[:shown]:
        text = f"{text}[{part}]" if isinstance(part, int) else _join(text, part)
    return (text or _top()) + ("…" if len(parts) > shown else "")


def _error_path(error: Any) -> str:
    path = ""
    loc = list(error["loc"])
    if error["type"] == _OPTION_ERROR:
        loc.append(error["ctx"]["option"])
    # A discriminated union adds the chosen tag to the location; a person never wrote it.
    if len(loc) >= 2 and loc[0] == "tracker" and loc[1] in ("trello", "jira"):
        del loc[1]
    for part in loc:
        path = f"{path}[{part}]" if isinstance(part, int) else _join(path, str(part))
    return path


def _error_message(error: Any) -> str:
    kind, message = error["type"], error["msg"]
    if kind == _OPTION_ERROR:
        return str(error["ctx"]["problem"])
    if kind == "extra_forbidden":
        hint = difflib.get_close_matches(str(error["loc"][-1]), _all_option_names(), n=1)
        advice = (t(f"did you mean {hint[0]!r}?", f"может быть, {hint[0]!r}?") if hint
                  else t("see config/planerka.example.yaml", "см. config/planerka.example.yaml"))
        return t(f"unknown option; {advice}", f"неизвестный параметр; {advice}")
    if kind == "missing":
        return t("required option is missing", "не задан обязательный параметр")
    if kind == "union_tag_invalid":
        return t("kind must be 'trello' or 'jira'", "kind должен быть 'trello' или 'jira'")
    if kind == "union_tag_not_found":
        return t("missing kind: set kind: trello or kind: jira",
                 "не указан kind: задайте kind: trello или kind: jira")
    return str(message).removeprefix("Value error, ")


def _all_option_names() -> list[str]:
    models: list[type[BaseModel]] = [Config, TrelloTracker, JiraTracker, Person, MeetingSeries,
                                     HttpJsonSettings, YandexMetricaSettings, Ga4Settings,
                                     YandexDirectSettings, SheetSettings]
    return sorted({name for model in models for name in model.model_fields})


def json_schema() -> dict[str, Any]:
    return Config.model_json_schema()
