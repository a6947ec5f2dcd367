"""Command line: ``python -m trainers train|sample|translate|evaluate|probe|list``.

Bad input (unknown model or dataset, a bad config key, a missing file) prints one line saying
what is wrong and exits with status 2; it never leaves a traceback or a half-written checkpoint.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from . import __version__
from .config import RunConfig
from .errors import CheckpointError, PlaygroundError

if TYPE_CHECKING:  # torch.distributed loads only when a run starts
    from .distributed import Distributed
    from .engine import Trainer


_RUN_DEFAULTS = {f.name: f.default for f in dataclasses.fields(RunConfig)}


def parse_assignment(text: str) -> tuple[str, Any]:
    """``key=value`` with a JSON value when it parses (numbers, true/false, lists), else text."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def _run_option(parser: argparse.ArgumentParser, name: str, help: str, **kwargs: Any) -> None:
    """``--name`` for the :class:`~trainers.config.RunConfig` field ``name``, starting at the library's
    own default (stated in the help), so the command line and the other front ends train alike."""
    default = _RUN_DEFAULTS[name]
    if default not in ("", None):
        help = f"{help}; default {default}"
    parser.add_argument("--" + name.replace("_", "-"), default=default, help=help, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trainers", description="GAN Playground's trainer.")
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model", description=(
        "Train a model family on a dataset. Checkpoints (config.json + model.safetensors + optimizer "
        "state) and sample grids go to --out. Example: python -m trainers train --model dcgan "
        "--dataset mnist --steps 2000 --out runs/x"))
    run_option = functools.partial(_run_option, train)
    run_option("model", "model family (see `list`)")
    run_option("dataset", "dataset name (see `list`) or folder:PATH for your own images")
    run_option("steps", "training iterations", type=int)
    run_option("batch_size", "samples per batch", type=int)
    run_option("seed", "seed for weights, batches and noise", type=int)
    run_option("device", "auto (CUDA when present), cpu, cuda, cuda:N, mps")
    run_option("preset", "a named preset of the family's config (see `list`)")
    train.add_argument("--set", dest="overrides", action="append", type=parse_assignment, default=None,
                       metavar="KEY=VALUE", help="override a model config value, e.g. --set lr_g=1e-4 "
                       "--set objective=minimax; repeatable; unknown keys are errors")
    train.add_argument("--out", default=None, help="checkpoint folder; sample grids go to OUT/samples")
    train.add_argument("--resume", default=None, metavar="FOLDER",
                       help="continue the run saved in FOLDER (to --steps in total)")
    train.add_argument("--init-from", default=None, metavar="FOLDER",
                       help="start from this checkpoint's weights (same family and architecture) with a fresh "
                            "step count, e.g. an SR GAN phase from a PSNR-oriented run (--set pretrain_steps=0)")
    train.add_argument("--image-size", type=int, default=None, help="resize images to this side")
    train.add_argument("--data-dir", default=None, help="data folder (default: $GAN_DATA_DIR or ./data)")
    run_option("log_every", "steps between progress updates", type=int)
    # not the library's default (100, for a live page): here every grid is a file
    train.add_argument("--sample-every", type=int, default=500, help="steps between sample grids; default 500")
    run_option("checkpoint_every", "steps between checkpoints (0: only at the end)", type=int)
    run_option("metric_every", "steps between live KID/FID measurements in the dataset's domain classifier's "
               "features (mnist, fashion-mnist, cifar10) or toy mode coverage; kept within 5%% of the training "
               "time; 0: off", type=int)
    run_option("metric_samples", "samples per live measurement", type=int)
    train.add_argument("--no-fast", dest="fast", action="store_false",
                       help="on a GPU, train in plain float32 (the fast path, on by default there: bf16 autocast "
                            "where the family is stable in it, channels_last, pinned memory)")
    train.add_argument("--cpu-bf16", dest="cpu_bf16", action="store_true",
                       help="on a CPU with AMX bf16 units (Xeon Sapphire Rapids and later), bf16 autocast where the "
                            "family is stable in it and faster for it: 1.1-2x a run alone; runs sharing the "
                            "cores step slower (the run's notes say what it took)")
    train.add_argument("--compile", action="store_true",
                       help="torch.compile the networks (the time spent compiling is printed)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    sample = commands.add_parser("sample", help="draw samples from a checkpoint",
                                 description="Write a grid of samples from a saved checkpoint to a PNG.")
    sample.add_argument("--checkpoint", required=True, help="checkpoint folder (with config.json)")
    sample.add_argument("--out", default="samples.png", help="PNG to write; default samples.png")
    sample.add_argument("-n", "--num", type=int, default=64, help="number of samples; default 64")
    sample.add_argument("--seed", type=int, default=0, help="noise seed; default 0")
    sample.add_argument("--device", default="cpu", help="device; default cpu")

    probe = commands.add_parser("probe", help="linear-probe an encoder checkpoint against a random encoder",
                                description=(
        "Freeze the checkpoint's encoder, fit a linear softmax classifier on its codes of labelled "
        "training images, and print its test accuracy next to the same probe on a randomly initialised "
        "encoder of the same architecture. Example: python -m trainers probe --checkpoint runs/bigan"))
    probe.add_argument("--checkpoint", required=True, help="checkpoint folder of a family with an encoder")
    probe.add_argument("--dataset", default="mnist", help="labelled dataset with a test split; default mnist")
    probe.add_argument("--train-images", type=int, default=10_000, help="probe training images; default 10000")
    probe.add_argument("--test-images", type=int, default=10_000, help="test images; default 10000")
    probe.add_argument("--data-dir", default=None, help="data folder (default: $GAN_DATA_DIR or ./data)")
    probe.add_argument("--device", default="cpu", help="device; default cpu")

    translate = commands.add_parser("translate", help="translate or super-resolve an image with a checkpoint",
                                    description=(
        "Run an image-to-image checkpoint (pix2pix, cyclegan, srgan, esrgan) on one image file. "
        "Super-resolution works on any size up to 2048x2048, tile by tile in bounded memory; the "
        "translation families see the image fitted to the square size they were trained at. Example: "
        "python -m trainers translate --checkpoint runs/sr --input photo.png --out photo_x4.png"))
    translate.add_argument("--checkpoint", required=True, help="checkpoint folder (with config.json)")
    translate.add_argument("--input", required=True, help="image file to translate")
    translate.add_argument("--out", default="translated.png", help="PNG to write; default translated.png")
    translate.add_argument("--direction", default=None, choices=("a_to_b", "b_to_a"),
                           help="cyclegan only: which generator (default a_to_b)")
    translate.add_argument("--alpha", type=float, default=None,
                           help="esrgan only: network interpolation, 0 = PSNR model .. 1 = GAN model (default 1)")
    translate.add_argument("--tile", type=int, default=None, help="super-resolution tile side in input pixels "
                           "(default: 128 on CPU, larger on a GPU)")
    translate.add_argument("--device", default="cpu", help="device; default cpu")

    evaluate = commands.add_parser("evaluate", help="evaluate a checkpoint on held-out data",
                                   description=(
        "Held-out figures of a checkpoint. Image generators: FID, KID (+- standard error), IS, "
        "precision/recall, density/coverage and class coverage of --samples samples vs the real test "
        "split, per feature network: the dataset's domain classifier (metrics named e.g. fid_mnist_cnn) "
        "and Inception-v3 when its weights are here (else it says unavailable). 2-D toys: modes covered, "
        "high-quality share, grid KL/JS. Classifiers: test accuracy. Image-to-image families, next to "
        "a naive baseline: pix2pix L1/PSNR on the test split vs the identity "
        "and the mean target; cyclegan cycle error (and, with --classifier, the MNIST digit preserved "
        "rate); srgan/esrgan PSNR/SSIM on Set5 and Set14 vs bicubic; dip-inpaint PSNR inside the hole "
        "vs the mean and diffusion fills. Writes a JSON report with --json."))
    evaluate.add_argument("--checkpoint", required=True, help="checkpoint folder (with config.json)")
    evaluate.add_argument("--dataset", default=None, help="the dataset to compare with (default: the one in the "
                          "checkpoint's run); dip-inpaint: the inpaint:IMAGE:MASK it fitted")
    evaluate.add_argument("--samples", type=int, default=10_000, help="generators: samples to draw; default 10000")
    evaluate.add_argument("--seed", type=int, default=0, help="generators: noise seed; default 0")
    evaluate.add_argument("--real-samples", type=int, default=None,
                          help="generators: real test images to compare with (default: the whole test split)")
    evaluate.add_argument("--no-inception", action="store_true",
                          help="generators: skip Inception-v3 (slow on a CPU) even when its weights are here")
    evaluate.add_argument("--classifier", default=None, help="cyclegan on MNIST: a multiclass-discriminator "
                          "checkpoint trained on mnist, to read digits after the round trip")
    evaluate.add_argument("--limit", type=int, default=None, help="at most this many test images")
    evaluate.add_argument("--alpha", type=float, default=None, help="esrgan only: network interpolation (0..1)")
    evaluate.add_argument("--json", default=None, help="also write the report to this JSON file")
    evaluate.add_argument("--data-dir", default=None, help="data folder (default: $GAN_DATA_DIR or ./data)")
    evaluate.add_argument("--device", default="cpu", help="device; default cpu")

    export = commands.add_parser("export", help="make a shippable folder (weights, config, evaluation, model card)",
                                 description=(
        "Copy a training checkpoint's config and weights (not its optimizer state) to --out, evaluate it "
        "(python -m trainers evaluate) and write a model card (README.md) with the family, paper, dataset, "
        "the command that reproduces it, steps, wall time, machine and metrics. Example: python -m trainers "
        "export --checkpoint runs/mnist_cnn --out pretrained/mnist_cnn"))
    export.add_argument("--checkpoint", required=True,
                        help="training checkpoint folder (with state.json), or an exported folder or shipped name "
                             "to export again (another --check or storage) without retraining")
    export.add_argument("--out", required=True, help="folder to write, e.g. pretrained/NAME")
    export.add_argument("--samples", type=int, default=10_000, help="generators: samples to evaluate; default 10000")
    export.add_argument("--limitation", action="append", default=None, metavar="TEXT",
                        help="a limitation for the card; repeatable")
    export.add_argument("--data-dir", default=None, help="data folder (default: $GAN_DATA_DIR or ./data)")
    export.add_argument("--inference-only", action="store_true",
                        help="leave out the discriminators (the folder samples and translates, it cannot resume)")
    export.add_argument("--half", action="store_true", help="store the weights in float16 (loaded as float32)")
    export.add_argument("--overwrite", action="store_true",
                        help="replace the checkpoint --out holds (refused without it: a shipped folder is easily hit)")
    export.add_argument("--check", default=None, metavar="METRIC>=VALUE",
                        help="the quality the tests hold it to, e.g. confidence_mnist_cnn>=0.8 or Set5.psnr>=28; "
                             "measured on the exported weights, and nothing ships if it fails")
    export.add_argument("--check-samples", type=int, default=1000, help="samples for --check; default 1000")

    reproduce = commands.add_parser("reproduce", help="retrain a shipped checkpoint from its recorded command",
                                    description=(
        "Train again with the run config a shipped checkpoint records (config.json \"training\", the command "
        "on its card), export it the same way, and compare its quality check with the shipped one. Example: "
        "python -m trainers reproduce pretrained/dcgan_mnist"))
    reproduce.add_argument("checkpoint", help="a shipped folder or name, e.g. pretrained/dcgan_mnist or dcgan_mnist")
    reproduce.add_argument("--out", default=None, help="where to work (default runs/reproduce/NAME): the training "
                           "checkpoint goes to OUT/run, the exported folder to OUT/pretrained")
    reproduce.add_argument("--data-dir", default=None, help="data folder (default: $GAN_DATA_DIR or ./data)")
    reproduce.add_argument("--quiet", action="store_true", help="no progress bar")

    commands.add_parser("list", help="list model families and datasets",
                        description="List model families (with presets and objectives) and datasets "
                                    "(with whether their files are present).")
    return parser


