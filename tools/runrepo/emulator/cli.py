"""`python -m runrepo.emulator`: run the MAPI emulator until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from .faults import FaultConfigError, FaultPlan, FaultRule
from .lifecycle import LifecycleError, parse_steps
from .server import EmulatorError, EmulatorServer
from .state import StateError, StateStore

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
DEFAULT_STATE = ".runrepo-cache/emulator-state.json"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # exit code 2 with one line, like every runrepo command
        self.print_usage(sys.stderr)
        raise SystemExit(f"{self.prog}: error: {message}")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="runrepo-emulator", description="Local MosaicML API (MAPI) emulator for mcli.")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    p.add_argument("--state", default=DEFAULT_STATE, help=f"state JSON file (default {DEFAULT_STATE})")
    p.add_argument("--reset", action="store_true", help="empty the state file before serving")
    p.add_argument("--latency-ms", type=int, default=0, help="delay added to every GraphQL request")
    p.add_argument("--fault", action="append", default=[], metavar="SPEC",
                   help="fault rule, e.g. '502,after,op=createRun,count=1', 'drop,before,p=0.3', "
                        "'429,count=2', 'latency,ms=500,op=getRunsPaginated' (repeatable)")
    p.add_argument("--faults-file", help='JSON fault plan: {"latency_ms", "seed", "rules": [...]}')
    p.add_argument("--seed", type=int, help="seed for probabilistic faults")
    p.add_argument("--lifecycle", default="", metavar="STEPS",
                   help="the script every new run follows, seconds after creation, e.g. "
                        "'QUEUED@1,RUNNING@5,COMPLETED@600' or 'RUNNING@2,FAILED@30:OOMKilled' (default: "
                        "runs stay PENDING until moved through /_set_status or /_schedule)")
    p.add_argument("--data-lifecycle", default="", metavar="STEPS",
                   help="the script runrepo's data runs (runs/data/) follow instead of --lifecycle's, e.g. "
                        "'RUNNING@1,COMPLETED@5': data runs complete, so the training runs waiting for them are "
                        "submitted by the next `runrepo submit`")
    p.add_argument("--api-key", action="append", default=None, metavar="KEY[=EMAIL]",
                   help="accept only these keys (repeatable); default: any key not starting with 'bad'")
    p.add_argument("-v", "--verbose", action="store_true", help="log every HTTP request to stderr")
    return p


def _build_plan(args: argparse.Namespace) -> FaultPlan:
    base = FaultPlan.from_file(args.faults_file).to_dict() if args.faults_file else {}
    rules = list(base.get("rules") or [])
    for rule in rules:
        rule.pop("fired", None)
    rules += [FaultRule.parse(spec) for spec in args.fault]
    if args.latency_ms < 0:
        raise FaultConfigError("--latency-ms must not be negative")
    return FaultPlan.from_dict({
        "latency_ms": args.latency_ms or base.get("latency_ms", 0),
        "seed": args.seed if args.seed is not None else base.get("seed"),
        "rules": rules,
    })


def _api_keys(specs: list[str] | None) -> dict[str, str] | None:
    if specs is None:
        return None
    from .catalog import email_for_key

    keys = {}
    for spec in specs:
        key, _, email = spec.partition("=")
        if not key:
            raise EmulatorError(f"--api-key needs a key, got {spec!r}")
        keys[key] = email or email_for_key(key)
    return keys


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
            return EXIT_USAGE
        return EXIT_OK if e.code in (0, None) else EXIT_USAGE
    try:
        plan = _build_plan(args)
        store = StateStore(args.state)
        if args.reset:
            store.reset()
        store.ensure()
        server = EmulatorServer(args.host, args.port, store, plan, api_keys=_api_keys(args.api_key),
                                verbose=args.verbose)
        server.lifecycle = parse_steps(args.lifecycle)
        server.data_lifecycle = parse_steps(args.data_lifecycle)
    except (FaultConfigError, EmulatorError, StateError, LifecycleError) as e:
        print(f"runrepo-emulator: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:
        print(f"runrepo-emulator: error: cannot listen on {args.host}:{args.port}: {e.strerror}",
              file=sys.stderr)
        return EXIT_ERROR

    stop = threading.Event()
    # serve_forever runs in a thread so the main thread can take signals and call shutdown().
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    print(f"emulator listening on {server.endpoint}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK
