"""The base of micae's config schemas: unknown keys refused, a description per field, one-line errors."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from micae.config.errors import config_error

SCHEMA_CONFIG = ConfigDict(extra="forbid", use_attribute_docstrings=True, validate_assignment=False)
"""Every schema: unknown keys are errors; the docstring under a field is its description (help, docs)."""


class Schema(BaseModel):
    """A config section. :meth:`parse` raises a one-line ConfigError naming the key path; ``Schema(**values)``
    raises pydantic's ValidationError (a ValueError), which the CLIs also print as one line."""

    model_config = SCHEMA_CONFIG

    @classmethod
    def parse(cls, data: Any, *, prefix: str = "", fix: Any = "") -> Self:
        """``data`` (a mapping) validated; a bad value is a ConfigError ``<prefix><key> = <value>: <allowed>``."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise config_error(exc, data, cls, prefix=prefix, fix=fix) from None

    def given(self) -> dict:
        """The fields set explicitly (not left at their defaults), as plain values."""
        return {k: v for k, v in self.model_dump().items() if k in self.model_fields_set}
