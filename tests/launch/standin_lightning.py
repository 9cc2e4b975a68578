"""Stand-in for NeMo's megatron_gpt_pretraining.py that runs real Lightning DDP on CPU (gloo).

Called like the real entry point (`--config-path=DIR --config-name=NAME`), it builds a Trainer the way NeMo's
script does from the rendered `parameters` (`Trainer(**cfg.trainer)`), keeping of `trainer` only
`devices` and `num_nodes` (the accelerator becomes `cpu`, the strategy DDP over gloo), and fits one step whose
training step all-reduces a tensor of ones over the default process group. So Lightning itself decides the
cluster environment, the ranks and the world from what the launch gave this process. Each process writes its
view to `$LAUNCH_TEST_DIR/records/<pid>.json`; in one correct world every process sees sum = world size.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
import yaml
from standin_trainer import ENV_SEEN, config_file, write_json

try:
    import lightning.pytorch as pl
    from lightning.pytorch.strategies import DDPStrategy
except ImportError:
    import pytorch_lightning as pl
    from pytorch_lightning.strategies import DDPStrategy


class OneStep(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(1, 1)
        self.allreduce_sum: float | None = None

    def training_step(self, batch, batch_idx):
        ones = torch.ones(1)
        dist.all_reduce(ones)  # SUM over every process of the job
        self.allreduce_sum = ones.item()
        return self.layer(batch).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def train_dataloader(self):
        return torch.utils.data.DataLoader(torch.ones(64, 1), batch_size=1)


def main() -> int:
    started = time.time()
    trainer_cfg = (yaml.safe_load(config_file(sys.argv[1:]).read_text()) or {}).get("trainer") or {}
    torch.set_num_threads(1)
    model = OneStep()
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=trainer_cfg.get("devices") or 1,
        num_nodes=trainer_cfg.get("num_nodes") or 1,
        strategy=DDPStrategy(process_group_backend="gloo"),
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(model)
    record = {
        "pid": os.getpid(),
        "env": {k: os.environ.get(k) for k in ENV_SEEN},
        "cluster_environment": type(trainer.strategy.cluster_environment).__name__,
        "launched": "external" if trainer.strategy.cluster_environment.creates_processes_externally else "self-spawned",
        "local_rank": trainer.local_rank,
        "node_rank": trainer.node_rank,
        "global_rank": trainer.global_rank,
        "world_size": trainer.world_size,
        "dist_rank": dist.get_rank(),
        "dist_world_size": dist.get_world_size(),
        "allreduce_sum": model.allreduce_sum,
        "global_step": trainer.global_step,
        "status": "ok",
        "started": started,
        "ended": time.time(),
    }
    records = Path(os.environ["LAUNCH_TEST_DIR"]) / "records"
    records.mkdir(parents=True, exist_ok=True)
    write_json(records / f"{os.getpid()}.json", record)
    print(f"standin-lightning: global {trainer.global_rank}/{trainer.world_size} sum {model.allreduce_sum}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
