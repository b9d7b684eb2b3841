"""One bounded pass over a buffer with every detector at once.

The buffer is read in windows of :data:`WINDOW` bytes that overlap by
:data:`~mlwarden.scanners.code.secret_patterns.MAX_MATCH`, so a minified file with
megabyte-long lines costs the same as any other and the time budget is checked between
windows. Within a window RE2 walks every detector's pattern in one alternation; a
candidate its check rejects is searched again from its next byte, so a rejected shape
never hides a real token inside it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable

import re2

from mlwarden.scanners.code.generic_secrets import PATTERN as GENERIC_PATTERN
from mlwarden.scanners.code.generic_secrets import generic_hit
from mlwarden.scanners.code.secret_patterns import DETECTORS, MAX_MATCH, Candidate, Hit

WINDOW = 1 << 20
_NAMED_GROUP = re.compile(rb"\(\?P<[a-z]+>")
_LONG_COUNT = re.compile(rb"\{(\d+),(\d{4,})\}")
_RE2_MAX_COUNT = 1000
_TICK_EVERY = 2048  # candidates between time-budget checks inside one window


def _re2(pattern: bytes) -> re2._Regexp:
    options = re2.Options()
    options.max_mem = 64 << 20  # room for the DFA of ~40 alternatives, so RE2 stays linear-fast
    return re2.compile(pattern, options)


def _for_re2(pattern: bytes) -> bytes:
    """The RE2 form of a pattern: no named groups, and counted repetitions capped at
    RE2's limit of 1000. Bounded repetitions (never open-ended ones) keep the cost of a
    rejected candidate bounded, so no input can make the search quadratic."""
    unnamed = _NAMED_GROUP.sub(b"(?:", pattern)
    cap = str(_RE2_MAX_COUNT).encode()
    return _LONG_COUNT.sub(lambda m: b"{" + m.group(1) + b"," + cap + b"}", unnamed)


# Group i + 1 of the combined pattern is detector i; the patterns have no other groups.
_COMBINED = _re2(b"|".join(b"(" + _for_re2(d.pattern) + b")" for d in DETECTORS))
_EXTRACT = tuple(re.compile(d.pattern) for d in DETECTORS)
_GENERIC = _re2(_for_re2(GENERIC_PATTERN))


def _windows(size: int) -> list[tuple[int, int, int]]:
    """(start, end, handover) triples: matches starting at or after ``handover`` are left
    to the next window, which starts there."""
    out: list[tuple[int, int, int]] = []
    start = 0
    while True:
        end = min(size, start + WINDOW)
        if end >= size:
            out.append((start, size, size))
            return out
        handover = end - MAX_MATCH
        out.append((start, end, handover))
        start = handover


def _specific(data: bytes, span: tuple[int, int, int], tick: Callable[[], None]) -> list[Hit]:
    start, end, handover = span
    hits: list[Hit] = []
    pos = start
    candidates = 0
    while pos < end:
        candidates += 1
        if candidates % _TICK_EVERY == 0:
            tick()
        m = _COMBINED.search(data, pos, end)
        if m is None or (m.start() >= handover and handover != end):
            break
        index = next(i for i in range(len(DETECTORS)) if m.start(i + 1) >= 0)
        hit = None
        extracted = _EXTRACT[index].match(data, m.start(), m.end())
        if extracted is not None:
            hit = DETECTORS[index].check(Candidate(extracted, data))
        if hit is None:
            pos = m.start() + 1
        else:
            hits.append(hit)
            pos = max(m.end(), m.start() + 1)
    return hits


def _generic(data: bytes, span: tuple[int, int, int], tick: Callable[[], None]) -> list[Hit]:
    start, end, handover = span
    hits: list[Hit] = []
    pos = start
    candidates = 0
    while pos < end:
        candidates += 1
        if candidates % _TICK_EVERY == 0:
            tick()
        m = _GENERIC.search(data, pos, end)
        if m is None or (m.start() >= handover and handover != end):
            break
        hit = generic_hit(data, m.start(), m.end())
        if hit is not None:
            hits.append(hit)
        pos = max(m.end(), m.start() + 1)
    return hits


def _no_tick() -> None:
    pass


def _overlaps(hit: Hit, taken: list[Hit], starts: list[int]) -> bool:
    i = bisect.bisect_right(starts, hit.start)
    before = i > 0 and taken[i - 1].end > hit.start
    after = i < len(taken) and taken[i].start < hit.end
    return before or after


def find_secrets(
    data: bytes,
    *,
    generic: bool = True,
    tick: Callable[[], None] | None = None,
    max_hits: int = 10_000,
) -> list[Hit]:
    """Every credential in ``data``, sorted by offset; at most ``max_hits`` of them.

    ``generic`` adds the entropy check of assigned values (off for notebook metadata and
    HTML outputs, where ids and hashes abound). ``tick`` is called between windows (pass
    ``ctx.budget.check_time``; it may raise to stop the scan). A generic hit that overlaps
    a format match is dropped: the format says more.
    """
    specific: list[Hit] = []
    entropic: list[Hit] = []
    check = tick if tick is not None else _no_tick
    for span in _windows(len(data)):
        check()
        for hit in _specific(data, span, check):
            if not specific or hit.start >= specific[-1].end:
                specific.append(hit)
        if generic:
            entropic.extend(_generic(data, span, check))
        if len(specific) + len(entropic) >= max_hits:
            break
    starts = [h.start for h in specific]
    kept = [h for h in entropic if not _overlaps(h, specific, starts)]
    return sorted([*specific, *kept], key=lambda h: (h.start, h.rule.id))[:max_hits]
