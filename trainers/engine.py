"""The training engine: one loop for the CLI, the playground's worker threads and torchrun.

:meth:`Trainer.run` is a generator of plain event dicts (numbers, strings, numpy arrays; never
tensors), so any front end can consume it:

- ``start``: device, model, dataset, total steps, and a picture of the real data (then a
  ``samples`` event of the untrained generator, for families that have one)
- ``metrics``: losses and signals averaged since the last event (and, under torchrun, over the
  ranks), steps/s; with ``compile``, ``compile_s`` (seconds in steps that compiled) when it grew
- ``samples``: the fixed-noise grid (images) or generated points and D's output field (toys);
  for a family with an encoder also ``reconstruction``, fixed real images (held-out test images
  where the dataset has a test split) over their rebuilds, with ``reconstruction_error``
  {"mse", "images", "split"},
  and for a 2-D code also ``codes``: {"points": (N, 2) codes of fixed real images,
  "labels", "classes", "prior": (N, 2) draws from the noise distribution}; for an image-to-image
  family, ``grid`` is its before/after rows of fixed held-out examples (e.g. input / output /
  target) and ``preview`` {"titles", "metrics", "images", "split"} says what they show
- ``quality``: with ``metric_every``, the live sample-quality metric (:mod:`trainers.metrics.quality`):
  {"values": {"kid_mnist_cnn": ..., "fid_mnist_cnn": ..., ...}, "network", "samples", "cost_s",
  "share" (its part of the time spent training and measuring)}; the first is of the model as the run
  starts (untrained, unless resumed)
- ``checkpoint``: a folder was written
- ``done`` (completed or stopped) or ``error`` (its ``reason`` is "diverged": a loss or weight became
  NaN or infinite, and the last good checkpoint is kept)

Between steps the loop obeys :class:`Controls` (pause, single steps of D, G or both, stop), which
other threads may call at any time. Every step's randomness (its batch and its noise) is a pure
function of the seed and the step number, so a resumed run repeats an unbroken one exactly.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch import Tensor

from .allocator import keep_freed_memory
from .checkpoint import (CARD_FILE, OPTIMIZER_FILE, STATE_FILE, checkpoint_target, finite_number,
                         flatten_optimizers, read_json, read_tensors, recover_interrupted_write, unflatten_optimizers)
from .config import RunConfig, apply_overrides, to_dict, validate
from .data import DATASETS, Dataset, EpochSampler, dataset_kind, load_dataset
from .device import FastPath, choose_fast_path, cpu_bf16_refusal, resolve_device
from .distributed import Distributed, mean_over_ranks, replicate
from .errors import CheckpointError, ConfigError, DatasetUnavailable
from .model import GANModel
from .models.adversarial import AVERAGED_GENERATOR, fit_average
from .models.image_to_image import as_rgb
from .objectives import needs_float32
from .registry import get_family
from .seeding import mix_seed, seeded_global_rng

UPDATES = ("both", "d", "g")
#: Side of the grid on which D's output is drawn behind 2-D toy data.
FIELD_RESOLUTION = 64
#: Toy data is drawn on [-FIELD_EXTENT, FIELD_EXTENT]^2.
FIELD_EXTENT = 1.25
#: Generated points that get G's gradient arrow in a toy's sample event.
ARROWS = 200
#: The noise grid G maps in a toy's sample event: side x side points over [-extent, extent]^2 (in
#: prior standard deviations: 2 covers 95% of a Gaussian's mass per axis).
NOISE_GRID_SIDE, NOISE_GRID_EXTENT = 15, 2.0
#: Real images shown with their reconstructions (rows of 8), for families with an encoder.
RECONSTRUCTED = 32
#: Real images whose 2-D codes are drawn live, for families with a 2-D code.
CODES_SHOWN = 1000
#: Held-out examples in an image-to-image family's before/after grid (one column each).
PREVIEWED = 8


class Controls:
    """Thread-safe run controls, read by the loop between steps."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._paused = False
        self._stopped = False
        self._pending: list[str] = []

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stopped(self) -> bool:
        return self._stopped

    def pause(self) -> None:
        with self._condition:
            self._paused = True

    def resume(self) -> None:
        with self._condition:
            self._paused = False
            self._condition.notify_all()

    def step(self, update: str = "both") -> None:
        """Run exactly one iteration (D only, G only or both) while paused."""
        if update not in UPDATES:
            raise ConfigError(f"step must be one of {', '.join(UPDATES)}, not {update!r}")
        with self._condition:
            self._paused = True
            self._pending.append(update)
            self._condition.notify_all()

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify_all()

    def next_command(self) -> tuple[str, bool]:
        """Block while paused; return (update or "stop", whether it was a single step)."""
        with self._condition:
            while self._paused and not self._pending and not self._stopped:
                self._condition.wait()
            if self._stopped:
                return "stop", False
            if self._pending:
                return self._pending.pop(0), True
            return "both", False


