"""User-facing errors.

Every error a user can cause carries two parts: what is wrong and how to fix it.
CLIs print ``error: <problem> (fix: <fix>)`` on one line and exit non-zero;
the traceback is shown only with ``--debug``.
"""

from __future__ import annotations


class MicaeError(Exception):
    """An error caused by input the user can change."""

    exit_code = 2

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(self.one_line())

    def one_line(self) -> str:
        return f"{self.problem} (fix: {self.fix})" if self.fix else self.problem


class DataError(MicaeError):
    """Malformed, empty or non-finite input data."""


class ConfigError(MicaeError):
    """An invalid option, config file value or output location."""


class ConstraintError(MicaeError):
    """A model that breaks a hardware constraint (compression, shape, quantizers)."""


class UnsafeModelError(MicaeError):
    """A model file that carries code or layers micae will not load."""


class ToolError(MicaeError):
    """An external tool (g++, iverilog, yosys, vendor HLS) is missing, crashed or hung."""

    exit_code = 3


class VerificationError(MicaeError):
    """Hardware and Python disagree on at least one latent value."""

    exit_code = 1


class TimingError(MicaeError):
    """The hardware did not meet the requested clock and the user required it (``--require-timing``)."""

    exit_code = 4
