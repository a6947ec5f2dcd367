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

    print("| translation | test images | L1 | PSNR | identity L1 / PSNR | mean target L1 / PSNR | wall |")
    print("|---|---|---|---|---|---|---|")
    for name, report in reports.items():
        if report["family"] == "pix2pix":
            m = report["metrics"]
            print(f"| {name} | {m['images']:.0f} | {m['l1']:.3f} | {m['psnr']:.2f} | {m['l1_identity']:.3f} / "
                  f"{m['psnr_identity']:.2f} | {m['l1_mean']:.3f} / {m['psnr_mean']:.2f} | {wall(name)} |")
    print()
    print("| cycle | test images | cycle L1 A→B→A (PSNR) | cycle L1 B→A→B (PSNR) | digit preserved | judge on originals | wall |")
    print("|---|---|---|---|---|---|---|")
    for name, report in reports.items():
        if report["family"] == "cyclegan":
            m = report["metrics"]
            digits = (f"{m['digit_preserved_rate']:.4f} | {m['classifier_accuracy_on_originals']:.4f}"
                      if "digit_preserved_rate" in m else "| ")
            print(f"| {name} | {m['images']:.0f} | {m['cycle_l1_a']:.3f} ({m['cycle_psnr_a']:.2f}) | "
                  f"{m['cycle_l1_b']:.3f} ({m['cycle_psnr_b']:.2f}) | {digits} | {wall(name)} |")
    print()
    print("| super-resolution | scale | Set5 PSNR / SSIM | bicubic | Set14 PSNR / SSIM | bicubic | wall |")
    print("|---|---|---|---|---|---|---|")
    for name, report in reports.items():
        if report["family"] in ("srgan", "esrgan"):
            s5, s14 = report["metrics"]["Set5"], report["metrics"]["Set14"]
            label = name + (f" (alpha {report['alpha']})" if "alpha" in report else "")
            print(f"| {label} | x{report['scale']} | {s5['psnr']:.2f} / {s5['ssim']:.4f} | {s5['psnr_bicubic']:.2f} / "
                  f"{s5['ssim_bicubic']:.4f} | {s14['psnr']:.2f} / {s14['ssim']:.4f} | {s14['psnr_bicubic']:.2f} / "
                  f"{s14['ssim_bicubic']:.4f} | {wall(name.split('-alpha')[0])} |")
    print()
    print("| inpainting | hole fraction | DIP PSNR in the hole | mean-colour fill | diffusion fill | wall |")
    print("|---|---|---|---|---|---|")
    for name, report in reports.items():
        if report["family"] == "dip-inpaint":
            m = report["metrics"]
            print(f"| {report['dataset']} | {m['hole_fraction']:.3f} | {m['psnr_hole']:.2f} | "
                  f"{m['psnr_hole_mean_fill']:.2f} | {m['psnr_hole_diffusion']:.2f} | {wall(name)} |")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/tables"))
