"""``python -m trainers evaluate``: held-out figures of any checkpoint.

- generators of images: FID, KID (with its standard error), IS, precision/recall,
  density/coverage and class coverage, per available feature network (:mod:`trainers.metrics.quality`)
- generators of 2-D toy points: modes covered, high-quality share, grid KL/JS
- classifiers: test accuracy
- image-to-image families: their figures next to naive baselines (:mod:`trainers.metrics.image_to_image`)

The report is a plain dict (JSON-ready) and :func:`report_lines` prints it as a table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .checkpoint import CONFIG_FILE, STATE_FILE, read_json
from .data import Dataset, dataset_kind, load_dataset
from .errors import ConfigError
from .metrics import image_to_image as i2i
from .model import GANModel

TRANSLATION = ("pix2pix", "cyclegan")
SUPER_RESOLUTION = ("srgan", "esrgan")


def _run_dataset(folder: Path) -> tuple[str | None, int | None]:
    """(dataset, image_size) of the checkpoint's run, when it was saved by the engine or exported
    (an exported folder keeps the dataset in its evaluation report)."""
    from .pretrained import EVALUATION_FILE

    if (folder / STATE_FILE).is_file():
        run = read_json(folder / STATE_FILE).get("run")
        if isinstance(run, dict):
            return run.get("dataset"), run.get("image_size")
    training = read_json(folder / CONFIG_FILE).get("training") if (folder / CONFIG_FILE).is_file() else None
    if isinstance(training, dict) and isinstance(training.get("run"), dict):  # an exported folder
        return training["run"].get("dataset"), training["run"].get("image_size")
    if (folder / EVALUATION_FILE).is_file():
        dataset = read_json(folder / EVALUATION_FILE).get("dataset")
        return (dataset if isinstance(dataset, str) else None), None
    return None, None


def _check_fits(model: GANModel, data: Dataset, name: str, *, sizes_may_differ: bool = False) -> None:
    """Evaluation data the checkpoint cannot read (another kind, other channels, dimensions or
    classes) is refused by name, rather than failing inside a layer or being scored as if it were
    the data the model learned. A generator's samples may be judged against real images of
    another size (the feature networks resize both)."""
    spec = model.family
    if data.kind not in spec.data_kinds:
        raise ConfigError(f"--dataset: {spec.name} works on {' or '.join(spec.data_kinds)} data; {name} is "
                          f"{data.kind} data")
    for key, needed in spec.data_fields(data).items():
        built = getattr(model.config, key, needed)
        if isinstance(built, (list, tuple)):  # as JSON gives it back; empty: not recorded (an older checkpoint)
            built, needed = (tuple(built), tuple(needed)) if built else (needed, needed)
        if built != needed and not (sizes_may_differ and key == "image_size"):
            raise ConfigError(f"--dataset: {name} has {key} {needed}; the checkpoint was built for {built}")


def reads_test_images(spec: Any) -> bool:
    """Whether a family's report reads test images (which ``limit`` counts): a classifier's and an
    image-to-image family's; a generator's draws samples instead."""
    return not spec.has_generator or spec.translate is not None or spec.preview is not None


def evaluate(checkpoint: str | Path, *, dataset: str | None = None, samples: int = 10_000, seed: int = 0,
             real_samples: int | None = None, inception: bool = True, classifier: str | None = None,
             limit: int | None = None, alpha: float | None = None, data_dir: str | None = None,
             device: str = "cpu") -> dict[str, Any]:
    """The report of any checkpoint (see the module's docstring for what each kind gets)."""
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit: at least 1 image, not {limit} (leave it out for all of them)")
    folder = Path(checkpoint)
    model = GANModel.from_pretrained(folder, device=device)
    spec = model.family
    # options that would be ignored are refused, as translate refuses them
    if alpha is not None and spec.name != "esrgan":
        raise ConfigError(f"--alpha: only esrgan has a network interpolation; {folder} is {spec.name}")
    if classifier is not None and spec.name != "cyclegan":
        raise ConfigError(f"--classifier: only cyclegan is judged by a classifier; {folder} is {spec.name}")
    if spec.translate is not None or spec.preview is not None:
        return evaluate_image_to_image(model, folder, dataset=dataset, classifier=classifier, limit=limit,
                                       alpha=alpha, data_dir=data_dir)
    trained_on, image_size = _run_dataset(folder)
    dataset = dataset or trained_on
    if not dataset:
        raise ConfigError(f"--dataset: {folder} does not say what it was trained on; name the dataset")
    report: dict[str, Any] = {"checkpoint": str(folder), "family": spec.name}
    if not spec.has_generator:  # a classifier: its test accuracy and confusion matrix
        from .models.adversarial import confusion_matrix

        test = load_dataset(dataset, data_dir, "test", image_size)
        _check_fits(model, test, dataset)
        (network,) = model.networks.values()
        counts = confusion_matrix(network, test, limit)
        report.update({"dataset": dataset, "split": "test", "metrics": [
            {"name": "accuracy", "metric": "accuracy", "value": float(counts.diagonal().sum()) / int(counts.sum()),
             "feature_network": "none", "samples": int(counts.sum()), "seed": 0}],
            # row = true class, column = what it read: the metrics undo this confusion (class coverage)
            "confusion": counts.tolist()})
        return report
    from .metrics.quality import evaluate_generator, evaluate_points, held_out_images

    if dataset_kind(dataset) == "points":
        points = load_dataset(dataset, data_dir)
        _check_fits(model, points, dataset)
        report.update(evaluate_points(model, points, samples=samples, seed=seed))
    else:
        _check_fits(model, held_out_images(dataset, data_dir, 1)[0], dataset, sizes_may_differ=True)  # loads cached
        report.update(evaluate_generator(model, dataset, samples=samples, seed=seed, real_samples=real_samples,
                                         data_dir=data_dir, include_inception=inception))
    return report


def evaluate_image_to_image(model: GANModel, folder: Path, *, dataset: str | None = None,
                            classifier: str | None = None, limit: int | None = None, alpha: float | None = None,
                            data_dir: str | None = None) -> dict[str, Any]:
    family = model.family.name
    device = str(model.device)
    report: dict[str, Any] = {"checkpoint": str(folder), "family": family}
    if family in TRANSLATION or family == "dip-inpaint":
        trained_on, image_size = _run_dataset(folder)
        dataset = dataset or trained_on
        if not dataset:
            raise ConfigError(f"--dataset: {folder} does not say what it was trained on; name the dataset")
        report["dataset"] = dataset
    if family == "pix2pix":
        train, test = i2i.train_and_test(dataset, data_dir, image_size)
        _check_fits(model, test, dataset)
        report["split"] = "test"
        report["metrics"] = i2i.paired_translation(model, train, test, limit)
    elif family == "cyclegan":
        test = load_dataset(dataset, data_dir, "test", image_size)
        _check_fits(model, test, dataset)
        classify = None
        if classifier:
            judge = GANModel.from_pretrained(classifier, device=device)
            if judge.family.name != "multiclass-discriminator":
                raise ConfigError(f"--classifier: {classifier} is a {judge.family.name} checkpoint; train one "
                                  f"with --model multiclass-discriminator --dataset mnist")
            from .models.multiclass_discriminator import predict

            classify = lambda x: predict(judge.config, judge.networks, x.to(judge.device))  # noqa: E731
            report["classifier"] = str(classifier)
        report["split"] = "test"
        report["metrics"] = i2i.cycle_consistency(model, test, classify, limit)
    elif family in SUPER_RESOLUTION:
        options = {"alpha": alpha} if alpha is not None and family == "esrgan" else {}
        report["scale"] = model.config.scale
        if options:
            report["alpha"] = alpha
        report["metrics"] = i2i.super_resolution(model, data_dir, limit, **options)
    elif family == "dip-inpaint":
        from .models.dip_inpaint import restore

        # the picture at the size it was fitted (a run may have shrunk it with image_size)
        fitted = max(model.config.image_height, model.config.image_width)
        image, mask = load_dataset(dataset, data_dir, image_size=fitted).batch(torch.arange(1), model.device)
        if tuple(image.shape[-2:]) != (model.config.image_height, model.config.image_width):
            raise ConfigError(f"--dataset: {dataset} is {image.shape[-1]}x{image.shape[-2]}, the checkpoint was "
                              f"fitted to {model.config.image_width}x{model.config.image_height}")
        report["metrics"] = i2i.inpainting_scores(restore(model.config, model.networks), image, mask > 0)
        report["metrics"]["hole_fraction"] = float((mask > 0).float().mean())
    else:
        raise ConfigError(f"{family}: no image-to-image evaluation is defined for it")
    return report


def report_lines(report: dict[str, Any]) -> list[str]:
    """The report as a small markdown table."""
    lines = [f"{report['family']} {report['checkpoint']}" + (f" on {report['dataset']}" if "dataset" in report else "")]
    metrics = report["metrics"]
    if report["family"] in SUPER_RESOLUTION:
        lines += [f"x{report['scale']}" + (f", alpha {report['alpha']}" if "alpha" in report else ""),
                  "| set | images | PSNR | SSIM | bicubic PSNR | bicubic SSIM | gain dB |",
                  "|---|---|---|---|---|---|---|"]
        for name in i2i.SR_BENCHMARKS:
            row = metrics[name]
            lines.append(f"| {name} | {row['images']} | {row['psnr']:.2f} | {row['ssim']:.4f} | "
                         f"{row['psnr_bicubic']:.2f} | {row['ssim_bicubic']:.4f} | "
                         f"{row['psnr'] - row['psnr_bicubic']:+.2f} |")
        return lines
    if isinstance(metrics, list):  # rows of a generator's or classifier's report
        if "real" in report:
            lines.append(f"{report['samples']} samples (seed {report['seed']}) vs {report['real']}")
        lines += ["| metric | value | +- | feature network | samples |", "|---|---|---|---|---|"]
        for row in metrics:
            spread = row.get("std_error", row.get("std"))
            lines.append(f"| {row['name']} | {row['value']:.4g} | {'' if spread is None else f'{spread:.2g}'} | "
                         f"{row['feature_network']} | {row['samples']} |")
        for network, reason in report.get("unavailable", {}).items():
            lines.append(f"{network}: unavailable: {reason}")
        return lines
    lines += ["| metric | value |", "|---|---|"]
    lines += [f"| {key} | {value:.4f} |" for key, value in metrics.items()]
    return lines
