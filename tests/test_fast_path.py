"""The fast path (on a GPU: bf16 autocast where stable, channels_last, pinned batches; on a CPU
with AMX, when asked for: bf16 autocast) and torch.compile.

What runs here: the choice of fast path (on for CUDA, bf16 alone on an AMX CPU when asked for,
float32 where an objective or family needs it, and the notes that say so), a bf16 DCGAN run that
learns (on CUDA or an AMX CPU), pinned gathering, a compiled run on the CPU, and a rehearsal of the GPU's choice
on the CPU for every family (the same autocast and memory-format code, on the CPU's kernels). The
GPU run itself needs CUDA: it is skipped, with the reason, where there is none.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from bench.fast_path_families import EVERY_FAMILY
from judges import mnist_judge, read_digits
from trainers.device import FastPath, choose_fast_path, cpu_has_bf16_matrix_units
from trainers.engine import RunConfig, Trainer
from trainers.model import GANModel
from trainers.objectives import needs_float32
from trainers.registry import MODELS, get_family

NO_CUDA = "no CUDA GPU on this machine: the bf16 / channels_last / pinned-memory path is not exercised here"
NO_FAST_PATH = "neither a CUDA GPU nor a CPU with AMX here: no bf16 fast path to train on"


def test_the_fast_path_on_cuda_bf16_on_an_amx_cpu_when_asked_and_float32_where_needed():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    amx = cpu_has_bf16_matrix_units()
    assert choose_fast_path(True, cuda, images=True, bf16_safe=True) == FastPath(True, True, True)
    assert choose_fast_path(False, cuda, images=True, bf16_safe=True) == FastPath()  # --no-fast
    assert choose_fast_path(True, cuda, images=False, bf16_safe=False) == FastPath(False, False, True)
    assert choose_fast_path(True, cuda, images=True, bf16_safe=True, bf16_pays_on_cpu=False).bf16  # a GPU's choice
    # a CPU: nothing by default; bf16 autocast alone when asked for, with AMX, where stable and faster
    assert choose_fast_path(True, cpu, images=True, bf16_safe=True) == FastPath()
    assert choose_fast_path(True, cpu, images=True, bf16_safe=True, cpu_bf16=True) == FastPath(bf16=amx)
    assert choose_fast_path(True, cpu, images=True, bf16_safe=False, cpu_bf16=True) == FastPath()
    assert choose_fast_path(True, cpu, images=True, bf16_safe=True, cpu_bf16=True, bf16_pays_on_cpu=False) == FastPath()
    assert sorted(name for name in MODELS if not get_family(name).bf16_on_cpu) == ["mlp-gan", "vanilla-gan"]
    # the gradient penalty differentiates twice: float32; E-GAN reads gradient norms: float32
    wgan_gp = Trainer(RunConfig(model="wgan-gp", dataset="digits", preset="cpu", steps=1, batch_size=8))
    dcgan = Trainer(RunConfig(model="dcgan", dataset="digits", preset="cpu-small", steps=1, batch_size=8))
    assert needs_float32(wgan_gp.model.config) and not needs_float32(dcgan.model.config)
    assert not get_family("e-gan").bf16 and get_family("dcgan").bf16
    assert dcgan.fast == wgan_gp.fast == FastPath() and not any("bf16" in note for note in dcgan.notes())


@pytest.mark.parametrize("model, dataset, preset", [("dcgan", "digits", "cpu-small"), ("wgan-gp", "digits", "cpu"),
                                                    ("vanilla-gan", "digits", "cpu-small"), ("mlp-gan", "ring", "")])
def test_bf16_asked_for_on_a_cpu_says_what_the_run_took(model, dataset, preset):
    """``cpu_bf16`` is a request: the run's notes say whether it trains in bf16, or why in float32
    (no AMX here, a family that needs float32, or one that measured slower in bf16)."""
    trainer = Trainer(RunConfig(model=model, dataset=dataset, preset=preset, steps=1, batch_size=8, cpu_bf16=True))
    notes = [note for note in trainer.notes() if "bf16" in note]
    taken = cpu_has_bf16_matrix_units() and model == "dcgan"
    assert trainer.fast == FastPath(bf16=taken)
    if taken:
        assert notes == ["bf16 autocast on the CPU's AMX matrix units (cpu_bf16)"]
    else:
        reason = ("this CPU has no AMX bf16 units, and emulated bf16 is about 20x slower"
                  if not cpu_has_bf16_matrix_units()
                  else "the family or objective needs float32" if model == "wgan-gp"
                  else "this family measured slower in bf16 on a CPU")
        assert notes == [f"cpu_bf16 asked for, float32 kept: {reason}"]
    trainer.train_one()  # and it trains


def test_the_cpu_reports_its_matrix_units_as_its_flags_say():
    """AMX is read from the CPU's own flags (Linux's /proc/cpuinfo), not assumed."""
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        pytest.skip("no /proc/cpuinfo flags on this system")
    assert cpu_has_bf16_matrix_units() == ("amx_bf16" in flags and "amx_tile" in flags and "avx512_bf16" in flags)


def test_a_pinned_dataset_gives_the_same_batches(data_dir):
    trainer = Trainer(RunConfig(model="cgan", dataset="mnist", preset="cpu-small", steps=1, batch_size=8,
                                data_dir=str(data_dir)))
    indices = torch.tensor([5, 0, 42, 7])
    pinned = trainer.dataset.pinned()
    assert pinned.pin and not trainer.dataset.pin
    if not torch.cuda.is_available():
        pytest.skip(f"{NO_CUDA} (pinning needs a CUDA driver)")
    for a, b in zip(pinned.batch(indices, "cuda"), trainer.dataset.batch(indices, "cuda")):
        assert torch.equal(a, b)


@pytest.mark.slow
def test_compiled_networks_train_like_eager_ones_and_report_the_compile_time():
    def run(compile: bool) -> tuple[Trainer, list[dict]]:
        trainer = Trainer(RunConfig(model="dcgan", dataset="digits", preset="cpu-small", steps=20, batch_size=16,
                                    seed=4, log_every=10, sample_every=10**6, compile=compile))
        return trainer, [event for event in trainer.run() if event["type"] == "metrics"]

    compiled, compiled_events = run(True)
    eager, eager_events = run(False)
    assert compiled_events[0].get("compile_s", 0) > 0 and "compile_s" not in eager_events[0]
    for ours, theirs in zip(compiled_events, eager_events):  # the same computation, fused differently
        for loss in ("loss_d", "loss_g"):
            assert ours["losses"][loss] == pytest.approx(theirs["losses"][loss], rel=1e-3, abs=1e-4)
    # in place: names and checkpoints are those of the eager networks
    assert compiled.model.networks.state_dict().keys() == eager.model.networks.state_dict().keys()


@pytest.mark.slow
def test_a_compiled_mlp_gan_compiles_its_written_out_step_and_trains_like_eager():
    """--compile on the 2-D toy GAN compiles the written-out passes (compiling its networks alone and
    stepping through autograd ran at a third of the eager step's speed), with the eager weights."""
    from trainers.models import mlp_gan

    def run(compile: bool) -> tuple[Trainer, list[dict]]:
        trainer = Trainer(RunConfig(model="mlp-gan", dataset="ring", steps=40, batch_size=64, seed=2,
                                    log_every=20, sample_every=10**6, compile=compile))
        return trainer, [event for event in trainer.run() if event["type"] == "metrics"]

    asked_before = mlp_gan._compiled.cache_info()
    compiled, compiled_events = run(True)
    asked = mlp_gan._compiled.cache_info()
    eager, eager_events = run(False)
    # every step asked for both compiled passes, compiled once in this process
    assert (asked.hits + asked.misses) - (asked_before.hits + asked_before.misses) == 2 * 40 and asked.currsize == 2
    assert mlp_gan._compiled.cache_info() == asked  # the eager run never did
    assert compiled_events[0].get("compile_s", 0) > 0 and "compile_s" not in eager_events[0]
    for ours, theirs in zip(compiled_events, eager_events):
        for group, figure in (("losses", "loss_d"), ("losses", "loss_g"), ("stats", "d_real"), ("stats", "d_fake")):
            assert ours[group][figure] == pytest.approx(theirs[group][figure], rel=1e-3, abs=1e-4)
    for name, weight in compiled.model.networks.state_dict().items():
        torch.testing.assert_close(weight, eager.model.networks.state_dict()[name], rtol=1e-4, atol=1e-5)


@pytest.mark.slow
@pytest.mark.skipif(not (torch.cuda.is_available() or cpu_has_bf16_matrix_units()), reason=NO_FAST_PATH)
def test_the_fast_path_trains_dcgan_in_bf16_and_learns(data_dir, tmp_path):
    """On CUDA (by default), or else on a CPU with AMX (asked for): the run takes bf16 autocast,
    keeps its weights float32, and draws digits the MNIST judge reads, all ten of them."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    trainer = Trainer(RunConfig(model="dcgan", dataset="mnist", preset="cpu-small", steps=600, batch_size=64,
                                seed=0, log_every=50, sample_every=10**6, data_dir=str(data_dir),
                                out=str(tmp_path / "fast"), device=device, cpu_bf16=True))
    on_gpu = device == "cuda"
    assert trainer.fast == (FastPath(True, True, True) if on_gpu else FastPath(bf16=True))
    dtypes = []
    hook = trainer.model.networks["generator"].register_forward_hook(lambda m, i, out: dtypes.append(out.dtype))
    events = list(trainer.run())
    hook.remove()
    assert events[-1]["type"] == "done" and torch.bfloat16 in dtypes
    weight = next(p for p in trainer.model.networks["generator"].parameters() if p.dim() == 4)
    assert weight.dtype == torch.float32
    assert weight.is_contiguous(memory_format=torch.channels_last) == on_gpu
    model = GANModel.from_pretrained(tmp_path / "fast", device=device)
    judge, _ = mnist_judge(str(data_dir))
    confidence, histogram, _ = read_digits(judge.to(device), model.sample(1000, seed=5))
    assert confidence >= 0.5 and int((histogram >= 20).sum()) >= 8, (confidence, histogram.tolist())


def test_the_image_pool_fills_then_swaps_half_its_images_on_the_device():
    from trainers.models.cyclegan import ImagePool

    pool, rng = ImagePool(4, 1, 2), torch.Generator().manual_seed(0)
    first = torch.arange(3.0).view(3, 1, 1, 1).expand(3, 1, 2, 2).contiguous()
    assert torch.equal(pool.query(first, rng), first) and int(pool.count) == 3  # filling: all pass through
    returned, swapped = 0, 0
    for round_ in range(200):
        batch = (10.0 + 10 * round_ + torch.arange(4.0)).view(4, 1, 1, 1).expand(4, 1, 2, 2).contiguous()
        before = set(pool.images[:, 0, 0, 0].tolist())
        out = pool.query(batch, rng)[:, 0, 0, 0].tolist()
        new = batch[:, 0, 0, 0].tolist()
        assert all(value in new or value in before for value in out)  # an image is new or remembered
        swapped += sum(value not in new for value in out)
        returned += len(out)
    assert int(pool.count) == 4 and 0.4 < swapped / returned < 0.55, swapped / returned  # about half
    # a pool loaded from a checkpoint (its count read back once) answers as the original does
    twin, fresh = ImagePool(4, 1, 2), ImagePool(4, 1, 2)
    twin.load_state_dict(pool.state_dict())
    fresh.query(first, torch.Generator().manual_seed(1))  # a pool that had counted 3 before the load
    fresh.load_state_dict(pool.state_dict())
    batch = torch.full((4, 1, 2, 2), -5.0)
    expected = pool.query(batch, torch.Generator().manual_seed(2))
    assert torch.equal(twin.query(batch, torch.Generator().manual_seed(2)), expected)
    assert torch.equal(fresh.query(batch, torch.Generator().manual_seed(2)), expected)


#: families whose training step must not wait on the GPU (E-GAN's child selection reads its
#: fitness on the host by design)
SYNC_FREE = ["dcgan:mnist:cpu-small", "cgan:mnist:cpu-small", "wgan-gp:mnist:cpu", "progan:mnist:cpu-small",
             "bigan:mnist:cpu-small", "aae:mnist:cpu-small", "pix2pix:mnist-edges:cpu-small",
             "cyclegan:mnist-colorized:cpu-small", "srgan:cifar10:cpu-small", "esrgan:cifar10:cpu-small",
             "domain-classifier:mnist:cpu-small"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
@pytest.mark.parametrize("case", SYNC_FREE)
def test_a_gpu_training_step_never_waits_for_the_device(case, data_dir):
    model, dataset, preset = case.split(":")
    overrides = {"pretrain_steps": 2} if model in ("srgan", "esrgan") else {}
    trainer = Trainer(RunConfig(model=model, dataset=dataset, preset=preset, steps=10, batch_size=8,
                                data_dir=str(data_dir), overrides=overrides))
    for _ in range(3):  # the first steps allocate, pick kernels and, for SR, switch phase
        trainer.train_one()
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")  # any host-device sync raises
    try:
        for _ in range(3):
            trainer.train_one()
    finally:
        torch.cuda.set_sync_debug_mode("default")


#: losses that come after another update of the same step: Adam's first step moves each weight by
#: about +-lr whatever its gradient's size, so bf16 rounding a near-zero gradient across zero moves
#: that weight the other way, and what is measured after it can differ by more than rounding
AFTER_AN_EARLIER_UPDATE = {("aae", "loss_g"), ("aae", "loss_d")}


def test_every_family_is_listed_for_the_rehearsal():
    assert set(EVERY_FAMILY) == set(MODELS)


@pytest.mark.parametrize("model", sorted(EVERY_FAMILY))
def test_every_family_trains_on_the_gpus_fast_path_rehearsed_on_the_cpu(model, data_dir):
    """The fast path a CUDA device would get (bf16 autocast where the family and objective allow
    it, channels_last for images), taken on the CPU: each step's losses are finite and, on the
    first step, within bf16's rounding of float32's; the weights stay float32 (and channels_last)
    while the networks compute in bf16."""
    dataset, preset, image_size, overrides = EVERY_FAMILY[model]

    def trainer() -> Trainer:
        return Trainer(RunConfig(model=model, dataset=dataset, preset=preset, image_size=image_size, steps=10,
                                 batch_size=1 if model == "dip-inpaint" else 8, seed=3, data_dir=str(data_dir),
                                 overrides=dict(overrides)))

    plain, rehearsal = trainer(), trainer()
    bf16_safe = rehearsal.bf16_safe
    gpu_choice = choose_fast_path(True, torch.device("cuda"), images=rehearsal.dataset.kind != "points",
                                  bf16_safe=bf16_safe)
    rehearsal.take_fast_path(dataclasses.replace(gpu_choice, pinned=False))  # pinning needs a CUDA driver
    dtypes: set[torch.dtype] = set()
    hooks = [module.register_forward_hook(lambda m, i, out: dtypes.add(out.dtype) if torch.is_tensor(out) else None)
             for network in rehearsal.model.networks.values() for module in network.modules()
             if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    plain_losses = [{k: float(v.detach()) for k, v in plain.train_one().items()} for _ in range(3)]
    fast_losses = [{k: float(v.detach()) for k, v in rehearsal.train_one().items()} for _ in range(3)]
    for hook in hooks:
        hook.remove()

    assert all(math.isfinite(v) for step in fast_losses for v in step.values()), fast_losses
    for name, value in plain_losses[0].items():
        if name.startswith("loss") and (model, name) not in AFTER_AN_EARLIER_UPDATE:
            assert fast_losses[0][name] == pytest.approx(value, rel=0.05, abs=0.02), \
                (name, fast_losses[0], plain_losses[0])
    assert (torch.bfloat16 in dtypes) == bf16_safe, dtypes
    for name, weight in rehearsal.model.networks.named_parameters():
        assert weight.dtype == torch.float32, name
        if gpu_choice.channels_last and weight.dim() == 4:
            assert weight.is_contiguous(memory_format=torch.channels_last), name
