"""Print the image-to-image closing tables from the JSON reports of bench/image_to_image_tables.sh.

    python bench/image_to_image_report.py [RUNS]     (default runs/tables)

Reads RUN.json (written by `python -m trainers evaluate --json`) and times.txt (wall times).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(folder: Path) -> None:
    times = {}
    if (folder / "times.txt").is_file():
        for line in (folder / "times.txt").read_text().splitlines():
            name, _, seconds = line.partition(": ")
            times[name] = seconds  # the last run of a name wins
    reports = {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}

    def wall(name: str) -> str:
        return times.get(name, "?")

    def table(headers: list[str], families: tuple[str, ...], row) -> None:
        """One markdown table: a row of ``row(name, report)`` cells per report of those families."""
        print("| " + " | ".join(headers) + " |")
        print("|" + "---|" * len(headers))
        for name, report in reports.items():
            if report["family"] in families:
                print("| " + " | ".join(row(name, report)) + " |")
        print()

    def translation(name, report):
        m = report["metrics"]
        return [name, f"{m['images']:.0f}", f"{m['l1']:.3f}", f"{m['psnr']:.2f}",
                f"{m['l1_identity']:.3f} / {m['psnr_identity']:.2f}", f"{m['l1_mean']:.3f} / {m['psnr_mean']:.2f}",
                wall(name)]

    def cycle(name, report):
        m = report["metrics"]
        digits = ([f"{m['digit_preserved_rate']:.4f}", f"{m['classifier_accuracy_on_originals']:.4f}"]
                  if "digit_preserved_rate" in m else ["", ""])
        return [name, f"{m['images']:.0f}", f"{m['cycle_l1_a']:.3f} ({m['cycle_psnr_a']:.2f})",
                f"{m['cycle_l1_b']:.3f} ({m['cycle_psnr_b']:.2f})", *digits, wall(name)]

    def super_resolution(name, report):
        cells = [name + (f" (alpha {report['alpha']})" if "alpha" in report else ""), f"x{report['scale']}"]
        for benchmark in ("Set5", "Set14"):
            m = report["metrics"][benchmark]
            cells += [f"{m['psnr']:.2f} / {m['ssim']:.4f}", f"{m['psnr_bicubic']:.2f} / {m['ssim_bicubic']:.4f}"]
        return [*cells, wall(name.split("-alpha")[0])]

    def inpainting(name, report):
        m = report["metrics"]
        return [report["dataset"], f"{m['hole_fraction']:.3f}", f"{m['psnr_hole']:.2f}",
                f"{m['psnr_hole_mean_fill']:.2f}", f"{m['psnr_hole_diffusion']:.2f}", wall(name)]

    table(["translation", "test images", "L1", "PSNR", "identity L1 / PSNR", "mean target L1 / PSNR", "wall"],
          ("pix2pix",), translation)
    table(["cycle", "test images", "cycle L1 A→B→A (PSNR)", "cycle L1 B→A→B (PSNR)", "digit preserved",
           "judge on originals", "wall"], ("cyclegan",), cycle)
    table(["super-resolution", "scale", "Set5 PSNR / SSIM", "bicubic", "Set14 PSNR / SSIM", "bicubic", "wall"],
          ("srgan", "esrgan"), super_resolution)
    table(["inpainting", "hole fraction", "DIP PSNR in the hole", "mean-colour fill", "diffusion fill", "wall"],
          ("dip-inpaint",), inpainting)

if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/tables"))
