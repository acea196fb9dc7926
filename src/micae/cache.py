"""Tool results cached by the hash of their inputs (yosys, Verilator builds, place-and-route), with a size limit.

Where: ``$MICAE_CACHE`` (a folder; ``off`` disables the cache), else ``$MICAE_CACHE_DIR`` (the older name),
else ``$XDG_CACHE_HOME/micae``, else ``~/.cache/micae``. Each kind of result has its own folder
(``yosys-sta/``, ``pnr/``, ``verilator/``) of entries named by a key: the SHA-256 of everything the tool
reads (Verilog text, tool version, options, script). An entry is a folder written under a temporary name
and renamed into place, so a reader never sees half of one; its ``used`` stamp is touched on every hit.

Eviction: after every store, while the whole cache is larger than ``$MICAE_CACHE_MB`` (default 2048 MB),
the least recently used entries of every kind are deleted. A hit returns the stored files and when and in
how many seconds they were made, so the report can say the numbers came from the cache (``CacheUse``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from micae.errors import ConfigError

ENV_DIR = "MICAE_CACHE"
ENV_LEGACY_DIR = "MICAE_CACHE_DIR"
ENV_LIMIT_MB = "MICAE_CACHE_MB"
DEFAULT_LIMIT_MB = 2048
OFF = ("off", "0", "none", "false")
STAMP = "used"
META = "cache.json"


def cache_root() -> Path | None:
    """The cache folder, or None when ``MICAE_CACHE=off``."""
    chosen = os.environ.get(ENV_DIR, "").strip()
    if chosen.lower() in OFF:
        return None
    if chosen:
        return Path(chosen).expanduser()
    legacy = os.environ.get(ENV_LEGACY_DIR, "").strip()
    if legacy:
        return Path(legacy).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".cache") / "micae"


def limit_bytes() -> int:
    raw = os.environ.get(ENV_LIMIT_MB, "").strip()
    if not raw:
        return DEFAULT_LIMIT_MB << 20
    try:
        mb = float(raw)
    except ValueError:
        raise ConfigError(f"{ENV_LIMIT_MB}={raw!r} is not a number", f"set {ENV_LIMIT_MB} to a size in MB") from None
    if mb < 0:
        raise ConfigError(f"{ENV_LIMIT_MB}={raw!r} is negative", f"set {ENV_LIMIT_MB} to a size in MB (0: keep none)")
    return int(mb * (1 << 20))


def input_key(*parts: str | bytes) -> str:
    """SHA-256 of the parts, each length-prefixed (so no two part lists give the same bytes)."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(f"{len(data)}:".encode() + data)
    return h.hexdigest()[:32]


@dataclass(frozen=True)
class Hit:
    """A cached entry: its folder (read its files) and how it was made."""

    path: Path
    key: str
    stored: str
    """when the result was made (UTC, ISO 8601)"""
    seconds: float | None
    """how long the tool took then"""

    def describe(self, kind: str) -> dict:
        return {"hit": True, "kind": kind, "key": self.key, "stored": self.stored, "tool_seconds": self.seconds}


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


class ToolCache:
    """One kind of cached tool result under :func:`cache_root` (``root`` for tests)."""

    def __init__(self, kind: str, root: Path | None = None, limit: int | None = None) -> None:
        self.kind = kind
        self.base = root if root is not None else cache_root()
        self.limit = limit_bytes() if limit is None else limit

    @property
    def enabled(self) -> bool:
        return self.base is not None

    @property
    def folder(self) -> Path:
        if self.base is None:
            raise RuntimeError("the cache is off (MICAE_CACHE=off)")
        return self.base / self.kind

    def get(self, key: str) -> Hit | None:
        """The entry for ``key`` (its ``used`` stamp touched), or None."""
        if self.base is None:
            return None
        entry = self.folder / key
        meta_file = entry / META
        if not meta_file.is_file():
            return None
        try:
            meta = json.loads(meta_file.read_text())
            (entry / STAMP).touch()
        except (OSError, ValueError):  # evicted or damaged between the check and the read
            return None
        return Hit(entry, key, meta.get("stored", "?"), meta.get("seconds"))

    def put(self, key: str, files: dict[str, str | bytes | Path], seconds: float | None = None) -> Path | None:
        """Store ``files`` (name -> text, bytes or a file to copy) as the entry ``key``; evict; its folder."""
        if self.base is None:
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=self.folder))
        for name, content in files.items():
            target = staged / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copyfile(content, target)
            elif isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        stored = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        (staged / META).write_text(json.dumps({"stored": stored, "seconds": seconds, "kind": self.kind}))
        (staged / STAMP).touch()
        final = self.folder / key
        try:
            os.replace(staged, final)
        except OSError:  # another run stored the same key first: keep theirs
            shutil.rmtree(staged, ignore_errors=True)
        evict(self.base, self.limit)
        return final if final.exists() else None


def entries(root: Path) -> list[tuple[float, int, Path]]:
    """Every finished entry under ``root``: (last use, bytes, folder)."""
    out = []
    for kind in root.iterdir() if root.is_dir() else []:
        if not kind.is_dir():
            continue
        for entry in kind.iterdir():
            stamp = entry / STAMP
            if entry.is_dir() and not entry.name.startswith(".") and stamp.is_file():
                try:
                    out.append((stamp.stat().st_mtime, _size(entry), entry))
                except OSError:  # removed meanwhile
                    continue
    return out


def evict(root: Path, limit: int) -> list[Path]:
    """Delete the least recently used entries until the cache holds at most ``limit`` bytes; returns them."""
    found = sorted(entries(root))
    total = sum(size for _, size, _ in found)
    removed = []
    for _, size, entry in found:
        if total <= limit:
            break
        shutil.rmtree(entry, ignore_errors=True)
        total -= size
        removed.append(entry)
    return removed
