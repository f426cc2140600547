"""`planerka-sync init`: from a lead's answers (and what the tracker showed) to a config.

Pure but for nothing: proposals (people's ids and aliases from their names, which list holds the
meetings, which statuses mean done, the series' defaults) and the two files - the commented YAML
config, whose secrets are ``${VAR}`` references, and the ``.env`` holding their values. The
command (cli/init.py) asks, the tracker answers (trackers/discovery.py), this decides and writes
the text; the caller validates it with ``config.load_config`` before it counts as written.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from planerka_sync.trackers.discovery import Account, Status

# --- the secrets and the variables that hold them ----------------------------------------------

ENV_NAMES = {
    "trello": {"api_key": "TRELLO_API_KEY", "token": "TRELLO_TOKEN"},
    "jira-cloud": {"email": "JIRA_EMAIL", "token": "JIRA_TOKEN"},
    "jira-dc": {"token": "JIRA_TOKEN"},
}
TRELLO_URL = "https://api.trello.com"
DEFAULT_DATABASE = "sqlite:///planerka.db"
DEFAULT_SERIES_ID = "marketing-weekly"
SERIES_TITLE = {"ru": "Планёрка отдела маркетинга", "en": "Marketing planning meeting"}
DEFAULT_WEEKDAY = "MO"  # the start of the working week...
DEFAULT_TIME = "10:00"  # ...and of the working day
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def default_timezone(locale: str, env: dict[str, str] | None = None) -> str:
    """Europe/Moscow for a Russian-speaking team; otherwise this machine's zone if it has a
    name (TZ, /etc/timezone, the /etc/localtime link), else UTC."""
    if locale == "ru":
        return "Europe/Moscow"
    variables = os.environ if env is None else env
    zone = variables.get("TZ", "").lstrip(":")
    if "/" in zone:
        return zone
    try:
        zone = Path("/etc/timezone").read_text(encoding="utf-8").strip()
        if "/" in zone:
            return zone
    except OSError:
        pass
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        return "UTC"
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else "UTC"


# --- names: ids and aliases --------------------------------------------------------------------

_CYRILLIC = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r",
     "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"],
    strict=True))

# Short forms a Russian team writes in decision lines ("отв. Маша").
DIMINUTIVES = {
    "александр": "Саша", "александра": "Саша", "алексей": "Лёша", "анастасия": "Настя",
    "анна": "Аня", "борис": "Боря", "валентина": "Валя", "виктория": "Вика",
    "владимир": "Вова", "галина": "Галя", "григорий": "Гриша", "дарья": "Даша",
    "дмитрий": "Дима", "евгений": "Женя", "евгения": "Женя", "екатерина": "Катя",
    "елена": "Лена", "иван": "Ваня", "константин": "Костя", "ксения": "Ксюша",
    "людмила": "Люда", "мария": "Маша", "михаил": "Миша", "наталья": "Наташа",
    "николай": "Коля", "ольга": "Оля", "павел": "Паша", "пётр": "Петя", "петр": "Петя",
    "полина": "Поля", "светлана": "Света", "сергей": "Серёжа", "татьяна": "Таня",
    "юлия": "Юля", "яков": "Яша",
}


def transliterate(text: str) -> str:
    """Russian letters in Latin ones, as names are usually spelt (Мария → Maria, Дмитрий →
    Dmitry); other characters are kept."""
    text = re.sub(r"(?<=\w)ия\b", "ia", text)
    text = re.sub(r"(?<=\w)ий\b", "y", text)
    out = []
    for char in text:
        lower = char.lower()
        if lower in _CYRILLIC:
            latin = _CYRILLIC[lower]
            out.append(latin.capitalize() if char != lower else latin)
        else:
            out.append(char)
    return "".join(out)


def slug(text: str) -> str:
    """A person or series id: lowercase Latin letters, digits, - and _, at most 64."""
    value = re.sub(r"[^a-z0-9_-]+", "-", transliterate(text).lower()).strip("-_")
    return value[:64].strip("-_")


def aliases_for(name: str, *, taken: Iterable[str] = ()) -> list[str]:
    """Other names the team may use for this person: the first name, its common short form, the
    first name in Latin letters. The full name and ``taken`` (ids) are matched anyway."""
    words = name.split()
    if not words:
        return []
    first = words[0]
    found = [first]
    short = DIMINUTIVES.get(first.lower())
    if short:
        found.append(short)
    latin = transliterate(first)
    if latin != first:
        found.append(latin)
    skip = {name.casefold(), *(t.casefold() for t in taken)}
    unique: dict[str, str] = {}
    for alias in found:
        if alias.casefold() not in skip:
            unique.setdefault(alias.casefold(), alias)
    return list(unique.values())


@dataclass
class PersonDraft:
    id: str
    name: str
    account: str
    aliases: list[str] = field(default_factory=list)
    email: str | None = None


def propose_people(accounts: Sequence[Account], flavour: str) -> list[PersonDraft]:
    """A person per account: the id from the username (Trello, Data Center) or, on Jira Cloud
    which has none, from the email's local part or the name; aliases from the name. An alias two
    people would share ("Саша") names neither: it would be ambiguous in a decision line."""
    people: list[PersonDraft] = []
    ids: set[str] = set()
    for n, account in enumerate(accounts, 1):
        base = account.username if flavour != "jira-cloud" else None
        if base is None and account.email:
            base = account.email.split("@", 1)[0]
        pid = slug(base or (account.name.split() or [""])[0]) or f"person-{n}"
        candidate, k = pid, 2
        while candidate in ids:
            candidate, k = f"{pid}-{k}", k + 1
        ids.add(candidate)
        people.append(PersonDraft(candidate, account.name or candidate, account.account,
                                  aliases_for(account.name, taken=[candidate]),
                                  account.email))
    shared = Counter(a.casefold() for p in people for a in p.aliases)
    for person in people:
        person.aliases = [a for a in person.aliases
                          if shared[a.casefold()] == 1 and a.casefold() not in ids]
    return people


# --- the board's lists, the project's types and statuses ----------------------------------------

MEETING_LISTS = ("планёрки", "планерки", "встречи", "meetings", "planning", "planning meetings")
TASK_LISTS = ("to do", "todo", "сделать", "нужно сделать", "к выполнению", "задачи", "tasks",
              "backlog", "бэклог")
_DONE_WORDS = re.compile(r"(?i)\b(done|complete[d]?|finished|готово|сделано|выполнено|"
                         r"завершено|закрыто)\b")


def meetings_list_name(locale: str) -> str:
    return "Планёрки" if locale == "ru" else "Meetings"


def propose_meetings_list(names: Sequence[str], locale: str) -> str:
    """The list meeting cards go to: one named like it, else a new one to create."""
    return _first_named(names, MEETING_LISTS) or meetings_list_name(locale)


def propose_tasks_list(names: Sequence[str], exclude: Iterable[str] = ()) -> str:
    """Where decision tasks go: a "To Do"-like list, else the first list that is not the
    meetings list nor a done list, else "To Do" (to create)."""
    named = _first_named(names, TASK_LISTS)
    if named:
        return named
    skip = {e.casefold() for e in exclude}
    for name in names:
        if name.casefold() not in skip and not _DONE_WORDS.search(name):
            return name
    return "To Do"


def propose_done_lists(names: Sequence[str]) -> list[str]:
    return [n for n in names if _DONE_WORDS.search(n)]


def _first_named(names: Sequence[str], wanted: Sequence[str]) -> str | None:
    for want in wanted:
        for name in names:
            if name.strip().casefold() == want:
                return name
    return None


def propose_issue_type(types: Sequence[str]) -> str:
    for want in ("Task", "Задача"):
        if want in types:
            return want
    return types[0] if types else "Task"


def propose_done_statuses(statuses: Sequence[Status]) -> list[str]:
    """Jira's own answer: the statuses of the category Done."""
    return [s.name for s in statuses if s.category == "done"]


