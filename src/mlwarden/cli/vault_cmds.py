"""``mlwarden init | store | sign | verify | keys | ledger``: the vault's command-line face.

Each command parses its arguments, opens the workspace's vault, calls one vault method and
renders the result; errors are :class:`~mlwarden.errors.UsageError` (exit 2).
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlwarden.errors import UsageError
from mlwarden.workspace import Credential, credential_from_environment, default_home

if TYPE_CHECKING:
    from mlwarden.store.catalog.records import ArtifactRecord

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Workspace folder (default: $MLWARDEN_HOME or ~/.mlwarden)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

store_app = typer.Typer(help="Encrypted, versioned artifact store.", no_args_is_help=True)
keys_app = typer.Typer(
    help="Key-encryption keys: list, rotate, rewrap, retire.", no_args_is_help=True
)
ledger_app = typer.Typer(help="The tamper-evident audit ledger.", no_args_is_help=True)


def _prompt(new: bool) -> str:
    if not sys.stdin.isatty():
        raise UsageError(
            "keyring",
            "no credential to unlock it and no terminal to ask for a passphrase",
            "set MLWARDEN_KEYRING_SECRET (32 random bytes, hex) or MLWARDEN_PASSPHRASE",
        )
    first = getpass.getpass("Keyring passphrase: ")
    if new and getpass.getpass("Repeat the passphrase: ") != first:
        raise UsageError("passphrase", "the two entries differ", "run the command again")
    return first


def _credential(new: bool = False) -> Credential:
    return credential_from_environment(_prompt, new=new)


@contextmanager
def _vault(home: Path | None) -> Iterator[Any]:
    from mlwarden.store.workspace_vault import open_vault

    vault = open_vault(home or default_home(), _credential())
    try:
        yield vault
    finally:
        vault.close()


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def _record_dict(r: ArtifactRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "version": r.version,
        "kind": r.kind,
        "digest": f"sha256:{r.digest}",
        "size": r.size,
        "creator": r.creator,
        "created_at": r.created_at.isoformat(),
        "labels": dict(r.labels),
        "media_type": r.media_type,
        "signed": r.signature is not None,
        "deleted": r.deleted,
    }


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _labels(values: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise UsageError(f"--label {item}", "is not KEY=VALUE", "e.g. --label team=vision")
        out[key] = value
    return out


# -- init -----------------------------------------------------------------------------------


def init(
    home: HomeOption = None,
    database: Annotated[
        str | None, typer.Option(help="Catalog database URL (default: SQLite in the workspace).")
    ] = None,
    blobs: Annotated[
        str | None, typer.Option(help="Blob store: a folder or s3://bucket/prefix?endpoint=...")
    ] = None,
) -> None:
    """Create a workspace: keyring, catalog, blob folder and signing keys."""
    from mlwarden.store.workspace_vault import init_workspace

    root = home or default_home()
    cfg = init_workspace(root, _credential(new=True), database=database, blobs=blobs)
    print(f"Workspace created at {cfg.root}")
    print(f"  catalog:     {cfg.database}")
    print(f"  blobs:       {cfg.blobs}")
    print(f"  keyring:     {cfg.keyring_path} (back it up; losing it loses every artifact)")
    print(f"  ledger key:  {cfg.root / 'ledger.pub'} (give it to auditors)")


# -- store ----------------------------------------------------------------------------------


@store_app.command("put")
def store_put(
    path: Annotated[Path, typer.Argument(help="File or folder to store.")],
    name: Annotated[
        str, typer.Option("--name", "-n", help="Artifact name (letters, digits, ._/-).")
    ],
    kind: Annotated[
        str | None, typer.Option(help="model, dataset, file, folder, code, config.")
    ] = None,
    label: Annotated[list[str] | None, typer.Option(help="KEY=VALUE label (repeatable).")] = None,
    trained_on: Annotated[
        list[str] | None,
        typer.Option(help="Dataset artifact (NAME[:VERSION]) this model was trained on."),
    ] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Encrypt and store a file or folder as the next version of NAME."""
    with _vault(home) as vault:
        record = vault.put(path, name, kind=kind, labels=_labels(label))
        for dataset in trained_on or []:
            vault.link(dataset, record.reference, "trained")
    if as_json:
        print(json.dumps(_record_dict(record), indent=2))
    else:
        print(f"stored {record.reference} ({_size(record.size)}, sha256:{record.digest})")


