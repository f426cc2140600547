"""planerka-sync init: a config and its .env from a few questions, checked live.

Interactive (rich prompts) on a terminal; with ``--answers FILE.yaml``, ``--non-interactive`` or
no terminal it never asks: each answer comes from a flag, the answers file (flags win), the
environment (secrets) or the proposal, and an answer with none of these is named in an error
(exit 2). Secrets are never taken as flags (they would sit in the shell history and ``ps``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from planerka_sync.cli.base import AppContext, cli, escape, out_console, t
from planerka_sync.errors import ConfigError, PlanerkaError, TrackerAuthError, TrackerError
from planerka_sync.messages import locale, use_config_locale

T = TypeVar("T")

SECRET_KEYS = ("api_key", "token")
# Every answer: its flag (None: answers file or environment only) and what it is, for messages.
ANSWERS: dict[str, tuple[str | None, str, str]] = {
    "locale": ("--locale", "the team's language (ru | en)", "язык команды (ru | en)"),
    "timezone": ("--timezone", "the team's time zone", "часовой пояс команды"),
    "tracker": ("--tracker", "the tracker (trello | jira-cloud | jira-dc)",
                "трекер (trello | jira-cloud | jira-dc)"),
    "url": ("--url", "the tracker's URL", "адрес трекера"),
    "email": ("--email", "the Jira account's email", "email учётной записи Jira"),
    "api_key": (None, "the Trello API key", "API-ключ Trello"),
    "token": (None, "the API token", "API-токен"),
    "board": ("--board", "the Trello board", "доска Trello"),
    "project": ("--project", "the Jira project", "проект Jira"),
    "meetings_list": ("--meetings-list", "the list for meeting cards",
                      "список для карточек встреч"),
    "tasks_list": ("--tasks-list", "the list for tasks", "список для задач"),
    "done_lists": ("--done-list", "the done lists", "списки выполненного"),
    "create_lists": ("--create-lists", "whether to create the missing lists",
                     "создавать ли недостающие списки"),
    "meeting_issue_type": ("--meeting-issue-type", "the meeting issue type", "тип задачи встречи"),
    "task_issue_type": ("--task-issue-type", "the task issue type", "тип задачи-решения"),
    "done_statuses": ("--done-status", "the done statuses", "статусы выполненного"),
    "people": ("--people", "the team", "команда"),
    "title": ("--title", "the meeting's title", "название встречи"),
    "series_id": ("--series-id", "the series id", "id серии"),
    "cadence": ("--cadence", "how often the team meets", "как часто встречается команда"),
    "weekday": ("--weekday", "the meeting's weekday", "день недели встречи"),
    "time": ("--time", "the meeting's time", "время встречи"),
    "duration_minutes": ("--duration", "the meeting's length in minutes",
                         "длительность встречи в минутах"),
    "place": ("--place", "the meeting's place or link", "место или ссылка встречи"),
    "participants": ("--participants", "the participants", "участники"),
    "facilitator": ("--facilitator", "the facilitator", "ведущий"),
    "database": ("--database", "the state database URL", "адрес базы состояния"),
}
TEAM_EDIT = "edit_people"


class MissingAnswer(PlanerkaError):
    """Non-interactive and an answer nobody gave: a usage mistake, exit 2 like click's."""

    exit_code = 2


class BadAnswer(MissingAnswer):
    """An answer given as a flag or in the answers file that cannot be used."""


def _what(key: str) -> str:
    _, en, ru = ANSWERS[key]
    return t(en, ru)


def _where(key: str, env: str | None) -> str:
    flag = ANSWERS[key][0]
    ways = [f"`{key}:` " + t("in the answers file", "в файле ответов")]
    if flag:
        ways.insert(0, flag)
    if env:
        ways.insert(0, t(f"the environment variable {env}", f"переменную окружения {env}"))
    return t(" or ", " или ").join(ways)


