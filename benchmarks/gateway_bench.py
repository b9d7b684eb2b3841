"""Gateway overhead: a prediction through the full guard against the same model served bare.

Run from the repository root::

    .venv/bin/python benchmarks/gateway_bench.py                    # the numbers
    .venv/bin/python benchmarks/gateway_bench.py --profile          # plus where the guard spends

It builds a workspace in a temporary folder (a sklearn LogisticRegression uploaded, scanned,
promoted to production by an approver; a viewer with an API key), then starts two server
processes on loopback with the same uvicorn settings as ``mlwarden serve --plain-http``:

* **guarded**: the mlwarden app — authentication (an API key, or an access token from
  ``/api/v1/auth/token``), risk, Cedar policy, per-principal and per-model token buckets,
  load shedding, input-schema validation, the model's monitor window and the ledger tally of
  allowed predictions (one entry per caller, model and decision details per second, with
  the count and a traffic summary of every row);
* **bare**: a FastAPI app with one route that parses the same JSON, calls the same fitted
  estimator and answers with the same fields.

A small asyncio HTTP/1.1 client with keep-alive measures, per variant and in alternating
rounds: ``--requests`` sequential requests on one connection (latency p50/p99) and
``--concurrency`` connections for ``--seconds`` (throughput). The rate limits are raised so
that nothing is throttled; the limiter still runs. Overhead is guarded minus bare at the same
percentile. ``--profile`` then runs the guarded server under pyinstrument (from the venv at
``benchmarks/.venvs/pyinstrument``, never a project dependency) and times each guard step
in-process, to show where the time goes. Nothing is asserted: this is a report.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import pickle
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request

HERE = Path(__file__).resolve().parent
PROFILER_VENV = HERE / ".venvs" / "pyinstrument"
PROJECT = "bench"
MODEL = "scorer"
FEATURES = 4
USER_AGENT = "mlwarden-gateway-bench/1"
START_SECONDS = 120.0

# What `mlwarden serve` passes to uvicorn (src/mlwarden/cli/serve_cmd.py), for both apps.
UVICORN_OPTIONS: dict[str, Any] = {
    "host": "127.0.0.1",
    "log_level": "info",
    "server_header": False,
    "proxy_headers": False,
    "timeout_keep_alive": 5,
    "limit_concurrency": 256,
}

# Functions whose inclusive time the profile reports, by (function name, file suffix).
REQUEST_LABEL = "request on the event loop, whole"
HOT_SPOTS: tuple[tuple[str, str, str], ...] = (
    ("run_asgi", "protocols/http/h11_impl.py", REQUEST_LABEL),
    ("check_access", "server/guard.py", "guard, whole (auth + risk + policy + record)"),
    ("authenticate", "identity/authenticate.py", "  authenticate"),
    ("verify_api_key", "identity/store.py", "    API key: row + principal lookup"),
    ("verify", "identity/tokens.py", "    access token: signature check"),
    ("get", "identity/store.py", "    principal lookup (token)"),
    ("model_from_path", "routes/resources.py", "  resolve model (production version)"),
    ("failed_logins", "identity/store.py", "  failed-login count (risk input)"),
    ("assess", "policy/risk.py", "  risk assessment"),
    ("decide", "policy/authorizer.py", "  Cedar policy decision"),
    ("observe", "policy/risk.py", "  risk learning (baseline update)"),
    ("decide_for", "policy/decision_cache.py", "  Cedar decision (identity-keyed front)"),
    ("record", "server/guard.py", "  ledger entry queued (denials)"),
    ("acquire", "gateway/rate_limit.py", "rate limits (2 buckets)"),
    ("_body", "routes/predict.py", "body read + JSON parse"),
    ("validate", "gateway/tabular_schema.py", "input-schema validation"),
    ("predict", "gateway/served_model.py", "model predict"),
    ("add", "gateway/traffic_summary.py", "monitor window"),
    ("tally", "server/ledger_writer.py", "ledger tally (allowed prediction)"),
    ("_close_tallies", "server/ledger_writer.py", "ledger tallies closed (writer thread)"),
    ("render", "routes/predict.py", "response serialisation"),
)


# --------------------------------------------------------------------------- workspace


@dataclass(frozen=True)
class Prepared:
    root: Path
    config: Path
    model_file: Path
    api_key: str
    secret_hex: str


def _model_bytes() -> bytes:
    """A small fitted LogisticRegression, pickled as a user would upload it."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, FEATURES))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    buffer = io.BytesIO()
    pickle.dump(LogisticRegression().fit(x, y), buffer)
    return buffer.getvalue()


