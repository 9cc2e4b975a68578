"""The multi-node launch, run: the rendered `command` of a 2-node run on simulated nodes, real GNU parallel.

Everything that decides the layout comes out of `runrepo render` of a copy of runs/ in which only the
cluster overlay's `runrepo.gpus_per_node` is shrunk to fit this machine: parallel's `--jobs`, the
LOCAL_WORLD_SIZE guard, `seq`, `trainer.devices` and `trainer.num_nodes`. The test replaces only the python
entry point (`python3 .../megatron_gpt_pretraining.py --config-path=/mnt/config --config-name=parameters`)
with a stand-in trainer called the same way, writes the rendered `parameters` where the stand-in's
--config-path points (the platform mounts them at /mnt/config/parameters.yaml), and runs the command under
`bash -c` once per node, concurrently, with the variables the platform sets (shared/reference/mcli.md):
NODE_RANK, NUM_NODES, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT.

- standin_trainer.py takes ranks by Lightning's LightningEnvironment rules and meets all the others at a
  barrier: the layout checker then wants each global rank once, each local rank once per node, one world;
- standin_lightning.py is real Lightning DDP on CPU/gloo: one step whose all-reduce of ones must sum to
  the world size on every process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
STANDIN = HERE / "standin_trainer.py"
STANDIN_LIGHTNING = HERE / "standin_lightning.py"
EXPERIMENT_2NODE = "gpt3-126m-2node.yaml"
EXPERIMENT_1NODE = "gpt3-126m-1node.yaml"

try:
    from runrepo import cli
except ImportError:  # not pip-installed: use the source tree
    sys.path.insert(0, str(REPO / "tools"))
    from runrepo import cli

PARALLEL_MISSING = "GNU parallel is not installed (apt-get install parallel)"

# The entry point the render puts in the command (runs/base.yaml runrepo.launch); nothing else is replaced.
ENTRY = re.compile(r"python3 \S+/megatron_gpt_pretraining\.py --config-path=/mnt/config --config-name=parameters")
# What may be spliced into the command's single-quoted parallel argument without quoting.
SAFE = re.compile(r"[A-Za-z0-9_./+=-]+")
# Variables a test runner may carry that would change which cluster environment Lightning picks, or a rank.
FOREIGN_ENV = re.compile(
    r"(LOCAL_RANK|RANK|GROUP_RANK|WORLD_SIZE|LOCAL_WORLD_SIZE|NODE_RANK|NUM_NODES|"
    r"MASTER_ADDR|MASTER_PORT|CUDA_VISIBLE_DEVICES|TORCHELASTIC_.*|SLURM_.*|LSB_.*|"
    r"JSM_NAMESPACE_.*|KUBERNETES_.*|PL_.*|LAUNCH_TEST_.*)"
)


# ---------------------------------------------------------------------------------------------- render


def repo_copy(tmp_path: Path, experiment: str, gpus_per_node: int, profile_edit=None) -> Path:
    """runs/ copied under tmp_path, the experiment's cluster overlay set to `gpus_per_node`."""
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "runs", repo / "runs")
    defaults = yaml.safe_load((repo / "runs/experiments" / experiment).read_text())["defaults"]
    (cluster,) = [d["/cluster"] for d in defaults if isinstance(d, dict) and "/cluster" in d]
    overlay = repo / "runs/cluster" / f"{cluster}.yaml"
    text, n = re.subn(r"(?m)^(\s+gpus_per_node:\s*)\d+", rf"\g<1>{gpus_per_node}", overlay.read_text())
    assert n == 1, f"{overlay}: no single runrepo.gpus_per_node to edit"
    overlay.write_text(text)
    if profile_edit:
        profile = repo / "runs/node/multi_node.yaml"
        old, new = profile_edit
        assert profile.read_text().count(old) == 1, f"{profile}: {old!r} not found once"
        profile.write_text(profile.read_text().replace(old, new))
    return repo


def render(capsys, repo: Path, experiment: str) -> dict:
    capsys.readouterr()
    rc = cli.main(["render", "--repo", str(repo), str(repo / "runs/experiments" / experiment)])
    out = capsys.readouterr()
    assert rc == 0, out.err
    return yaml.safe_load(out.out)


