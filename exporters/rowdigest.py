"""A digest of exactly the rows an export writes for one session: what an approval binds.

Each table's rows are hashed one by one in the order they are written (DuckDB's 64-bit
``hash`` of the whole row, in C: a twelfth of the time of casting each row to text for an
MD5, which cost a fifth of the export), and the row hashes of each table are folded into
one SHA-256, so the digest depends on the rows alone: not on the file format, the
pages the session was read in, or how the rows were cut into files. The session's
digest is the SHA-256 of the tables' digests, by table name.

It detects rows changed behind an approval's back; it is not a signature (whoever can
rewrite the rows can rewrite the approval too). DuckDB does not promise ``hash`` stays
the same across its versions: after an upgrade that changes it, approvals read "needs
review" (the gate fails closed), never approved for other rows.
"""

from __future__ import annotations

import hashlib


class RowDigest:
    def __init__(self):
        self._tables: dict[str, hashlib._Hash] = {}
        self._rows: dict[str, int] = {}
        self._con = None

    def add(self, name: str, table) -> None:
        if table.num_rows == 0:
            return
        con = self._connection()
        con.register("rows_to_hash", table)
        try:
            hashes = con.execute("SELECT hash(rows_to_hash) AS h FROM rows_to_hash").fetchnumpy()
        finally:
            con.unregister("rows_to_hash")
        digest = self._tables.setdefault(name, hashlib.sha256())
        digest.update(hashes["h"].astype("<u8").tobytes())
        self._rows[name] = self._rows.get(name, 0) + table.num_rows

    def _connection(self):
        if self._con is None:
            import duckdb

            self._con = duckdb.connect()
            # One thread keeps the rows in order; UTC makes timestamps print the same anywhere.
            self._con.execute("SET threads = 1")
            self._con.execute("SET TimeZone = 'UTC'")
        return self._con

    def hexdigest(self) -> str:
        total = hashlib.sha256()
        for name in sorted(self._tables):
            total.update(f"{name}\0{self._rows[name]}\0{self._tables[name].hexdigest()}\n".encode())
        if self._con is not None:
            self._con.close()
            self._con = None
        return total.hexdigest()