def _train(args: argparse.Namespace) -> int:
    from .distributed import connect, disconnect

    # under torchrun: join the job (rank 0 alone prints and saves); one process sets nothing up
    distributed, device = connect(args.device)
    status = _train_in(args, distributed, device)
    # not in a finally: after an error this rank exits at once and torchrun stops the others,
    # rather than every rank waiting at the closing barrier for one that will never come
    disconnect()
    return status


def _train_in(args: argparse.Namespace, distributed: Distributed | None, device: str) -> int:
    from tqdm import tqdm

    from .engine import Trainer

    cadence = {"steps": args.steps, "device": device, "log_every": args.log_every,
               "sample_every": args.sample_every, "checkpoint_every": args.checkpoint_every,
               "metric_every": args.metric_every, "metric_samples": args.metric_samples, "fast": args.fast,
               "cpu_bf16": args.cpu_bf16,
               "compile": args.compile}
    if args.resume:
        out = args.out or args.resume
        # options that define the run, when given, must match the saved run (from_checkpoint
        # refuses a change by name) rather than being silently ignored
        defaults = build_parser().parse_args(["train"])
        fixed = {"model": args.model, "dataset": args.dataset, "batch_size": args.batch_size,
                 "seed": args.seed, "preset": args.preset, "image_size": args.image_size,
                 "init_from": args.init_from, "overrides": dict(args.overrides) if args.overrides else None}
        changes = {k: v for k, v in fixed.items() if v != getattr(defaults, k, None)}
        if args.data_dir is not None:
            changes["data_dir"] = args.data_dir
        trainer = Trainer.from_checkpoint(args.resume, distributed, out=out, **cadence, **changes)
    else:
        run = RunConfig(model=args.model, dataset=args.dataset, batch_size=args.batch_size,
                        seed=args.seed, preset=args.preset, out=args.out, image_size=args.image_size,
                        data_dir=args.data_dir, init_from=args.init_from,
                        overrides=dict(args.overrides or []), **cadence)
        trainer = Trainer(run, distributed=distributed)  # refuses an --out that holds a run
    if not trainer.is_main:  # the other ranks train their share in silence
        return _drain(trainer)
    run = trainer.run_config
    samples_dir = Path(run.out) / "samples" if run.out else None
    made_out = bool(run.out) and not Path(run.out).exists()
    log = MetricsLog(Path(run.out) / METRICS_LOG if run.out else None, after_step=trainer.step)
    bar = tqdm(total=run.steps, initial=trainer.step, disable=args.quiet, unit="step", dynamic_ncols=True)
    status = 0
    # one process: a first Ctrl-C stops and saves as the app's Stop does (a torchrun job's ranks
    # would stop at different steps and wait on each other, so there it interrupts as before)
    interrupted = _stop_on_interrupt(trainer, bar) if distributed is None else contextlib.nullcontext([])
    with interrupted as interruptions:
        status = _follow(trainer, bar, log, samples_dir)
    if made_out and trainer.step == 0:  # stopped before its first step: no folder of ours left half made
        shutil.rmtree(run.out, ignore_errors=True)
    return 130 if interruptions else status