def with_entry_point(command: str, script: Path, config_dir: Path) -> str:
    """`command` with only the NeMo entry point replaced by `script`, called the same way."""
    (match,) = list(ENTRY.finditer(command))
    for part in (sys.executable, str(script), str(config_dir)):
        assert SAFE.fullmatch(part), f"{part!r} cannot be spliced into the command unquoted"
    standin = f"{sys.executable} {script} --config-path={config_dir} --config-name=parameters"
    rewritten = command[: match.start()] + standin + command[match.end() :]
    assert rewritten.replace(standin, match.group(0)) == command  # the rest, byte for byte
    return rewritten


# ----------------------------------------------------------------------------------------- the nodes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    """Simulated nodes of one run: each runs the command under a shell with the platform's variables."""

    tmp_path: Path
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def scratch(self) -> Path:
        return self.tmp_path / "scratch"

    def start(self, run: dict, command: str, *, shell: str = "bash", extra_env: dict | None = None) -> None:
        nodes, gpus = run["compute"]["nodes"], run["compute"]["gpus"]
        port = free_port()
        self.scratch.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not FOREIGN_ENV.fullmatch(k)}
        run_env = run.get("env_variables") or {}
        if isinstance(run_env, list):  # mcli's list form
            run_env = {e["key"]: e["value"] for e in run_env}
        env.update({str(k): str(v) for k, v in run_env.items()})
        env.update(OMP_NUM_THREADS="1", LAUNCH_TEST_DIR=str(self.scratch), **(extra_env or {}))
        for node_rank in range(nodes):
            node_env = {
                **env,
                "NODE_RANK": str(node_rank),
                "NUM_NODES": str(nodes),
                "WORLD_SIZE": str(gpus),
                "LOCAL_WORLD_SIZE": str(gpus // nodes),
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": str(port),
            }
            log = (self.tmp_path / f"node{node_rank}.log").open("wb")
            self.procs.append(
                subprocess.Popen(
                    [shell, "-c", command],
                    env=node_env,
                    cwd=self.tmp_path,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            log.close()

    def wait(self, timeout: float) -> list[int]:
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stop()
                pytest.fail(f"the nodes did not finish within {timeout} s:\n{self.logs()}")
        return [p.returncode for p in self.procs]

    def stop(self) -> None:
        """End the process group of every node still running (the platform tearing the run down)."""
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()

    def logs(self) -> str:
        return "\n".join(
            f"--- node {i}\n{(self.tmp_path / f'node{i}.log').read_text(errors='replace')}"
            for i in range(len(self.procs))
        )

    def records(self) -> list[dict]:
        return [json.loads(p.read_text()) for p in sorted((self.scratch / "records").glob("*.json"))]


@pytest.fixture
def cluster(tmp_path):
    if shutil.which("parallel") is None:
        pytest.skip(PARALLEL_MISSING)
    c = Cluster(tmp_path)
    yield c
    c.stop()


def write_parameters(tmp_path: Path, parameters: dict) -> Path:
    """The stand-in for /mnt/config/parameters.yaml: the rendered `parameters`, as the platform mounts them."""
    config_dir = tmp_path / "config"
    config_dir.mkdir(exist_ok=True)
    (config_dir / "parameters.yaml").write_text(yaml.safe_dump(parameters, sort_keys=False))
    return config_dir


# ------------------------------------------------------------------------------------------- checker


def layout_problems(records: list[dict], nodes: int, gpus_per_node: int) -> list[str]:
    """What is wrong with the processes' view of the job, for `nodes` x `gpus_per_node` GPUs allocated."""
    world = nodes * gpus_per_node
    problems = []
    if len(records) != world:
        problems.append(f"{len(records)} processes for {world} GPUs")
    ranks = Counter(r["global_rank"] for r in records)
    problems += [f"global rank {g} appears {ranks[g]} times" for g in range(world) if ranks[g] != 1]
    problems += [f"global rank {g} outside 0..{world - 1}" for g in sorted(set(ranks) - set(range(world)))]
    for node in range(nodes):
        local = Counter(r["local_rank"] for r in records if r["node_rank"] == node)
        problems += [
            f"node {node}: local rank {lr} appears {local[lr]} times" for lr in range(gpus_per_node) if local[lr] != 1
        ]
        problems += [
            f"node {node}: local rank {lr} outside 0..{gpus_per_node - 1}"
            for lr in sorted(set(local) - set(range(gpus_per_node)))
        ]
    sizes = sorted({r["world_size"] for r in records})
    if sizes != [world]:
        problems.append(f"world sizes {sizes}, expected one world of {world}")
    for r in records:
        where = f"pid {r['pid']} (node {r['node_rank']}, local {r['local_rank']})"
        if r["node_rank"] != int(r["env"]["NODE_RANK"]):
            problems.append(f"{where}: node rank differs from the platform's NODE_RANK {r['env']['NODE_RANK']}")
        if r.get("status") != "ok":
            problems.append(f"{where}: {r.get('status')}")
        if "allreduce_sum" in r and r["allreduce_sum"] != world:
            problems.append(f"{where}: all-reduce of ones summed to {r['allreduce_sum']}, not {world}")
        if "dist_world_size" in r and (r["dist_world_size"], r["dist_rank"]) != (world, r["global_rank"]):
            problems.append(f"{where}: torch.distributed rank {r['dist_rank']} of {r['dist_world_size']}")
    return problems


def assert_launch_faithful(run: dict, gpus_per_node: int) -> None:
    """Every layout value the test relies on follows from the one overlay value, through the render."""
    command, trainer = run["command"], run["parameters"]["trainer"]
    assert f"--jobs {gpus_per_node} " in command
    assert f'[ "$LOCAL_WORLD_SIZE" != "{gpus_per_node}" ]' in command
    assert f"seq 0 $(({gpus_per_node} - 1))" in command
    assert "LOCAL_RANK={} exec " in command
    assert (trainer["devices"], trainer["num_nodes"]) == (gpus_per_node, run["compute"]["nodes"])
    assert run["compute"]["gpus"] == gpus_per_node * run["compute"]["nodes"]


# --------------------------------------------------------------------------------------------- tests


def differences(a, b, path=()) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(a.keys() | b.keys()) for d in differences(a.get(k), b.get(k), (*path, k))]
    return [] if a == b else [".".join(map(str, path))]


def test_shrinking_changes_only_what_follows_from_gpus_per_node(capsys, tmp_path):
    """The real render (8 GPUs per node of r7z2) against the shrunk copy: the same run but for the command's
    GPU count, compute.gpus and trainer.devices (and the digest of the changed layer files)."""
    real = render(capsys, REPO, EXPERIMENT_2NODE)
    assert_launch_faithful(real, 8)
    assert len(ENTRY.findall(real["command"])) == 1
    shrunk = render(capsys, repo_copy(tmp_path, EXPERIMENT_2NODE, 2), EXPERIMENT_2NODE)
    assert_launch_faithful(shrunk, 2)
    assert set(differences(real, shrunk)) <= {
        "command",
        "compute.gpus",
        "parameters.trainer.devices",
        "metadata.runrepo_digest",
    }
    assert real["command"].replace("8", "2") == shrunk["command"]


@pytest.mark.parametrize(("gpus_per_node", "shell"), [(2, "bash"), (3, "bash"), (2, "sh")])
def test_two_nodes_form_one_world(capsys, tmp_path, cluster, gpus_per_node, shell):
    run = render(capsys, repo_copy(tmp_path, EXPERIMENT_2NODE, gpus_per_node), EXPERIMENT_2NODE)
    assert_launch_faithful(run, gpus_per_node)
    command = with_entry_point(run["command"], STANDIN, write_parameters(tmp_path, run["parameters"]))
    cluster.start(run, command, shell=shell)
    rcs = cluster.wait(60)
    records = cluster.records()
    assert rcs == [0, 0], cluster.logs()
    assert layout_problems(records, run["compute"]["nodes"], gpus_per_node) == [], cluster.logs()
    for r in records:  # what each process got from the launch itself
        assert r["launched"] == "external"
        assert r["env"]["LOCAL_RANK"] == str(r["local_rank"])
        assert r["env"]["RANK"] is None and r["env"]["CUDA_VISIBLE_DEVICES"] is None
        assert (r["devices"], r["num_nodes"]) == (gpus_per_node, 2)
        assert r["env"]["MASTER_PORT"] == records[0]["env"]["MASTER_PORT"]


def test_single_node_run_starts_its_ranks_in_the_trainer(capsys, tmp_path, cluster):
    """The 1-node profile launches one process, and Lightning (here its stand-in) starts the others."""
    run = render(capsys, repo_copy(tmp_path, EXPERIMENT_1NODE, 2), EXPERIMENT_1NODE)
    assert run["parameters"]["trainer"]["devices"] == 2 and run["compute"]["nodes"] == 1
    command = with_entry_point(run["command"], STANDIN, write_parameters(tmp_path, run["parameters"]))
    cluster.start(run, command)
    assert cluster.wait(60) == [0], cluster.logs()
    records = cluster.records()
    assert layout_problems(records, 1, 2) == [], cluster.logs()
    by_local = {r["local_rank"]: r for r in records}  # the one launched process starts local rank 1
    assert (by_local[0]["launched"], by_local[0]["env"]["LOCAL_RANK"]) == ("self-spawned", None)
    assert by_local[1]["env"]["LOCAL_RANK"] == "1"


def test_guard_refuses_a_node_with_another_gpu_count(capsys, tmp_path, cluster):
    run = render(capsys, repo_copy(tmp_path, EXPERIMENT_2NODE, 2), EXPERIMENT_2NODE)
    command = with_entry_point(run["command"], STANDIN, write_parameters(tmp_path, run["parameters"]))
    run["compute"]["gpus"] = 6  # the platform reports LOCAL_WORLD_SIZE=3 on nodes rendered for 2
    cluster.start(run, command)
    assert cluster.wait(30) == [1, 1]
    assert "runrepo: expected 2 GPUs per node, the platform reports 3" in cluster.logs()
    assert not (cluster.scratch / "records").exists()  # no rank started


def seed_command(gpus_per_node: int, script: Path, config_dir: Path) -> str:
    """The seed's multi-node launch (shared/corpus/mcli/seed/multi_node.yaml) for `gpus_per_node` GPUs."""
    g = gpus_per_node
    return (
        f"seq 0 {g - 1} | parallel -u \\ 'CUDA_VISIBLE_DEVICES={{}} RANK=$(( $NODE_RANK * {g} + {{}} )) \\\n"
        f"{sys.executable} {script} --config-path={config_dir} --config-name=parameters'"
    )


def test_checker_rejects_the_seeds_launch(capsys, tmp_path, cluster):
    """The seed's style (RANK and CUDA_VISIBLE_DEVICES per process, trainer.devices=1, num_nodes left at
    NeMo's default 1, no LOCAL_RANK, parallel without -j) runs, but as separate worlds of one process."""
    run = render(capsys, repo_copy(tmp_path, EXPERIMENT_2NODE, 2), EXPERIMENT_2NODE)
    parameters = run["parameters"]
    parameters["trainer"].update(devices=1, num_nodes=1)
    command = seed_command(2, STANDIN, write_parameters(tmp_path, parameters))
    cluster.start(run, command)
    assert cluster.wait(60) == [0, 0], cluster.logs()  # nothing fails: the job silently is not one job
    problems = layout_problems(cluster.records(), 2, 2)
    assert "world sizes [1], expected one world of 4" in problems
    assert "global rank 0 appears 2 times" in problems and "global rank 2 appears 0 times" in problems
    assert "node 0: local rank 0 appears 2 times" in problems


def parallel_cpus() -> int:
    """How many jobs GNU parallel runs at once without --jobs (one per CPU core or thread)."""
    if shutil.which("parallel") is None:
        return 1
    counts = [
        subprocess.run(["parallel", f"--number-of-{what}"], capture_output=True, text=True, check=False).stdout
        for what in ("cores", "threads")
    ]
    return max(int(c.strip() or 1) for c in counts)


def serial_mutations():
    cpus = parallel_cpus()
    yield pytest.param(("--jobs ${runrepo.gpus_per_node} ", "--jobs 1 "), 2, id="jobs-1")
    yield pytest.param(
        ("--jobs ${runrepo.gpus_per_node} ", ""),
        cpus + 1,
        id="jobs-default-cpus",
        marks=pytest.mark.skipif(cpus + 1 > 8, reason=f"{cpus} CPUs: too many ranks"),
    )


@pytest.mark.parametrize(("edit", "gpus_per_node"), list(serial_mutations()))
def test_a_serialising_launch_fails(capsys, tmp_path, cluster, edit, gpus_per_node):
    """With fewer parallel jobs than GPUs per node the ranks of a node run one after another: the first
    waits for peers that never come, and the test fails instead of passing by accident."""
    run = render(capsys, repo_copy(tmp_path, EXPERIMENT_2NODE, gpus_per_node, profile_edit=edit), EXPERIMENT_2NODE)
    command = with_entry_point(run["command"], STANDIN, write_parameters(tmp_path, run["parameters"]))
    cluster.start(run, command, extra_env={"LAUNCH_TEST_BARRIER_TIMEOUT": "4"})
    rcs = cluster.wait(60)
    assert all(rc != 0 for rc in rcs), cluster.logs()
    problems = layout_problems(cluster.records(), 2, gpus_per_node)
    assert any("barrier timeout" in p for p in problems), problems
    assert any(re.fullmatch(r"\d+ processes for \d+ GPUs", p) for p in problems), problems


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def test_a_failing_rank_stops_its_node_promptly(capsys, tmp_path, cluster):
    """--halt now,fail=1: when one rank exits non-zero, parallel ends its siblings, which would otherwise
    wait in their first collective (here the barrier, 60 s), and the node's command exits non-zero."""
    run = render(capsys, repo_copy(tmp_path, EXPERIMENT_2NODE, 2), EXPERIMENT_2NODE)
    command = with_entry_point(run["command"], STANDIN, write_parameters(tmp_path, run["parameters"]))
    barrier_timeout = 60
    cluster.start(
        run, command, extra_env={"LAUNCH_TEST_BARRIER_TIMEOUT": str(barrier_timeout), "LAUNCH_TEST_FAIL_RANK": "3"}
    )  # node 1, local rank 1
    node0, node1 = cluster.procs
    start = time.monotonic()
    rc1 = node1.wait(barrier_timeout / 3)
    exited_after = time.monotonic() - start
    assert rc1 == 3, cluster.logs()  # parallel passes on the failing rank's status
    assert exited_after < barrier_timeout / 3
    (failed,) = [r for r in cluster.records() if r["status"] == "injected-failure"]
    assert (failed["node_rank"], failed["local_rank"]) == (1, 1)
    arrived = [json.loads(p.read_text()) for p in (cluster.scratch / "barrier").glob("*.json")]
    (sibling,) = [a for a in arrived if a["node_rank"] == 1]
    assert not pid_alive(sibling["pid"]), "parallel left rank 2 running after its node exited"
    # node 0's ranks still wait for the dead peer, as they would in NCCL; the platform ends the run
    assert node0.poll() is None, "node 0 was expected to still wait for the dead rank"
    assert not any(r["node_rank"] == 0 for r in cluster.records())
    cluster.stop()


def lightning_available() -> str | None:
    """Why the Lightning tests cannot run here, or None (found without importing: collection stays fast)."""
    if importlib.util.find_spec("torch") is None:
        return "torch is not installed"
    if importlib.util.find_spec("lightning") is None and importlib.util.find_spec("pytorch_lightning") is None:
        return "neither lightning nor pytorch-lightning is installed"
    return None


@pytest.mark.skipif(lightning_available() is not None, reason=str(lightning_available()))
def test_lightning_ddp_spans_both_nodes(capsys, tmp_path, cluster):
    """Real Lightning on CPU: 2 nodes x 2 processes, one world of 4, an all-reduce of ones sums to 4."""
    run = render(capsys, repo_copy(tmp_path, EXPERIMENT_2NODE, 2), EXPERIMENT_2NODE)
    assert_launch_faithful(run, 2)
    command = with_entry_point(run["command"], STANDIN_LIGHTNING, write_parameters(tmp_path, run["parameters"]))
    cluster.start(run, command)
    assert cluster.wait(150) == [0, 0], cluster.logs()
    records = cluster.records()
    assert layout_problems(records, 2, 2) == [], cluster.logs()
    assert sorted(r["allreduce_sum"] for r in records) == [4.0] * 4
    assert {r["cluster_environment"] for r in records} == {"LightningEnvironment"}
    assert {r["launched"] for r in records} == {"external"}
    assert {r["global_step"] for r in records} == {1}


@pytest.mark.skipif(lightning_available() is not None, reason=str(lightning_available()))
def test_lightning_rejects_the_seeds_launch(capsys, tmp_path, cluster):
    """The seed's style under real Lightning: no world of 4 (launch.md: one process trains alone, the
    others die on gloo's rank check or on the port taken by the first)."""
    run = render(capsys, repo_copy(tmp_path, EXPERIMENT_2NODE, 2), EXPERIMENT_2NODE)
    parameters = run["parameters"]
    parameters["trainer"].update(devices=1, num_nodes=1)
    cluster.start(run, seed_command(2, STANDIN_LIGHTNING, write_parameters(tmp_path, parameters)))
    cluster.wait(150)
    records = cluster.records()
    problems = layout_problems(records, 2, 2)
    assert problems, cluster.logs()
    assert not any(r["world_size"] == 4 for r in records)
    assert all(r["world_size"] == 1 and r["allreduce_sum"] == 1 for r in records), cluster.logs()
