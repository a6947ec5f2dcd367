"""Multi-process training on PyTorch's own engine: ``torchrun`` starts the processes,
``torch.distributed`` joins them (NCCL on GPUs, gloo on CPUs) and DistributedDataParallel averages
each trained network's gradients in its backward pass.

- One process (no torchrun, or ``WORLD_SIZE=1``) sets nothing up: :func:`connect` returns None and
  the trainer keeps its single-device path.
- The run's ``batch_size`` is the global batch. Each step, every rank reads a disjoint 1/N of the
  single-process batch of that step (:meth:`Distributed.shard`), which is what a DistributedSampler
  gives, without its per-epoch state: a resumed run, or one on another number of processes, reads
  the same data at the same step.
- Each network an optimizer trains is wrapped once in :class:`Replica` (DDP that reads through to
  the network's own attributes, so a family's train step uses it as the network itself); a network
  that only judges in a step is used under ``no_sync`` (see ``models.adversarial.frozen``). On
  CUDA, batch norm becomes SyncBatchNorm first (PyTorch's SyncBatchNorm runs on GPUs only: on CPUs
  each rank normalises its own share, and rank 0's running statistics are broadcast).
- Rank 0 alone logs, draws samples, measures and writes checkpoints; the logged losses are means
  over all ranks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from .device import resolve_device
from .errors import ConfigError
from .settings import whole_number_setting

#: the environment torchrun sets for each process it starts
LAUNCH_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class Distributed:
    """This process's place in a multi-process run."""

    rank: int
    world_size: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that logs, samples and saves."""
        return self.rank == 0

    def shard(self, indices: Tensor) -> Tensor:
        """This rank's share of a global batch: every world_size-th index from its rank."""
        return indices[self.rank::self.world_size]

    def check_batch(self, batch_size: int) -> None:
        if batch_size % self.world_size:
            raise ConfigError(f"batch_size: {batch_size} is the global batch and must split evenly over "
                              f"{self.world_size} processes; use a multiple of {self.world_size}")


def world_size_from_environment() -> int:
    """How many processes torchrun started (1 without torchrun)."""
    return whole_number_setting("WORLD_SIZE", 1)


def connect(device_name: str = "auto") -> tuple[Distributed | None, str]:
    """Join the torchrun job this process belongs to, if any: ``(its place, its device)``.

    One process: ``(None, device_name)`` and no set-up at all. Several: each rank takes
    ``cuda:LOCAL_RANK`` when CUDA is asked for (or ``auto`` finds it) and NCCL, else the CPU and gloo.
    """
    world = world_size_from_environment()
    if world <= 1:
        return None, device_name
    missing = [name for name in LAUNCH_VARIABLES if name not in os.environ]
    if missing:
        raise ConfigError(f"WORLD_SIZE={world} but {', '.join(missing)} not set: start several processes with "
                          f"torchrun (torchrun --nproc_per_node={world} -m trainers train ...)")
    rank = whole_number_setting("RANK", 0, minimum=0, maximum=world - 1)
    local_rank = whole_number_setting("LOCAL_RANK", 0, minimum=0, maximum=world - 1)
    device = resolve_device(device_name)
    if device.type == "cuda":
        if device.index is None:
            device = torch.device("cuda", local_rank)
        if device.index >= torch.cuda.device_count():
            raise ConfigError(f"device: local rank {local_rank} needs {device} but this machine has "
                              f"{torch.cuda.device_count()} GPU(s); use --nproc_per_node <= the GPU count")
        torch.cuda.set_device(device)
        backend = "nccl"
    elif device.type == "cpu":
        backend = "gloo"
    else:
        raise ConfigError(f"device: multi-process training runs on cuda (NCCL) or cpu (gloo), not {device.type}")
    if not dist.is_initialized():
        dist.init_process_group(backend, device_id=device if device.type == "cuda" else None)
    return Distributed(rank, world, local_rank), str(device)


def disconnect() -> None:
    """Leave the process group together (at the end of a run; harmless without one): every rank
    waits for rank 0's last checkpoint, so none tears down its links while another still needs them."""
    if dist.is_available() and dist.is_initialized():
        import gc

        gc.collect()  # DDP replicas still in reference cycles go now, while their process group lives
        dist.barrier()
        dist.destroy_process_group()


class Replica(DistributedDataParallel):
    """DistributedDataParallel that reads through to the wrapped network: its attributes (ProGAN's
    ``level``) and its state dict without DDP's ``module.`` prefix (E-GAN's parent, ESRGAN's
    snapshot), so a train step need not know it is distributed."""

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "module":  # DDP's own set-up, before the network is attached
                raise
            return getattr(self.module, name)

    def state_dict(self, *args, **kwargs):
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, *args, **kwargs):
        return self.module.load_state_dict(*args, **kwargs)


def mean_over_ranks(value: Tensor) -> Tensor:
    """``value`` averaged over the ranks of a torchrun job (as it is in one process): the logged
    losses, and a decision every rank must take alike, such as E-GAN's choice of the fittest child.
    Every rank must call it, in the same order."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return value
    value = value.detach().clone()
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value / dist.get_world_size()


def unwrapped(network: nn.Module) -> nn.Module:
    """The network itself, inside a DDP wrapper or not."""
    return network.module if isinstance(network, DistributedDataParallel) else network


def replicate(networks: nn.ModuleDict, optimizers: dict[str, torch.optim.Optimizer], device: torch.device,
              unused_parameters: bool = False) -> nn.ModuleDict:
    """The networks as a train step should see them: each one an optimizer trains wrapped in a
    :class:`Replica` (after SyncBatchNorm on CUDA), the rest (snapshots, image pools) as they are.

    ``networks`` keeps the plain modules (what is saved, sampled and measured); on CUDA their batch
    norms are replaced by SyncBatchNorm in place, sharing the same parameters, so the optimizers and
    checkpoints are unchanged. ``unused_parameters``: a step may leave part of a network out (the
    family's flag), so DDP must not wait for those gradients.
    """
    trained = {id(p) for optimizer in optimizers.values() for group in optimizer.param_groups
               for p in group["params"]}
    view = nn.ModuleDict()
    for name in list(networks):
        network = networks[name]
        if not any(id(p) in trained for p in network.parameters()):
            view[name] = network
            continue
        if device.type == "cuda":
            network = networks[name] = nn.SyncBatchNorm.convert_sync_batchnorm(network)
        view[name] = Replica(network, device_ids=[device.index] if device.type == "cuda" else None,
                             find_unused_parameters=unused_parameters)
    return view