@contextlib.contextmanager
def _stop_on_interrupt(trainer: "Trainer", bar: Any):
    """While training in the main thread, the first SIGINT (Ctrl-C) asks the run to stop after its
    step, which saves the checkpoint; a second one interrupts at once, without saving. Yields the
    list of interruptions seen."""
    interruptions: list[int] = []
    if threading.current_thread() is not threading.main_thread():  # only the main thread takes signals
        yield interruptions
        return
    previous = signal.getsignal(signal.SIGINT)

    def stop(signum: int, frame: Any) -> None:
        interruptions.append(signum)
        signal.signal(signal.SIGINT, previous)  # the next Ctrl-C interrupts at once
        saving = " and saving" if trainer.run_config.out else ""
        bar.write(f"interrupted: stopping after this step{saving} (Ctrl-C again to quit at once)")
        trainer.controls.stop()

    signal.signal(signal.SIGINT, stop)
    try:
        yield interruptions
    finally:
        signal.signal(signal.SIGINT, previous)


def _follow(trainer: "Trainer", bar: Any, log: "MetricsLog", samples_dir: Path | None) -> int:
    """Run ``trainer`` to its end, showing its events on ``bar`` and writing its log and grids."""
    from PIL import Image

    status = 0
    for event in trainer.run():
        kind = event["type"]
        if kind == "start":
            bar.write(f"training {event['model']} on {event['dataset']} ({event['device']}), "
                      f"steps {event['step']}..{event['total_steps']}")
            for note in event.get("notes", []):
                bar.write(f"note: {note}")
        elif kind == "metrics":
            log.write(event)
            if "compile_s" in event:
                bar.write(f"note: torch.compile: {event['compile_s']:.1f} s in the steps that compiled so far")
            bar.update(event["step"] - bar.n)
            shown = {k.replace("loss_", ""): f"{v:.3f}" for k, v in event["losses"].items()}
            bar.set_postfix(shown, it_s=f"{event['steps_per_s']:.1f}")
        elif kind == "samples":
            if "preview" in event:  # an image-to-image family's held-out figures
                shown = ", ".join(f"{k} {v:.4g}" for k, v in event["preview"]["metrics"].items())
                bar.write(f"step {event['step']}: {shown} ({event['preview']['images']} "
                          f"{event['preview']['split']} images)")
            if samples_dir is not None and "grid" in event:
                samples_dir.mkdir(parents=True, exist_ok=True)
                Image.fromarray(event["grid"]).save(samples_dir / f"step{event['step']:07d}.png")
        elif kind == "quality":
            log.write(event)
            shown = ", ".join(f"{k} {v:.4g}" for k, v in event["values"].items() if not k.startswith("kid_se"))
            bar.write(f"step {event['step']}: {shown} ({event['samples']} samples, {event['cost_s']:.2f} s, "
                      f"{100 * event['share']:.1f}% of the time)")
        elif kind == "error":
            bar.close()
            print(f"error: {event['message']}", file=sys.stderr)
            status = 1
        elif kind == "done":
            bar.update(event["step"] - bar.n)
            bar.close()
            where = f"; checkpoint in {event['path']}" if event["path"] else ""
            if event["step"] == 0:
                where = "; nothing was trained, so nothing was saved"
            print(f"{event['reason']} at step {event['step']}{where}")
    return status