def prepare(folder: Path) -> Prepared:
    """A workspace with the model in production and a viewer ``bench`` holding an API key."""
    from fastapi.testclient import TestClient

    from mlwarden.server.app import create_app
    from mlwarden.server.context import open_context
    from mlwarden.server.settings import load_server_settings
    from mlwarden.store.workspace_vault import init_workspace
    from mlwarden.workspace import Credential

    secret = secrets.token_bytes(32)
    root = folder / "ws"
    init_workspace(root, Credential(secret=secret))
    config = folder / "server.toml"
    # Nothing may be throttled, but both buckets are still charged on every request.
    config.write_text(
        "[server]\n"
        "predict_per_principal = {rate = 1000000, burst = 1000000}\n"
        "predict_per_model = {rate = 1000000, burst = 1000000}\n"
        "token_minutes = 120\n"
    )
    ctx = open_context(root, Credential(secret=secret), load_server_settings(config))
    try:
        identity = ctx.identity
        identity.create_project(PROJECT)
        keys = {}
        for name, role in (("bench", "viewer"), ("ds", "data-scientist"), ("ok", "approver")):
            identity.create_principal(name, kind="service")
            identity.grant(name, role, PROJECT)
            keys[name], _info = identity.issue_api_key(name, label="gateway bench")
        app = create_app(ctx, close_on_shutdown=False)

        def client(who: str) -> TestClient:
            return TestClient(app, headers={"Authorization": f"Bearer {keys[who]}"})

        data = _model_bytes()
        schema = {
            "kind": "tabular",
            "features": [{"name": f"f{i}", "dtype": "float"} for i in range(FEATURES)],
        }
        reply = client("ds").post(
            f"/api/v1/projects/{PROJECT}/artifacts",
            data={
                "name": MODEL,
                "kind": "model",
                "framework": "sklearn",
                "input_schema": json.dumps(schema),
            },
            files={"file": ("scorer.pkl", data, "application/octet-stream")},
        )
        _expect(reply.status_code == 201, "upload", reply.text)
        ref = reply.json()["artifact"]["reference"]
        for stage in ("staging", "production"):
            asked = client("ds").post(f"/api/v1/artifacts/{ref}/promote/{stage}", json={})
            _expect(asked.status_code == 201, "promotion request", asked.text)
            vote = client("ok").post(f"/api/v1/promotions/{asked.json()['id']}/approve", json={})
            _expect(vote.status_code == 200, "approval", vote.text)
    finally:
        ctx.close()
    model_file = folder / "scorer.pkl"
    model_file.write_bytes(data)
    return Prepared(root, config, model_file, keys["bench"], secret.hex())


def _expect(ok: bool, step: str, detail: str) -> None:
    if not ok:
        raise SystemExit(f"gateway_bench: {step} failed: {detail[:500]}")


# --------------------------------------------------------------------------- servers


def bare_app(model_file: Path) -> Any:
    """The same estimator behind one unguarded FastAPI route."""
    import numpy as np
    from fastapi import FastAPI

    estimator = pickle.loads(model_file.read_bytes())  # our own model, made by prepare()
    app = FastAPI()

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/predict")
    async def predict(request: Request) -> dict[str, Any]:
        payload = json.loads(await request.body())
        x = np.asarray(payload["inputs"], dtype=np.float64)
        return {
            "model": MODEL,
            "labels": estimator.predict(x).tolist(),
            "scores": estimator.predict_proba(x).tolist(),
        }

    return app


def guarded_app(home: Path, config: Path) -> Any:
    """The mlwarden app, opened the way ``mlwarden serve`` opens it."""
    from mlwarden.cli.vault_cmds import _credential
    from mlwarden.server.app import create_app
    from mlwarden.server.context import open_context
    from mlwarden.server.settings import load_server_settings

    ctx = open_context(home, _credential(), load_server_settings(config))
    return create_app(ctx)


