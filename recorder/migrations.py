"""Ordered schema migrations of the event log, each recorded in ``_migrations``.

A database is upgraded in place by applying, in order, every migration not yet
recorded. Append new migrations to ``MIGRATIONS``; never edit an applied one.
``schema_version`` is the number of migrations applied.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Migration = Callable[[object], None]


def m001_initial(con) -> None:
    con.execute(
        """
        CREATE TABLE sessions (
            session_id VARCHAR PRIMARY KEY,
            name VARCHAR,
            researcher_id VARCHAR,
            host VARCHAR,
            started_at TIMESTAMP NOT NULL,
            ended_at TIMESTAMP,
            utc_offset_min INTEGER,
            extra JSON
        )
        """
    )
    con.execute(
        """
        CREATE TABLE events (
            event_id VARCHAR NOT NULL,
            session_id VARCHAR NOT NULL,
            seq BIGINT NOT NULL,
            ts_start TIMESTAMP NOT NULL,
            ts_end TIMESTAMP,
            utc_offset_min INTEGER,
            source VARCHAR NOT NULL,
            event_type VARCHAR NOT NULL,
            cwd VARCHAR,
            command VARCHAR,
            exit_code INTEGER,
            pipestatus INTEGER[],
            duration_ms BIGINT,
            shell VARCHAR,
            shell_pid BIGINT,
            shell_id VARCHAR,
            cmd_seq BIGINT,
            host VARCHAR,
            username VARCHAR,
            tmux_pane VARCHAR,
            output VARCHAR,
            output_truncated BOOLEAN,
            output_bytes BIGINT,
            path VARCHAR,
            repo VARCHAR,
            old_path VARCHAR,
            diff VARCHAR,
            lines_added INTEGER,
            lines_removed INTEGER,
            hash_before VARCHAR,
            hash_after VARCHAR,
            git_branch VARCHAR,
            git_head VARCHAR,
            size_bytes BIGINT,
            text VARCHAR,
            redactions JSON,
            extra JSON,
            ingested_at TIMESTAMP NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE TABLE blobs (
            hash VARCHAR PRIMARY KEY,
            size BIGINT NOT NULL,
            compression VARCHAR NOT NULL,
            data BLOB NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE TABLE spool_offsets (
            file VARCHAR PRIMARY KEY,
            ingested_to BIGINT NOT NULL,
            updated_at TIMESTAMP NOT NULL
        )
        """
    )
    # Command endings and outputs waiting for their command's start to be ingested.
    con.execute("CREATE TABLE pending_lines (file VARCHAR, line VARCHAR, first_seen TIMESTAMP)")


def m002_activity_columns(con) -> None:
    """Columns for the input-activity collector: counts per window, never the keys."""
    for column, sql_type in (
        ("window_title", "VARCHAR"),
        ("key_count", "INTEGER"),
        ("click_count", "INTEGER"),
        ("idle_ms", "BIGINT"),
    ):
        con.execute(f"ALTER TABLE events ADD COLUMN {column} {sql_type}")


MIGRATIONS: list[Migration] = [m001_initial, m002_activity_columns]
SCHEMA_VERSION = len(MIGRATIONS)


def applied(con) -> list[str]:
    con.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)"
    )
    return [row[0] for row in con.execute("SELECT name FROM _migrations ORDER BY name").fetchall()]


def migrate(con, upto: int | None = None) -> list[str]:
    """Apply pending migrations (the first ``upto`` only, when given); return their names."""
    done = set(applied(con))
    ran = []
    for migration in MIGRATIONS[:upto]:
        name = migration.__name__
        if name in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            migration(con)
            con.execute(
                "INSERT INTO _migrations VALUES (?, ?)",
                [name, datetime.now(UTC).replace(tzinfo=None)],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        ran.append(name)
    return ran


def schema_version(con) -> int:
    return len(applied(con))