#: the training log a CLI run keeps beside its checkpoint: one JSON object per metrics or quality event
METRICS_LOG = "metrics.jsonl"


class MetricsLog:
    """``OUT/metrics.jsonl``: the losses, signals and live metrics, one line per event, for plotting
    after the run. A resumed run drops lines past its checkpoint's step (a crash may have logged
    steps the checkpoint never saw) and appends."""

    def __init__(self, path: Path | None, after_step: int = 0):
        self.path = path
        if path is None:
            return
        kept = []
        if after_step and path.is_file():
            for line in path.read_text().splitlines():
                try:
                    if json.loads(line)["step"] <= after_step:
                        kept.append(line)
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(f"{line}\n" for line in kept))
        except OSError as error:  # a read-only disk, a file on the way: before a step is trained
            raise CheckpointError(f"--out: cannot write {path}: {error.strerror or error}") from None

    def write(self, event: dict[str, Any]) -> None:
        if self.path is None:
            return
        with self.path.open("a") as log:
            log.write(json.dumps(event) + "\n")


def _drain(trainer: Trainer) -> int:
    """Run a non-zero rank's loop: it trains its share and reports nothing (rank 0 logs the means)."""
    for event in trainer.run():
        if event["type"] == "error":
            return 1
    return 0


def _sample(args: argparse.Namespace) -> int:
    from .engine import image_grid
    from .model import GANModel

    model = GANModel.from_pretrained(args.checkpoint, device=args.device)
    samples = model.sample(args.num, seed=args.seed)
    if samples.dim() != 4:
        from .errors import ConfigError
        raise ConfigError(f"{model.family.name} makes points, not images: `sample` writes image grids")
    _write_png(image_grid(samples), Path(args.out))
    print(f"wrote {args.num} samples to {args.out}")
    return 0


