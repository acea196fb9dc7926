"""The base of micae's result files: typed, versioned, one loader each, one migration each.

Every file micae writes for another program to read (report.json, rtl.json, metrics.json, evaluation.json,
a sweep's rows) is a pydantic model with a ``schema_version``. Its loader is :func:`load_result`: it reads
the JSON, sends a file of an older version (or one written before versions existed, version 0) through the
file kind's one migration function, validates the result, and refuses anything else with one line naming
the file, its version and the command that writes it again.

Conventions of the models (:class:`ResultModel`):

- unknown keys are errors (a typo in a writer fails its tests, not a reader years later);
- a field typed :data:`Maybe` is written only when the writer set it (``None`` included), so a file keeps
  exactly the keys it had when it is read and written again; every other field is always written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ClassVar, Self, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_serializer, model_validator

from micae.errors import DataError

T = TypeVar("T")


class _Optional:
    """Marks a field that is written only when set (see the module docstring)."""

    def __repr__(self) -> str:
        return "OPTIONAL"


OPTIONAL = _Optional()
Maybe = Annotated[T | None, OPTIONAL]
"""A field that is absent from the file unless the writer set it."""


class ResultModel(BaseModel):
    """A typed section of a result file."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, use_attribute_docstrings=True, ser_json_inf_nan="constants"
    )
    _optional: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._optional = frozenset(
            name for name, info in cls.model_fields.items() if any(m is OPTIONAL for m in info.metadata)
        )

    @model_serializer(mode="wrap")
    def _written(self, handler: Callable[[Any], dict]) -> dict:
        data = handler(self)
        if not isinstance(data, dict):
            return data
        for name in self._optional - self.model_fields_set:
            info = type(self).model_fields[name]
            data.pop(info.serialization_alias or info.alias or name, None)
        return data

    def to_json(self) -> dict:
        """The plain JSON value of this model (what the file holds)."""
        return self.model_dump(mode="json", by_alias=True)


def plain(value: Any) -> Any:
    """Plain JSON values from numpy scalars, arrays, tuples and paths."""
    from micae.jsonable import jsonable

    return jsonable(value)


Plain = Annotated[Any, BeforeValidator(plain)]
"""A value kept as plain JSON (a tool's own detail micae does not read)."""


class OpenModel(ResultModel):
    """A section whose writer (a stage kind, a delay model) may add keys of its own: they are kept as plain
    JSON; the keys micae reads are typed fields."""

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: (v if k in cls.model_fields else plain(v)) for k, v in data.items()}
        return data


class ResultFile(ResultModel):
    """A whole result file: its schema version comes first."""

    schema_version: int


Migration = Callable[[dict, int], dict]
"""``migrate(raw, version) -> raw`` in the current version (raises ValueError for what it cannot carry over)."""


def read_json(path: Path, *, fix: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise DataError(f"{path} does not exist", fix) from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} is not valid JSON ({exc})", fix) from None


def first_error(exc: ValidationError) -> str:
    """pydantic's first problem as ``key.path: message``."""
    err = exc.errors()[0]
    where = ""
    for part in err["loc"]:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return f"{where or 'the file'}: {err['msg']}"


def one_line(exc: Exception) -> str:
    return first_error(exc) if isinstance(exc, ValidationError) else " ".join(str(exc).split())


def load_result(
    path: str | Path,
    model: type[ResultFile],
    *,
    version: int,
    migrate: Migration | None,
    fix: str,
    raw: Any = None,
    file_name: str | None = None,
) -> Any:
    """Read ``path`` as ``model`` (version ``version``); an older file goes through ``migrate`` once.

    ``fix`` is the command that writes the file again (named in every refusal). ``raw`` is the file's JSON
    when the caller already has it (it is still named ``path`` in messages). With ``file_name``, a folder
    means the file of that name inside it (a run folder for metrics.json, a firmware folder for report.json).
    """
    path = Path(path)
    if file_name is not None and path.is_dir():
        path = path / file_name
    data = read_json(path, fix=fix) if raw is None else raw
    if not isinstance(data, dict):
        raise DataError(f"{path} holds a JSON {type(data).__name__}, not an object", fix)
    found = data.get("schema_version", 0)
    if not isinstance(found, int) or isinstance(found, bool) or found < 0:
        raise DataError(f"{path} has schema_version {found!r}, not a version number", fix)
    if found > version:
        raise DataError(
            f"{path} has schema_version {found}, newer than this micae reads ({version})",
            f"upgrade micae, or {fix} with this micae",
        )
    if found < version:
        if migrate is None:
            raise DataError(f"{path} has schema_version {found}; this micae reads version {version}", fix)
        try:
            data = migrate(dict(data), found)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(
                f"{path} (schema_version {found}, written by an older micae) cannot be carried over to version "
                f"{version}: {one_line(exc)}",
                fix,
            ) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        written = "written by an older micae, " if found < version else ""
        raise DataError(
            f"{path} (schema_version {found}, {written}read as version {version}) is not a valid "
            f"{model.__name__}: {first_error(exc)}",
            fix,
        ) from None


def dump_json(model: ResultModel) -> str:
    return json.dumps(model.to_json(), indent=2) + "\n"


def write_result(path: str | Path, model: ResultModel) -> Path:
    """Write ``model`` as JSON (through a temporary file: an interrupted write never leaves half a file)."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(dump_json(model))
    tmp.replace(path)
    return path


ModelT = TypeVar("ModelT", bound=ResultModel)


def copy_with(model: ModelT, **changes: Any) -> ModelT:
    """A copy with ``changes`` set (and counted as set, so they are written)."""
    return model.model_copy(update=changes)


__all__ = [
    "Maybe",
    "OpenModel",
    "Plain",
    "ResultFile",
    "ResultModel",
    "Self",
    "copy_with",
    "dump_json",
    "first_error",
    "load_result",
    "read_json",
    "write_result",
]