@dataclass
class Asker:
    """Where each answer comes from: ``given`` (flags over the answers file), the environment
    for secrets, a prompt when ``interactive``, else the proposal."""

    interactive: bool
    given: dict[str, Any] = field(default_factory=dict)
    forgotten: set[str] = field(default_factory=set)

    def _given(self, key: str, env: str | None) -> Any:
        if key in self.given and self.given[key] is not None:
            return self.given[key]
        if env and os.environ.get(env) and key not in self.forgotten:
            return os.environ[env]
        return None

    def forget(self, *keys: str) -> None:
        """Ask these again (a person at a terminal, after the tracker refused them)."""
        for key in keys:
            self.given.pop(key, None)
            self.forgotten.add(key)

    def text(self, key: str, question: str, default: str | None = None, *,
             secret: bool = False, env: str | None = None,
             parse: Callable[[str], T] | None = None) -> Any:
        """One value: given, else asked (until ``parse`` takes it), else the default."""
        convert: Callable[[str], Any] = parse or (lambda value: value)
        given = self._given(key, env)
        if given is not None:
            try:
                return convert(", ".join(map(str, given)) if isinstance(given, list)
                               else str(given))
            except ValueError as exc:
                if not self.interactive:
                    raise BadAnswer(t(f"{_what(key)}: cannot use {_shown(key, given)}: {exc}",
                                      f"{_what(key)}: не подходит {_shown(key, given)}: "
                                      f"{exc}")) from None
                out_console.print(f"[red]✘[/] {escape(str(exc))}")
        if not self.interactive:
            if default is None:
                raise MissingAnswer(t(f"missing answer: {_what(key)}; give it with "
                                      f"{_where(key, env)}",
                                      f"нет ответа: {_what(key)}; укажите "
                                      f"{_where(key, env)}"))
            return convert(default)
        from rich.prompt import Prompt

        while True:
            answer = Prompt.ask(question, default=default, password=secret,
                                console=out_console, show_default=not secret)
            answer = (answer or "").strip()
            if not answer:
                out_console.print(t("[red]✘[/] an answer is needed", "[red]✘[/] нужен ответ"))
                continue
            try:
                return convert(answer)
            except ValueError as exc:
                out_console.print(f"[red]✘[/] {escape(str(exc))}")

    def confirm(self, key: str, question: str, default: bool) -> bool:
        given = self._given(key, None)
        if given is not None:
            if isinstance(given, bool):
                return given
            return str(given).strip().lower() in ("1", "true", "yes", "y", "да")
        if not self.interactive:
            return default
        from rich.prompt import Confirm

        return bool(Confirm.ask(question, default=default, console=out_console))

    def choose(self, key: str, question: str, options: Sequence[str],
               default: str | None, labels: Sequence[str] | None = None) -> str:
        """One of ``options`` (by number or name, any case)."""
        def pick(answer: str) -> str:
            return _pick(answer, options)

        if self.interactive and self._given(key, None) is None:
            _print_options(options, labels)
        return str(self.text(key, question, default, parse=pick))

    def choose_many(self, key: str, question: str, options: Sequence[str],
                    default: Sequence[str], labels: Sequence[str] | None = None) -> list[str]:
        """Some of ``options``: numbers or names separated by commas, "all" or "-" (none)."""
        def pick(answer: str | list[str]) -> list[str]:
            if isinstance(answer, list):
                return [_pick(str(a), options) for a in answer]
            if answer.strip() in ("-", t("none", "нет")):
                return []
            if answer.strip().casefold() in ("all", "все", "*"):
                return list(options)
            return list(dict.fromkeys(_pick(a, options) for a in answer.split(",") if a.strip()))

        given = self._given(key, None)
        if isinstance(given, list):
            try:
                return pick([str(g) for g in given])
            except ValueError as exc:
                raise BadAnswer(f"{_what(key)}: {exc}") from None
        if self.interactive and given is None:
            _print_options(options, labels)
        shown = ", ".join(default) if default else "-"
        return list(self.text(key, question, shown, parse=pick))


def _shown(key: str, value: Any) -> str:
    return "***" if key in SECRET_KEYS else repr(value)


def _pick(answer: str, options: Sequence[str]) -> str:
    text = answer.strip()
    if text.isdigit() and 1 <= int(text) <= len(options) and text not in options:
        return options[int(text) - 1]
    for option in options:
        if option.casefold() == text.casefold():
            return option
    raise ValueError(t(f"{text!r} is not one of: {', '.join(options)}",
                       f"{text!r} — нет среди: {', '.join(options)}"))


