"""Loopback HTTP server speaking MAPI's GraphQL-over-POST, with scripted faults.

POST /graphql       the API mcli talks to (MOSAICML_API_ENDPOINT)
GET  /_state        every stored run (deleted ones included)
GET  /_requests     the request log: operation, fault applied, HTTP status sent
GET|POST /_faults   read or replace the fault plan (JSON, see faults.py)
POST /_reset        clear runs, request log and faults
POST /_set_status   {"name", "status", "reason"?}: move a run, e.g. to RUNNING
POST /_schedule     {"name", "steps"}: a run's scripted transitions and logs (lifecycle.py)
POST /_lifecycle    {"steps", "data"?}: the script every new run follows (times after its creation); with
                    "data": true, the script runrepo's data runs (runs/data/) follow instead
POST /_logs         {"name", "text", "rank"?}: append to a node's log
GET  /graphql       with `Upgrade: websocket`: subscriptions (logs), websocket.py
"""

from __future__ import annotations

import ipaddress
import json
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from graphql import GraphQLError, OperationDefinitionNode, execute_sync, parse, validate

from . import catalog, lifecycle, resolvers, websocket
from .faults import Action, FaultConfigError, FaultPlan, error_page
from .state import StateError, StateStore

if TYPE_CHECKING:
    from graphql import GraphQLFormattedError

AUTH_MESSAGE = "Unauthenticated: the API key is missing or invalid. Create one with `mcli set api-key`."
MAX_BODY = 16 * 1024 * 1024


class EmulatorError(Exception):
    """Configuration the emulator refuses to start with."""


