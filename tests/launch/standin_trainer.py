"""Stand-in for NeMo's megatron_gpt_pretraining.py: no torch, no GPU; takes ranks the way Lightning does.

Called exactly like the real entry point (`--config-path=DIR --config-name=NAME`, Hydra's form), it reads
`DIR/NAME.yaml` (the rendered `parameters`) and decides its place in the world by the rules of Lightning's
default `LightningEnvironment` (see shared/reference/launch.md):

- launched externally only if `LOCAL_RANK` is set; otherwise it starts `trainer.devices - 1` copies of itself
  with `LOCAL_RANK=1..` and is local rank 0 itself, as Lightning's subprocess launcher does;
- node rank = `NODE_RANK`, else `GROUP_RANK`, else 0 (`RANK` and `WORLD_SIZE` are ignored);
- global rank = node rank x `trainer.devices` + local rank; world size = `trainer.num_nodes` x `trainer.devices`.

Then every process meets the others at a file barrier in `$LAUNCH_TEST_DIR/barrier`: it passes only when
`world size` processes have arrived, so a launch that runs the ranks of a node one after another (too few
parallel jobs) times out there, as a real job would hang in its first collective. Each process writes what it
received and computed to `$LAUNCH_TEST_DIR/records/<pid>.json`.

Knobs for the tests: `LAUNCH_TEST_BARRIER_TIMEOUT` (seconds, default 30); `LAUNCH_TEST_FAIL_RANK` makes that
global rank exit 3 once all the others are waiting at the barrier (without arriving itself, like a rank
that crashes before its first collective).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

ENV_SEEN = (
    "LOCAL_RANK",
    "NODE_RANK",
    "GROUP_RANK",
    "RANK",
    "WORLD_SIZE",
    "LOCAL_WORLD_SIZE",
    "NUM_NODES",
    "MASTER_ADDR",
    "MASTER_PORT",
    "CUDA_VISIBLE_DEVICES",
)
EXIT_BARRIER_TIMEOUT = 2
EXIT_INJECTED_FAILURE = 3


def config_file(argv: list[str]) -> Path:
    """Hydra's `--config-path=DIR --config-name=NAME` (also the two-word forms) -> DIR/NAME.yaml."""
    opts: dict[str, str] = {}
    args = iter(argv)
    for arg in args:
        for opt in ("--config-path", "--config-name"):
            if arg == opt:
                opts[opt] = next(args)
            elif arg.startswith(opt + "="):
                opts[opt] = arg.split("=", 1)[1]
    name = opts["--config-name"]
    return Path(opts["--config-path"]) / (name if name.endswith(".yaml") else name + ".yaml")


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(path)  # atomic: a reader never sees half a record


def arrivals(barrier: Path) -> int:
    return len(list(barrier.glob("*.json")))


def main() -> int:
    trainer = (yaml.safe_load(config_file(sys.argv[1:]).read_text()) or {}).get("trainer") or {}
    devices = int(trainer.get("devices") or 1)
    num_nodes = int(trainer.get("num_nodes") or 1)
    scratch = Path(os.environ["LAUNCH_TEST_DIR"])
    timeout = float(os.environ.get("LAUNCH_TEST_BARRIER_TIMEOUT", "30"))
    started = time.time()

    children: list[subprocess.Popen] = []
    if "LOCAL_RANK" in os.environ:
        launched = "external"
        local_rank = int(os.environ["LOCAL_RANK"])
    else:  # Lightning starts the other local ranks itself
        launched = "self-spawned"
        local_rank = 0
        for i in range(1, devices):
            children.append(subprocess.Popen([sys.executable, *sys.argv], env={**os.environ, "LOCAL_RANK": str(i)}))
    node_rank = int(os.environ.get("NODE_RANK", os.environ.get("GROUP_RANK", 0)))
    world_size = num_nodes * devices
    global_rank = node_rank * devices + local_rank

    record = {
        "pid": os.getpid(),
        "launched": launched,
        "env": {k: os.environ.get(k) for k in ENV_SEEN},
        "devices": devices,
        "num_nodes": num_nodes,
        "local_rank": local_rank,
        "node_rank": node_rank,
        "global_rank": global_rank,
        "world_size": world_size,
        "started": started,
    }
    barrier = scratch / "barrier"
    records = scratch / "records"
    barrier.mkdir(parents=True, exist_ok=True)
    records.mkdir(parents=True, exist_ok=True)

    if os.environ.get("LAUNCH_TEST_FAIL_RANK") == str(global_rank):
        deadline = time.monotonic() + timeout
        while arrivals(barrier) < world_size - 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        write_json(records / f"{os.getpid()}.json", {**record, "status": "injected-failure", "ended": time.time()})
        return EXIT_INJECTED_FAILURE

    write_json(barrier / f"{node_rank}-{local_rank}-{os.getpid()}.json", record)
    deadline = time.monotonic() + timeout
    while (arrived := arrivals(barrier)) < world_size:
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    status = "ok" if arrived >= world_size else f"barrier timeout: {arrived} of {world_size} arrived"
    write_json(records / f"{os.getpid()}.json", {**record, "status": status, "ended": time.time()})
    print(f"standin: node {node_rank} local {local_rank} -> global {global_rank}/{world_size}: {status}", flush=True)

    rc = 0 if status == "ok" else EXIT_BARRIER_TIMEOUT
    for child in children:
        rc = max(rc, child.wait())
    return rc


if __name__ == "__main__":
    sys.exit(main())
