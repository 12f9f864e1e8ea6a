"""The deterministic chat parser: a message, the user's zone and "now" in, one intent out.

No I/O and no randomness: the same arguments always give the same intent, which is what lets
tests/chat/test_corpus.py pin each phrasing to one exact result. The order of reading is
fixed: the kind of request from its opening words, then markers (#tag, !priority), reminders,
the recurrence, the date and time, and what is left is the title. Whatever stays unclear
becomes a `Clarify` question instead of a task.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from app.chat import intents
from app.chat.repeats import first_due, take_repeat
from app.chat.when import (
    AMOUNT,
    DEFAULT_TIME,
    UNIT,
    WEEKDAY_FULL,
    Context,
    Text,
    Unclear,
    Wording,
    compile_ci,
    parse_duration,
    place,
    resolve,
    take_first,
    take_when,
)
from app.domain.recurrence import load_timezone

MAX_MESSAGE: Final = 500
MAX_TITLE: Final = 200
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
TAG: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
EXAMPLES: Final = (
    "Try e.g. 'call mum tomorrow evening', 'standup every weekday at 9:30 #work', "
    "'what's due this week?', 'done standup', 'undo'."
)
_PRIORITIES: Final[dict[str, intents.Priority]] = {
    "high": "high",
    "h": "high",
    "1": "high",
    "urgent": "high",
    "important": "high",
    "medium": "medium",
    "med": "medium",
    "m": "medium",
    "2": "medium",
    "normal": "medium",
    "low": "low",
    "l": "low",
    "3": "low",
}


_TAGS: Final = re.compile(r"(?<![\w&])#(?P<tag>[^\s#!,;]+)")
_PRIORITY_MARK: Final = re.compile(r"(?<![\w!])!(?P<priority>[^\s#!,;]+)")
_REMINDER: Final = compile_ci(
    r"[,;]?\s*(?:and\s+)?\bremind\s+me\s+(?:(?P<offsets>(?:(?:" + AMOUNT + r")\s*(?:" + UNIT + r")"
    r"(?:\s*(?:,|and)\s*)?)+)\s+(?:before|early|earlier|ahead)"
    r"|(?P<on_time>(?:at\s+the\s+time|on\s+time|when\s+(?:it'?s|it\s+is)\s+due)))\b"
)
_OFFSET: Final = compile_ci(r"(?P<amount>" + AMOUNT + r")\s*(?P<unit>" + UNIT + r")")
_REMIND_TO: Final = compile_ci(r"^\s*remind\s+me\s+to\s+")
_CREATE_VERB: Final = compile_ci(
    r"^\s*(?:please\s+)?(?:add|create|new(?:\s+task)?|todo|task|schedule)\b(?:\s+a)?(?:\s+task)?\s*[:\-]?\s*"
)
_QUESTION: Final = compile_ci(
    r"^\s*(?:what|what's|whats|which|show|list|any|anything|do\s+i\s+have|tell\s+me|how\s+many)\b"
)
# Straight and typographic quotes around a title ("complete 'buy milk'").
_QUOTE_CHARS: Final = "\"'\u201c\u201d\u2018\u2019"
_QUOTES: Final = f"[{_QUOTE_CHARS}]"
_TARGET_NOISE: Final = compile_ci(
    rf"^(?:the|my|a|that|this)(?:\s+|$)|\s+(?:task|todo|item|reminder|one)$|^{_QUOTES}+|{_QUOTES}+$"
)
# Words that mean a date or time was meant but not understood: then ask, never file them
# into the title. "may" and "march" are words too, so months count only beside a number.
_LEFTOVER: Final = compile_ci(
    rf"\b(?:today|tonight|tomorrow|tmrw|yesterday|every|until|daily|weekly|monthly|yearly"
    rf"|noon|midnight|{WEEKDAY_FULL})\b|\b\d{{1,2}}(?::\d{{2}})?\s*[ap]\.?m\b|\b\d{{1,2}}:\d{{2}}\b"
    r"|\bremind\s+me\b|\bin\s+\d+\s*\w+\s*$"
)
_DANGLING: Final = compile_ci(
    r"(?:[\s,;:\-]+|\b(?:at|on|by|due|for|in|and|from|starting|every|to)\b)+$"
)
# What a question asks for, by its words: the first kind that matches, else "open".
_QUERY_KINDS: Final[tuple[tuple[re.Pattern[str], intents.QueryKind], ...]] = (
    (compile_ci(r"\b(?:finish(?:ed)?|complete[d]?|done|did)\b"), "completed"),
    (compile_ci(r"\b(?:overdue|late|past\s+due|missed)\b"), "overdue"),
    (compile_ci(r"\bdue\b"), "due"),
)
_QUERY_PERIOD: Final = compile_ci(
    r"\b(?P<period>today|tomorrow|yesterday|this\s+week|next\s+week|last\s+week|this\s+month|next\s+month)\b"
)
_QUERY_TAG: Final = compile_ci(
    r"(?:#(?P<hash>[\w-]+)|\b(?P<word>[\w-]+)\s+(?:tasks|todos|items|stuff)\b)"
)
_NOT_TAGS: Final = frozenset(
    {
        "my",
        "all",
        "the",
        "open",
        "overdue",
        "due",
        "completed",
        "finished",
        "done",
        "any",
        "of",
        "what",
        "which",
        "how",
        "many",
        "late",
        "past",
        "missed",
        "some",
        "show",
        "list",
        "pending",
        "upcoming",
    }
)


def parse(message: str, *, timezone: str, now: datetime) -> intents.Intent:
    """The intent of `message` for a user in `timezone` at `now` (aware).

    Raises only for a bad `timezone` or a naive `now` (the caller's inputs, checked before);
    any message yields an intent, a `Clarify` when it cannot be read for certain.
    """
    zone = load_timezone(timezone)
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    context = Context(zone=zone, now=now.astimezone(UTC).astimezone(zone))
    if _CONTROL.search(message):
        return intents.Clarify("That message has control characters in it; send plain text.")
    text = " ".join(message.split())
    if not text:
        return intents.Clarify(f"What should I do? {EXAMPLES}")
    if len(text) > MAX_MESSAGE:
        return intents.Clarify(f"That message is too long: keep it under {MAX_MESSAGE} characters.")
    try:
        return _read(text, context)
    except Unclear as unclear:
        return intents.Clarify(str(unclear))


def _read(text: str, context: Context) -> intents.Intent:
    request = take_first(Text(text), _REQUESTS, context)
    if request is not None:
        return request
    if _QUESTION.match(text) or text.endswith("?"):
        return _query(text, context)
    return _create(text, context)


def _target(text: str) -> str:
    target = text.strip()
    for _ in range(3):  # "the plumber reminder" -> "plumber"; "my 'report' task" -> "report"
        target = _TARGET_NOISE.sub("", target).strip()
    if not target:
        raise Unclear("Which task do you mean? Name it by (part of) its title.")
    return target[:MAX_TITLE]


def _title(text: str) -> str:
    title = text.strip().strip(_QUOTE_CHARS).strip()
    if not title:
        raise Unclear("What should the task be called?")
    if len(title) > MAX_TITLE:
        raise Unclear(f"That title is too long: keep it under {MAX_TITLE} characters.")
    return title


def _snooze(found: re.Match[str], context: Context) -> intents.Snooze:
    if not found["by"]:
        raise Unclear("Snooze it for how long? Say e.g. 'snooze the plumber by an hour'.")
    return intents.Snooze(target=_target(found["target"]), by=parse_duration(found["by"]))


def _rename(found: re.Match[str], context: Context) -> intents.Change:
    return intents.Change(target=_target(found["target"]), title=_title(found["title"]))


def _set_priority(found: re.Match[str], context: Context) -> intents.Change:
    priority = _PRIORITIES[found["priority"].lower()]
    return intents.Change(target=_target(found["target"]), priority=priority)


def _move(found: re.Match[str], context: Context) -> intents.Change:
    rest = Text(found["when"])
    when = take_when(rest, context)
    if rest.value.strip(" ,.!") or when.empty:
        raise Unclear(
            f"When should it move to? I could not read {found['when']!r} as a date or time."
        )
    if when.instant is not None:
        return intents.Change(
            target=_target(found["target"]), day=when.instant.date(), at=when.instant.time()
        )
    return intents.Change(target=_target(found["target"]), day=when.day, at=when.at)


def _complete(found: re.Match[str], context: Context) -> intents.Complete:
    return intents.Complete(target=_target(found["target"]))


def _delete(found: re.Match[str], context: Context) -> intents.Delete:
    return intents.Delete(target=_target(found["target"]))


# The kinds of request that are not a question or a new task, each known by the whole
# message's shape; tried in this order, the first to match decides.
_REQUESTS: Final[tuple[Wording[intents.Intent], ...]] = (
    (
        compile_ci(
            r"^\s*(?:undo|revert|take\s+(?:that|it)\s+back|oops)(?:\s+(?:that|it|last|the\s+last\s+change))?\s*[.!]*\s*$"
        ),
        lambda found, context: intents.Undo(),
    ),
    (
        compile_ci(r"^\s*snooze\s+(?P<target>.+?)(?:\s+(?:by|for)\s+(?P<by>.+?))?\s*[.!]?\s*$"),
        _snooze,
    ),
    (compile_ci(r"^\s*rename\s+(?P<target>.+?)\s+to\s+(?P<title>.+?)\s*$"), _rename),
    (
        compile_ci(
            r"^\s*(?:set|change|make|mark)\s+(?P<target>.+?)(?:'s)?\s+(?:priority\s+)?(?:to\s+|as\s+)?"
            r"!?(?P<priority>high|medium|low)(?:\s+priority)?\s*$"
        ),
        _set_priority,
    ),
    (
        compile_ci(
            r"^\s*(?:move|reschedule|push|postpone|shift|change|set)\s+(?P<target>.+?)\s+(?:to|until|till)\s+(?P<when>.+?)\s*$"
        ),
        _move,
    ),
    (
        compile_ci(
            r"^\s*(?:done(?:\s+with)?|complete|completed|finish|finished|check\s+off|tick\s+off|mark)\s*:?\s+"
            r"(?P<target>.+?)(?:\s+as\s+(?:done|complete|completed|finished))?\s*[.!]*\s*$"
        ),
        _complete,
    ),
    (
        compile_ci(
            r"^\s*i(?:'ve|\s+have)?\s+(?:just\s+)?(?:finished|completed|done|did)\s+(?P<target>.+?)\s*[.!]*\s*$"
        ),
        _complete,
    ),
    (
        compile_ci(r"^\s*(?P<target>.+?)\s+is\s+(?:done|finished|complete|completed)\s*[.!]*\s*$"),
        _complete,
    ),
    (compile_ci(r"^\s*(?:delete|remove|cancel)\s+(?P<target>.+?)\s*[.!]*\s*$"), _delete),
)


def _create(message: str, context: Context) -> intents.Intent:
    text = Text(message)
    verb = text.take(_CREATE_VERB) is not None
    remind_to = text.take(_REMIND_TO) is not None
    tags = _take_tags(text)
    priority = _take_priority(text)
    reminders = _take_reminders(text)
    repeat = take_repeat(text, context)
    when = take_when(text, context)
    title = _DANGLING.sub("", text.value.strip(" ,;:.-")).strip(" ,;:.-")
    title = " ".join(title.split())
    if (leftover := _LEFTOVER.search(title)) is not None:
        raise Unclear(
            f"I could not read {leftover[0]!r} in {title!r}. Say the date and time like "
            "'tomorrow at 9am', 'friday evening' or 'on March 3'."
        )
    structured = bool(repeat or not when.empty or tags or priority or reminders)
    if not (verb or remind_to or structured):
        raise Unclear(f"Do you want a task {title!r}? Say 'add {title}'. {EXAMPLES}")
    title = _title(title)
    if repeat is not None:
        at = when.at or (
            when.instant.timetz().replace(tzinfo=None) if when.instant else DEFAULT_TIME
        )
        due = resolve(when, context) if when.day or when.instant else first_due(repeat, context, at)
        rule = repeat.rule()
    else:
        due, rule = resolve(when, context), None
    if remind_to and not reminders:
        reminders = (timedelta(0),)
    if reminders and due is None:
        raise Unclear("A reminder needs a due date: when is it due?")
    # In TaskDraft's field order; each field's type differs, so mypy checks the order.
    return intents.Create(intents.TaskDraft(title, due, rule, tags, priority, reminders))


def _take_tags(text: Text) -> tuple[str, ...]:
    tags: list[str] = []
    while (found := text.take(_TAGS)) is not None:
        tag = found["tag"].lower().rstrip(".")
        if not TAG.match(tag):
            raise Unclear(
                f"#{found['tag']} is not a tag I can use: 1-32 letters, digits, '-' or '_'."
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > 20:
        raise Unclear("That is more than 20 tags; keep it to 20.")
    return tuple(tags)


def _take_priority(text: Text) -> intents.Priority | None:
    found = text.take(_PRIORITY_MARK)
    if found is None:
        return None
    word = found["priority"].lower().rstrip(".")
    if word not in _PRIORITIES:
        raise Unclear(f"!{found['priority']} is not a priority: use !high, !medium or !low.")
    if text.take(_PRIORITY_MARK) is not None:
        raise Unclear("That has two priorities. Which one: !high, !medium or !low?")
    return _PRIORITIES[word]


def _take_reminders(text: Text) -> tuple[timedelta, ...]:
    found = text.take(_REMINDER)
    if found is None:
        return ()
    if found["on_time"]:
        return (timedelta(0),)
    offsets = {
        parse_duration(f"{each['amount']} {each['unit']}")
        for each in _OFFSET.finditer(found["offsets"])
    }
    return tuple(sorted(offsets, reverse=True))


def _query(text: str, context: Context) -> intents.Query:
    kind: intents.QueryKind = next(
        (kind for words, kind in _QUERY_KINDS if words.search(text)), "open"
    )
    tag = None
    for found in _QUERY_TAG.finditer(text):
        word = (found["hash"] or found["word"]).lower()
        if word not in _NOT_TAGS and TAG.match(word):
            tag = word
            break
    period = _QUERY_PERIOD.search(text)
    if period is None:
        if kind == "due":
            kind = "open"
        return intents.Query(kind=kind, tag=tag)
    name = " ".join(period["period"].lower().split())
    start, end = _period(name, context)
    if kind == "open":
        kind = "due"
    return intents.Query(kind=kind, start=start, end=end, tag=tag, period=name)


def _period(name: str, context: Context) -> tuple[datetime, datetime]:
    """Local midnight to local midnight (weeks start on Monday), aware in the user's zone."""
    today = context.today
    monday = today - timedelta(days=today.weekday())
    first = today.replace(day=1)
    next_first = (first + timedelta(days=32)).replace(day=1)
    spans: dict[str, tuple[date, date]] = {
        "today": (today, today + timedelta(days=1)),
        "tomorrow": (today + timedelta(days=1), today + timedelta(days=2)),
        "yesterday": (today - timedelta(days=1), today),
        "this week": (monday, monday + timedelta(days=7)),
        "next week": (monday + timedelta(days=7), monday + timedelta(days=14)),
        "last week": (monday - timedelta(days=7), monday),
        "this month": (first, next_first),
        "next month": (next_first, (next_first + timedelta(days=32)).replace(day=1)),
    }
    begin, end = spans[name]
    return place(begin, time(0), context.zone), place(end, time(0), context.zone)
