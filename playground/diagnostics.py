"""Plain-language diagnostics of a live run, from the signals a snapshot carries.

Each rule reads the recent mean of a signal (not one noisy reading) and, when it fires, says what
is happening and what to try, the way a practitioner would (Goodfellow's NIPS 2016 tutorial,
Arjovsky & Bottou 2017 on vanishing gradients, Salimans et al. 2016 on mode collapse). UI-agnostic:
a snapshot dict in, sentences out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

#: Points of a curve averaged for a rule (the downsampled history: the last ~few hundred steps).
RECENT = 5
#: Rules that need training to have started wait this many steps (an untrained G is not collapsed).
WARM_UP_STEPS = 200
#: Samples less varied than this share of real pictures' spread read as mode collapse.
COLLAPSED_DIVERSITY = 0.2


@dataclass(frozen=True)
class Diagnosis:
    level: str  # "ok", "warning" or "error"
    text: str


def _recent(metrics: Mapping[str, Sequence[float]], key: str) -> float | None:
    values = [v for v in (metrics.get(key) or [])[-RECENT:] if v is not None and math.isfinite(v)]
    return sum(values) / len(values) if values else None


def _probabilistic(snap: Mapping[str, Any]) -> bool:
    """True when D's outputs are probabilities (a log-loss objective), so 0.5 means "can't tell"."""
    from trainers.objectives import OBJECTIVES

    objective = (snap.get("config") or {}).get("objective")
    return objective in OBJECTIVES and OBJECTIVES[objective].probabilistic


def diagnose(snap: Mapping[str, Any]) -> list[Diagnosis]:
    """What the signals of a snapshot say, worst first; [] when there is nothing to say yet."""
    found: list[Diagnosis] = []
    if snap.get("error_reason") == "diverged":
        kept = "the last good checkpoint is kept" if snap.get("checkpoint") else "no checkpoint had been saved yet"
        found.append(Diagnosis("error", f"Loss is NaN: the run diverged and was stopped ({kept}). "
                                        f"Lower the learning rates, or use WGAN-GP or spectral norm."))
    metrics = snap.get("metrics") or {}
    step = int(snap.get("step") or 0)
    d_real, d_fake = _recent(metrics, "d_real"), _recent(metrics, "d_fake")
    if d_real is not None and d_fake is not None and _probabilistic(snap) and step >= 50:
        if d_real > 0.9 and d_fake < 0.1:
            found.append(Diagnosis("warning", f"D(x) ≈ {d_real:.2f} and D(G(z)) ≈ {d_fake:.2f}: the discriminator "
                                              f"has won and G's gradients vanish. Try a lower D learning rate, "
                                              f"the non-saturating loss, or a smaller D."))
        elif d_real > 0.8 and d_fake > 0.8:
            found.append(Diagnosis("warning", f"D(x) ≈ {d_real:.2f} and D(G(z)) ≈ {d_fake:.2f}, both near 1: D "
                                              f"calls everything real, so it no longer teaches G. Try a higher D "
                                              f"learning rate or a bigger D."))
        elif abs(d_real - 0.5) < 0.15 and abs(d_fake - 0.5) < 0.15 and step >= WARM_UP_STEPS:
            found.append(Diagnosis("ok", f"D(x) ≈ {d_real:.2f} and D(G(z)) ≈ {d_fake:.2f}: D can barely tell real "
                                         f"from generated, the balance a GAN aims for."))
    grad_g, grad_d = _recent(metrics, "grad_norm_g"), _recent(metrics, "grad_norm_d")
    if grad_g is not None and step >= WARM_UP_STEPS and grad_g < 1e-4:
        found.append(Diagnosis("warning", f"G's gradient norm is {grad_g:.1e}: G has almost stopped learning. "
                                          f"Try the non-saturating loss or a lower D learning rate."))
    if grad_d is not None and grad_d > 1e3:
        found.append(Diagnosis("warning", f"D's gradient norm is {grad_d:.1e}: its gradients are exploding. "
                                          f"Lower the learning rates, or add a gradient penalty."))
    diversity = (snap.get("sample") or {}).get("diversity")
    if diversity is not None and step >= WARM_UP_STEPS and diversity < COLLAPSED_DIVERSITY:
        found.append(Diagnosis("warning", f"Samples all alike (their spread is {diversity:.0%} of real "
                                          f"pictures'): likely mode collapse. Try WGAN-GP, a lower learning "
                                          f"rate, or another seed."))
    found += _quality_trend(snap.get("quality") or {})
    order = {"error": 0, "warning": 1, "ok": 2}
    return sorted(found, key=lambda d: order[d.level])


def _quality_trend(quality: Mapping[str, Sequence[float]]) -> list[Diagnosis]:
    """Mode coverage on toys, and a sample-quality metric that has worsened since its best."""
    found = []
    covered, modes = _recent_last(quality, "modes_covered"), _recent_last(quality, "num_modes")
    steps = quality.get("step") or []
    if covered is not None and modes and steps and steps[-1] >= WARM_UP_STEPS and covered < modes / 2:
        found.append(Diagnosis("warning", f"G covers {covered:.0f} of {modes:.0f} modes: mode collapse. Try the "
                                          f"non-saturating or WGAN-GP objective, or a lower learning rate."))
    for key in quality:
        if not (key.startswith("kid_") or key.startswith("fid_")) or key.startswith("kid_se"):
            continue
        values = [(s, v) for s, v in zip(steps, quality[key]) if v is not None and math.isfinite(v)]
        if len(values) < 4:
            continue
        best_step, best = min(values, key=lambda pair: pair[1])
        last = values[-1][1]
        if best_step != values[-1][0] and last > 1.5 * best + 1e-3:
            name = key.split("_", 1)[0].upper()
            found.append(Diagnosis("warning", f"{name} has risen from {best:.3g} at step {best_step} to {last:.3g}: "
                                              f"the samples are getting worse. Stop, or lower the learning rates."))
    return found


def _recent_last(series: Mapping[str, Sequence[float]], key: str) -> float | None:
    values = [v for v in (series.get(key) or []) if v is not None and math.isfinite(v)]
    return values[-1] if values else None


def diagnosis_markdown(diagnoses: Sequence[Diagnosis]) -> str:
    """Bullets for a Markdown box, marked by level."""
    # words: no emoji font needed
    marks = {"error": "**Problem:**", "warning": "**Watch out:**", "ok": "**Looks right:**"}
    return "\n".join(f"- {marks[d.level]} {d.text}" for d in diagnoses)
