"""Remembering policy decisions: the same question gets the same answer.

A Cedar decision is a pure function of the request (principal with its bindings, action,
resource attributes and labels, context) and the loaded policies, which do not change while
a process runs. Caching it by the whole request is therefore exact, not an approximation:
any change to a binding, label, stage, hour, factor or risk score is a different key.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping

from mlwarden.policy.authorizer import AccessDecision, AccessRequest, Authorizer

MAX_ENTRIES = 20_000


def _frozen(value: object) -> Hashable:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple | set | frozenset):
        items = [_frozen(v) for v in value]
        return (
            tuple(sorted(items, key=repr)) if isinstance(value, set | frozenset) else tuple(items)
        )
    if isinstance(value, Hashable):
        return value
    return repr(value)


class CachedAuthorizer:
    """An :class:`Authorizer` that answers repeated requests from memory (LRU-bounded)."""

    def __init__(self, inner: Authorizer, max_entries: int = MAX_ENTRIES) -> None:
        self.inner = inner
        self._max = max_entries
        self._lock = threading.Lock()
        self._decisions: OrderedDict[Hashable, AccessDecision] = OrderedDict()

    @staticmethod
    def _key(req: AccessRequest) -> Hashable:
        return (
            req.principal,
            req.action,
            req.resource_type,
            req.resource_id,
            req.project,
            _frozen(req.attributes),
            _frozen(req.labels),
            _frozen(req.context),
        )

    def decide(self, req: AccessRequest) -> AccessDecision:
        if "hour" not in req.context:
            return self.inner.decide(req)  # the answer would depend on the clock
        key = self._key(req)
        with self._lock:
            found = self._decisions.get(key)
            if found is not None:
                self._decisions.move_to_end(key)
                return found
        decision = self.inner.decide(req)
        with self._lock:
            self._decisions[key] = decision
            while len(self._decisions) > self._max:
                self._decisions.popitem(last=False)
        return decision
