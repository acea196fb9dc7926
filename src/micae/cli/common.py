"""What every micae command shares: quiet TensorFlow, one-line errors, --debug."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable


def quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


def run_cli(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Run ``main``; turn MicaeErrors (and Ctrl-C) into one line and an exit code unless --debug."""
    from micae.errors import MicaeError

    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        return main(argv)
    except MicaeError as exc:
        if debug:
            raise
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: finished outputs are untouched; partial work is in <name>.incomplete/", file=sys.stderr)
        return 130
    except Exception as exc:  # an unexpected bug: say so on one line unless --debug
        if debug:
            raise
        print(
            f"error: internal error {type(exc).__name__}: {exc} (fix: re-run with --debug and report it)",
            file=sys.stderr,
        )
        return 70
