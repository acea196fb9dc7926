"""A schema's refusal as one line: ``<key path> = <value>: <what is allowed>``.

pydantic reports every problem of a document; a user fixes them one at a time, so micae names the first,
with the key path as written in the file (``stack.levels[1].latent``), the value found and what the field
takes. The ``fix`` names where the value came from (a YAML file, ``--set``, an option).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from micae.errors import ConfigError

MAX_VALUE_CHARS = 80


def show(value: Any) -> str:
    """A value as the user wrote it (strings quoted), cut to one readable line."""
    text = repr(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def key_path(parts) -> str:
    """``("stack", "levels", 1, "latent")`` -> ``stack.levels[1].latent``."""
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _locate(data: Any, loc: tuple) -> tuple[list, Any, bool]:
    """The loc items that are real keys of ``data`` (union member tags dropped), the value there, found?"""
    parts, node, found = [], data, True
    for item in loc:
        if (
            isinstance(node, dict)
            and item in node
            or isinstance(node, (list, tuple))
            and isinstance(item, int)
            and 0 <= item < len(node)
        ):
            parts.append(item)
            node = node[item]
        elif dataclasses.is_dataclass(node) and not isinstance(node, type) and hasattr(node, str(item)):
            parts.append(item)
            node = getattr(node, str(item))
        elif isinstance(node, BaseModel) and isinstance(item, str) and hasattr(node, item):
            parts.append(item)
            node = getattr(node, item)
        else:
            found = False
    return parts, node, found


def _from_loc(err: Mapping[str, Any]) -> Any:
    """A document holding just the bad value at the error's loc."""
    node: Any = err.get("input")
    for item in reversed(err["loc"]):
        node = [node] * (item + 1) if isinstance(item, int) else {item: node}
    return node


def _unwrap(tp: Any) -> list:
    """The alternatives of a type: ``Annotated[X, ...]`` -> [X]; ``X | None`` -> [X]."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [a for arg in typing.get_args(tp) for a in _unwrap(arg) if a is not type(None)]
    return [tp]


def field_types(tp: Any) -> dict[str, Any] | None:
    """Field name -> annotation of a pydantic model or a dataclass; None for anything else."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return {name: f.annotation for name, f in tp.model_fields.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp, include_extras=True)
        return {f.name: hints.get(f.name) for f in dataclasses.fields(tp)}
    return None


def _type_at(root: Any, parts: list) -> Any:
    """The schema type found by walking ``parts`` down from ``root`` (None when the walk leaves the schema)."""
    tp = root
    for part in parts:
        nxt = None
        for alt in _unwrap(tp):
            fields = field_types(alt)
            origin, args = typing.get_origin(alt), typing.get_args(alt)
            if fields is not None and isinstance(part, str) and part in fields:
                nxt = fields[part]
            elif origin in (list, tuple) and isinstance(part, int) and args:
                nxt = args[0]
            elif origin is dict and len(args) == 2:
                nxt = args[1]
            if nxt is not None:
                break
        if nxt is None:
            return None
        tp = nxt
    return tp


def _allowed_keys(root: Any, parent: list) -> list[str]:
    tp = _type_at(root, parent)
    for alt in _unwrap(tp) if tp is not None else []:
        fields = field_types(alt)
        if fields is not None:
            return sorted(fields)
    return []


def _sentence(err: Mapping[str, Any]) -> str:
    """pydantic's message in micae's words: what the value must be."""
    kind, msg = err["type"], err["msg"]
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind == "assertion_error":
        return msg.removeprefix("Assertion failed, ")
    if kind == "literal_error":
        return f"must be one of {err['ctx']['expected']}"
    if kind in ("dict_type", "model_type", "dataclass_type", "model_attributes_type"):
        return "must be a mapping of key: value pairs"
    if kind in ("list_type", "tuple_type"):
        return "must be a list"
    text = msg.replace("Input should be", "must be").replace("Input", "the value")
    return text[0].lower() + text[1:] if text else kind


def config_error(exc: ValidationError, data: Any, root: Any, *, prefix: str = "", fix: Any = "") -> ConfigError:
    """The first problem of ``exc`` as a ConfigError ``<prefix><key> = <value>: <allowed>``.

    ``fix``: the fix text, or a function of the key path (without ``prefix``) that returns it."""
    err = exc.errors(include_url=False)[0]
    if data is None:  # only the error itself is known (a schema built in Python code): its loc is the path
        data = _from_loc(err)
    parts, value, found = _locate(data, tuple(err["loc"]))
    where = (prefix + key_path(parts)).rstrip(".")
    if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        keys = _allowed_keys(root, parts[:-1])
        section = (prefix + key_path(parts[:-1])).rstrip(".")
        problem = f"{where} = {show(value)}: unknown key; " + (f"{section} takes " if section else "allowed: ")
        problem += ", ".join(keys)
    elif err["type"] in ("missing", "missing_keyword_argument", "missing_argument"):
        name = err["loc"][-1]
        problem = f"{where or 'the file'} = {show(value)}: {name} is missing"
    else:
        if not found:  # the loc ends in a union tag, e.g. a search range that is neither kind
            value = err.get("input", value)
        problem = f"{where or 'the file'} = {show(value)}: {_sentence(err)}"
    return ConfigError(problem, fix(key_path(parts)) if callable(fix) else fix)


def validate(root: Any, data: Any, *, prefix: str = "", fix: Any = "") -> Any:
    """``data`` validated as ``root`` (a pydantic model, a dataclass or any type), or a one-line ConfigError."""
    try:
        if isinstance(root, type) and issubclass(root, BaseModel):
            return root.model_validate(data)
        return TypeAdapter(root).validate_python(data)
    except ValidationError as exc:
        raise config_error(exc, data, root, prefix=prefix, fix=fix) from None
