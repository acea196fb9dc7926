"""``python -m micae`` is the ``micae`` command."""

from micae.cli.main import entry

raise SystemExit(entry())
