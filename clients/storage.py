"""The disk seam under a device's store.

Every byte a client keeps goes through a `Storage`, so the harness can make a write fail with an
I/O error or a full disk, or crash the device and lose whatever was written but not yet flushed
(what LazyFS does to real databases). `DiskStorage` is the production path; `FaultyStorage` wraps
it with those faults.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Callable

FAULTS = {"EIO": errno.EIO, "ENOSPC": errno.ENOSPC}


class DiskStorage:
    """Real files; `fsync` makes a file's current bytes (and a rename) durable."""

    def read(self, path: str) -> bytes | None:
        try:
            return Path(path).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, path: str, data: bytes) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)

    def fsync(self, path: str) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def rename(self, src: str, dst: str) -> None:
        os.replace(src, dst)

    def fsync_dir(self, path: str) -> None:
        self.fsync(str(Path(path).parent))

    def remove(self, path: str) -> None:
        Path(path).unlink(missing_ok=True)


class FaultyStorage(DiskStorage):
    """DiskStorage with injectable faults.

    fail_next(fault, op): the next `op` ("write", "fsync", "rename") raises OSError(fault).
    lose_unflushed(): what a power cut does: every file goes back to its last durable bytes, a
    rename not followed by fsync_dir is undone. Durability is tracked per path from first touch.
    """

    def __init__(self) -> None:
        self._durable: dict[str, bytes | None] = {}
        self._pending: dict[str, str] = {}
        self._armed: dict[str, int] = {}
        self.on_write: Callable[[str, bytes], None] | None = None

    def fail_next(self, fault: str | int, op: str = "write") -> None:
        if op not in ("write", "fsync", "rename"):
            raise ValueError(f"unknown storage operation {op!r}: use write, fsync or rename")
        code = FAULTS.get(fault, fault) if isinstance(fault, str) else fault
        if not isinstance(code, int):
            raise ValueError(f"unknown fault {fault!r}: use one of {sorted(FAULTS)} or an errno")
        self._armed[op] = code

    def _maybe_fail(self, op: str, path: str) -> None:
        code = self._armed.pop(op, None)
        if code is not None:
            raise OSError(code, os.strerror(code), path)

    def _remember(self, path: str) -> None:
        if path not in self._durable:
            self._durable[path] = super().read(path)

    def write(self, path: str, data: bytes) -> None:
        self._remember(path)
        self._maybe_fail("write", path)
        super().write(path, data)

    def fsync(self, path: str) -> None:
        self._maybe_fail("fsync", path)
        self._durable[path] = super().read(path)

    def rename(self, src: str, dst: str) -> None:
        self._remember(src)
        self._remember(dst)
        self._maybe_fail("rename", dst)
        super().rename(src, dst)
        self._pending[dst] = src

    def fsync_dir(self, path: str) -> None:
        # A directory fsync makes renames into it durable: the new name now owns the bytes.
        for dst, src in list(self._pending.items()):
            self._durable[dst] = self._durable.pop(src, None)
            self._durable[src] = None
            del self._pending[dst]

    def lose_unflushed(self) -> None:
        for dst, src in self._pending.items():
            self._durable.setdefault(src, None)
        self._pending.clear()
        for path, data in self._durable.items():
            self._restore(path, data)

    def _restore(self, path: str, data: bytes | None) -> None:
        if data is None:
            Path(path).unlink(missing_ok=True)
        else:
            DiskStorage.write(self, path, data)
