"""A small JQL subset for the Jira emulators: a tokenizer, a recursive-descent parser, an evaluator.

Supported grammar (keywords case-insensitive, as in Jira)::

    query    := [or_expr] [ORDER BY sort ("," sort)*]
    or_expr  := and_expr (OR and_expr)*
    and_expr := not_expr (AND not_expr)*
    not_expr := NOT not_expr | "(" or_expr ")" | clause
    clause   := field op value
              | field [NOT] IN "(" value ("," value)* ")"
              | field IS [NOT] (EMPTY | NULL)
    op       := "=" | "!=" | ">" | ">=" | "<" | "<=" | "~" | "!~"
    value    := word | "quoted string" | 'quoted string' | function "(" ")"
    sort     := field [ASC | DESC]

Fields: project, key / issuekey / id, labels, status, statusCategory, issuetype / type,
assignee, reporter, priority, resolution (``Unresolved`` = empty), summary (``~`` only:
case-insensitive substring), text (``~``), updated, created, duedate / due,
resolutiondate / resolved. ``ORDER BY priority`` follows the priority scheme's rank (an
optional ``JqlContext.rank`` hook; DESC puts Highest first), not the names.
Date values: "yyyy-MM-dd HH:mm", "yyyy/MM/dd HH:mm", "yyyy-MM-dd", "yyyy/MM/dd", a period
relative to now ("-5m", "-1d", "2w", "-4h", "-1w 2d"), epoch milliseconds, now(), startOfDay(),
endOfDay(). Functions for users: currentUser().

Anything else (WAS, CHANGED, other functions, unknown fields) is rejected with the message Jira
gives, so that an adapter relying on unsupported syntax fails loudly in tests instead of silently
matching nothing.

The evaluator knows nothing about the emulator's storage: it asks a :class:`JqlContext` for the
values of a field on an issue, which keeps this module independent and unit-testable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

OPERATORS = ("!=", ">=", "<=", "!~", "=", ">", "<", "~")
VALID_OPERATORS = (
    "'=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'"
)
KEYWORDS = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"}
# Words Jira reserves for syntax we do not emulate; naming them gives a clearer error.
UNSUPPORTED_WORDS = {"was", "changed", "after", "before", "during", "on", "from", "to"}

TEXT_FIELDS = {"project", "key", "labels", "status", "statuscategory", "issuetype",
               "assignee", "reporter", "priority", "resolution"}
DATE_FIELDS = {"updated", "created", "duedate", "resolutiondate"}
LIKE_FIELDS = {"summary", "text", "description"}
ALIASES = {"issuekey": "key", "id": "key", "type": "issuetype", "due": "duedate",
           "resolved": "resolutiondate", "category": "statuscategory", "label": "labels"}
SORTABLE = {"updated", "created", "duedate", "resolutiondate", "key", "summary", "status",
            "project", "issuetype", "assignee", "reporter", "labels", "priority", "resolution"}
# Fields whose order is a scheme's rank rather than the alphabet (see JqlContext.rank).
RANKED = {"priority"}
USER_FIELDS = {"assignee", "reporter"}
PERIOD = re.compile(r"^([-+]?)((?:\d+[wdhm]\s*)+)$")
PERIOD_PART = re.compile(r"(\d+)([wdhm])")
UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}
DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")


class JqlError(Exception):
    """A query Jira would reject with 400; ``str(exc)`` is Jira's error message."""