def _print_options(options: Sequence[str], labels: Sequence[str] | None) -> None:
    for n, option in enumerate(options, 1):
        label = labels[n - 1] if labels else option
        out_console.print(f"  {n}. {escape(label)}")


# --- the command -----------------------------------------------------------------------------


@cli.command("init")
@click.option("--answers", "answers_file", type=click.Path(dir_okay=False),
              help="YAML file with the answers (for scripts); never prompts.")
@click.option("--non-interactive", is_flag=True,
              help="Never prompt: flags, the answers file, the environment or the proposals.")
@click.option("--force", is_flag=True, help="Overwrite an existing config and .env.")
@click.option("--from-sandbox", is_flag=True,
              help="Write the demo team's config for `planerka-sync sandbox`.")
@click.option("--tracker", type=click.Choice(["trello", "jira-cloud", "jira-dc"]))
@click.option("--url", help="Tracker URL (Trello: https://api.trello.com).")
@click.option("--email", help="Jira Cloud account email.")
@click.option("--locale", type=click.Choice(["ru", "en"]))
@click.option("--timezone", help="IANA time zone, e.g. Europe/Moscow.")
@click.option("--board", help="Trello board name.")
@click.option("--project", help="Jira project key.")
@click.option("--meetings-list", help="Trello list for meeting cards.")
@click.option("--tasks-list", help="Trello list for decision tasks.")
@click.option("--done-list", "done_lists", multiple=True, help="A Trello done list (repeat).")
@click.option("--create-lists", is_flag=True, default=None,
              help="Create the Trello lists that are missing.")
@click.option("--meeting-issue-type", help="Jira issue type of meetings.")
@click.option("--task-issue-type", help="Jira issue type of decision tasks.")
@click.option("--done-status", "done_statuses", multiple=True,
              help="A Jira status that means done (repeat).")
@click.option("--people", help='"all" or accounts/usernames separated by commas.')
@click.option("--title", help="The meeting's title.")
@click.option("--series-id", help="The series id (lowercase, e.g. marketing-weekly).")
@click.option("--cadence", type=click.Choice(["weekly", "biweekly", "monthly"]))
@click.option("--weekday", help="MO..SU (monthly: e.g. 1MO).")
@click.option("--time", help="Start time, HH:MM.")
@click.option("--duration", "duration_minutes", type=int, help="Minutes.")
@click.option("--place", help="Room and/or call link.")
@click.option("--participants", help='"all" or person ids separated by commas.')
@click.option("--facilitator", help="Person id of the facilitator.")
@click.option("--database", help="State DB URL (default: sqlite:///planerka.db next to the "
                                 "config).")
@click.pass_context
def init_command(ctx: click.Context, answers_file: str | None, non_interactive: bool,
                 force: bool, from_sandbox: bool, **flags: Any) -> None:
    """Write planerka.yaml and its .env from a few questions, checked live on the tracker.

    -c/--config names the file (default ./planerka.yaml); the .env goes next to it."""
    from planerka_sync.cli.check import check_command

    app: AppContext = ctx.obj
    path = app.config_path
    env_path = path.parent / ".env"
    if not force:
        for existing in (path, env_path):
            if existing.exists():
                raise PlanerkaError(t(f"{existing} already exists; nothing was changed. Pass "
                                      "--force to overwrite it",
                                      f"{existing} уже есть; ничего не изменено. Чтобы "
                                      "перезаписать, добавьте --force"))
    given = _read_answers(Path(answers_file)) if answers_file else {}
    for key, value in flags.items():
        if value is not None and value != ():
            given[key] = list(value) if isinstance(value, tuple) else value
    interactive = not (answers_file or non_interactive) and sys.stdin.isatty()
    asker = Asker(interactive, given)
    if from_sandbox:
        setup, url = _sandbox_setup(asker)
    else:
        setup = _ask(asker)
        url = None
    _write(path, env_path, setup)
    out_console.print(t(f"[green]✔[/] wrote {escape(str(path))} and {escape(str(env_path))} "
                        "(secrets, mode 0600)",
                        f"[green]✔[/] записаны {escape(str(path))} и {escape(str(env_path))} "
                        "(секреты, права 0600)"))
    if url is not None and not _answers(url):
        flavour = setup.tracker.flavour
        out_console.print(t(
            f"No sandbox answers at {url} yet. Start one in another terminal:\n"
            f"  planerka-sync sandbox --tracker {flavour} --port 8400\n"
            "then run `planerka-sync check`, `planerka-sync prepare --dry-run`.",
            f"По адресу {url} песочница пока не отвечает. Запустите её в другом терминале:\n"
            f"  planerka-sync sandbox --tracker {flavour} --port 8400\n"
            "затем `planerka-sync check`, `planerka-sync prepare --dry-run`."))
        return
    out_console.print(t("Checking it as `planerka-sync check` does:",
                        "Проверка, как в `planerka-sync check`:"))
    ctx.invoke(check_command)
    out_console.print(t("Next: `planerka-sync prepare --dry-run` shows the next meeting.",
                        "Дальше: `planerka-sync prepare --dry-run` покажет следующую встречу."))