def _check_same_model(root: Path, saved: GANModel, built: GANModel, follows_the_run: set[str]) -> None:
    """The weights in ``root`` (config.json) must be the model that state.json's run builds: a
    folder holding two runs' files would otherwise fail inside torch with a size mismatch, or
    resume one run's optimizer on another's weights. ``follows_the_run``: fields the run sets,
    which a resume may change (a schedule's ``total_steps`` follows the steps asked for)."""
    if saved.family.name != built.family.name:
        raise CheckpointError(f"{root}: config.json holds a {saved.family.name} model but {STATE_FILE}'s run "
                              f"trains {built.family.name}; the folder mixes two runs' files")
    differences = [f"{field.name} {getattr(saved.config, field.name)!r} against {getattr(built.config, field.name)!r}"
                   for field in dataclasses.fields(saved.config) if field.name not in follows_the_run
                   and getattr(saved.config, field.name) != getattr(built.config, field.name)]
    if differences:
        raise CheckpointError(f"{root}: config.json does not match the model {STATE_FILE}'s run builds "
                              f"({'; '.join(differences[:4])}); the folder mixes two runs' files")
    if set(saved.stored_networks) != set(saved.networks):
        raise CheckpointError(f"{root}: config.json stores only {', '.join(saved.stored_networks)}; "
                              f"resuming needs every network ({', '.join(saved.networks)})")


