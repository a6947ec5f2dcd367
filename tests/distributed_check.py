"""Started by tests/test_distributed.py under torchrun: train each given family for a few steps in
this process group, then compare every rank's weights with rank 0's. DDP keeps the replicas equal
only if every update is averaged (or decided) alike on every rank: E-GAN's choice of child,
ProGAN's growing, ESRGAN's phase switch, CycleGAN's image pools, a gradient penalty's double
backward. Rank 0 writes {family: largest weight difference from rank 0} to the file given.

    torchrun --nproc_per_node=2 tests/distributed_check.py OUT.json MODEL:DATASET:PRESET:STEPS[:KEY=JSON]...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from trainers.distributed import connect, disconnect
from trainers.engine import RunConfig, Trainer


def largest_difference_from_rank_zero(trainer: Trainer) -> float:
    """Over all ranks, the largest |weight - rank 0's weight| (parameters: on CPUs each rank keeps
    batch-norm statistics of its own share, and only rank 0's are saved)."""
    mine = torch.cat([p.detach().float().flatten() for p in trainer.model.networks.parameters()])
    everyone = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(everyone, mine)
    return max(float((weights - everyone[0]).abs().max()) for weights in everyone)


def main(out: str, cases: list[str]) -> None:
    distributed, device = connect("cpu")
    assert distributed is not None, "run me with torchrun --nproc_per_node=2"
    found = {}
    for case in cases:
        model, dataset, preset, steps, *sets = case.split(":")
        overrides = {key: json.loads(value) for key, value in (item.split("=", 1) for item in sets)}
        trainer = Trainer(RunConfig(model=model, dataset=dataset, preset=preset, steps=int(steps), batch_size=8,
                                    seed=0, device=device, log_every=1, sample_every=10**6, overrides=overrides),
                          distributed=distributed)
        events = list(trainer.run())
        assert events[-1]["type"] == "done", events[-1]
        found[model] = largest_difference_from_rank_zero(trainer)
    if distributed.is_main:
        Path(out).write_text(json.dumps(found))
    disconnect()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
