"""Walking a directory tree without recursion, and without following symlinks.

``os.walk`` recurses once per level in Python 3.11, so a tree 1,000 levels deep
raises RecursionError in whatever thread walks it (it stopped the file collector).
:func:`walk_tree` keeps its own stack instead. Like ``os.walk`` top-down, it yields
``(directory, dirnames, filenames)`` and the caller may prune by editing ``dirnames``
in place. A symlink is never entered: it is listed in ``filenames``, whatever it
points to.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

Walked = tuple[str, list[str], list[str]]


def walk_tree(
    top: str | bytes, onerror: Callable[[OSError], None] | None = None
) -> Iterator[Walked]:
    """Top-down walk of ``top``, depth first, entering real directories only."""
    stack = [top]
    while stack:
        directory = stack.pop()
        try:
            dirnames, filenames = _list(directory)
        except OSError as exc:
            if onerror is not None:
                onerror(exc)
            continue
        yield directory, dirnames, filenames
        stack.extend(os.path.join(directory, name) for name in reversed(dirnames))


def _list(directory):
    dirnames, filenames = [], []
    with os.scandir(directory) as entries:
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            (dirnames if is_dir else filenames).append(entry.name)
    return dirnames, filenames