class Trainer:
    """Builds data, model and optimizers from a :class:`RunConfig` and runs the loop.

    Construction does all the checking (unknown model or dataset, bad config, missing files), so a
    front end can report bad input before any thread starts.
    """

    def __init__(self, run: RunConfig, *, dataset: Dataset | None = None, start_step: int = 0,
                 distributed: Distributed | None = None):
        validate(run)
        if distributed is not None:
            distributed.check_batch(run.batch_size)
        if run.out and Path(run.out).exists() and not Path(run.out).is_dir():
            raise ConfigError(f"out: {run.out} is a file; checkpoints need a folder")
        if run.out:
            checkpoint_target(run.out)
        self.run_config = run
        keep_freed_memory()  # once per process: steps reuse what earlier steps freed
        self.family = get_family(run.model)
        kind = dataset_kind(run.dataset) if dataset is None else dataset.kind
        if kind not in self.family.data_kinds:
            raise ConfigError(f"{run.model} trains on {' or '.join(self.family.data_kinds)} data; "
                              f"{run.dataset} is {kind} data")
        self.device = resolve_device(run.device)
        self.dataset = dataset if dataset is not None else load_dataset(
            run.dataset, run.data_dir, "train", run.image_size)
        self._check_batch(run, distributed)
        config = self._model_config()
        #: held through each step: another thread's copy of the weights taken under it is whole
        self.step_lock = threading.Lock()
        # initial weights from the run's seed, without touching the caller's global RNG, and with
        # no other session's thread drawing from it meanwhile
        with seeded_global_rng(mix_seed(run.seed, "init")):
            self.model = GANModel(self.family, config, device=self.device)
        if run.init_from:
            self._start_from(run.init_from)
        if run.out and start_step == 0 and (Path(run.out) / STATE_FILE).is_file():
            # a new run there would empty its metrics log at once and replace its checkpoint at the
            # first save (checked after the run's own checks, which name their own problems)
            raise CheckpointError(f"out: {run.out} holds a training run; resume it (the CLI's --resume {run.out}, "
                                  f"Trainer.from_checkpoint) or give another out for a new one (nothing was changed)")
        self.optimizers = self.family.make_optimizers(self.model.config, self.model.networks)
        self.take_fast_path(choose_fast_path(run.fast, self.device, images=self.dataset.kind != "points",
                                             bf16_safe=self.bf16_safe, cpu_bf16=run.cpu_bf16,
                                             bf16_pays_on_cpu=self.family.bf16_on_cpu))
        if run.compile:  # in place: the networks keep their names, state dicts and checkpoints
            for network in self.model.networks.values():
                if any(True for _ in network.parameters()):
                    network.compile()
        #: seconds spent in steps that compiled a graph (with ``compile``)
        self.compile_s = 0.0
        #: this process's place in a torchrun job (None: the one process); the networks a train step
        #: gets: DDP replicas of the trained ones when distributed, else the model's own
        self.distributed = distributed
        self.step_networks = (replicate(self.model.networks, self.optimizers, self.device,
                                        self.family.unused_parameters)
                              if distributed is not None else self.model.networks)
        self.sampler = EpochSampler(len(self.dataset), run.batch_size, run.seed)
        self.controls = Controls()
        self.step = start_step
        #: seconds spent in training steps (over every resume; not pauses), recorded with each checkpoint
        self.train_seconds = 0.0
        self.last_checkpoint: str | None = None
        self._rng = torch.Generator(device=self.device)
        # the fixed batch the sample grids are drawn from: for a conditional family, one column per class
        count, self.grid_columns, self.fixed_labels = (1000 if self.dataset.kind == "points" else 64), 8, None
        if self.family.conditional:
            classes = self.dataset.num_classes
            self.grid_columns, count = classes, classes * 8
            self.fixed_labels = torch.arange(classes, device=self.device).repeat(8)
        self.fixed_noise = (self.model.noise(count, seed=mix_seed(run.seed, "fixed-noise"))
                            if self.family.has_generator else None)
        # a fixed real batch beside the fixed noise: its spread is the yardstick of the samples'
        # diversity (mode collapse), and D's verdicts on it and on the samples are the lab's histograms
        self.real_spread, self.fixed_real_batch = None, None
        if self.family.has_generator and self.family.preview is None:
            shown = torch.arange(min(len(self.fixed_noise), len(self.dataset)))
            self.fixed_real_batch = self.dataset.batch(shown, self.device)
            if self.dataset.kind == "image":
                from .metrics.sample_quality import spread

                self.real_spread = spread(self.fixed_real_batch[0])
        # the fixed held-out examples an image-to-image family shows before/after
        self.preview_target = self.preview_source = None
        self.preview_split = ""
        if self.family.preview is not None:
            held_out, self.preview_split = self._held_out_images(dataset)
            # spread over the split: the first few crops of one picture would all look alike
            shown = torch.linspace(0, len(held_out) - 1, min(PREVIEWED, len(held_out))).round().long()
            self.preview_target, self.preview_source = held_out.batch(shown, self.device)
            if held_out.sources is None:
                self.preview_source = None
        # the fixed real images shown with their reconstructions (whole rows of 8), for families
        # with an encoder: held-out test images where the dataset has a test split
        self.fixed_real, self.fixed_real_split = None, ""
        if self.family.reconstruct is not None and self.dataset.kind == "image":
            source, self.fixed_real_split = self._held_out_images(dataset)
            shown = min(RECONSTRUCTED, len(source)) // 8 * 8
            if shown:
                self.fixed_real = source.to_model_range(source.data[:shown]).to(self.device)
        # the fixed real images whose codes are drawn, coloured by class, when the code is 2-D
        self.code_images = self.code_labels = None
        if (self.family.encode is not None and self.dataset.kind == "image"
                and getattr(self.model.config, "latent_dim", 0) == 2):
            shown = torch.arange(min(CODES_SHOWN, len(self.dataset)))
            self.code_images, self.code_labels = self.dataset.batch(shown, self.device)
            # draws from the noise distribution G reads, which the codes should come to fill
            prior = self.model.noise(CODES_SHOWN, seed=mix_seed(run.seed, "code-prior"))
            self.code_prior = prior.float().cpu().numpy()

    @property
    def bf16_safe(self) -> bool:
        """Whether the family, with its objective, trains stably in bf16 autocast."""
        return self.family.bf16 and not needs_float32(self.model.config)

    def take_fast_path(self, fast: FastPath) -> None:
        """Train from now on with ``fast``: pinned batches, channels_last networks, and every step
        under bf16 autocast, as it says. The constructor takes the one :func:`choose_fast_path`
        picks; the tests also rehearse the GPU's choice on a CPU with it."""
        self.fast = fast
        if fast.pinned:
            self.dataset = self.dataset.pinned()
        if fast.channels_last:
            self.model.networks.to(memory_format=torch.channels_last)

    def notes(self) -> list[str]:
        """What a reader of the log or the model card should know about this run (the family's
        notes: its phases, which perceptual features it uses, ...)."""
        notes = self.family.notes(self.model.config) if self.family.notes is not None else []
        if self.run_config.init_from:
            notes = [f"initial weights from {self.run_config.init_from}", *notes]
        if self.device.type == "cuda":
            why_float32 = "" if self.fast.bf16 or not self.run_config.fast \
                else " (float32: the family or objective needs it)"
            notes.append(f"GPU fast path: {self.fast.describe()}{why_float32}")
        elif self.device.type == "cpu" and self.run_config.cpu_bf16:
            refusal = None if self.fast.bf16 else cpu_bf16_refusal(self.bf16_safe, self.family.bf16_on_cpu)
            notes.append(f"cpu_bf16 asked for, float32 kept: {refusal}" if refusal
                         else "bf16 autocast on the CPU's AMX matrix units (cpu_bf16)")
        if self.distributed is not None:
            world, batch = self.distributed.world_size, self.run_config.batch_size
            notes.append(f"{world} processes (DistributedDataParallel): batch {batch} is the global batch, "
                         f"{batch // world} per process")
        return notes

    def model_card(self) -> str:
        """The checkpoint's README.md: what was trained, on what, for how long, and its notes."""
        run, spec = self.run_config, self.family
        lines = [f"# {spec.name}", "", spec.description, "", f"Paper: {spec.paper}", "",
                 f"Trained with GAN Playground's `trainers` library: {self.step} steps of batch {run.batch_size} "
                 f"on `{run.dataset}`" + (f" at {run.image_size} px" if run.image_size else "")
                 + f", seed {run.seed}" + (f", preset `{run.preset}`" if run.preset else "") + ".", ""]
        notes = self.notes()
        if notes:
            lines += ["## Notes", "", *[f"- {note}" for note in notes], ""]
        lines += ["## Use", "", "```python", "from trainers.model import GANModel",
                  "model = GANModel.from_pretrained(\"THIS_FOLDER\")", "```", "",
                  "The config is in `config.json`, the weights in `model.safetensors` (no pickles).", ""]
        return "\n".join(lines)

    def _start_from(self, folder: str) -> None:
        """Load another checkpoint's weights as the starting point: the step, optimizers and
        schedule start afresh (unlike resuming), so a new phase or a fine-tune begins from them."""
        try:
            source = GANModel.from_pretrained(folder, device=str(self.device))
        except CheckpointError as error:
            raise ConfigError(f"init_from: {error}") from None
        if source.family.name != self.family.name:
            raise ConfigError(f"init_from: {folder} is a {source.family.name} checkpoint; a {self.family.name} "
                              f"run can only start from a {self.family.name} checkpoint")
        ours = self.model.networks.state_dict()
        # with or without a moving average of G on either side: the weights that train are what fit
        theirs = fit_average(source.networks.state_dict(), AVERAGED_GENERATOR in self.model.networks)
        misfits = [key for key, value in ours.items() if key not in theirs or theirs[key].shape != value.shape]
        if misfits or len(theirs) != len(ours):
            differ = [f"{f.name} {getattr(source.config, f.name)!r} vs {getattr(self.model.config, f.name)!r}"
                      for f in dataclasses.fields(source.config)
                      if getattr(source.config, f.name) != getattr(self.model.config, f.name)]
            what = ", ".join(misfits[:3]) or "some networks"
            raise ConfigError(f"init_from: {folder} has a different architecture ({what} do not fit); the "
                              f"configs differ in {'; '.join(differ) or 'nothing'}: use the same preset and "
                              f"overrides for the shape of the networks")
        self.model.networks.load_state_dict(theirs)

    def _held_out_images(self, given: Dataset | None) -> tuple[Dataset, str]:
        """(the test split, "test") of a named dataset, else (the training data, "train")."""
        run = self.run_config
        if given is None and run.dataset in DATASETS:
            try:
                test = load_dataset(run.dataset, run.data_dir, "test", run.image_size)
                if (test.sample_shape == self.dataset.sample_shape and test.kind == self.dataset.kind
                        and len(test)):
                    return test, "test"
            except DatasetUnavailable:
                pass
        return self.dataset, "train"

    def _check_batch(self, run: RunConfig, distributed: Distributed | None) -> None:
        """A batch too small for the family's layers fails with its reason, before anything is built
        (the sampler takes at most the whole dataset a step, and torchrun splits it over processes)."""
        fewest, reason = self.family.min_batch
        processes = distributed.world_size if distributed is not None else 1
        if min(run.batch_size, len(self.dataset)) // processes >= fewest:
            return
        if len(self.dataset) // processes < fewest:
            raise ConfigError(f"{run.dataset} has {len(self.dataset)} sample(s): {run.model} needs at least "
                              f"{fewest * processes} to train ({reason})")
        raise ConfigError(f"batch_size: {run.model} needs at least {fewest * processes} samples a step"
                          f"{f' ({fewest} per process)' if processes > 1 else ''}, not {run.batch_size}: {reason}")

    def _model_config(self) -> Any:
        run = self.run_config
        if run.preset and run.preset not in self.family.presets:
            raise ConfigError(f"preset: {self.family.name} has no preset {run.preset!r}; choose one of "
                              f"{', '.join(self.family.presets) or 'none'}")
        if self.family.conditional and (self.dataset.labels is None or self.dataset.num_classes < 2):
            raise ConfigError(f"{self.family.name} is conditional: it needs a labelled dataset "
                              f"(mnist, fashion-mnist, cifar10, digits, or a folder with one sub-folder "
                              f"per class); {run.dataset} has no labels")
        from_data = self.family.data_fields(self.dataset)
        for key, value in from_data.items():
            if key in run.overrides and run.overrides[key] != value:
                raise ConfigError(f"{key}: the dataset {run.dataset} needs {value}, not {run.overrides[key]}")
        values = {**self.family.presets.get(run.preset, {}), **run.overrides, **from_data}
        if "total_steps" not in values and any(f.name == "total_steps" for f in
                                               dataclasses.fields(self.family.config_cls)):
            values["total_steps"] = run.steps  # for schedules that anneal to the end of the run
        return apply_overrides(self.family.config_cls(), values)

    # ----------------------------------------------------------------- controls
    @property
    def paused(self) -> bool:
        return self.controls.paused

    # ----------------------------------------------------------------- resume
    @classmethod
    def from_checkpoint(cls, folder: str | Path, distributed: Distributed | None = None,
                        **changes: Any) -> "Trainer":
        """Continue a run saved with optimizer state. ``changes`` may set steps, out, device and the
        event cadences; changing the data, batch, seed or model would break the replay, so it is an error.
        In a torchrun job every rank resumes from the same folder."""
        root = Path(folder)
        recover_interrupted_write(root)  # a save killed midway: resume from the one before it
        state = read_json(root / STATE_FILE)
        if not isinstance(state.get("run"), dict):
            raise CheckpointError(f"{root / STATE_FILE} has no usable run config (no \"run\" mapping)")
        try:
            saved = apply_overrides(RunConfig(), state["run"])
        except ConfigError as error:
            raise CheckpointError(f"{root / STATE_FILE} has no usable run config ({error})") from None
        step = state.get("step")
        if not isinstance(step, int) or isinstance(step, bool) or step < 0:
            raise CheckpointError(f"{root / STATE_FILE} has no usable step (got {step!r})")
        if not isinstance(state.get("optimizers"), dict):
            raise CheckpointError(f"{root / STATE_FILE} has no optimizer state")
        fixed = ("model", "dataset", "preset", "batch_size", "seed", "image_size", "init_from", "overrides")
        for key in fixed:
            if key in changes and changes[key] != getattr(saved, key):
                raise ConfigError(f"{key}: cannot change from {getattr(saved, key)!r} when resuming")
        run = apply_overrides(saved, {k: v for k, v in changes.items() if k not in fixed})
        if run.out and Path(run.out).resolve() != root.resolve() and (Path(run.out) / STATE_FILE).is_file():
            raise CheckpointError(f"out: {run.out} holds another training run; resume into its own folder or a "
                                  f"new one (nothing was changed)")
        # the checkpoint's own weights replace the ones a run started from
        trainer = cls(dataclasses.replace(run, init_from=None), start_step=step, distributed=distributed)
        trainer.run_config = run
        previous = state.get("train_seconds", 0.0)
        if not finite_number(previous) or previous < 0:
            raise CheckpointError(f"{root / STATE_FILE} has no usable train_seconds (got {previous!r})")
        trainer.train_seconds = float(previous)
        loaded = GANModel.from_pretrained(root, device=str(trainer.device))
        _check_same_model(root, loaded, trainer.model, {"total_steps"} - set(run.overrides))
        trainer.model.networks.load_state_dict(loaded.networks.state_dict())
        unflatten_optimizers(trainer.optimizers, read_tensors(root / OPTIMIZER_FILE, trainer.device),
                             state["optimizers"])
        if trainer.step >= run.steps:
            raise ConfigError(f"steps: the checkpoint is already at step {trainer.step}; ask for more steps")
        return trainer

    def weights_copy(self) -> tuple[int, dict[str, Tensor]]:
        """(the step, a copy of every network's weights and buffers), taken between two steps: for
        another thread (a live app's Explore or Download) while this run trains."""
        with self.step_lock:
            return self.step, {key: value.detach().clone() for key, value in self.model.networks.state_dict().items()}

    def save_pretrained(self, folder: str | Path) -> str:
        """Weights, config, optimizer state and the run, atomically: enough to resume exactly."""
        tensors, rest = flatten_optimizers(self.optimizers)
        state = {"step": self.step, "run": to_dict(self.run_config), "optimizers": rest,
                 "train_seconds": round(self.train_seconds, 1), "machine": machine_description(self.device)}
        path = self.model.save_pretrained(folder, {OPTIMIZER_FILE: tensors, STATE_FILE: state,
                                                   CARD_FILE: self.model_card()})
        self.last_checkpoint = str(path)
        return self.last_checkpoint

    # ----------------------------------------------------------------- events
    def sample_event(self) -> dict[str, Any]:
        """The fixed-noise samples now, as a picture (images) or points plus D's field (toys); for
        an image-to-image family, its before/after rows of the fixed held-out examples."""
        if self.family.preview is not None:
            return self._preview_event()
        samples = self.family.sample(self.model.config, self.model.networks, self.fixed_noise,
                                     self.fixed_labels)
        event: dict[str, Any] = {"type": "samples", "step": self.step}
        if self.family.critic is not None and self.fixed_real_batch is not None:
            event["d_scores"] = self._critic_scores(samples)
        if self.dataset.kind == "image":
            event["grid"] = image_grid(samples, nrow=self.grid_columns)
            if self.real_spread:
                from .metrics.sample_quality import spread

                # the fixed-noise samples' spread over real pictures': near 0 when G draws one picture
                event["diversity"] = spread(samples) / self.real_spread
            if self.fixed_real is not None:
                event["reconstruction"], error = self._reconstruction_grid()
                event["reconstruction_error"] = {"mse": error, "images": len(self.fixed_real),
                                                 "split": self.fixed_real_split}
            if self.code_images is not None:
                codes = self.family.encode(self.model.config, self.model.networks, self.code_images)
                event["codes"] = {"points": codes.float().cpu().numpy(),
                                  "labels": None if self.code_labels is None else self.code_labels.cpu().numpy(),
                                  "classes": list(self.dataset.class_names), "prior": self.code_prior}
            return event
        event["points"] = samples.float().cpu().numpy()
        if self.family.critic is not None:
            event["field"] = self._critic_field(samples.shape[1])
        if samples.shape[1] == 2:
            if self.family.generator_gradient is not None:  # GAN Lab's arrows, on a few hundred samples
                shown = samples[:ARROWS]
                event["gradients"] = self.family.generator_gradient(
                    self.model.config, self.model.networks, shown).float().cpu().numpy()
            event["noise_grid"] = self._noise_grid()
        return event

    def _preview_event(self) -> dict[str, Any]:
        preview = self.family.preview(self.model.config, self.model.networks, self.preview_target,
                                      self.preview_source)
        return {"type": "samples", "step": self.step,
                "grid": image_grid(torch.cat([as_rgb(row) for row in preview.rows]),
                                   nrow=len(self.preview_target)),
                "preview": {"titles": list(preview.titles), "metrics": dict(preview.metrics),
                            "images": len(self.preview_target), "split": self.preview_split}}

    def _reconstruction_grid(self) -> tuple[np.ndarray, float]:
        """Rows of 8 inputs, each followed by the row of their reconstructions; and the mean
        squared error of those reconstructions."""
        rebuilt = self.family.reconstruct(self.model.config, self.model.networks, self.fixed_real)
        pairs = torch.stack([self.fixed_real.view(-1, 8, *self.fixed_real.shape[1:]),
                             rebuilt.view(-1, 8, *rebuilt.shape[1:])], dim=1)
        error = torch.nn.functional.mse_loss(rebuilt.float(), self.fixed_real.float()).item()
        return image_grid(pairs.flatten(0, 2), nrow=8), error

    def _critic_scores(self, samples: Tensor) -> dict[str, np.ndarray]:
        """D's verdict on each fixed real example and each fixed-noise sample (the histograms)."""
        real, labels = self.fixed_real_batch
        if self.family.conditional:
            scores = [self.family.critic(self.model.config, self.model.networks, real, labels),
                      self.family.critic(self.model.config, self.model.networks, samples, self.fixed_labels)]
        else:
            scores = [self.family.critic(self.model.config, self.model.networks, x) for x in (real, samples)]
        return {"real": scores[0].float().cpu().numpy(), "fake": scores[1].float().cpu().numpy()}

    def _noise_grid(self) -> np.ndarray:
        """G applied to a square grid over the first two noise coordinates (the rest 0): how G folds
        and stretches the noise space into the data space, (side, side, 2)."""
        axis = torch.linspace(-NOISE_GRID_EXTENT, NOISE_GRID_EXTENT, NOISE_GRID_SIDE)
        grid_y, grid_x = torch.meshgrid(axis, axis, indexing="ij")
        noise = torch.zeros(NOISE_GRID_SIDE ** 2, *self.fixed_noise.shape[1:], device=self.device)
        noise[:, 0] = grid_x.flatten()
        if noise.shape[1] > 1:
            noise[:, 1] = grid_y.flatten()
        mapped = self.family.sample(self.model.config, self.model.networks, noise, None)
        return mapped.float().cpu().numpy().reshape(NOISE_GRID_SIDE, NOISE_GRID_SIDE, -1)

    def _critic_field(self, dims: int) -> dict[str, np.ndarray]:
        axis = torch.linspace(-FIELD_EXTENT, FIELD_EXTENT, FIELD_RESOLUTION * (1 if dims == 2 else 4))
        if dims == 1:
            values = self.family.critic(self.model.config, self.model.networks, axis[:, None].to(self.device))
            return {"x": axis.numpy(), "values": values.float().cpu().numpy()}
        grid_y, grid_x = torch.meshgrid(axis, axis, indexing="ij")
        flat = torch.stack([grid_x.flatten(), grid_y.flatten()], dim=1).to(self.device)
        values = self.family.critic(self.model.config, self.model.networks, flat)
        return {"x": axis.numpy(), "y": axis.numpy(),
                "values": values.float().cpu().numpy().reshape(len(axis), len(axis))}

    def _start_event(self) -> dict[str, Any]:
        kind = self.dataset.kind
        if kind == "points":
            picture = self.dataset.data[:1000].numpy().astype(np.float32)
        elif self.dataset.sources is None:
            picture = image_grid(self.dataset.to_model_range(self.dataset.data[:64]))
        else:  # image-to-image: a row of sources (or masks) over the row of their images
            shown = torch.arange(min(8, len(self.dataset)))
            images, sources = self.dataset.batch(shown)
            picture = image_grid(torch.cat([as_rgb(sources), as_rgb(images)]), nrow=len(shown))
        notes = self.notes()
        return {"type": "start", "step": self.step, "device": str(self.device), "model": self.family.name,
                "dataset": self.run_config.dataset, "total_steps": self.run_config.steps,
                "data_kind": kind, "real": picture, "config": to_dict(self.model.config), "notes": notes}

    def train_one(self, update: str = "both") -> dict[str, Tensor]:
        """One iteration at the current step, with that step's batch and noise (distributed: this
        rank's share of the batch, and noise of its own)."""
        run = self.run_config
        indices, seed = self.sampler.indices(self.step), mix_seed(run.seed, self.step, "step")
        if self.distributed is not None:
            indices, seed = self.distributed.shard(indices), mix_seed(seed, "rank", self.distributed.rank)
        real, labels = self.dataset.batch(indices, self.device)
        if self.fast.channels_last and real.dim() == 4:
            real = real.contiguous(memory_format=torch.channels_last)
        self._rng.manual_seed(seed)
        # the whole step (the family's contract: it updates its own networks) under autocast: bf16
        # keeps float32's range, so there is no loss scaling, and weights and optimizer state stay float32
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.fast.bf16):
            out = self.family.train_step(self.model.config, self.step_networks, self.optimizers, real,
                                         labels, self.step, self._rng, update)
        self.step += 1
        return out

    def live_quality(self) -> tuple[Any, str | None]:
        """(the live metric's monitor, or None and why not) for this run's ``metric_every``."""
        run = self.run_config
        if not run.metric_every:
            return None, None
        if self.family.preview is not None:
            return None, (f"live metric off: {self.family.name} makes pictures from pictures, not from noise; "
                          f"its held-out scores come with each preview")
        if not self.family.has_generator:
            return None, f"live metric off: {self.family.name} has no generator to judge"
        from .metrics.features import MetricUnavailable
        from .metrics.quality import LiveQuality

        try:
            return LiveQuality.for_run(self.dataset, run.dataset, run.data_dir, run.metric_samples,
                                       mix_seed(run.seed, "live-metric"), run.metric_budget, self.device), None
        except MetricUnavailable as why:
            return None, f"live metric off: {why}"

    def quality_event(self, monitor: Any, training_s: float) -> dict[str, Any]:
        """Measure the live metric; ``share`` is its part of the time spent training and measuring."""
        values = monitor.measure(self.model)
        return {"type": "quality", "step": self.step, "values": values, "network": monitor.name,
                "samples": monitor.samples, "cost_s": monitor.last_cost_s, "share": monitor.share(training_s)}

    @property
    def is_main(self) -> bool:
        """The process that samples, measures and saves: the only one, or rank 0 of a torchrun job."""
        return self.distributed is None or self.distributed.is_main

    def run(self) -> Iterator[dict[str, Any]]:
        """The loop, as events. In a torchrun job every rank runs it; only rank 0 samples, measures
        and saves, and every rank's metrics are the means over all ranks."""
        run = self.run_config
        monitor, monitor_note = self.live_quality() if self.is_main else (None, None)
        start = self._start_event()
        if monitor_note:
            start["notes"] = [*start["notes"], monitor_note]
        yield start
        # a classifier family has no samples to show; an image-to-image family shows its previews
        draws = (self.family.has_generator or self.family.preview is not None) and self.is_main
        if draws:
            yield self.sample_event()  # what the generator draws before training: the baseline picture
        if monitor is not None:  # the untrained model's figure, the curve's starting point
            event = self.quality_event(monitor, 0.0)
            # set-up is not training time: the budget counts from here (its cost, with one-off
            # imports, stays the estimate of the next one's, so that one waits its turn)
            monitor.spent_s = event["share"] = 0.0
            yield event
        sums: dict[str, Tensor] = {}
        counts: dict[str, int] = {}
        window_start, window_steps = time.perf_counter(), 0
        last_sample_time = time.perf_counter()
        started = time.perf_counter()
        training_s = 0.0
        spent_before = self.train_seconds
        reason = "completed"
        graphs, compile_news = compiled_graphs() if run.compile else 0, False
        while self.step < run.steps:
            update, single = self.controls.next_command()
            if update == "stop":
                reason = "stopped"
                break
            if self.controls.paused and not single:
                continue
            if single:  # a paused run: don't count the pause in steps/s
                window_start, window_steps = time.perf_counter(), 0
            step_started = time.perf_counter()
            with self.step_lock:
                out = self.train_one(update)
            # time in training steps alone (not pauses, not a front end's gaps between events):
            # what the live metric's budget is a share of
            step_s = time.perf_counter() - step_started
            training_s += step_s
            if run.compile and compiled_graphs() != graphs:  # this step compiled (or recompiled) a graph
                graphs, self.compile_s, compile_news = compiled_graphs(), self.compile_s + step_s, True
            self.train_seconds = spent_before + training_s
            window_steps += 1
            for key, value in out.items():
                sums[key] = sums[key] + value if key in sums else value
                counts[key] = counts.get(key, 0) + 1
            checkpoint_due = bool(run.out and run.checkpoint_every and self.step % run.checkpoint_every == 0)
            if single or checkpoint_due or self.step % run.log_every == 0 or self.step == run.steps:
                now = time.perf_counter()
                values = means(sums, counts, self.distributed)
                sums, counts = {}, {}
                bad = [k for k, v in values.items() if not math.isfinite(v)]
                if bad:
                    yield self._diverged(bad)
                    return
                event = metrics_event(self.step, values, window_steps / max(now - window_start, 1e-9),
                                      now - started)
                if compile_news:
                    event["compile_s"], compile_news = self.compile_s, False
                yield event
                window_start, window_steps = now, 0
            now = time.perf_counter()
            interval_due = run.sample_interval_s > 0 and now - last_sample_time >= run.sample_interval_s
            if draws and (single or interval_due or self.step % run.sample_every == 0
                          or self.step == run.steps):
                yield self.sample_event()
                last_sample_time = time.perf_counter()
            if monitor is not None and (self.step % run.metric_every == 0 or self.step == run.steps) \
                    and (self.step == run.steps or monitor.due(training_s)):
                yield self.quality_event(monitor, training_s)
            if checkpoint_due and self.is_main:
                yield {"type": "checkpoint", "step": self.step, "path": self.save_pretrained(run.out)}
        # a stop between two logged steps: the steps since the last check must be finite too, or
        # the save would replace the last good checkpoint with diverged weights
        bad = [key for key, total in sums.items() if not math.isfinite(float(total))]
        if bad:
            yield self._diverged(bad)
            return
        path = self.save_pretrained(run.out) if run.out and self.step > 0 and self.is_main else None
        if path:
            yield {"type": "checkpoint", "step": self.step, "path": path}
        yield {"type": "done", "step": self.step, "reason": reason, "path": path}

    def _diverged(self, bad: list[str]) -> dict[str, Any]:
        kept = (f"the last good checkpoint is kept at {self.last_checkpoint}" if self.last_checkpoint
                else "no checkpoint had been saved yet")
        return {"type": "error", "reason": "diverged", "step": self.step, "path": self.last_checkpoint,
                "message": f"{', '.join(bad)} became NaN or infinite at step {self.step}: the run "
                           f"diverged and was stopped; {kept}. Try a lower learning rate."}


