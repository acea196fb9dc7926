"""micae's config schemas (pydantic v2): run configs, synthesize options, sweep, search and findings files.

Each schema field carries its type (what is allowed), its default and its description (the docstring under
it); the command-line options of ``micae train`` and ``micae synth`` and the sweep's ``synth:`` keys are built
from them, so adding an option is adding one field. A bad value is refused before anything runs with one line,
``<key path> = <value>: <what is allowed>`` (:mod:`micae.config.errors`).
"""

from micae.config.base import Schema
from micae.config.errors import config_error, validate
from micae.config.types import Choice, Cli, Flag, Integer, Number, Text

__all__ = ["Choice", "Cli", "Flag", "Integer", "Number", "Schema", "Text", "config_error", "validate"]