@dataclass(frozen=True)
class Token:
    kind: str  # "word" | "string" | "op" | "(" | ")" | "," | "eof"
    text: str
    pos: int  # 1-based character, as Jira reports it

    def is_kw(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words

    def shown(self) -> str:
        return "EOF" if self.kind == "eof" else self.text


def tokenize(text: str) -> list[Token]:
    """Split a JQL string into tokens; quoted strings support backslash escapes."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "(),":
            tokens.append(Token(ch, ch, i + 1))
            i += 1
        elif ch in "\"'":
            i = _read_string(text, i, tokens)
        elif op := next((o for o in OPERATORS if text.startswith(o, i)), None):
            tokens.append(Token("op", op, i + 1))
            i += len(op)
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in "(),\"'=!<>~":
                i += 1
            if i == start:
                raise JqlError(_syntax(f"The character '{ch}' is a reserved JQL character", start))
            tokens.append(Token("word", text[start:i], start + 1))
    tokens.append(Token("eof", "", len(text) + 1))
    return tokens


def _read_string(text: str, start: int, out: list[Token]) -> int:
    quote, i, chars = text[start], start + 1, []
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            chars.append(text[i + 1])
            i += 2
            continue
        if ch == quote:
            out.append(Token("string", "".join(chars), start + 1))
            return i + 1
        chars.append(ch)
        i += 1
    raise JqlError(
        _syntax(f"The quoted string '{''.join(chars)}' has not been completed", start)
    )


def _syntax(message: str, index0: int) -> str:
    return f"Error in the JQL Query: {message}. (line 1, character {index0 + 1})"


# --- AST --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    text: str
    function: bool = False
    quoted: bool = False


@dataclass(frozen=True)
class Clause:
    field: str
    op: str  # "=", "!=", ">", ..., "in", "not in", "is", "is not"
    values: tuple[Value, ...]


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    part: Node


Node = Clause | BoolOp | Not


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool


@dataclass(frozen=True)
class Query:
    where: Node | None
    order: tuple[SortKey, ...]

    @property
    def unbounded(self) -> bool:
        """True without a restriction (the enhanced search rejects such queries)."""
        return self.where is None


# --- parser -----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, message: str, tok: Token | None = None) -> JqlError:
        tok = tok or self.tok
        return JqlError(f"Error in the JQL Query: {message}. (line 1, character {tok.pos})")

    def query(self) -> Query:
        where = None if self.tok.kind == "eof" or self.tok.is_kw("order") else self.or_expr()
        order: list[SortKey] = []
        if self.tok.is_kw("order"):
            self.advance()
            if not self.tok.is_kw("by"):
                raise self.fail(f"Expecting 'by' but got '{self.tok.shown()}'")
            self.advance()
            order.append(self.sort_key())
            while self.tok.kind == ",":
                self.advance()
                order.append(self.sort_key())
        if self.tok.kind != "eof":
            raise self.fail(
                f"Expecting either 'OR' or 'AND' but got '{self.tok.shown()}'"
            )
        return Query(where, tuple(order))

    def sort_key(self) -> SortKey:
        tok = self.advance()
        if tok.kind not in ("word", "string"):
            raise self.fail(f"Expecting a field name but got '{tok.shown()}'", tok)
        name = field_name(tok.text)
        if name not in SORTABLE:
            if name in TEXT_FIELDS | DATE_FIELDS | LIKE_FIELDS:
                raise JqlError(f"Field '{tok.text}' does not support sorting.")
            raise JqlError(unknown_field(tok.text))
        descending = False
        if self.tok.is_kw("asc", "desc"):
            descending = self.advance().text.lower() == "desc"
        return SortKey(name, descending)

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.tok.is_kw("or"):
            self.advance()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.not_expr()]
        while self.tok.is_kw("and"):
            self.advance()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def not_expr(self) -> Node:
        if self.tok.is_kw("not"):
            self.advance()
            return Not(self.not_expr())
        if self.tok.kind == "(":
            self.advance()
            inner = self.or_expr()
            if self.tok.kind != ")":
                raise self.fail(f"Expecting ')' but got '{self.tok.shown()}'")
            self.advance()
            return inner
        return self.clause()

    def clause(self) -> Clause:
        tok = self.advance()
        if tok.kind not in ("word", "string") or tok.text.lower() in KEYWORDS:
            raise self.fail(f"Expecting a field name but got '{tok.shown()}'", tok)
        name = field_name(tok.text)
        if name not in TEXT_FIELDS | DATE_FIELDS | LIKE_FIELDS:
            raise JqlError(unknown_field(tok.text))
        op = self.operator()
        if op in ("in", "not in"):
            values = self.value_list()
        elif op in ("is", "is not"):
            if not self.tok.is_kw("empty", "null"):
                raise self.fail(f"Expecting 'EMPTY' or 'NULL' but got '{self.tok.shown()}'")
            self.advance()
            values = ()
        else:
            values = (self.value(),)
        check_operator(name, tok.text, op)
        return Clause(name, op, values)

    def operator(self) -> str:
        tok = self.tok
        if tok.kind == "op":
            self.advance()
            return tok.text
        if tok.is_kw("in"):
            self.advance()
            return "in"
        if tok.is_kw("not"):
            self.advance()
            if not self.tok.is_kw("in"):
                raise self.fail(f"Expecting 'IN' but got '{self.tok.shown()}'")
            self.advance()
            return "not in"
        if tok.is_kw("is"):
            self.advance()
            if self.tok.is_kw("not"):
                self.advance()
                return "is not"
            return "is"
        if tok.kind == "word" and tok.text.lower() in UNSUPPORTED_WORDS:
            raise self.fail(f"The operator '{tok.text.upper()}' is not supported by this sandbox")
        raise self.fail(
            f"Expecting operator but got '{tok.shown()}'. The valid operators are {VALID_OPERATORS}"
        )

    def value_list(self) -> tuple[Value, ...]:
        if self.tok.kind != "(":
            raise self.fail(f"Expecting '(' but got '{self.tok.shown()}'")
        self.advance()
        values = [self.value()]
        while self.tok.kind == ",":
            self.advance()
            values.append(self.value())
        if self.tok.kind != ")":
            raise self.fail(f"Expecting ')' but got '{self.tok.shown()}'")
        self.advance()
        return tuple(values)

    def value(self) -> Value:
        tok = self.advance()
        if tok.kind == "string":
            return Value(tok.text, quoted=True)
        if tok.kind != "word" or tok.text.lower() in KEYWORDS:
            raise self.fail(
                f"Expecting either a value, list or function but got '{tok.shown()}'", tok
            )
        if self.tok.kind == "(":
            self.advance()
            if self.tok.kind != ")":
                raise self.fail("Function arguments are not supported by this sandbox")
            self.advance()
            return Value(tok.text, function=True)
        return Value(tok.text)


def field_name(text: str) -> str:
    lowered = text.lower()
    return ALIASES.get(lowered, lowered)


def unknown_field(text: str) -> str:
    return f"Field '{text}' does not exist or you do not have permission to view it."


def check_operator(name: str, shown: str, op: str) -> None:
    """Reject operators a field does not support, as Jira does."""
    allowed: set[str]
    if name in DATE_FIELDS:
        allowed = {"=", "!=", ">", ">=", "<", "<=", "in", "not in", "is", "is not"}
    elif name in LIKE_FIELDS:
        allowed = {"~", "!~", "is", "is not"}
    elif name == "key":
        allowed = {"=", "!=", ">", ">=", "<", "<=", "in", "not in"}
    else:
        allowed = {"=", "!=", "in", "not in", "is", "is not"}
    if op not in allowed:
        raise JqlError(f"The operator '{op.upper()}' is not supported by the '{shown}' field.")


def parse(text: str) -> Query:
    """Parse a JQL string; raises :class:`JqlError` with Jira's message on bad syntax."""
    return _Parser(text or "").query()


# --- evaluation -------------------------------------------------------------------------------


class JqlContext(Protocol):
    """What the evaluator needs from an emulator.

    A context may also define ``rank(issue, field) -> Any`` for the fields in ``RANKED``
    (``ORDER BY priority`` sorts by the scheme's order); without it they sort by name.
    """

    now: float
    tz: ZoneInfo

    def values(self, issue: Any, field: str) -> list[str]:
        """Text values of a field; each may have aliases (``status``: name and id)."""
        ...

    def timestamp(self, issue: Any, field: str) -> float | None:
        """Epoch seconds of a date field, None when empty."""
        ...

    def key_number(self, issue: Any) -> tuple[str, int]:
        ...

    def current_user(self) -> list[str]:
        ...

    def check_value(self, field: str, value: str) -> None:
        """Raise JqlError when ``value`` cannot exist for ``field`` (e.g. unknown project)."""
        ...


def matcher(query: Query, ctx: JqlContext) -> Callable[[Any], bool]:
    """A predicate over issues; values are resolved once, before any issue is looked at."""
    if query.where is None:
        return lambda issue: True
    return _compile(query.where, ctx)


def _compile(node: Node, ctx: JqlContext) -> Callable[[Any], bool]:
    if isinstance(node, BoolOp):
        parts = [_compile(p, ctx) for p in node.parts]
        if node.op == "and":
            return lambda issue: all(p(issue) for p in parts)
        return lambda issue: any(p(issue) for p in parts)
    if isinstance(node, Not):
        inner = _compile(node.part, ctx)
        return lambda issue: not inner(issue)
    if node.field in DATE_FIELDS:
        return _date_clause(node, ctx)
    if node.field in LIKE_FIELDS:
        return _like_clause(node, ctx)
    if node.field == "key" and node.op in (">", ">=", "<", "<="):
        return _key_range_clause(node, ctx)
    return _text_clause(node, ctx)


def _text_values(clause: Clause, ctx: JqlContext) -> set[str]:
    wanted: set[str] = set()
    for value in clause.values:
        if value.function:
            if value.text.lower() != "currentuser" or clause.field not in USER_FIELDS:
                raise JqlError(unsupported_function(value.text, clause.field))
            wanted.update(v.lower() for v in ctx.current_user())
            continue
        if value.text.lower() in ("empty", "null") and not value.quoted:
            wanted.add("")
            continue
        if clause.field == "resolution" and value.text.lower() == "unresolved":
            wanted.add("")  # Jira's name for "no resolution"
            continue
        ctx.check_value(clause.field, value.text)
        wanted.add(value.text.lower())
    return wanted


def _text_clause(clause: Clause, ctx: JqlContext) -> Callable[[Any], bool]:
    if clause.op in ("is", "is not"):
        empty = clause.op == "is"
        return lambda issue: (not ctx.values(issue, clause.field)) == empty
    wanted = _text_values(clause, ctx)

    def hit(issue: Any) -> bool:
        have = {v.lower() for v in ctx.values(issue, clause.field)}
        return bool(have & wanted) or ("" in wanted and not have)

    if clause.op in ("=", "in"):
        return hit
    # Jira's != and NOT IN never match an empty field.
    return lambda issue: bool(ctx.values(issue, clause.field)) and not hit(issue)


def _like_clause(clause: Clause, ctx: JqlContext) -> Callable[[Any], bool]:
    if clause.op in ("is", "is not"):
        empty = clause.op == "is"
        return lambda issue: (not ctx.values(issue, clause.field)) == empty
    needle = clause.values[0].text.lower().strip("*")
    fields = ("summary", "description", "comment") if clause.field == "text" else (clause.field,)

    def contains(issue: Any) -> bool:
        return any(needle in v.lower() for f in fields for v in ctx.values(issue, f))

    return contains if clause.op == "~" else (lambda issue: not contains(issue))


def _key_range_clause(clause: Clause, ctx: JqlContext) -> Callable[[Any], bool]:
    text = clause.values[0].text
    match = re.fullmatch(r"([A-Za-z][A-Za-z0-9_]*)-(\d+)", text)
    if not match:
        raise JqlError(f"The issue key '{text}' for field '{clause.field}' is invalid.")
    bound = (match.group(1).upper(), int(match.group(2)))
    compare = _COMPARE[clause.op]

    def in_range(issue: Any) -> bool:
        project, number = ctx.key_number(issue)
        return project == bound[0] and compare(number, bound[1])

    return in_range


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _date_clause(clause: Clause, ctx: JqlContext) -> Callable[[Any], bool]:
    if clause.op in ("is", "is not"):
        empty = clause.op == "is"
        return lambda issue: (ctx.timestamp(issue, clause.field) is None) == empty
    bounds = [date_value(v, clause.field, ctx) for v in clause.values]
    if clause.op in ("in", "not in"):
        minutes = {int(b // 60) for b in bounds}

        def member(issue: Any) -> bool:
            stamp = ctx.timestamp(issue, clause.field)
            return stamp is not None and int(stamp // 60) in minutes

        return member if clause.op == "in" else (lambda issue: not member(issue))
    compare, bound = _COMPARE[clause.op], bounds[0]

    def check(issue: Any) -> bool:
        stamp = ctx.timestamp(issue, clause.field)
        if stamp is None:
            return False
        if clause.op in ("=", "!="):
            # JQL dates have minute precision.
            return compare(int(stamp // 60), int(bound // 60))
        return compare(stamp, bound)

    return check


def date_value(value: Value, field: str, ctx: JqlContext) -> float:
    """Epoch seconds for a JQL date literal, period, epoch-millis number or date function."""
    text = value.text.strip()
    if value.function:
        return _date_function(text, field, ctx)
    if re.fullmatch(r"\d{9,}", text):
        return int(text) / 1000.0
    period = PERIOD.match(text)
    if period:
        seconds = sum(int(n) * UNIT_SECONDS[u] for n, u in PERIOD_PART.findall(period.group(2)))
        return ctx.now - seconds if period.group(1) == "-" else ctx.now + seconds
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=ctx.tz).timestamp()
        except ValueError:
            continue
    raise JqlError(
        f"Date value '{text}' for field '{field}' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
        "format e.g. '-5d', '4w 2d'."
    )


def _date_function(name: str, field: str, ctx: JqlContext) -> float:
    lowered = name.lower()
    if lowered == "now":
        return ctx.now
    local = datetime.fromtimestamp(ctx.now, ctx.tz)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if lowered == "startofday":
        return start.timestamp()
    if lowered == "endofday":
        return (start + timedelta(days=1) - timedelta(milliseconds=1)).timestamp()
    raise JqlError(unsupported_function(name, field))


def unsupported_function(name: str, field: str) -> str:
    return (
        f"Error in the JQL Query: the function '{name}' is not supported for field "
        f"'{field}' by this sandbox."
    )


def sort_issues(
    issues: Sequence[Any], order: Sequence[SortKey], ctx: JqlContext
) -> list[Any]:
    """Issues in ORDER BY order; without one Jira's default, key descending (newest first)."""
    keys = list(order) or [SortKey("key", True)]
    result = list(issues)
    # Stable sorts applied from the least significant key; key is the final tiebreaker.
    for sort in reversed([*keys, SortKey("key", keys[0].descending)]):
        field = sort.field

        def value_of(issue: Any, field: str = field) -> Any:
            return _sort_value(issue, field, ctx)

        present = [i for i in result if value_of(i) is not None]
        missing = [i for i in result if value_of(i) is None]
        present.sort(key=value_of, reverse=sort.descending)
        # Jira puts empty values last ascending and first descending.
        result = [*missing, *present] if sort.descending else [*present, *missing]
    return result


def _sort_value(issue: Any, field: str, ctx: JqlContext) -> Any:
    if field == "key":
        return ctx.key_number(issue)
    rank = getattr(ctx, "rank", None)
    if field in RANKED and rank is not None:
        # Optional hook: contexts written before it keep sorting by name.
        return rank(issue, field)
    if field in DATE_FIELDS:
        return ctx.timestamp(issue, field)
    values = ctx.values(issue, field)
    return values[0].lower() if values else None