def machine_description(device: torch.device) -> str:
    """e.g. "cpu (AMD EPYC 7B13, 2 threads), torch 2.14.1": what a timing in a model card ran on."""
    import platform

    if device.type == "cuda":
        where = f"cuda ({torch.cuda.get_device_name(device)})"
    else:
        cpu = platform.processor() or platform.machine()
        try:
            with open("/proc/cpuinfo") as info:
                cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
        except OSError:
            pass
        threads = torch.get_num_threads()
        where = f"{device.type} ({cpu}, {threads} thread{'s' if threads != 1 else ''})"
    return f"{where}, torch {torch.__version__.split('+')[0]}"


def compiled_graphs() -> int:
    """How many graphs torch.compile has built in this process (its own counter)."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


def means(sums: dict[str, Tensor], counts: dict[str, int],
          distributed: Distributed | None = None) -> dict[str, float]:
    """Average the accumulated tensors with one device-to-host transfer (and, in a torchrun job,
    one all-reduce: the means over every rank's share of the batch)."""
    if not sums:
        return {}
    keys = list(sums)
    stacked = torch.stack([sums[k].float().reshape(()).to(sums[keys[0]].device) / counts[k] for k in keys])
    if distributed is not None:
        stacked = mean_over_ranks(stacked)
    return dict(zip(keys, stacked.cpu().tolist()))


def metrics_event(step: int, values: dict[str, float], steps_per_s: float, elapsed_s: float) -> dict[str, Any]:
    losses = {k: v for k, v in values.items() if k.startswith("loss_")}
    stats = {k: v for k, v in values.items() if not k.startswith("loss_")}
    return {"type": "metrics", "step": step, "losses": losses, "stats": stats,
            "steps_per_s": steps_per_s, "elapsed_s": elapsed_s}


def image_grid(images: Tensor, nrow: int = 8) -> np.ndarray:
    """Images in [-1, 1] (B, C, H, W) -> one uint8 (H, W, 3) grid."""
    # imported here: torchvision takes about 2 s to import (it pulls in torch._dynamo), which every
    # CLI command would pay, most of them without drawing a grid
    from torchvision.utils import make_grid

    grid = make_grid(images.detach().float().cpu().clamp(-1, 1), nrow=nrow, padding=2,
                     normalize=True, value_range=(-1, 1), pad_value=1.0)
    return (grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