def serve(args: argparse.Namespace) -> None:
    """Child process: run one app with uvicorn. With ``--profile-out`` the profiler starts on
    SIGUSR1 (so the model's first load and the warm-up stay out of it) and its report is
    written when uvicorn shuts down."""
    import uvicorn

    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    if args.serve == "bare":
        app = bare_app(Path(args.model_file))
    else:
        app = guarded_app(Path(args.home), Path(args.config))
    if not args.profile_out:
        uvicorn.run(app, port=args.port, **UVICORN_OPTIONS)
        return
    profiler = _import_pyinstrument().Profiler(interval=0.0005, async_mode="disabled")
    database = _count_database_calls(app.state.ctx.vault.engine)

    def begin(_signum: int, _frame: object) -> None:
        database.clear()
        profiler.start()

    signal.signal(signal.SIGUSR1, begin)
    try:
        uvicorn.run(app, port=args.port, **UVICORN_OPTIONS)
    finally:
        if profiler.is_running:
            profiler.stop()
        out = Path(args.profile_out)
        out.with_suffix(".txt").write_text(profiler.output_text(unicode=True, show_all=False))
        spots = _hot_spots(profiler.last_session.root_frame())
        out.write_text(json.dumps({"spots": spots, "database": dict(database)}))


def _count_database_calls(engine: Any) -> Counter[str]:
    """SQL statements and pool checkouts, by thread (event loop or other)."""
    import threading

    from sqlalchemy import event

    counts: Counter[str] = Counter()

    def where() -> str:
        return "loop" if threading.current_thread() is threading.main_thread() else "other"

    def statement(*_args: object) -> None:
        counts[f"statements ({where()})"] += 1

    def checkout(*_args: object) -> None:
        counts[f"pool checkouts ({where()})"] += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "checkout", checkout)
    return counts


def _import_pyinstrument() -> Any:
    found = sorted(PROFILER_VENV.glob("lib/python3*/site-packages"))
    if not found:
        raise SystemExit(
            f"gateway_bench: no profiler venv at {PROFILER_VENV}; create it with\n"
            f"  python3 -m venv {PROFILER_VENV} && {PROFILER_VENV}/bin/pip install pyinstrument"
        )
    sys.path.append(str(found[0]))
    import pyinstrument  # type: ignore[import-not-found]

    return pyinstrument


def _hot_spots(root: Any) -> dict[str, float]:
    """Inclusive seconds per HOT_SPOTS entry; a frame nested in one of its own kind is not
    counted twice."""
    totals = dict.fromkeys((label for _f, _p, label in HOT_SPOTS), 0.0)

    def walk(frame: Any, open_labels: frozenset[str]) -> None:
        labels = set(open_labels)
        for function, suffix, label in HOT_SPOTS:
            if frame.function == function and str(frame.file_path or "").endswith(suffix):
                if label not in open_labels:
                    totals[label] += float(frame.time)
                labels.add(label)
        for child in frame.children:
            walk(child, frozenset(labels))

    if root is not None:
        walk(root, frozenset())
    return totals


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(
    kind: str,
    prepared: Prepared,
    folder: Path,
    *,
    profile_out: Path | None = None,
    switch_interval: float = 0.0,
) -> Server:
    port = _free_port()
    log = folder / f"{kind}.log"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--serve",
        kind,
        "--port",
        str(port),
        "--home",
        str(prepared.root),
        "--config",
        str(prepared.config),
        "--model-file",
        str(prepared.model_file),
    ]
    if profile_out is not None:
        command += ["--profile-out", str(profile_out)]
    if switch_interval:
        command += ["--switch-interval", str(switch_interval)]
    env = {**os.environ, "MLWARDEN_KEYRING_SECRET": prepared.secret_hex}
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(kind, process, port, log)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{kind} server exited:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            status, _body = asyncio.run(_once(port, _request(port, "GET", "/healthz", {})))
            if status == 200:
                return server
        time.sleep(0.2)
    server.stop()
    raise SystemExit(f"{kind} server did not start:\n{log.read_text()[-3000:]}")


