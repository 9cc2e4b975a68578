"""GraphQL subscriptions over a websocket on /graphql, the way mcli 0.8.3 follows logs.

mcli turns MOSAICML_API_ENDPOINT into ws://.../graphql and connects with gql's WebsocketsTransport,
which offers both GraphQL websocket protocols: `graphql-transport-ws` (graphql-ws) and `graphql-ws`
(Apollo's older one). Both are spoken here; the first is preferred. The API key travels in the
`connection_init` payload (mcli's request headers), not in the HTTP upgrade.

The framing is the `websockets` library's sans-I/O protocol (a dependency of mcli's gql), fed from
the stdlib handler's socket: one thread reads, each subscription streams from its own thread, and a
lock keeps the protocol object and the socket consistent between them.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, execute_sync
from graphql.execution.values import get_variable_values
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from . import logs

PROTOCOLS = (Subprotocol("graphql-transport-ws"), Subprotocol("graphql-ws"))  # preferred first
SUBSCRIPTIONS = {"getRunLogsV2": "getRunLogsInput"}  # root field -> its input variable


def is_upgrade(handler: Any) -> bool:
    return "websocket" in (handler.headers.get("Upgrade") or "").lower()


class Session:
    def __init__(self, handler: Any):
        self.handler, self.server = handler, handler.server
        self.proto = ServerProtocol(subprotocols=list(PROTOCOLS), max_size=16 * 1024 * 1024)
        self.lock = threading.Lock()
        self.user: str | None = None
        self.running: dict[str, threading.Event] = {}

    @property
    def apollo(self) -> bool:
        return self.proto.subprotocol == "graphql-ws"

    # ---- transport ---------------------------------------------------------------------------
    def _flush(self) -> None:
        for data in self.proto.data_to_send():
            if data:
                self.handler.connection.sendall(data)

    def send(self, message: dict[str, Any]) -> None:
        with self.lock:
            try:
                self.proto.send_text(json.dumps(message).encode())
                self._flush()
            except Exception:  # noqa: BLE001 (the client went away: the reader ends the session)
                pass

    def close(self, code: int, reason: str) -> None:
        with self.lock:
            try:
                self.proto.send_close(code, reason)
                self._flush()
            except Exception:  # noqa: BLE001
                pass

    def serve(self) -> None:
        handler = self.handler
        # The stdlib handler has read the upgrade request already: hand the protocol the same bytes,
        # so that its own state machine parses it and then reads frames.
        head = f"GET {handler.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in handler.headers.items())
        self.proto.receive_data((head + "\r\n").encode("latin-1"))
        (request,) = self.proto.events_received()
        if not isinstance(request, Request):  # fed an HTTP request, the protocol's first event is that request
            return
        response = self.proto.accept(request)
        self.proto.send_response(response)
        with self.lock:
            self._flush()
        handler.close_connection = True
        if response.status_code != 101:
            return
        try:
            while True:
                data = handler.rfile.read1(65536)
                with self.lock:
                    if data:
                        self.proto.receive_data(data)
                    else:
                        self.proto.receive_eof()
                    events = self.proto.events_received()
                    self._flush()  # pongs and the closing handshake
                for frame in events:
                    if isinstance(frame, Frame) and frame.opcode is Opcode.TEXT:
                        self.on_message(bytes(frame.data))
                if not data or self.proto.close_expected():
                    break
        except OSError:
            pass
        finally:
            for stop in self.running.values():
                stop.set()

    # ---- the GraphQL websocket protocols ------------------------------------------------------------
    def on_message(self, raw: bytes) -> None:
        try:
            message = json.loads(raw)
            kind, op_id = message.get("type"), str(message.get("id", ""))
        except (ValueError, AttributeError):
            self.close(4400, "Invalid message")
            return
        if kind == "connection_init":
            payload = message.get("payload") or {}
            self.user = self.server.policy.email_for(payload.get("Authorization") or payload.get("authorization"))
            if self.user is None:
                if self.apollo:
                    self.send({"type": "connection_error", "payload": {"message": "Unauthenticated"}})
                self.close(4403, "Forbidden")
                return
            self.send({"type": "connection_ack"})
        elif kind == "ping":
            self.send({"type": "pong"})
        elif kind in ("subscribe", "start"):
            if self.user is None:
                self.close(4401, "Unauthorized")
                return
            self.subscribe(op_id, message.get("payload") or {})
        elif kind in ("complete", "stop"):
            stop = self.running.pop(op_id, None)
            if stop is not None:
                stop.set()
        elif kind == "connection_terminate":
            self.close(1000, "")

    def _errors(self, op_id: str, errors: list[GraphQLError]) -> None:
        formatted = [{**e.formatted, "extensions": (e.extensions or {"code": 400})} for e in errors]
        self.send({"type": "data" if self.apollo else "next", "id": op_id,
                   "payload": {"data": None, "errors": formatted}})
        self.send({"type": "complete", "id": op_id})

    def subscribe(self, op_id: str, payload: dict[str, Any]) -> None:
        try:
            document, invalid = self.server.compile(str(payload.get("query") or ""))
        except GraphQLError as e:
            self._errors(op_id, [e])
            return
        ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        op = next((o for o in ops if o.name and o.name.value == payload.get("operationName")), ops[0] if ops else None)
        first = op.selection_set.selections[0] if op and op.selection_set.selections else None
        # a fragment first (`... on Subscription { }`) names no root field: refused below, as no subscription
        field = first.name.value if isinstance(first, FieldNode) else "unknown"
        entry = self.server.log_request_entry(field)
        if invalid or op is None or op.operation is not OperationType.SUBSCRIPTION or field not in SUBSCRIPTIONS:
            entry.update(status=400, errors=True)
            self._errors(op_id, invalid or [GraphQLError(f"no subscription {field}")])
            return
        variables = payload.get("variables") or {}
        values = get_variable_values(self.server.schema, op.variable_definitions or [], variables)
        if isinstance(values, list):
            entry.update(status=400, errors=True)
            self._errors(op_id, values)
            return
        entry.update(status=200)
        stop = threading.Event()
        self.running[op_id] = stop
        args = _coerced(values)[SUBSCRIPTIONS[field]]
        threading.Thread(target=self._stream, args=(op_id, document, variables, args, stop), daemon=True,
                         name="mapi-emulator-logs").start()

    def _stream(self, op_id: str, document: Any, values: dict[str, Any], args: dict[str, Any],
                stop: threading.Event) -> None:
        try:
            for chunk, end in logs.stream(self.server.store, args, stop):
                result = execute_sync(self.server.schema, document, variable_values=values,
                                      root_value={"getRunLogsV2": {"chunk": chunk, "endOffset": end}})
                self.send({"type": "data" if self.apollo else "next", "id": op_id, "payload": {"data": result.data}})
        except GraphQLError as e:
            if not stop.is_set():
                self._errors(op_id, [e])
            return
        except Exception as e:  # noqa: BLE001 (an emulator bug: an error to the client, not a hang)
            self._errors(op_id, [GraphQLError(f"Internal server error: {e!r}", extensions={"code": 500})])
            return
        if not stop.is_set():
            self.send({"type": "complete", "id": op_id})
        self.running.pop(op_id, None)


def _coerced(values: object) -> dict[str, Any]:
    """The coerced variables: graphql-core 3.3's VariableValues.coerced, or 3.2's plain dict."""
    coerced = getattr(values, "coerced", values)
    if not isinstance(coerced, dict):
        raise TypeError(f"coerced variables of an unknown graphql-core: {type(values).__name__}")
    return coerced


def serve(handler: Any) -> None:
    """Answer an upgrade request on /graphql and speak the subscription protocol until it closes."""
    Session(handler).serve()
