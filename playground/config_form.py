"""The "advanced" form of a model family, generated from its config dataclass.

Each field's type, default (with the chosen preset applied), range or choices and help text come
from the dataclass and its ``field(...)`` metadata, so a new family needs no UI code: a front end
turns each :class:`FormField` into a widget of its ``kind``. UI-agnostic.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass
from typing import Any

from trainers.errors import PlaygroundError

#: Fields the main form already has (its own widgets), left out of the generated one.
MAIN_FORM_FIELDS = ("objective", "lr_g", "lr_d")


@dataclass(frozen=True)
class FormField:
    name: str
    #: "integer", "number", "choice", "bool" or "text" (text holds JSON, e.g. a list of widths)
    kind: str
    value: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()


def form_fields(model: str, preset: str | None = None) -> list[FormField]:
    """The family's config fields as form fields, valued at the preset's values ([] for an
    unknown model)."""
    from trainers.registry import MODELS

    spec = MODELS.get(model)
    if spec is None:
        return []
    values = {f.name: f.default for f in dataclasses.fields(spec.config_cls)}
    values.update(spec.presets.get(preset or "", {}))
    hints = typing.get_type_hints(spec.config_cls)
    fields = []
    for f in dataclasses.fields(spec.config_cls):
        if f.name in MAIN_FORM_FIELDS:
            continue
        kind, value = _kind(hints[f.name], f.metadata), values[f.name]
        low, high = f.metadata.get("range", (None, None))
        fields.append(FormField(f.name, kind, json.dumps(value) if kind == "text" else value,
                                f.metadata.get("help", ""), low, high, tuple(f.metadata.get("choices", ()))))
    return fields


def _kind(annotation: Any, metadata: typing.Mapping[str, Any]) -> str:
    if metadata.get("choices"):
        return "choice"
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "integer"
    if annotation is float:
        return "number"
    return "text"


def overrides_from_form(model: str, edited: typing.Mapping[str, Any]) -> dict[str, Any]:
    """The edited widgets' values as config overrides: text fields parsed as JSON, integers made
    whole; the library then checks ranges and types and names any bad key."""
    kinds = {f.name: f.kind for f in form_fields(model)}
    overrides = {}
    for name, value in edited.items():
        kind = kinds.get(name)
        if kind is None:  # a widget of another model's form (the model changed since)
            continue
        if kind == "text":
            try:
                value = json.loads(value)
            except (TypeError, json.JSONDecodeError):
                raise PlaygroundError(f"{name}: {value!r} is not valid JSON (e.g. [64, 128] or \"name\")") from None
        elif kind == "integer" and value is not None:
            value = whole_number(value, name)
        if value is None:
            raise PlaygroundError(f"{name} is empty: enter a value")
        overrides[name] = value
    return overrides


def whole_number(value: Any, label: str) -> int:
    """A form's number box as an int, or a PlaygroundError naming the box: empty, not a number,
    or not whole. Every front end's boxes (the lab's and the demos') go through here."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        raise PlaygroundError(f"{label} is empty: enter a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PlaygroundError(f"{label} must be a whole number, not {value!r}") from None
    if not number.is_integer():
        raise PlaygroundError(f"{label} must be a whole number, not {value}")
    return int(number)


def real_number(value: Any, label: str) -> float:
    """A form's decimal box or slider as a float, or a PlaygroundError naming it: empty or not a
    number. Its range (NaN and infinity included) is the library's to check."""
    if value is None or value == "":
        raise PlaygroundError(f"{label} is empty: enter a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise PlaygroundError(f"{label} must be a number, not {value!r}") from None
