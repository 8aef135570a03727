"""The watched roots of a file collector, and how the log names files under them.

The log never holds a root's absolute path (it names the researcher's home and
layout, and redaction at ingest rewrites it: ``/home/ana/proj`` becomes
``~/proj``). Instead each root has a private id, a keyed hash of its absolute
path under the installation's redaction key, and a file is named by that id and
its path relative to the root (path-key encoded, so names that are not UTF-8
survive). Start-up recovery matches manifests and later file events to the roots
being watched by these two values alone, whatever redaction did to ``repo``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

from recorder.collectors.snapshots import decode_path_key, encode_path_key

# (purpose, value) -> a hex id; the redaction engine's ``keyed_id`` in the daemon.
KeyedId = Callable[[str, bytes], str]


def _unkeyed(purpose: str, value: bytes) -> str:
    return hashlib.sha256(purpose.encode() + b"\0" + value).hexdigest()[:32]


class WatchedRoots:
    def __init__(self, roots: list[str], keyed_id: KeyedId | None = None):
        self.roots = sorted(roots, key=len, reverse=True)  # the deepest root owns a path
        keyed = keyed_id or _unkeyed
        self._ids = {root: keyed("watch-root", os.fsencode(root)) for root in self.roots}
        self._by_id = {root_id: root for root, root_id in self._ids.items()}

    def id_of(self, root: str) -> str:
        return self._ids[root]

    def root_of(self, path: str) -> str | None:
        for root in self.roots:
            if path == root or path.startswith(root.rstrip(os.sep) + os.sep):
                return root
        return None

    def name(self, path: str) -> tuple[str, str] | None:
        """(root id, relative path key) of a path under a watched root, else None."""
        root = self.root_of(path)
        if root is None:
            return None
        return self._ids[root], encode_path_key(os.path.relpath(path, root))

    def absolute(self, root_id: str | None, rel: str | None) -> str | None:
        """The path a (root id, relative key) pair names, if that root is watched now."""
        root = self._by_id.get(root_id or "")
        if root is None or rel is None:
            return None
        return os.path.normpath(os.path.join(root, decode_path_key(rel)))