@store_app.command("get")
def store_get(
    reference: Annotated[str, typer.Argument(help="NAME or NAME:VERSION.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write it.")],
    require_signature: Annotated[
        bool | None,
        typer.Option(
            "--require-signature/--no-require-signature",
            help="Refuse unsigned or badly signed artifacts (default: the workspace policy).",
        ),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Decrypt and verify an artifact into OUTPUT (written only if every check passes)."""
    with _vault(home) as vault:
        record = vault.get(reference, output, require_signature=require_signature)
    print(f"wrote {record.reference} to {output} (sha256:{record.digest} verified)")


@store_app.command("ls")
def store_ls(
    name: Annotated[str | None, typer.Argument(help="Only versions of this name.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """List stored artifacts."""
    with _vault(home) as vault:
        records = vault.catalog.list_artifacts(name=name, kind=kind)
    if as_json:
        print(json.dumps([_record_dict(r) for r in records], indent=2))
        return
    if not records:
        print("no artifacts; store one with `mlwarden store put FILE --name NAME`")
        return
    print(f"{'NAME:VERSION':<40} {'KIND':<10} {'SIZE':>10}  {'SIGNED':<6}  DIGEST")
    for r in records:
        signed = "yes" if r.signature is not None else "no"
        print(f"{r.reference:<40} {r.kind:<10} {_size(r.size):>10}  {signed:<6}  {r.digest[:16]}")


@store_app.command("show")
def store_show(
    reference: Annotated[str, typer.Argument(help="NAME or NAME:VERSION.")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show an artifact's record, key version and lineage."""
    with _vault(home) as vault:
        record = vault.resolve(reference)
        blob = vault.catalog.get_blob(record.digest)
        upstream = vault.catalog.lineage(record.ref, direction="up")
        downstream = vault.catalog.lineage(record.ref, direction="down")
    data = _record_dict(record)
    if blob is not None:
        data["encryption"] = {
            "cipher": "AES-256-GCM",
            "chunk_size": blob.chunk_size,
            "stored_size": blob.stored_size,
            "kek": f"{blob.kek_provider}/{blob.kek_id} v{blob.kek_version}",
            "shredded": blob.shredded,
        }
    data["lineage"] = {
        "upstream": [f"{e.source} -{e.relation}-> {e.target}" for e in upstream],
        "downstream": [f"{e.source} -{e.relation}-> {e.target}" for e in downstream],
    }
    if as_json:
        print(json.dumps(data, indent=2))
        return
    for key, value in data.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {v}")
        else:
            print(f"{key}: {value}")


@store_app.command("verify")
def store_verify(
    reference: Annotated[
        str | None, typer.Argument(help="NAME[:VERSION]; default: every artifact.")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Re-read and authenticate artifacts (GCM tags, content digest, signatures). Exit 1 on
    any failure."""
    with _vault(home) as vault:
        outcomes = vault.verify(reference)
    failed = 0
    for o in outcomes:
        status = "ok" if o.ok else "FAILED"
        extra = f" ({o.problem})" if o.problem else ""
        if o.signature is not None:
            extra += f" signature: {o.signature}"
        print(f"{status:<7} {o.artifact.reference}{extra}")
        failed += not o.ok
    print(f"{len(outcomes)} checked, {failed} failed")
    raise typer.Exit(1 if failed else 0)


@store_app.command("rm")
def store_rm(
    reference: Annotated[str, typer.Argument(help="NAME:VERSION to delete.")],
    shred: Annotated[
        bool,
        typer.Option(help="Also destroy the content's data key (erasure; cannot be undone)."),
    ] = False,
    home: HomeOption = None,
) -> None:
    """Delete an artifact version (and, with --shred, crypto-shred its content)."""
    with _vault(home) as vault:
        if shred:
            blob = vault.shred(reference)
            print(f"shredded sha256:{blob.digest}: its data key is destroyed")
        record = vault.remove(reference)
    print(f"deleted {record.reference}")


@store_app.command("gc")
def store_gc(
    older_than_hours: Annotated[
        float, typer.Option(min=0, help="Only remove leftovers older than this.")
    ] = 1.0,
    home: HomeOption = None,
) -> None:
    """Remove stored objects nothing points to (left by an interrupted put)."""
    from datetime import timedelta

    with _vault(home) as vault:
        removed = vault.collect_garbage(timedelta(hours=older_than_hours))
    print(f"removed {removed} unreferenced object(s)")


@store_app.command("link")
def store_link(
    source: Annotated[str, typer.Argument(help="NAME[:VERSION] or run:ID / deployment:ID.")],
    target: Annotated[str, typer.Argument(help="NAME[:VERSION] or run:ID / deployment:ID.")],
    relation: Annotated[str, typer.Option(help="trained, produced, deployed, derived...")],
    home: HomeOption = None,
) -> None:
    """Record a lineage edge (dataset -> run -> model -> deployment)."""
    with _vault(home) as vault:
        edge = vault.link(source, target, relation)
    print(f"{edge.source} -{edge.relation}-> {edge.target}")


@store_app.command("attest")
def store_attest(
    model: Annotated[str, typer.Argument(help="Stored model NAME[:VERSION].")],
    dataset: Annotated[
        list[str] | None, typer.Option(help="Stored dataset the run trained on (repeatable).")
    ] = None,
    run: Annotated[str, typer.Option(help="Name of the training run.")] = "training",
    entry_point: Annotated[str, typer.Option(help="Script or module that trained it.")] = "unknown",
    code: Annotated[
        Path | None,
        typer.Option(help="Folder in the git checkout trained from (records its commit)."),
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="Hyperparameter KEY=VALUE (repeatable).")
    ] = None,
    environment: Annotated[
        bool, typer.Option(help="Record this Python environment's packages.")
    ] = True,
    home: HomeOption = None,
) -> None:
    """Sign SLSA v1 provenance for a stored model (datasets, code commit, environment) and
    store it as NAME.provenance, with lineage dataset -> run -> model."""
    from mlwarden.store.attestations import TrainingRecord, attest_training

    record = TrainingRecord(
        run_name=run,
        entry_point=entry_point,
        hyperparameters=_labels(param),
        code_path=code,
        capture_environment=environment,
    )
    with _vault(home) as vault:
        stored = attest_training(vault, model, dataset or [], record)
    print(f"stored {stored.reference} (in-toto SLSA v1 provenance, DSSE-signed)")


@store_app.command("verify-attestation")
def store_verify_attestation(
    reference: Annotated[str, typer.Argument(help="Attestation NAME.provenance[:VERSION].")],
    home: HomeOption = None,
) -> None:
    """Check a provenance attestation's signature and that its subject is the stored model."""
    from mlwarden.store.attestations import verify_attestation

    with _vault(home) as vault:
        result = verify_attestation(vault, reference)
    print(f"verified: {result.model.reference} sha256:{result.model.digest}")
    for name in result.datasets:
        print(f"  trained on {name}")
    if result.commit:
        print(f"  code commit {result.commit}")


# -- sign / verify --------------------------------------------------------------------------


def sign(
    reference: Annotated[str, typer.Argument(help="Stored artifact NAME[:VERSION].")],
    home: HomeOption = None,
) -> None:
    """Sign a stored artifact (OpenSSF model-signing bundle, kept in the catalog)."""
    with _vault(home) as vault:
        record = vault.sign(reference)
    print(f"signed {record.reference} (verify with `mlwarden verify {record.reference}`)")


def verify(
    reference: Annotated[str, typer.Argument(help="Stored artifact NAME[:VERSION].")],
    home: HomeOption = None,
) -> None:
    """Verify a stored artifact's signature. Exit 1 when unsigned or invalid."""
    with _vault(home) as vault:
        result = vault.verify_signature(reference)
    print(f"{reference}: {result}")
    raise typer.Exit(0 if result == "verified" else 1)


# -- keys -----------------------------------------------------------------------------------


@keys_app.command("list")
def keys_list(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """List KEK versions and how many data keys each wraps."""
    with _vault(home) as vault:
        versions = vault.keys.versions()
        counts = {
            v.version: vault.catalog.count_blobs_with_kek_version(v.version) for v in versions
        }
        provider = f"{vault.keys.name}/{vault.keys.key_id}"
    rows = [
        {
            "version": v.version,
            "state": v.state,
            "created_at": v.created_at.isoformat() if v.created_at else None,
            "data_keys": counts[v.version],
        }
        for v in versions
    ]
    if as_json:
        print(json.dumps({"provider": provider, "versions": rows}, indent=2))
        return
    print(f"provider {provider}")
    for row in rows:
        print(f"  v{row['version']:<6} {row['state']:<13} {row['data_keys']:>8} data keys")


@keys_app.command("rotate")
def keys_rotate(home: HomeOption = None) -> None:
    """Create a new KEK version; new artifacts use it. Run `keys rewrap` next."""
    with _vault(home) as vault:
        version = vault.rotate()
    print(f"KEK version {version.version} is now active; run `mlwarden keys rewrap`")


@keys_app.command("rewrap")
def keys_rewrap(
    home: HomeOption = None,
    batch: Annotated[int, typer.Option(min=1, max=100_000, help="Keys per transaction.")] = 500,
) -> None:
    """Re-wrap every data key under the active KEK version (resumable; data untouched)."""

    def progress(done: int, total: int) -> None:
        print(f"\r  rewrapped {done}/{total}", end="", file=sys.stderr, flush=True)

    with _vault(home) as vault:
        outcome = vault.rewrap(batch=batch, progress=progress if sys.stderr.isatty() else None)
    print(
        f"rewrapped {outcome.rewrapped} data keys to version {outcome.target_version}; "
        f"{outcome.remaining} remain on other versions"
    )


@keys_app.command("retire")
def keys_retire(
    version: Annotated[str, typer.Argument(help="KEK version to destroy.")],
    home: HomeOption = None,
) -> None:
    """Destroy an old KEK version (refused while it still wraps a data key)."""
    with _vault(home) as vault:
        vault.retire(version)
    print(f"KEK version {version} retired")


# -- ledger ---------------------------------------------------------------------------------


@ledger_app.command("verify")
def ledger_verify(
    home: HomeOption = None,
    public_key: Annotated[
        Path | None, typer.Option(help="Ledger public key (default: the workspace's ledger.pub).")
    ] = None,
    database: Annotated[
        str | None, typer.Option(help="Database URL (default: the workspace's).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check the whole ledger offline from its public key. Exit 1 if tampered."""
    from mlwarden.ledger.log import Ledger
    from mlwarden.store.catalog.db import open_database
    from mlwarden.store.workspace_vault import database_url, load_verifier
    from mlwarden.workspace import LEDGER_PUB_NAME, load_config

    root = home or default_home()
    cfg = load_config(root) if database is None or public_key is None else None
    verifier = load_verifier(public_key or root / LEDGER_PUB_NAME)
    engine = open_database(database or (database_url(cfg) if cfg else None), migrate=False)
    try:
        report = Ledger(engine, verifier.name).verify(verifier)
    finally:
        engine.dispose()
    if as_json:
        first = report.first_problem
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "entries": report.entries,
                    "verified_size": report.verified_size,
                    "first_bad_seq": report.first_bad_seq,
                    "first_bad_range": report.first_bad_range,
                    "first_problem": None if first is None else str(first),
                    "warnings": list(report.warnings),
                },
                indent=2,
            )
        )
    else:
        print(report.summary())
    raise typer.Exit(0 if report.ok else 1)


@ledger_app.command("show")
def ledger_show(
    home: HomeOption = None,
    last: Annotated[int, typer.Option(min=1, help="How many recent entries.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Show the most recent ledger entries and the signed head."""
    with _vault(home) as vault:
        head = vault.ledger.head()
        start = max(0, head.tree_size - last)
        entries = list(vault.ledger.entries(start, head.tree_size))
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "seq": e.seq,
                        "time": e.entry.time.isoformat(),
                        "actor": e.entry.actor,
                        "action": e.entry.action,
                        "decision": e.entry.decision,
                        "artifact": e.entry.artifact,
                        "details": dict(e.entry.details),
                    }
                    for e in entries
                ],
                indent=2,
            )
        )
        return
    for e in entries:
        x = e.entry
        print(
            f"{e.seq:>6} {x.time:%Y-%m-%d %H:%M:%S} {x.actor:<20} {x.action:<24} "
            f"{x.decision:<6} {x.artifact or ''}"
        )
    print(f"tree size {head.tree_size}, root {head.root_hash.hex()}")


@ledger_app.command("proof")
def ledger_proof(
    seq: Annotated[int, typer.Argument(min=0, help="Entry to prove included.")],
    tree_size: Annotated[
        int | None, typer.Option(help="Tree size to prove against (default: the latest).")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Print an RFC 6962 inclusion proof of entry SEQ as JSON."""
    import base64

    from mlwarden.ledger.merkle import leaf_hash, verify_inclusion

    with _vault(home) as vault:
        size = tree_size if tree_size is not None else vault.ledger.head().tree_size
        if not 0 <= seq < size:
            raise UsageError(
                f"entry {seq}", f"is not in a tree of {size} entries", "pick a smaller seq"
            )
        proof = vault.ledger.inclusion_proof(seq, size)
        entry = next(iter(vault.ledger.entries(seq, seq + 1)))
        root = vault.ledger.root_at(size)
    leaf = leaf_hash(entry.body)
    ok = verify_inclusion(leaf, seq, size, proof, root)
    print(
        json.dumps(
            {
                "seq": seq,
                "tree_size": size,
                "leaf_hash": base64.b64encode(leaf).decode(),
                "root_hash": base64.b64encode(root).decode(),
                "proof": [base64.b64encode(h).decode() for h in proof],
                "verified": ok,
            },
            indent=2,
        )
    )


def register(app: typer.Typer) -> None:
    """Add the vault's commands to the main application."""
    app.command("init")(init)
    app.command("sign")(sign)
    app.command("verify")(verify)
    app.add_typer(store_app, name="store")
    app.add_typer(keys_app, name="keys")
    app.add_typer(ledger_app, name="ledger")