def status_map_for(statuses: Sequence[Status], done: Sequence[str]) -> dict[str, str]:
    """The ``status_map`` that makes exactly ``done`` count as done: a status of another
    category chosen as done is mapped to done, a Done-category one not chosen to in_progress."""
    chosen = set(done)
    mapping: dict[str, str] = {}
    for status in statuses:
        if status.name in chosen and status.category != "done":
            mapping[status.name] = "done"
        elif status.name not in chosen and status.category == "done":
            mapping[status.name] = "in_progress"
    return mapping


# --- what is written ----------------------------------------------------------------------------


class Raw(str):
    """A value written as it is, ``${VAR}`` references and all (everything else a person typed
    has its ``$`` doubled, so it is never read as a reference)."""


@dataclass
class TrackerDraft:
    flavour: str  # trello | jira-cloud | jira-dc
    url: str
    place: str  # Trello board name, Jira project key
    meetings_list: str = "Планёрки"
    tasks_list: str = "To Do"
    done_lists: list[str] = field(default_factory=list)
    meeting_issue_type: str = "Task"
    task_issue_type: str = "Task"
    status_map: dict[str, str] = field(default_factory=dict)


@dataclass
class SeriesDraft:
    id: str = DEFAULT_SERIES_ID
    title: str = SERIES_TITLE["ru"]
    cadence: str = "weekly"
    weekday: str = DEFAULT_WEEKDAY
    time: str = DEFAULT_TIME
    duration_minutes: int = 60
    place: str = ""
    facilitator: str | None = None
    participants: list[str] = field(default_factory=list)


