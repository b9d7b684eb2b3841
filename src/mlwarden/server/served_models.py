"""Which model version answers ``/models/{name}/predict``, loaded once and kept.

Only a version in the ``production`` stage (or, when asked, ``staging``) whose admission scan
was clean is served; its bytes come from the vault, which checks every GCM tag and the
digest, and when the vault requires signatures the signature must verify too. The model is
then loaded by the gateway's safe loaders, which scan again and never unpickle freely.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from mlwarden.errors import UsageError
from mlwarden.gateway.input_schema import InputSchema
from mlwarden.gateway.served_model import ServedModel, load_served_model
from mlwarden.gateway.traffic_summary import WindowBuffer
from mlwarden.registry.service import ModelRegistry
from mlwarden.server.ttl_cache import TtlCache
from mlwarden.store.catalog.records import ArtifactRecord
from mlwarden.store.vault import Vault

T = TypeVar("T")


class NotServable(LookupError):
    """No servable version of that model (HTTP 404, with the reason)."""


@dataclass(frozen=True)
class Loaded:
    record: ArtifactRecord
    model: ServedModel
    window: WindowBuffer


class ServedModels:
    """A per-process cache of loaded models, keyed by name and invalidated by version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[str, Loaded] = {}
        # name -> (registry generation, record); another process's promotion is seen
        # when the entry expires.
        self._current: TtlCache[str, tuple[int, ArtifactRecord]] = TtlCache()
        self._views: dict[str, tuple[ArtifactRecord, object]] = {}

    def current(self, vault: Vault, registry: ModelRegistry, name: str) -> ArtifactRecord:
        """The newest version of ``name`` in production (remembered for a moment)."""
        generation = registry.generation
        found = self._current.get(name)
        if found is not None and found[0] == generation:
            return found[1]
        record = self._lookup(vault, registry, name)
        self._current.put(name, (generation, record))
        return record

    def view(self, record: ArtifactRecord, build: Callable[[], T]) -> T:
        """``build()`` for a record returned by :meth:`current`, built once per record object
        (the policy's view of the production version, reused while the record is)."""
        found = self._views.get(record.name)
        if found is not None and found[0] is record:
            return found[1]  # type: ignore[return-value]
        value = build()
        self._views[record.name] = (record, value)
        return value

    @staticmethod
    def _lookup(vault: Vault, registry: ModelRegistry, name: str) -> ArtifactRecord:
        for artifact_id in registry.in_stage("production"):
            record = vault.catalog.get_artifact(artifact_id)
            if record.name == name and record.deleted_at is None:
                return record
        raise NotServable(f"{name} has no version in production")

    def get(self, vault: Vault, registry: ModelRegistry, record: ArtifactRecord) -> Loaded:
        cached = self._loaded.get(record.name)
        if cached is not None and cached.record.id == record.id:
            return cached
        with self._lock:
            cached = self._loaded.get(record.name)
            if cached is not None and cached.record.id == record.id:
                return cached
            loaded = self._load(vault, registry, record)
            self._loaded[record.name] = loaded
            return loaded

    def loaded(self) -> list[Loaded]:
        """Every model this process has loaded (a snapshot)."""
        with self._lock:
            return list(self._loaded.values())

    def window(self, name: str) -> WindowBuffer | None:
        loaded = self._loaded.get(name)
        return loaded.window if loaded else None

    @staticmethod
    def _load(vault: Vault, registry: ModelRegistry, record: ArtifactRecord) -> Loaded:
        scan = registry.scan(record.id)
        if scan is None or scan.quarantined or scan.status == "error":
            raise NotServable(f"{record.reference} is quarantined")
        card = registry.card(record.id)
        if card is None:
            raise NotServable(f"{record.reference} has no model card (framework and input schema)")
        if vault.require_signatures:
            vault.verify_signature(record.reference)
        schema = InputSchema.from_dict(json.loads(card.input_schema), source=record.reference)
        architecture = json.loads(card.architecture) if card.architecture else None
        try:
            with vault.plaintext(record) as path:
                model = load_served_model(
                    path,
                    framework=card.framework,
                    schema=schema,
                    name=record.name,
                    version=record.version,
                    digest=record.digest,
                    architecture=architecture,
                )
        except UsageError as exc:
            raise NotServable(f"{record.reference} cannot be served: {exc.problem}") from None
        return Loaded(record, model, WindowBuffer())
