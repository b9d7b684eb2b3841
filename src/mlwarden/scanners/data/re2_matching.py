"""Iterating RE2 matches of a program whose alternatives are each one capturing group."""

from __future__ import annotations

from collections.abc import Iterator

import re2


def match_groups(program: re2._Regexp, data: bytes) -> Iterator[tuple[int, int, int]]:
    """``(group, start, end)`` of each match of ``program`` in ``data``, byte offsets.

    ``program`` must be an alternation whose every alternative is one capturing group
    spanning the whole alternative (no other capturing groups). google-re2's ``finditer``
    builds a match object per hit and finds the group in a Python loop over all groups;
    for data with a candidate in every cell that costs more than the search. The wrapped
    ``RE2.Match`` returns all spans in one call, and the group whose span equals the whole
    match's is found with a C ``list.index``. When a google-re2 release changes that
    internal API, the public ``finditer`` is used instead.
    """
    raw = getattr(program, "_regexp", None)
    anchor = getattr(getattr(re2, "_Anchor", None), "UNANCHORED", None)
    if raw is None or anchor is None or not hasattr(raw, "Match"):
        for m in program.finditer(data):
            if m.lastindex:
                yield (m.lastindex, *m.span())
        return
    match = raw.Match
    pos, end = 0, len(data)
    while pos <= end:
        spans = match(anchor, data, pos, end)
        whole = spans[0]
        if whole[0] < 0:
            return
        yield spans.index(whole, 1), whole[0], whole[1]
        pos = whole[1] if whole[1] > whole[0] else whole[1] + 1
