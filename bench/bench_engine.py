"""Engine overhead: steps/s of `Trainer.run` against a bare reference loop, same process.

The reference is the pytorch/examples DCGAN loop written out by hand (BCE on logits, Adam,
the same networks and batches), with no events, no controls and no bookkeeping. The ratio
engine/reference says what the engine's features cost; 1.0 means nothing.

    python bench/bench_engine.py                       # dcgan on mnist, 300 steps each
    python bench/bench_engine.py --model mlp-gan --dataset ring --steps 2000

Also reports how long one batch takes to gather from the in-memory dataset, against a step.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainers.engine import RunConfig, Trainer  # noqa: E402


def reference_loop(trainer: Trainer, steps: int) -> float:
    """pytorch/examples-style loop over the trainer's networks and data; returns steps/s."""
    networks, (opt_g, opt_d) = trainer.model.networks, (trainer.optimizers["generator"],
                                                        trainer.optimizers["discriminator"])
    generator, discriminator = networks["generator"], networks["discriminator"]
    latent = trainer.model.config.latent_dim
    start = time.perf_counter()
    for step in range(steps):
        real, _ = trainer.dataset.batch(trainer.sampler.indices(step), trainer.device)
        z = torch.randn(real.shape[0], latent, device=trainer.device)
        fake = generator(z)
        # (1) update D
        real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
        loss_d = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                  + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        # (2) update G
        fake_logits = discriminator(fake)
        loss_g = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        if step % 10 == 0:
            loss_d.item(), loss_g.item()  # a logging loop reads losses back too
    return steps / (time.perf_counter() - start)


def engine_loop(trainer: Trainer) -> float:
    start = time.perf_counter()
    for _ in trainer.run():
        pass
    return trainer.run_config.steps / (time.perf_counter() - start)


def batch_cost(trainer: Trainer, repeats: int = 200) -> float:
    start = time.perf_counter()
    for step in range(repeats):
        trainer.dataset.batch(trainer.sampler.indices(step), trainer.device)
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--preset", default="cpu-small")
    args = parser.parse_args()

    def make() -> Trainer:
        return Trainer(RunConfig(model=args.model, dataset=args.dataset, steps=args.steps,
                                 batch_size=args.batch_size, preset=args.preset if args.model == "dcgan" else "",
                                 log_every=10, sample_every=100))

    load_start = time.perf_counter()
    make()  # first load of the dataset (decoding the file); later ones hit the cache
    first_load = time.perf_counter() - load_start
    load_start = time.perf_counter()
    make()
    cached_load = time.perf_counter() - load_start

    warm = make()
    reference_loop(warm, 20)  # warm-up: allocator, kernels
    reference = reference_loop(make(), args.steps)
    engine = engine_loop(make())
    trainer = make()
    per_batch = batch_cost(trainer)
    result = {
        "model": args.model, "dataset": args.dataset, "steps": args.steps, "batch_size": args.batch_size,
        "device": str(trainer.device), "threads": torch.get_num_threads(),
        "reference_steps_per_s": round(reference, 2), "engine_steps_per_s": round(engine, 2),
        "engine_over_reference": round(engine / reference, 3),
        "batch_gather_ms": round(per_batch * 1000, 3),
        "batch_share_of_step": round(per_batch * reference, 4),
        "trainer_build_first_s": round(first_load, 3), "trainer_build_cached_s": round(cached_load, 3),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