@dataclass
class Setup:
    locale: str
    timezone: str
    tracker: TrackerDraft
    people: list[PersonDraft]
    series: SeriesDraft
    database: str | None = DEFAULT_DATABASE
    secrets: dict[str, str] = field(default_factory=dict)  # api_key/token/email -> value


def env_values(setup: Setup) -> dict[str, str]:
    """What the ``.env`` holds: each secret under its variable's name."""
    names = ENV_NAMES[setup.tracker.flavour]
    return {names[k]: v for k, v in setup.secrets.items() if k in names}


def _q(value: str) -> str:
    """A YAML scalar for any string: JSON's double-quoted form is YAML's too."""
    text = value if isinstance(value, Raw) else value.replace("$", "$$")
    return json.dumps(text, ensure_ascii=False)


def _flow(values: Iterable[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def render_config(setup: Setup) -> str:
    """The commented YAML config; secrets are ``${VAR}`` references to the ``.env``."""
    t = setup.tracker
    names = ENV_NAMES[t.flavour]
    lines = [
        "# planerka-sync configuration, written by `planerka-sync init`.",
        "# Secrets are not in this file: ${VARIABLE}s are read from the environment or from the",
        "# .env file next to it (mode 0600; a variable set in the environment wins).",
        "# Every option is described in config/planerka.example.yaml of the project.",
        "# Check it any time with:  planerka-sync check",
        "",
        "# Language of every text people read: ru | en.",
        f"locale: {setup.locale}",
        "# The team's time zone: meeting times and due dates are in it.",
        f"timezone: {_q(setup.timezone)}",
        "",
    ]
    if setup.database:
        lines += ["# planerka-sync's own state; a relative SQLite path is next to this file.",
                  f"database: {_q(setup.database)}", ""]
    lines += ["tracker:"]
    if t.flavour == "trello":
        lines += [
            "  kind: trello",
            f"  url: {_q(t.url)}",
            f"  api_key: ${{{names['api_key']}}}     # in .env",
            f"  token: ${{{names['token']}}}         # in .env",
            f"  board: {_q(t.place)}",
            f"  meetings_list: {_q(t.meetings_list)}   # meeting cards go here",
            f"  tasks_list: {_q(t.tasks_list)}   # decision tasks are created here",
            f"  done_lists: {_flow(t.done_lists)}   # a card in these lists is done",
        ]
    else:
        cloud = t.flavour == "jira-cloud"
        lines += [
            "  kind: jira",
            f"  deployment: {'cloud' if cloud else 'datacenter'}",
            f"  url: {_q(t.url)}",
        ]
        if cloud:
            lines.append(f"  email: ${{{names['email']}}}         # in .env")
        lines += [
            f"  token: ${{{names['token']}}}         # in .env",
            f"  project: {_q(t.place)}",
            f"  meeting_issue_type: {_q(t.meeting_issue_type)}",
            f"  task_issue_type: {_q(t.task_issue_type)}",
        ]
    if t.status_map:
        mapping = ", ".join(f"{_q(k)}: {v}" for k, v in t.status_map.items())
        lines.append(f"  status_map: {{{mapping}}}   # what these count as")
    account_key = "trello" if t.flavour == "trello" else "jira"
    account_help = {"trello": "Trello username", "jira-cloud": "Jira Cloud accountId",
                    "jira-dc": "Jira username"}[t.flavour]
    lines += [
        "",
        "# The team: decisions name people by id, name or alias (\"отв. Аня\", \"@anna\").",
        f"# `{account_key}` is the person's {account_help}.",
        "people:",
    ]
    for person in setup.people:
        lines += [f"  - id: {person.id}",
                  f"    name: {_q(person.name)}",
                  f"    aliases: {_flow(person.aliases)}",
                  f"    {account_key}: {_q(person.account)}"]
        if person.email:
            lines.append(f"    email: {_q(person.email)}")
    s = setup.series
    lines += [
        "",
        "# The recurring meeting.",
        "meetings:",
        f"  - id: {s.id}",
        f"    title: {_q(s.title)}",
        f"    cadence: {s.cadence}                # weekly | biweekly | monthly | RRULE:...",
        f"    weekday: {s.weekday}",
        f"    time: {_q(s.time)}                 # local to timezone",
        f"    duration_minutes: {s.duration_minutes}",
        f"    place: {_q(s.place)}",
    ]
    if s.facilitator:
        lines.append(f"    facilitator: {s.facilitator}")
    lines += [
        f"    participants: {_flow(s.participants)}",
        "    agenda: marketing-kpi           # the built-in agenda (ten KPI blocks)",
        "    kpis: marketing",
        "    prepare_before: 24h             # the meeting item is made this long before",
        "    progress_before: 1h             # progress and KPIs are posted this long before",
        "",
    ]
    return "\n".join(lines)


def _env_quote(value: str) -> str:
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\r", "\\r").replace("\t", "\\t"))
    return f'"{escaped}"'


def render_env(values: dict[str, str], keep: dict[str, str] | None = None) -> str:
    """The ``.env``: ``values``, after any other variables an older file held (``keep``)."""
    lines = ["# Secrets for planerka.yaml, written by `planerka-sync init`. Keep this file",
             "# private (mode 0600) and out of version control.",
             "# A variable set in the environment wins over the value here."]
    for name, value in {**(keep or {}), **values}.items():
        lines.append(f"{name}={_env_quote(value)}")
    return "\n".join(lines) + "\n"


def parse_participants(text: str, people: Sequence[PersonDraft]) -> list[str]:
    """Person ids from "all", or ids/names/aliases separated by commas; ValueError names the
    one that matches nobody."""
    if text.strip().casefold() in ("all", "все", "*", ""):
        return [p.id for p in people]
    chosen: list[str] = []
    for word in (w.strip() for w in text.split(",")):
        if not word:
            continue
        person = find_person(word, people)
        if person is None:
            raise ValueError(word)
        if person.id not in chosen:
            chosen.append(person.id)
    return chosen


def find_person(word: str, people: Sequence[PersonDraft]) -> PersonDraft | None:
    folded = word.strip().lstrip("@").casefold()
    for person in people:
        names = {person.id, person.name, person.account, *person.aliases}
        if folded in {n.casefold() for n in names}:
            return person
    return None


def parse_weekday(text: str) -> str:
    """MO..SU, or a day's name in Russian or English (its first letters)."""
    value = text.strip().upper()
    if value in WEEKDAYS:
        return value
    days = {"MO": ("понедельник", "monday"), "TU": ("вторник", "tuesday"),
            "WE": ("среда", "wednesday"), "TH": ("четверг", "thursday"),
            "FR": ("пятница", "friday"), "SA": ("суббота", "saturday"),
            "SU": ("воскресенье", "sunday")}
    folded = text.strip().casefold()
    for code, words in days.items():
        if len(folded) >= 2 and any(w.startswith(folded) for w in words):
            return code
    raise ValueError(text)


# --- the demo team, for `init --from-sandbox` ---------------------------------------------------

SANDBOX_URL = Raw("${SANDBOX_URL:-http://127.0.0.1:8400}")
SANDBOX_PORT = 8400


def sandbox_setup(flavour: str, url: str | None = None) -> Setup:
    """The demo team's config (config/demo.yaml, what `planerka-sync demo` runs) for the sandbox
    of ``flavour``: `planerka-sync sandbox --tracker FLAVOUR --port 8400` answers it."""
    from planerka_sync.config import read_yaml
    from planerka_sync.sandbox import seed as demo
    from planerka_sync.templates import builtin_dir

    raw = read_yaml(builtin_dir() / "demo.yaml")
    by_id = {p["id"]: p for p in demo.DEFAULT_PEOPLE}
    people = []
    for person in raw["people"]:
        seeded = by_id[person["id"]]
        account = {"trello": seeded["trello_username"], "jira-cloud": seeded["jira_account_id"],
                   "jira-dc": seeded["jira_username"]}[flavour]
        people.append(PersonDraft(person["id"], person["name"], account,
                                  list(person.get("aliases") or []), seeded["email"]))
    series = raw["meetings"][0]
    place = demo.TRELLO_BOARD_NAME if flavour == "trello" else demo.JIRA_PROJECT_KEY
    tracker = TrackerDraft(flavour, url or SANDBOX_URL, place,
                           meetings_list=demo.TRELLO_LISTS[0], tasks_list=demo.TRELLO_LISTS[1],
                           done_lists=[demo.TRELLO_LISTS[-1]])
    secrets = {"trello": {"api_key": "sandbox-key", "token": "sandbox-token"},
               "jira-cloud": {"email": seeded_email(demo.DEFAULT_ACTOR), "token": "sandbox-token"},
               "jira-dc": {"token": "sandbox-token"}}[flavour]
    return Setup(
        locale=str(raw.get("locale", "ru")), timezone=str(raw.get("timezone", "Europe/Moscow")),
        tracker=tracker, people=people,
        series=SeriesDraft(id=series["id"], title=series["title"], weekday=series["weekday"],
                           time=str(series["time"]), place=series.get("place", ""),
                           duration_minutes=int(series.get("duration_minutes", 60)),
                           facilitator=series.get("facilitator"),
                           participants=list(series["participants"])),
        secrets=secrets)


def seeded_email(person_id: str) -> str:
    from planerka_sync.sandbox import seed as demo

    return next(p["email"] for p in demo.DEFAULT_PEOPLE if p["id"] == person_id)