# --------------------------------------------------------------------------- client


def _request(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"User-Agent: {USER_AGENT}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connection:
    """One keep-alive HTTP/1.1 connection; responses must carry Content-Length."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = -1
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length < 0:
            raise RuntimeError("response without Content-Length")
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


async def _once(port: int, request: bytes) -> tuple[int, bytes]:
    connection = await Connection.open(port)
    try:
        return await connection.send(request)
    finally:
        await connection.close()


@dataclass(frozen=True)
class Variant:
    name: str
    port: int
    request: bytes
    pid: int


@dataclass
class Samples:
    latencies: list[float]
    """Seconds per request, sequential on one connection."""
    loaded: list[float]
    """Seconds per request under ``--concurrency`` connections."""
    completed: int = 0
    elapsed: float = 0.0
    failures: int = 0
    cpu_loop: float = 0.0
    """Server CPU seconds of the event-loop (main) thread during the concurrent phase."""
    cpu_other: float = 0.0
    """... and of its other threads (for the guarded server: mostly the ledger writer)."""


def _thread_cpu(pid: int) -> tuple[float, float]:
    """(main thread, other threads) CPU seconds of process ``pid`` so far; Linux only."""
    tick = os.sysconf("SC_CLK_TCK")
    main = other = 0.0
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                seconds = (int(fields[11]) + int(fields[12])) / tick
                if int(tid) == pid:
                    main += seconds
                else:
                    other += seconds
    return main, other


async def sequential(variant: Variant, count: int, warmup: int, samples: Samples) -> None:
    connection = await Connection.open(variant.port)
    try:
        for index in range(warmup + count):
            began = time.perf_counter()
            status, body = await connection.send(variant.request)
            took = time.perf_counter() - began
            if status != 200:
                samples.failures += 1
                if samples.failures == 1:
                    print(f"  {variant.name}: {status} {body[:200]!r}", file=sys.stderr)
            if index >= warmup:
                samples.latencies.append(took)
    finally:
        await connection.close()


async def concurrent(variant: Variant, connections: int, seconds: float, samples: Samples) -> None:
    opened = [await Connection.open(variant.port) for _ in range(connections)]
    for connection in opened:  # warm every connection before the clock starts
        await connection.send(variant.request)
    deadline = time.perf_counter() + seconds
    done = 0

    async def loop(connection: Connection) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            status, _body = await connection.send(variant.request)
            samples.loaded.append(time.perf_counter() - began)
            done += 1
            if status != 200:
                samples.failures += 1

    began = time.perf_counter()
    try:
        await asyncio.gather(*(loop(c) for c in opened))
    finally:
        samples.elapsed += time.perf_counter() - began
        samples.completed += done
        for connection in opened:
            await connection.close()


def _token(port: int, api_key: str) -> str:
    request = _request(
        port, "POST", "/api/v1/auth/token", {"Authorization": f"Bearer {api_key}"}, b"{}"
    )
    status, body = asyncio.run(_once(port, request))
    _expect(status == 200, "token exchange", body.decode(errors="replace"))
    return str(json.loads(body)["access_token"])


def variants(prepared: Prepared, guarded: Server, bare: Server, rows: int) -> list[Variant]:
    payload = json.dumps({"inputs": [[0.1 * (i + 1) for i in range(FEATURES)]] * rows}).encode()
    path = f"/api/v1/models/{MODEL}/predict"
    token = _token(guarded.port, prepared.api_key)
    return [
        Variant(
            "bare",
            bare.port,
            _request(bare.port, "POST", "/predict", {}, payload),
            bare.process.pid,
        ),
        Variant(
            "guarded, API key",
            guarded.port,
            _request(
                guarded.port, "POST", path, {"Authorization": f"Bearer {prepared.api_key}"}, payload
            ),
            guarded.process.pid,
        ),
        Variant(
            "guarded, access token",
            guarded.port,
            _request(guarded.port, "POST", path, {"Authorization": f"Bearer {token}"}, payload),
            guarded.process.pid,
        ),
    ]


# --------------------------------------------------------------------------- report


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def report(results: dict[str, Samples], args: argparse.Namespace) -> dict[str, Any]:
    base = results["bare"]
    base_p50 = percentile(base.latencies, 50)
    base_p99 = percentile(base.latencies, 99)
    base_rps = base.completed / base.elapsed
    rows: list[dict[str, Any]] = []
    print(
        f"\n{args.requests} sequential x {args.rounds} rounds per variant (after {args.warmup} "
        f"warm-up), {args.concurrency} connections x {args.seconds:g} s x {args.rounds} rounds, "
        f"{args.rows} row(s) per request\n"
    )
    header = (
        "| variant | p50 ms | p99 ms | overhead p50 ms | overhead p99 ms | req/s "
        f"({args.concurrency} conns) | vs bare | p50 / p99 ms loaded | server CPU ms/req, "
        "event loop + other threads | errors |"
    )
    print(header)
    print("|" + "---|" * 10)
    for name, s in results.items():
        p50, p99 = percentile(s.latencies, 50), percentile(s.latencies, 99)
        rps = s.completed / s.elapsed if s.elapsed else 0.0
        row = {
            "variant": name,
            "p50_ms": p50 * 1e3,
            "p99_ms": p99 * 1e3,
            "overhead_p50_ms": (p50 - base_p50) * 1e3,
            "overhead_p99_ms": (p99 - base_p99) * 1e3,
            "throughput_rps": rps,
            "throughput_ratio": rps / base_rps if base_rps else 0.0,
            "loaded_p50_ms": percentile(s.loaded, 50) * 1e3,
            "loaded_p99_ms": percentile(s.loaded, 99) * 1e3,
            "cpu_loop_ms_per_request": s.cpu_loop / s.completed * 1e3 if s.completed else 0.0,
            "cpu_other_ms_per_request": s.cpu_other / s.completed * 1e3 if s.completed else 0.0,
            "errors": s.failures,
        }
        rows.append(row)
        overhead = "- | -"
        if name != "bare":
            overhead = f"{row['overhead_p50_ms']:.2f} | {row['overhead_p99_ms']:.2f}"
        print(
            f"| {name} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {overhead} | "
            f"{rps:,.0f} | {row['throughput_ratio']:.0%} | "
            f"{row['loaded_p50_ms']:.1f} / {row['loaded_p99_ms']:.1f} | "
            f"{row['cpu_loop_ms_per_request']:.2f} + {row['cpu_other_ms_per_request']:.2f} | "
            f"{s.failures} |"
        )
    guarded = [r for r in rows if r["variant"] != "bare"]
    worst_p50 = max(float(r["overhead_p50_ms"]) for r in guarded)
    worst_p99 = max(float(r["overhead_p99_ms"]) for r in guarded)
    worst_ratio = min(float(r["throughput_ratio"]) for r in guarded)
    print(
        f"\ngoals: p50 overhead < 1 ms: {'met' if worst_p50 < 1 else 'NOT met'} "
        f"({worst_p50:.2f}); p99 overhead < 5 ms: {'met' if worst_p99 < 5 else 'NOT met'} "
        f"({worst_p99:.2f}); throughput >= 80% of bare: "
        f"{'met' if worst_ratio >= 0.8 else 'NOT met'} ({worst_ratio:.0%})"
    )
    return {"rows": rows}


# --------------------------------------------------------------------------- profile


def profile(prepared: Prepared, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Sampled profile of the guarded server under sequential requests (API key and token
    alternating), as shares of the time requests spend on the event loop; then each guard
    step timed in-process, for absolute numbers without the profiler's own overhead."""
    out = folder / "profile.json"
    server = start(
        "guarded", prepared, folder, profile_out=out, switch_interval=args.switch_interval
    )
    count = args.profile_requests
    try:
        token = _token(server.port, prepared.api_key)
        payload = json.dumps({"inputs": [[0.1, 0.2, 0.3, 0.4]] * args.rows}).encode()
        path = f"/api/v1/models/{MODEL}/predict"
        requests = [
            _request(server.port, "POST", path, {"Authorization": f"Bearer {c}"}, payload)
            for c in (prepared.api_key, token)
        ]

        async def run(total: int) -> int:
            failures = 0
            connection = await Connection.open(server.port)
            try:
                for index in range(total):
                    status, _ = await connection.send(requests[index % 2])
                    failures += status != 200
            finally:
                await connection.close()
            return failures

        asyncio.run(run(args.warmup))  # the model loads outside the profile
        server.process.send_signal(signal.SIGUSR1)
        time.sleep(0.5)
        failures = asyncio.run(run(count))
    finally:
        server.stop()
    written = json.loads(out.read_text())
    spots: dict[str, float] = written["spots"]
    whole = spots.get(REQUEST_LABEL) or 1.0
    print(
        f"\npyinstrument, guarded server, {count} sequential requests (key/token alternating, "
        f"{failures} failed); share of the time requests spend on the event loop:"
    )
    print("| where (inclusive) | share | us per request (profiled) |")
    print("|---|---|---|")
    for label, seconds in spots.items():
        print(f"| {label} | {seconds / whole:.0%} | {seconds / count * 1e6:,.0f} |")
    print(f"(full tree: {out.with_suffix('.txt')})")
    database = {k: v / count for k, v in sorted(written["database"].items())}
    print("database work per request: " + ", ".join(f"{k}: {v:.1f}" for k, v in database.items()))
    steps = time_steps(prepared, args.step_repeats)
    return {
        "profile_share": {k: v / whole for k, v in spots.items()},
        "database_per_request": database,
        "steps_us": steps,
    }


def time_steps(prepared: Prepared, repeats: int) -> dict[str, float]:
    """Each step the guard and the predict route take, called directly on an opened context."""
    from mlwarden.gateway.rate_limit import Limit
    from mlwarden.gateway.traffic_summary import TrafficTally, summarise
    from mlwarden.policy.authorizer import AccessRequest
    from mlwarden.policy.risk import RequestSignals
    from mlwarden.server.context import open_context
    from mlwarden.server.ledger_writer import decision_entry
    from mlwarden.server.routes.resources import artifact_resource
    from mlwarden.server.settings import load_server_settings
    from mlwarden.workspace import Credential

    ctx = open_context(
        prepared.root,
        Credential(secret=bytes.fromhex(prepared.secret_hex)),
        load_server_settings(prepared.config),
    )
    try:
        auth = ctx.authenticator.authenticate(f"Bearer {prepared.api_key}", None, None, None)
        token = ctx.tokens.issue(auth)
        record = ctx.models.current(ctx.vault, ctx.registry, MODEL)
        resource = artifact_resource(ctx, record)
        now = ctx.clock()
        signals = RequestSignals(
            principal="bench",
            ip="127.0.0.1",
            user_agent=USER_AGENT,
            device_id=None,
            attestation=None,
            when=now,
            bytes_in=40,
        )
        ctx.risk.observe(signals)
        risk = ctx.risk.assess(signals, 0)
        access = AccessRequest(
            principal=auth.principal,
            action="model.predict",
            resource_type=resource.type,
            resource_id=resource.id,
            project=resource.project,
            attributes=resource.attributes,
            labels=resource.labels,
            context={"hour": now.hour, "factors": sorted(auth.factors), "risk": risk.score},
        )
        loaded = ctx.models.get(ctx.vault, ctx.registry, record)
        payload = {"inputs": [[0.1, 0.2, 0.3, 0.4]]}
        inputs = loaded.model.schema.validate(payload)
        prediction = loaded.model.predict(inputs)
        limit = Limit(1e6, 1_000_000)
        context = (now.hour, auth.factors, risk.score)
        details = {
            "method": auth.method,
            "address": "127.0.0.1",
            "risk": risk.score,
            "signals": [],
            "reasons": ["viewer-predict"],
        }
        since = now.replace(year=now.year - 1)
        body = json.dumps(payload).encode()
        steps: dict[str, Callable[[], object]] = {
            "authenticate: API key (cached hash; key row + principal)": lambda: (
                ctx.authenticator.authenticate(f"Bearer {prepared.api_key}", None, None, None)
            ),
            "authenticate: access token (verify + principal)": lambda: (
                ctx.authenticator.authenticate(f"Bearer {token}", None, None, None)
            ),
            "resolve: production version of the model": lambda: ctx.models.current(
                ctx.vault, ctx.registry, MODEL
            ),
            "resolve: artifact attributes (stage)": lambda: artifact_resource(ctx, record),
            "risk: failed-login count": lambda: ctx.identity.failed_logins("bench", since),
            "risk: assess": lambda: ctx.risk.assess(signals, 0),
            "risk: observe (learn)": lambda: ctx.risk.observe(signals),
            "policy: Cedar decide (cache by the whole request)": lambda: ctx.authorizer.decide(
                access
            ),
            "policy: decision front (same principal and resource)": lambda: (
                ctx.authorizer.decide_for(
                    auth.principal, "model.predict", resource, context, lambda: access
                )
            ),
            "rate limit: one bucket": lambda: ctx.limiter.acquire("p:bench", limit),
            "JSON parse (1 row)": lambda: json.loads(body),
            "schema validate (1 row)": lambda: loaded.model.schema.validate(payload),
            "model predict (1 row)": lambda: loaded.model.predict(inputs),
            "traffic summary of one request (what a tally costs per interval)": lambda: summarise(
                inputs, prediction
            ),
            "traffic tally add (per request)": lambda: TrafficTally().add(inputs, prediction),
            "monitor window add": lambda: loaded.window.add(inputs, prediction),
            "ledger tally (an allowed prediction)": lambda: ctx.ledger_writer.tally(
                "bench", "model.predict", record.reference, details, inputs, prediction
            ),
            "ledger entry queued (a denial)": lambda: ctx.ledger_writer.submit(
                decision_entry("bench", "model.predict", "deny", record.reference, details)
            ),
        }
        results: dict[str, float] = {}
        print(f"\nguard steps called in-process (median of {repeats} calls):")
        print("| step | us per call |")
        print("|---|---|")
        for name, step in steps.items():
            results[name] = _median_call(step, repeats) * 1e6
            print(f"| {name} | {results[name]:,.1f} |")
        return results
    finally:
        ctx.close()


def _median_call(step: Callable[[], object], repeats: int) -> float:
    for _ in range(min(50, repeats)):
        step()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        step()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


# --------------------------------------------------------------------------- main


@contextlib.contextmanager
def _folder(keep: bool) -> Iterator[Path]:
    if keep:
        path = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
        print(f"workspace and logs kept in {path}")
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as name:
        yield Path(name)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    with _folder(args.keep) as folder:
        print("preparing the workspace (upload, scan, promotion)...", flush=True)
        prepared = prepare(folder)
        guarded = start("guarded", prepared, folder, switch_interval=args.switch_interval)
        bare = start("bare", prepared, folder, switch_interval=args.switch_interval)
        try:
            chosen = variants(prepared, guarded, bare, args.rows)
            results = {v.name: Samples([], []) for v in chosen}
            for round_ in range(args.rounds):
                print(f"round {round_ + 1}/{args.rounds}", flush=True)
                for variant in chosen:
                    samples = results[variant.name]
                    asyncio.run(sequential(variant, args.requests, args.warmup, samples))
                    loop_before, other_before = _thread_cpu(variant.pid)
                    asyncio.run(concurrent(variant, args.concurrency, args.seconds, samples))
                    loop_after, other_after = _thread_cpu(variant.pid)
                    samples.cpu_loop += loop_after - loop_before
                    samples.cpu_other += other_after - other_before
        finally:
            guarded.stop()
            bare.stop()
        summary = report(results, args)
        if args.profile:
            summary.update(profile(prepared, folder, args))
        return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="sequential, per round")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0, help="concurrent, per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rows", type=int, default=1, help="rows per prediction")
    parser.add_argument("--profile", action="store_true", help="pyinstrument + step timings")
    parser.add_argument("--profile-requests", type=int, default=3000)
    parser.add_argument("--step-repeats", type=int, default=2000)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument("--keep", action="store_true", help="keep the workspace and logs")
    # Child-process mode (one server); not for direct use.
    parser.add_argument("--serve", choices=("guarded", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--model-file", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=0.0,
        help="set sys.setswitchinterval in both servers (diagnosis of GIL hand-over delays)",
    )
    args = parser.parse_args(argv)
    if args.serve:
        serve(args)
        return
    summary = measure(args)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
