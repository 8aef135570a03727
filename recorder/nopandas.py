"""Keeping pandas out of the recorder's own processes (the CLI, the daemon, export workers).

The recorder never hands pyarrow a pandas object, but pyarrow imports pandas, when it is
installed, the first time it converts Python values (``pa.array``, ``pa.scalar``,
``pa.table``), to ask whether they are pandas objects: about 0.3 s of CPU at the first
ingest of every daemon and in every command that builds a table. When ``import pandas``
fails, pyarrow knows that none is. Installed only at a process's entry point, never on
import, so a program that imports the recorder as a library keeps its pandas.
"""

from __future__ import annotations

import sys


class _NoPandas:
    """An import finder that fails ``import pandas`` (and its submodules)."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] == "pandas":
            raise ImportError("the recorder's processes do not use pandas")
        return None


def keep_pandas_out() -> None:
    """Make ``import pandas`` fail in this process from now on (unless it already ran)."""
    if "pandas" not in sys.modules and _NoPandas not in sys.meta_path:
        sys.meta_path.insert(0, _NoPandas)
