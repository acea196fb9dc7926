"""What every micae command shares: quiet TensorFlow, one-line errors, --debug."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

DEBUG_HELP = "show tracebacks instead of one-line errors (also: micae --debug COMMAND ...)"


def quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


def add_debug(p: argparse.ArgumentParser) -> None:
    """``--debug`` after the command too (``micae train --debug``); ``micae --debug train`` is the main form."""
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)


def version_text() -> str:
    from micae import __version__

    return f"micae {__version__}"


def run_cli(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Run ``main``; turn MicaeErrors (and Ctrl-C) into one line and an exit code unless --debug."""
    from micae.errors import MicaeError

    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    from micae.tools import tools_die_with_us

    try:
        with tools_die_with_us():  # a killed micae leaves no yosys/nextpnr/Verilator behind
            return main(argv)
    except MicaeError as exc:
        if debug:
            raise
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    except ValueError as exc:  # a schema built in Python code (not from a file or the command line) refused a value
        from pydantic import ValidationError

        if debug or not isinstance(exc, ValidationError):
            return _internal(exc, debug)
        from micae.config.errors import config_error

        err = config_error(exc, None, None)
        print(f"error: {err.one_line()}", file=sys.stderr)
        return err.exit_code
    except BrokenPipeError:  # the reader of stdout went away (micae ... | head): stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print("interrupted: finished outputs are untouched; partial work is in <name>.incomplete/", file=sys.stderr)
        return 130
    except Exception as exc:  # an unexpected bug: say so on one line unless --debug
        return _internal(exc, debug)


def _internal(exc: Exception, debug: bool) -> int:
    if debug:
        raise exc
    text = " ".join(str(exc).split())
    print(
        f"error: internal error {type(exc).__name__}: {text} (fix: re-run with --debug and report it)", file=sys.stderr
    )
    return 70
