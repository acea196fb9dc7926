"""Command-line options built from schema fields: the flag, its help (the field's description, its choices and
default) and its group come from the field, so a new option is one field.

Every option is read as text and validated by the schema like a YAML value (``--clock-ns fast`` gives the same
``clock_ns = 'fast': must be a positive number`` as the YAML), so the command line and the files share one set
of rules and messages. An option left out is absent (None), so a caller can tell "given" from "default".
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter
from pydantic_core import PydanticUndefined

from micae.config.errors import _unwrap
from micae.config.types import Choices, Cli


@dataclass(frozen=True)
class Option:
    """One command-line option of a schema field."""

    key: str  # dotted key of the field in its document, e.g. train.learning_rate
    flag: str
    group: str | None
    description: str
    default: Any
    required: bool
    choices: tuple | None
    text: bool  # the argument is the value itself (str, Path); otherwise it is read as a YAML scalar
    boolean: bool
    negate: bool
    metavar: str | None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Field:
    name: str
    annotation: Any  # with Annotated extras when known
    metadata: tuple
    default: Any
    description: str


def _fields(tp: Any) -> list[_Field]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [
            _Field(n, f.annotation, tuple(f.metadata), f.default, f.description or "")
            for n, f in tp.model_fields.items()
        ]
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp, include_extras=True)
        props = TypeAdapter(tp).json_schema().get("properties", {})
        out = []
        for f in dataclasses.fields(tp):
            ann = hints[f.name]
            meta = typing.get_args(ann)[1:] if typing.get_origin(ann) is typing.Annotated else ()
            default = f.default if f.default is not dataclasses.MISSING else PydanticUndefined
            out.append(_Field(f.name, ann, tuple(meta), default, props.get(f.name, {}).get("description", "")))
        return out
    return []


def _nested(annotation: Any) -> Any:
    """The schema class of a section field (a model or dataclass), else None."""
    for alt in _unwrap(annotation):
        if isinstance(alt, type) and (issubclass(alt, BaseModel) or dataclasses.is_dataclass(alt)):
            return alt
    return None


def _takes_text(annotation: Any, metadata: tuple) -> bool:
    alts = _unwrap(annotation)
    return any(a in (str, Path) for a in alts) or any(isinstance(m, Choices) for m in metadata)


def options_of(tp: Any, *, prefix: str = "", marked_only: bool = False) -> list[Option]:
    """The options of ``tp``'s fields (and, with ``marked_only``, of its sections' fields marked with :class:`Cli`)."""
    out: list[Option] = []
    for f in _fields(tp):
        key = f"{prefix}{f.name}"
        cli = next((m for m in f.metadata if isinstance(m, Cli)), None)
        section = _nested(f.annotation)
        if section is not None and marked_only and cli is None:
            out += options_of(section, prefix=f"{key}.", marked_only=True)
            continue
        if cli is None and marked_only:
            continue
        cli = cli or Cli()
        choices = next((m.values for m in f.metadata if isinstance(m, Choices)), None)
        boolean = bool in _unwrap(f.annotation)
        out.append(
            Option(
                key=key,
                flag=cli.flag or "--" + f.name.replace("_", "-"),
                group=cli.group,
                description=f.description,
                default=f.default,
                required=f.default is PydanticUndefined,
                choices=choices,
                text=_takes_text(f.annotation, f.metadata),
                boolean=boolean,
                negate=cli.negate,
                metavar=cli.metavar,
                aliases=cli.aliases,
            )
        )
    return out


def _show_default(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def help_text(opt: Option, default_note: str | None = None) -> str:
    """The field's description and its default (``default_note`` replaces the default part; the choices are in
    the metavar; a default of none is explained by the description)."""
    text = " ".join(opt.description.split()).rstrip(".")
    if default_note is not None:
        text += f" ({default_note})" if default_note else ""
    elif not opt.required and not opt.boolean and opt.default is not None:
        text += f" (default {_show_default(opt.default)})"
    return text.replace("%", "%%")


def add_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    options: list[Option],
    *,
    groups: dict[str, Any] | None = None,
    default_note: typing.Callable[[Option], str | None] | None = None,
) -> None:
    """Add ``options`` to ``parser`` (or to the group of ``groups`` each names). Defaults stay None: not given."""
    for opt in options:
        target = (groups or {}).get(opt.group, parser) if opt.group else parser
        note = default_note(opt) if default_note else None
        kwargs: dict[str, Any] = {"dest": opt.key, "default": None, "help": help_text(opt, note)}
        if opt.boolean:
            kwargs.update(action="store_const", const=not opt.negate)
        else:
            metavar = opt.metavar or (
                "{" + ",".join(map(str, opt.choices)) + "}" if opt.choices else opt.key.rsplit(".", 1)[-1].upper()
            )
            kwargs.update(metavar=metavar, required=opt.required)
        target.add_argument(opt.flag, *opt.aliases, **kwargs)


def read_value(opt: Option, text: Any) -> Any:
    """An option's argument as the value the schema validates: text as is, anything else as a YAML scalar."""
    if not isinstance(text, str) or opt.text:
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def given_values(ns: argparse.Namespace, options: list[Option]) -> dict[str, Any]:
    """``{key: value}`` of the options given on the command line (read as the schema expects them)."""
    out = {}
    for opt in options:
        value = getattr(ns, opt.key, None)
        if value is not None:
            out[opt.key] = read_value(opt, value)
    return out


def flag_of(options: list[Option], key: str) -> str:
    """The option's flag as the user may have typed it: ``--jobs`` or, with aliases, ``--jobs/--workers``."""
    return next(("/".join((o.flag, *o.aliases)) for o in options if o.key == key), key)


def parse_given(tp: Any, ns: argparse.Namespace, options: list[Option], command: str) -> Any:
    """The schema ``tp`` of the options given (the rest at their defaults); a bad value is one line naming its
    option, e.g. ``jobs = 0: must be an integer >= 1 (fix: correct --jobs; see micae sweep --help)``."""
    return tp.parse(
        given_values(ns, options), fix=lambda key: f"correct {flag_of(options, key)}; see micae {command} --help"
    )