def _write_png(array, out: Path) -> None:
    from PIL import Image

    from .errors import ConfigError

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(array.squeeze(-1) if array.shape[-1] == 1 else array).save(out)
    except (ValueError, OSError) as error:  # an unknown extension, a folder, a file in the path, no permission
        raise ConfigError(f"--out: cannot write {out} ({error}); give a .png file name") from None


def _translate(args: argparse.Namespace) -> int:
    import numpy as np

    from .data.folder import read_image, rgb_picture
    from .errors import ConfigError
    from .model import GANModel

    model = GANModel.from_pretrained(args.checkpoint, device=args.device)
    options = {k: v for k, v in (("direction", args.direction), ("alpha", args.alpha)) if v is not None}
    source = Path(args.input)
    if not source.is_file():
        raise ConfigError(f"--input: {source} is not a file")
    if Path(args.out).resolve() == source.resolve():
        raise ConfigError(f"--out: {args.out} is the input picture; name another file, so the original stays")
    image = rgb_picture(read_image(source.read_bytes(), f"--input {source}"))
    started = time.perf_counter()
    result = model.translate_image(np.asarray(image), tile=args.tile, **options)
    _write_png(result, Path(args.out))
    print(f"wrote {result.shape[1]}x{result.shape[0]} {model.family.name} output of {source} "
          f"({image.width}x{image.height}) to {args.out} in {time.perf_counter() - started:.1f} s")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .checkpoint import CONFIG_FILE, read_json
    from .errors import ConfigError
    from .evaluation import evaluate, reads_test_images, report_lines
    from .model import checkpoint_folder
    from .registry import MODELS, get_family

    # refused before the minutes an evaluation takes, as sample refuses them (a damaged config.json
    # is left to the evaluation's loading, which names what is wrong with it)
    if args.limit is not None:
        family = str(read_json(checkpoint_folder(args.checkpoint) / CONFIG_FILE).get("family"))
        if family in MODELS and not reads_test_images(get_family(family)):
            raise ConfigError(f"--limit counts test images, which {family}'s report does not read; --samples "
                              f"sets how many samples it draws")
    if not 0 <= args.seed <= 2**63 - 1:
        raise ConfigError(f"--seed must be between 0 and 2**63 - 1, not {args.seed}")
    out = Path(args.json) if args.json else None
    if out is not None and (out.is_dir() or (out.parent.exists() and not out.parent.is_dir())):
        raise ConfigError(f"--json: cannot write {out}: {'it is a folder' if out.is_dir() else 'not a folder above it'}"
                          f"; give a file name such as report.json")
    started = time.perf_counter()
    report = evaluate(args.checkpoint, dataset=args.dataset, samples=args.samples, seed=args.seed,
                      real_samples=args.real_samples, inception=not args.no_inception, classifier=args.classifier,
                      limit=args.limit, alpha=args.alpha, data_dir=args.data_dir, device=args.device)
    report["seconds"] = round(time.perf_counter() - started, 1)
    for line in report_lines(report):
        print(line)
    if out is not None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(report, indent=2))
        except OSError as error:
            raise ConfigError(f"--json: cannot write {out} ({error.strerror})") from None
        print(f"wrote {out}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from .pretrained import QualityCheck, export_pretrained

    check = QualityCheck.parse(args.check, args.check_samples) if args.check else None
    path = export_pretrained(args.checkpoint, args.out, samples=args.samples, limitations=args.limitation or (),
                             data_dir=args.data_dir, inference_only=args.inference_only, half=args.half, check=check,
                             overwrite=args.overwrite)
    size = sum(f.stat().st_size for f in Path(path).iterdir() if f.is_file())
    print(f"wrote {path} ({size / 1e6:.2f} MB)")
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    import shlex

    from .checkpoint import CONFIG_FILE, read_json
    from .model import checkpoint_folder
    from .pretrained import EVALUATION_FILE, QualityCheck, export_pretrained, train_command

    shipped = checkpoint_folder(args.checkpoint)  # a folder, or a shipped checkpoint's name
    training = read_json(shipped / CONFIG_FILE).get("training")
    if not isinstance(training, dict) or not isinstance(training.get("run"), dict):
        raise CheckpointError(f"{shipped / CONFIG_FILE} records no training run: its README.md's Reproduce "
                              f"section has the commands that made it")
    # the record is read back from a file a person may have edited: its shape is checked before the
    # minutes of training, not after
    run, export = training["run"], training.get("export") or {}
    if not all(isinstance(run.get(key), str) and run.get(key) for key in ("model", "dataset")) \
            or not isinstance(run.get("overrides") or {}, dict) or not isinstance(export, dict):
        raise CheckpointError(f"{shipped / CONFIG_FILE}: its training record needs run.model, run.dataset (names), "
                              f"run.overrides and export as mappings")
    try:
        check = QualityCheck(**export["check"]) if export.get("check") else None
        samples = int(export.get("samples", 10_000))
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{shipped / CONFIG_FILE}: its export record is not what export writes ({error})") \
            from None
    limitations = export.get("limitations") or ()
    if isinstance(limitations, str) or not all(isinstance(line, str) for line in limitations):
        raise CheckpointError(f"{shipped / CONFIG_FILE}: export.limitations should be a list of sentences")
    out = Path(args.out or Path("runs") / "reproduce" / shipped.name)
    command = train_command(run, str(out / "run"))
    print(f"$ {command}")
    argv = shlex.split(command)[3:]  # after "python -m trainers"
    if args.data_dir:
        argv += ["--data-dir", args.data_dir]
    if args.quiet:
        argv.append("--quiet")
    if _train(build_parser().parse_args(argv)) != 0:
        return 1
    path = export_pretrained(out / "run", out / "pretrained", samples=samples,
                             limitations=limitations, data_dir=args.data_dir,
                             inference_only=bool(export.get("inference_only")), half=bool(export.get("half")),
                             check=check)
    print(f"wrote {path}")
    if check:
        ours = read_json(path / EVALUATION_FILE)["check"]["measured"]
        record = read_json(shipped / EVALUATION_FILE) if (shipped / EVALUATION_FILE).is_file() else {}
        theirs = (record.get("check") or {}).get("measured")
        print(f"{check.text()}: reproduced {ours:.4g}, shipped {theirs if theirs is None else f'{theirs:.4g}'}")
    return 0


def _probe(args: argparse.Namespace) -> int:
    from .data import load_dataset
    from .metrics.representation import probe_against_random
    from .model import GANModel

    model = GANModel.from_pretrained(args.checkpoint, device=args.device)
    size = model.config.image_size if hasattr(model.config, "image_size") else None
    train_set = load_dataset(args.dataset, args.data_dir, "train", size)
    test_set = load_dataset(args.dataset, args.data_dir, "test", size)
    started = time.perf_counter()
    result = probe_against_random(model, train_set, test_set, train_images=args.train_images,
                                  test_images=args.test_images)
    print(f"linear probe, {model.family.name} on {args.dataset} ({result['code_size']}-number codes, "
          f"{result['train_images']} training / {result['test_images']} test images, "
          f"{time.perf_counter() - started:.1f} s): test accuracy {result['accuracy']:.4f}; "
          f"random encoder {result['random_accuracy']:.4f}; margin {result['margin']:+.4f}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from .data import DATASETS, dataset_status
    from .registry import MODELS

    print("Models:")
    for spec in MODELS.values():
        print(f"  {spec.name:10s} {spec.description}")
        print(f"  {'':10s} data: {', '.join(spec.data_kinds)}; objectives: {', '.join(spec.objectives) or '-'}; "
              f"presets: {', '.join(spec.presets) or '-'}; paper: {spec.paper}")
    print("Datasets (folder:PATH also accepted):")
    for name, info in DATASETS.items():
        ok, message = dataset_status(name) if info.needs_files else (True, info.description)
        print(f"  {name:14s} {'ready  ' if ok else 'missing'} {message}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"train": _train, "sample": _sample, "translate": _translate, "evaluate": _evaluate,
                "probe": _probe, "export": _export, "reproduce": _reproduce, "list": _list}
    try:
        return handlers[args.command](args)
    except PlaygroundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
