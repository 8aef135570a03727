"""The per-installation key that makes placeholders stable and unguessable.

``home/secret.key`` holds 32 random bytes, owner-only (0600), created once and
never sent anywhere. Placeholders are keyed by it, so the same secret gets the
same placeholder on this machine while nobody without the key can test a
guess against a placeholder.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from recorder.errors import HomeError

KEY_FILE = "secret.key"
KEY_BYTES = 32


def load_or_create_key(home: Path) -> bytes:
    """The installation's key, created on first use (atomically, safe against races)."""
    home = Path(home)
    path = home / KEY_FILE
    if not path.exists():
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        _create(path)
    return _read(path)


def _create(path: Path) -> None:
    tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(KEY_BYTES))
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # another process created it first
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read(path: Path) -> bytes:
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise HomeError(f"{path} is damaged: expected {KEY_BYTES} bytes, found {len(key)}")
    return key