def _read_answers(file: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MissingAnswer(t(f"{file}: no such answers file",
                              f"{file}: нет такого файла ответов")) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BadAnswer(t(f"{file}: cannot read the answers: {type(exc).__name__}",
                          f"{file}: не удалось прочитать ответы: {type(exc).__name__}")) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadAnswer(t(f"{file}: expected a mapping of answers (key: value)",
                          f"{file}: нужен словарь ответов (ключ: значение)"))
    unknown = sorted(str(k) for k in data if k not in ANSWERS and k != TEAM_EDIT)
    if unknown:
        import difflib

        hints = [f"{u}" + (f" ({t('did you mean', 'может быть')} {m[0]!r}?)" if (
            m := difflib.get_close_matches(u, list(ANSWERS), n=1)) else "") for u in unknown]
        raise BadAnswer(t(f"{file}: unknown answers: {', '.join(hints)}",
                          f"{file}: неизвестные ответы: {', '.join(hints)}"))
    return {str(k): v for k, v in data.items()}


def _answers(url: str) -> bool:
    import requests

    try:
        requests.get(url, timeout=3)
    except requests.RequestException:
        return False
    return True


# --- the questions ---------------------------------------------------------------------------


def _ask(asker: Asker) -> Any:
    from planerka_sync.service import onboarding as ob
    from planerka_sync.trackers.discovery import FLAVOURS

    _ask_locale(asker)
    team_locale = locale()
    timezone = asker.text("timezone", t("Time zone of the team", "Часовой пояс команды"),
                          ob.default_timezone(team_locale), parse=_zone)
    flavour = asker.choose("tracker", t("Tracker", "Трекер"), FLAVOURS,
                           "trello" if asker.interactive else None,
                           labels=["Trello", "Jira Cloud", "Jira Data Center / Server"])
    discovery, me, url, secrets = _sign_in(asker, flavour)
    try:
        place = _choose_place(asker, discovery, flavour)
        tracker = ob.TrackerDraft(flavour, url, place.key)
        if flavour == "trello":
            _trello_lists(asker, discovery, place, tracker, team_locale)
        else:
            _jira_types(asker, discovery, place, tracker)
        accounts = discovery.people(place)
    finally:
        discovery.close()
    if me.account not in {a.account for a in accounts}:
        accounts = [me, *accounts]
    people = _team(asker, ob.propose_people(accounts, flavour))
    series = _series(asker, people, me.account, team_locale)
    database = asker.text("database", "", ob.DEFAULT_DATABASE) if not asker.interactive else (
        asker.given.get("database") or ob.DEFAULT_DATABASE)
    return ob.Setup(team_locale, timezone, tracker, people, series, database, secrets)


def _ask_locale(asker: Asker) -> None:
    chosen = asker.choose("locale", "Language / язык", ["ru", "en"], locale(),
                          labels=["русский", "English"])
    # The rest of init speaks the team's language, as every command does once a config says it.
    use_config_locale(chosen)


def _zone(text: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(t(f"unknown time zone {text!r}; an IANA name like Europe/Moscow",
                           f"неизвестный часовой пояс {text!r}; нужно имя IANA, например "
                           "Europe/Moscow")) from None
    return text.strip()


def _url(text: str) -> str:
    value = text.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ValueError(t("expected a URL starting with https://",
                           "нужен адрес, начинающийся с https://"))
    return value


def _sign_in(asker: Asker, flavour: str) -> tuple[Any, Any, str, dict[str, str]]:
    """URL and credentials, verified by asking the tracker who they belong to; a person at a
    terminal is asked again, a script gets the error."""
    from planerka_sync.service.onboarding import ENV_NAMES, TRELLO_URL
    from planerka_sync.trackers.discovery import discovery_for

    questions = {
        "api_key": t("Trello API key (trello.com/power-ups/admin)",
                     "API-ключ Trello (trello.com/power-ups/admin)"),
        "token": {"trello": t("Trello token", "Токен Trello"),
                  "jira-cloud": t("Jira API token (id.atlassian.com → Security → API tokens)",
                                  "API-токен Jira (id.atlassian.com → Security → API tokens)"),
                  "jira-dc": t("Jira personal access token (Profile → Personal Access Tokens)",
                               "Персональный токен доступа Jira (Профиль → Personal Access "
                               "Tokens)")}[flavour],
        "email": t("Email of your Jira account", "Email вашей учётной записи Jira"),
    }
    for attempt in range(3):
        url = asker.text("url", t("Tracker URL", "Адрес трекера"),
                         TRELLO_URL if flavour == "trello" else None, parse=_url)
        secrets = {key: str(asker.text(key, questions[key], secret=key in SECRET_KEYS, env=env))
                   for key, env in ENV_NAMES[flavour].items()}
        discovery = discovery_for(flavour, url, secrets)
        try:
            me = discovery.me()
        except TrackerAuthError:
            discovery.close()
            message = t(f"the tracker at {url} did not accept these credentials",
                        f"трекер {url} не принял эти учётные данные")
            if not asker.interactive or attempt == 2:
                raise TrackerAuthError(message + t("; check them and run init again",
                                                   "; проверьте их и запустите init снова")
                                       ) from None
            out_console.print(f"[red]✘[/] {escape(message)}")
            asker.given["url"] = url  # the address answered: only the credentials were wrong
            asker.forget(*secrets)
            continue
        except TrackerError as exc:
            discovery.close()
            message = t(f"cannot use {url}: {exc.message}", f"не удалось обратиться к {url}: "
                                                            f"{exc.message}")
            if not asker.interactive or attempt == 2:
                raise TrackerError(message) from None
            out_console.print(f"[red]✘[/] {escape(message)}")
            asker.forget("url")
            continue
        out_console.print(t(f"[green]✔[/] signed in as {escape(me.name)}",
                            f"[green]✔[/] вход выполнен: {escape(me.name)}"))
        return discovery, me, url, secrets
    raise AssertionError("unreachable")  # pragma: no cover


def _choose_place(asker: Asker, discovery: Any, flavour: str) -> Any:
    places = discovery.places()
    key = "board" if flavour == "trello" else "project"
    if not places:
        raise TrackerError(t(f"this account sees no {key}; ask for access and run init again",
                             "этой учётной записи не видно ни одной доски или проекта; "
                             "попросите доступ и запустите init снова"))
    keys = [p.key for p in places]
    labels = [p.name if flavour == "trello" else f"{p.key} — {p.name}" for p in places]
    default = keys[0] if asker.interactive or len(keys) == 1 else None
    question = t("Trello board", "Доска Trello") if key == "board" else t("Jira project",
                                                                          "Проект Jira")
    chosen = asker.choose(key, question, keys, default, labels)
    return next(p for p in places if p.key == chosen)


def _trello_lists(asker: Asker, discovery: Any, board: Any, tracker: Any, locale: str) -> None:
    from planerka_sync.service import onboarding as ob

    names = [x.name for x in discovery.lists(board)]
    out_console.print(t(f"Lists on {board.name}: ", f"Списки на доске {board.name}: ")
                      + escape(", ".join(names) or "-"))
    tracker.meetings_list = asker.text(
        "meetings_list", t("List for the meeting cards", "Список для карточек встреч"),
        ob.propose_meetings_list(names, locale))
    done_default = ob.propose_done_lists(names)
    tracker.tasks_list = asker.text(
        "tasks_list", t("List where decision tasks are created", "Список для задач-решений"),
        ob.propose_tasks_list(names, exclude=[tracker.meetings_list, *done_default]))
    tracker.done_lists = asker.choose_many(
        "done_lists", t("Lists whose cards are done (numbers or names, comma-separated)",
                        "Списки выполненного (номера или названия через запятую)"),
        names, done_default)
    missing = [n for n in dict.fromkeys([tracker.meetings_list, tracker.tasks_list])
               if n not in names]
    if not missing:
        return
    shown = ", ".join(missing)
    if not asker.confirm("create_lists", t(f"Create the missing lists on the board: {shown}?",
                                           f"Создать на доске недостающие списки: {shown}?"),
                         default=asker.interactive):
        if not asker.interactive:
            raise MissingAnswer(t(
                f"the board {board.name!r} has no list {shown}; pass --create-lists (or "
                f"`create_lists: true`) to create it, or name an existing one with "
                f"--meetings-list/--tasks-list (lists: {', '.join(names)})",
                f"на доске {board.name!r} нет списка {shown}; добавьте --create-lists (или "
                f"`create_lists: true`), чтобы создать его, или укажите существующий через "
                f"--meetings-list/--tasks-list (списки: {', '.join(names)})"))
        out_console.print(t("[yellow]![/] without them `check` will fail; create them in Trello",
                            "[yellow]![/] без них `check` не пройдёт; создайте их в Trello"))
        return
    for name in missing:
        discovery.create_list(board, name)
        out_console.print(t(f"[green]✔[/] created the list {escape(name)}",
                            f"[green]✔[/] создан список {escape(name)}"))


def _jira_types(asker: Asker, discovery: Any, project: Any, tracker: Any) -> None:
    from planerka_sync.service import onboarding as ob

    types = discovery.issue_types(project)
    default = ob.propose_issue_type(types)
    tracker.meeting_issue_type = asker.choose(
        "meeting_issue_type", t("Issue type of the meeting issues", "Тип задачи для встреч"),
        types, default)
    tracker.task_issue_type = asker.choose(
        "task_issue_type", t("Issue type of decision tasks", "Тип задачи для решений"),
        types, default)
    statuses = discovery.statuses(project)
    names = [s.name for s in statuses]
    done = asker.choose_many(
        "done_statuses", t("Statuses that mean done (numbers or names, comma-separated)",
                           "Статусы выполненного (номера или названия через запятую)"),
        names, ob.propose_done_statuses(statuses))
    tracker.status_map = ob.status_map_for(statuses, done)


def _team(asker: Asker, proposed: list[Any]) -> list[Any]:
    """Who is on the team, with ids and aliases: the tracker's people, as proposed, unless the
    answers or the lead say otherwise."""
    from rich.prompt import Prompt
    from rich.table import Table

    table = Table(title=t("The team, as proposed", "Команда, как предложено"))
    for column in ("#", "id", t("name", "имя"), t("account", "учётная запись"),
                   t("aliases", "другие имена")):
        table.add_column(column)
    for n, p in enumerate(proposed, 1):
        table.add_row(str(n), p.id, escape(p.name), escape(p.account), escape(", ".join(p.aliases)))
    out_console.print(table)
    given = asker.given.get("people")
    overrides = [g for g in given if isinstance(g, dict)] if isinstance(given, list) else []
    if isinstance(given, list):
        asker.given["people"] = ", ".join(_person_word(g) for g in given)

    def choose(text: str) -> list[Any]:
        if text.strip().casefold() in ("all", "все", "*"):
            return list(proposed)
        chosen = [_find(word, proposed) for word in text.split(",") if word.strip()]
        return list({id(p): p for p in chosen}.values())

    people = asker.text("people", t("Who is on the team? (numbers, ids or names, "
                                     "comma-separated; all)",
                                     "Кто в команде? (номера, id или имена через запятую; "
                                     "all — все)"), "all", parse=choose)
    for override in overrides:
        person = _find(_person_word(override), people)
        for name in ("id", "name", "aliases", "email"):
            if name in override:
                setattr(person, name, override[name])
    if asker.interactive and asker.confirm(
            TEAM_EDIT, t("Change anyone's id or aliases?", "Изменить чьи-то id или другие имена?"),
            default=False):
        for person in people:
            person.id = asker.text(f"{TEAM_EDIT}.id", f"{person.name}: id", person.id,
                                   parse=_series_id)
            aliases = Prompt.ask(t(f"{person.name}: aliases (comma-separated)",
                                   f"{person.name}: другие имена (через запятую)"),
                                 default=", ".join(person.aliases), console=out_console)
            person.aliases = [a.strip() for a in (aliases or "").split(",") if a.strip()]
    _valid_team(people)
    return people


def _person_word(given: Any) -> str:
    if isinstance(given, dict):
        return str(given.get("account") or given.get("username") or given.get("id") or "")
    return str(given)


def _find(word: str, people: Sequence[Any]) -> Any:
    from planerka_sync.service.onboarding import find_person

    text = word.strip()
    if text.isdigit() and 1 <= int(text) <= len(people):
        return people[int(text) - 1]
    person = find_person(text, people)
    if person is None:
        raise ValueError(t(f"no one on the tracker is {text!r} (people: "
                           f"{', '.join(p.id for p in people)})",
                           f"на трекере нет {text!r} (люди: {', '.join(p.id for p in people)})"))
    return person


def _valid_team(people: list[Any]) -> None:
    from pydantic import ValidationError

    from planerka_sync.config import Person

    if not people:
        raise BadAnswer(t("people: the team needs at least one person",
                          "people: в команде нужен хотя бы один человек"))
    wrong = []
    for person in people:
        try:
            Person.model_validate({"id": person.id, "name": person.name,
                                   "aliases": person.aliases})
        except ValidationError:
            wrong.append(repr(person.id))
    ids = [p.id for p in people]
    wrong += sorted({repr(i) for i in ids if ids.count(i) > 1})
    if wrong:
        raise BadAnswer(t(f"people: each id must be unique, of lowercase letters, digits, - and "
                          f"_: {', '.join(wrong)}",
                          f"people: id должны быть разными, из строчных латинских букв, цифр, - "
                          f"и _: {', '.join(wrong)}"))


def _series(asker: Asker, people: list[Any], me: str, locale: str) -> Any:
    from planerka_sync.config import parse_clock
    from planerka_sync.service import onboarding as ob

    series = ob.SeriesDraft()
    series.title = asker.text("title", t("Meeting title", "Название встречи"),
                              ob.SERIES_TITLE[locale])
    series.id = asker.text("series_id", t("Series id (for commands and labels)",
                                          "id серии (для команд и меток)"),
                           ob.DEFAULT_SERIES_ID, parse=_series_id)
    series.cadence = asker.choose("cadence", t("How often", "Как часто"),
                                  ["weekly", "biweekly", "monthly"], "weekly",
                                  labels=[t("weekly", "еженедельно"),
                                          t("every two weeks", "раз в две недели"),
                                          t("monthly", "ежемесячно")])
    monthly = series.cadence == "monthly"
    series.weekday = asker.text(
        "weekday", t("Weekday (MO..SU)" + (", e.g. 1MO = first Monday" if monthly else ""),
                     "День недели (MO..SU, или «понедельник»)" + (
                         ", 1MO — первый понедельник" if monthly else "")),
        "1MO" if monthly else ob.DEFAULT_WEEKDAY,
        parse=(lambda v: v.strip().upper()) if monthly else _weekday)
    series.time = asker.text("time", t("Start time (HH:MM, the team's time)",
                                       "Время начала (ЧЧ:ММ, время команды)"),
                             ob.DEFAULT_TIME, parse=lambda v: parse_clock(v).strftime("%H:%M"))
    series.duration_minutes = int(asker.text(
        "duration_minutes", t("Length in minutes", "Длительность в минутах"), "60",
        parse=_minutes))
    series.place = asker.text("place", t("Place or call link (- for none)",
                                         "Место или ссылка на звонок (- если нет)"), "-",
                              parse=lambda v: "" if v.strip() == "-" else v.strip())
    series.participants = asker.text(
        "participants", t("Participants (ids or names, comma-separated; all)",
                          "Участники (id или имена через запятую; all — все)"), "all",
        parse=lambda v: _participants(v, people))
    lead = next((p.id for p in people if p.account == me), None) or series.participants[0]
    series.facilitator = asker.text(
        "facilitator", t("Facilitator (id or name)", "Ведущий (id или имя)"), lead,
        parse=lambda v: _participants(v, people)[0])
    return series


def _series_id(text: str) -> str:
    from planerka_sync.service.onboarding import slug

    value = slug(text)
    if not value:
        raise ValueError(t("expected lowercase letters, digits, - and _",
                           "нужны строчные латинские буквы, цифры, - и _"))
    return value


def _weekday(text: str) -> str:
    from planerka_sync.service.onboarding import parse_weekday

    try:
        return parse_weekday(text)
    except ValueError:
        raise ValueError(t(f"{text!r} is not a weekday; MO, TU, WE, TH, FR, SA or SU",
                           f"{text!r} — не день недели; MO, TU, WE, TH, FR, SA или SU")) from None


def _minutes(text: str) -> str:
    if not text.strip().isdigit() or not 0 < int(text) <= 24 * 60:
        raise ValueError(t("expected a number of minutes, e.g. 60",
                           "нужно число минут, например 60"))
    return text.strip()


def _participants(text: str | list[str], people: list[Any]) -> list[str]:
    from planerka_sync.service.onboarding import parse_participants

    value = ", ".join(str(v) for v in text) if isinstance(text, list) else text
    try:
        chosen = parse_participants(value, people)
    except ValueError as exc:
        raise ValueError(t(f"{exc} is not on the team ({', '.join(p.id for p in people)})",
                           f"{exc} нет в команде ({', '.join(p.id for p in people)})")) from None
    if not chosen:
        raise ValueError(t("name at least one person", "нужен хотя бы один человек"))
    return chosen


def _sandbox_setup(asker: Asker) -> tuple[Any, str]:
    from planerka_sync.service import onboarding as ob

    flavour = asker.given.get("tracker") or "trello"
    url = asker.given.get("url")
    setup = ob.sandbox_setup(flavour, _url(url) if url else None)
    shown = str(url) if url else os.environ.get("SANDBOX_URL") or (
        f"http://127.0.0.1:{ob.SANDBOX_PORT}")
    use_config_locale(setup.locale)
    if asker.given.get("database"):
        setup.database = str(asker.given["database"])
    return setup, shown


# --- writing ---------------------------------------------------------------------------------


def _write(path: Path, env_path: Path, setup: Any) -> None:
    """The .env (0600) and the config, the config validated by loading it first; a config that
    does not load is a bug here, and nothing is left behind."""
    from planerka_sync.config import load_config, read_env_file
    from planerka_sync.service import onboarding as ob

    values = ob.env_values(setup)
    try:
        keep = read_env_file(env_path)
    except ConfigError:
        keep = {}  # --force over a malformed file: it is replaced
    keep = {k: v for k, v in keep.items() if k not in values}
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.init-draft")
    draft.write_text(ob.render_config(setup), encoding="utf-8")
    try:
        load_config(draft, env={**keep, **values, **os.environ})
    except ConfigError:
        draft.unlink(missing_ok=True)
        raise
    _write_private(env_path, ob.render_env(values, keep))
    os.replace(draft, path)
    for name, value in values.items():
        if os.environ.get(name) not in (None, value):
            out_console.print(t(f"[yellow]![/] {name} is set in your environment: it wins over "
                                "the .env value",
                                f"[yellow]![/] {name} задана в окружении: она важнее значения "
                                "в .env"))


def _write_private(path: Path, text: str) -> None:
    temp = path.with_name(f"{path.name}.init-draft")
    temp.unlink(missing_ok=True)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    os.replace(temp, path)
