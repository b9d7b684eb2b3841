"""Remembering policy decisions: the same question gets the same answer.

A Cedar decision is a pure function of the request (principal with its bindings, action,
resource attributes and labels, context) and the loaded policies, which do not change while
a process runs. Caching it by the whole request is therefore exact, not an approximation:
any change to a binding, label, stage, hour, factor or risk score is a different key.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping

from mlwarden.identity.model import Principal
from mlwarden.policy.authorizer import AccessDecision, AccessRequest, Authorizer

MAX_ENTRIES = 20_000
MAX_RECENT = 4096
"""Entries of the identity-keyed front of the cache (see :meth:`CachedAuthorizer.decide_for`)."""


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _frozen(value: object) -> Hashable:
    """A hashable, type-exact form of ``value``: Cedar tells ``true`` from ``1`` and ``1``
    from ``1.0``, while Python's equality does not, so scalars carry their type."""
    if isinstance(value, Mapping):
        return tuple(
            sorted(
                (str(k), (type(v).__name__, v) if type(v) in _SCALARS else _frozen(v))
                for k, v in value.items()
            )
        )
    if type(value) in _SCALARS:
        return (type(value).__name__, value)
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
        self._recent: dict[Hashable, tuple[Principal, object, AccessDecision]] = {}

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

    def decide_for(
        self,
        principal: Principal,
        action: str,
        resource: object,
        context: Hashable,
        build: Callable[[], AccessRequest],
    ) -> AccessDecision:
        """:meth:`decide` of ``build()``, answered without building it when the same
        ``principal`` and ``resource`` objects asked about ``action`` in ``context`` before.

        The caller guarantees that ``build()`` depends only on ``principal``, ``action``,
        ``resource`` (immutable) and ``context`` (hashable, and equal only for equal
        requests). The front is keyed by the identity of the two objects, which the request
        path keeps for a while (cached credentials and resources): their ids cannot be
        reused while an entry holds them, and their values are not compared or hashed
        again, so a hit costs one dictionary lookup and stays exact."""
        key = (id(principal), id(resource), action, context)
        found = self._recent.get(key)
        if found is not None and found[0] is principal and found[1] is resource:
            return found[2]
        decision = self.decide(build())
        if len(self._recent) >= MAX_RECENT:
            self._recent.clear()
        self._recent[key] = (principal, resource, decision)
        return decision