def check_loopback(host: str) -> str:
    """Only loopback binds: the emulator has no real auth and must not face a network."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise EmulatorError(f"refusing to listen on {host!r}: only loopback addresses (127.0.0.0/8, ::1)")


class KeyPolicy:
    """Which API keys are accepted, and which user each one is."""

    def __init__(self, keys: Mapping[str, str] | Iterable[str] | None = None):
        if keys is None:
            self.keys: dict[str, str] | None = None
        elif isinstance(keys, Mapping):
            self.keys = dict(keys)
        else:
            self.keys = {k: catalog.email_for_key(k) for k in keys}

    def email_for(self, header: str | None) -> str | None:
        key = (header or "").strip()
        if key.lower().startswith("bearer "):
            key = key[7:].strip()
        if not key:
            return None
        if self.keys is not None:
            return self.keys.get(key)
        # Default: any key works except ones starting with "bad", so tests can be refused.
        return None if key.startswith("bad") else catalog.email_for_key(key)


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, store: StateStore, faults: FaultPlan | None = None,
                 api_keys: Mapping[str, str] | Iterable[str] | None = None, verbose: bool = False):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((check_loopback(host), port), Handler)
        self.store = store
        self.schema = resolvers.build()
        self.faults = faults or FaultPlan()
        self.policy = KeyPolicy(api_keys)
        self.verbose = verbose
        self.lifecycle: list[dict[str, Any]] = []  # the script every new run follows
        self.data_lifecycle: list[dict[str, Any]] = []  # ... and data runs (runs/data/), when set
        self.request_log: list[dict[str, Any]] = []
        self.log_lock = threading.Lock()
        # mcli sends a handful of constant query strings; validating each costs 2-4 ms.
        self._documents: dict[str, tuple[Any, list[GraphQLError]]] = {}

    def compile(self, query: str) -> tuple[Any, list[GraphQLError]]:
        """Parse and validate `query` once (GraphQLError on a syntax error)."""
        cached = self._documents.get(query)
        if cached is None:
            document = parse(query)
            cached = (document, list(validate(self.schema, document)))
            if len(self._documents) < 512:
                self._documents[query] = cached
        return cached

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host up with getfqdn(), which stalls on bad DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    @property
    def endpoint(self) -> str:
        host, port = self.server_name, self.server_port  # server_bind: the bound address
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/graphql"

    def log_request_entry(self, operation: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"operation": operation, "fault": None, "status": None, "errors": False}
        with self.log_lock:
            entry["n"] = len(self.request_log) + 1
            self.request_log.append(entry)
        return entry

    def handle_error(self, request: Any, client_address: Any) -> None:
        # One line instead of socketserver's traceback: a client hanging up is routine here.
        print(f"emulator: connection from {client_address} failed: {sys.exc_info()[1]!r}", file=sys.stderr)


def _operation_field(document: Any, operation_name: str | None) -> str:
    """The root field an operation calls (createRun, ...): what faults select on."""
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    op = next((o for o in ops if o.name and o.name.value == operation_name), ops[0] if ops else None)
    if op is None or not op.selection_set.selections:
        return "unknown"
    first = op.selection_set.selections[0]
    return getattr(getattr(first, "name", None), "value", "unknown")


def _format_errors(errors: Iterable[GraphQLError], default_code: int) -> list[GraphQLFormattedError]:
    out = []
    for error in errors:
        original = error.original_error
        if original is not None and not isinstance(original, GraphQLError):
            if isinstance(original, StateError):
                error = GraphQLError(str(original), extensions={"code": 500})
            else:
                print(f"emulator: resolver failed: {original!r}", file=sys.stderr)
                error = GraphQLError("Internal server error", path=error.path, extensions={"code": 500})
        formatted = error.formatted
        extensions = dict(formatted.get("extensions") or {})
        extensions.setdefault("code", default_code)
        formatted["extensions"] = extensions
        out.append(formatted)
    return out


class Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"
    server_version = "mapi-emulator/1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        if self.server.verbose:
            super().log_message(format, *args)

    # --- plumbing -------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode())

    def _send_errors(self, status: int, message: str, code: int | None = None) -> None:
        self._send_json(status, {"errors": [{"message": message, "extensions": {"code": code or status}}]})

    def _read_body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            self._send_errors(400, "Content-Length is missing, invalid or too large")
            return None
        return self.rfile.read(length) if length else b""

    def _read_json(self) -> tuple[bool, Any]:
        raw = self._read_body()
        if raw is None:
            return False, None
        try:
            return True, json.loads(raw) if raw.strip() else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            self._send_errors(400, "request body is not valid JSON")
            return False, None

    def _drop(self) -> None:
        """Close the socket without answering, like a proxy that lost the upstream."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _apply_fault(self, action: Action, entry: dict[str, Any], phase: str) -> None:
        entry["fault"] = f"{action.kind}@{phase}" if action.kind == "drop" else f"{action.status}@{phase}"
        if action.kind == "drop":
            self._drop()
            return
        entry["status"] = action.status
        if action.body == "json":
            self._send_errors(action.status, f"Upstream error {action.status}")
        elif action.body == "empty":
            self._send(action.status, b"", "text/plain")
        else:
            self._send(action.status, error_page(action.status), "text/html")

    # --- routes ---------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        self._guarded(self._route_get)

    def do_POST(self) -> None:  # noqa: N802 (stdlib name)
        self._guarded(self._route_post)

    def _guarded(self, route: Any) -> None:
        try:
            route(urlsplit(self.path).path)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except StateError as e:
            self._send_errors(500, str(e))
        except Exception as e:  # an emulator bug must not look like a dropped connection to mcli
            print(f"emulator: {self.command} {self.path} failed: {e!r}", file=sys.stderr)
            self.close_connection = True
            self._send_errors(500, "Internal server error")

    def _route_get(self, path: str) -> None:
        if path == "/_state":
            self._send_json(200, lifecycle.refresh(self.server.store))
        elif path == "/_requests":
            with self.server.log_lock:
                self._send_json(200, list(self.server.request_log))
        elif path == "/_faults":
            self._send_json(200, self.server.faults.to_dict())
        elif path == "/healthz":
            self._send_json(200, {"ok": True})
        elif path == "/graphql" and websocket.is_upgrade(self):
            websocket.serve(self)
        elif path == "/graphql":
            self._send_errors(405, "send GraphQL requests with POST")
        else:
            self._send_errors(404, f"no route {path}")

    def _route_post(self, path: str) -> None:
        if path == "/graphql":
            self._graphql()
            return
        ok, payload = self._read_json()
        if not ok:
            return
        if path == "/_faults":
            try:
                self.server.faults = FaultPlan.from_dict(payload or {})
            except FaultConfigError as e:
                self._send_errors(400, str(e))
                return
            self._send_json(200, self.server.faults.to_dict())
        elif path == "/_reset":
            self.server.store.reset()
            self.server.faults = FaultPlan()
            with self.server.log_lock:
                self.server.request_log.clear()
            self._send_json(200, {"ok": True})
        elif path == "/_set_status":
            self._set_status(payload)
        elif path in ("/_schedule", "/_lifecycle", "/_logs"):
            self._script(path, payload)
        else:
            self._send_errors(404, f"no route {path}")

    def _set_status(self, payload: Any) -> None:
        if not isinstance(payload, dict) or not isinstance(payload.get("name"), str):
            self._send_errors(400, 'expected {"name": ..., "status": ...}')
            return
        try:
            run = set_run_status(self.server.store, payload["name"], str(payload.get("status")),
                                 payload.get("reason"))
        except GraphQLError as e:
            self._send_errors(400, e.message)
            return
        if run is None:
            self._send_errors(404, f"run {payload['name']} not found")
        else:
            self._send_json(200, run)

    def _script(self, path: str, payload: Any) -> None:
        payload = payload if isinstance(payload, dict) else {}
        try:
            if path == "/_lifecycle":
                steps = lifecycle.parse_steps(payload.get("steps"))
                if payload.get("data") is True:
                    self.server.data_lifecycle = steps
                else:
                    self.server.lifecycle = steps
                self._send_json(200, {"steps": steps, "data": payload.get("data") is True})
                return
            run = script_run(self.server.store, str(payload.get("name")), lifecycle.parse_steps(payload.get("steps")),
                             payload.get("text"), int(payload.get("rank") or 0))
        except (lifecycle.LifecycleError, ValueError) as e:
            self._send_errors(400, str(e))
            return
        except GraphQLError as e:
            self._send_errors(400, e.message)
            return
        if run is None:
            self._send_errors(404, f"run {payload.get('name')} not found")
        else:
            self._send_json(200, run)

    def _graphql(self) -> None:
        ok, payload = self._read_json()
        if not ok:
            return
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            self._send_errors(400, "POST body must be a JSON object with a 'query' string")
            return
        variables = payload.get("variables") or {}
        operation_name = payload.get("operationName")
        if not isinstance(variables, dict):
            self._send_errors(400, "'variables' must be an object")
            return
        try:
            document, invalid = self.server.compile(payload["query"])
        except GraphQLError as e:
            self._send_json(400, {"errors": _format_errors([e], 400)})
            return
        server = self.server
        entry = server.log_request_entry(_operation_field(document, operation_name))
        before = server.faults.decide(entry["operation"], "before")
        time.sleep(before.delay_ms / 1000)
        if before.kind:
            self._apply_fault(before, entry, "before")
            return
        email = server.policy.email_for(self.headers.get("Authorization"))
        if email is None:
            entry.update(status=401, errors=True)
            self._send_errors(401, AUTH_MESSAGE)
            return
        if invalid:
            status, body = 400, {"errors": _format_errors(invalid, 400)}
        else:
            status, body = self._execute(document, variables, operation_name, catalog.user_for_email(email))
        entry.update(status=status, errors="errors" in body)
        after = server.faults.decide(entry["operation"], "after")
        time.sleep(after.delay_ms / 1000)
        if after.kind:
            self._apply_fault(after, entry, "after")
            return
        self._send_json(status, body)

    def _execute(self, document: Any, variables: dict[str, Any], operation_name: str | None,
                 user: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        result = execute_sync(self.server.schema, document, variable_values=variables,
                              operation_name=operation_name,
                              context_value=resolvers.Context(self.server.store, user, self.server.lifecycle,
                                                              self.server.data_lifecycle))
        if not result.errors:
            return 200, {"data": result.data}
        # No data at all means the request itself was bad (e.g. variables of the wrong shape).
        default = 400 if result.data is None else 500
        return 200, {"data": result.data, "errors": _format_errors(result.errors, default)}


def set_run_status(store: StateStore, name: str, status: str, reason: str | None = None) -> dict[str, Any] | None:
    """Move a stored run to `status` (the platform's scheduler does this on its own)."""
    with store.transaction() as state:
        lifecycle.advance_all(state["runs"])
        run = next((r for r in state["runs"] if r["name"] == name), None)
        if run is not None:
            lifecycle.transition(run, status.upper(), reason)
        return run


def script_run(store: StateStore, name: str, steps: list[dict[str, Any]], text: str | None = None,
               rank: int = 0) -> dict[str, Any] | None:
    """Give a stored run scripted steps (times from now) and/or append `text` to a node's log."""
    with store.transaction() as state:
        lifecycle.advance_all(state["runs"])
        run = next((r for r in state["runs"] if r["name"] == name), None)
        if run is not None:
            lifecycle.attach(run, steps)
            if text:
                lifecycle.append_log(run, text, rank)
            lifecycle.advance(run)  # a step due now (after: 0) happens now
        return run
