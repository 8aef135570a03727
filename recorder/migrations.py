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


def m003_review(con) -> None:
    """The review step (``recorder.review``): approvals, the audit of every change made to
    recorded data, and episodes' task texts set afterwards. No table holds a redacted
    secret: the audit names a rule or the keyed-hash id of a literal."""
    con.execute(
        """
        CREATE TABLE approvals (
            session_id VARCHAR NOT NULL,
            researcher_id VARCHAR,
            approved_at TIMESTAMP NOT NULL,
            ruleset_version VARCHAR NOT NULL,
            content_hash VARCHAR NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE TABLE audit (
            done_at TIMESTAMP NOT NULL,
            session_id VARCHAR,
            action VARCHAR NOT NULL,
            target VARCHAR,
            rule VARCHAR,
            rows_affected BIGINT NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE TABLE task_overrides (
            session_id VARCHAR NOT NULL,
            episode_index INTEGER NOT NULL,
            task VARCHAR NOT NULL,
            set_at TIMESTAMP NOT NULL,
            PRIMARY KEY (session_id, episode_index)
        )
        """
    )


def m004_exports(con) -> None:
    """Which approved rows left the machine: a session's content hash per export, so that
    ``recorder prune --exported`` deletes only what was exported as approved."""
    con.execute(
        """
        CREATE TABLE exports (
            session_id VARCHAR NOT NULL,
            content_hash VARCHAR NOT NULL,
            export_id VARCHAR NOT NULL,
            exported_at TIMESTAMP NOT NULL
        )
        """
    )


MIGRATIONS: list[Migration] = [m001_initial, m002_activity_columns, m003_review, m004_exports]
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


def unknown_migrations(con) -> list[str]:
    """Migrations recorded in the log that this code does not have (a newer recorder's).
    Reads only: safe on a read-only connection."""
    tables = "SELECT count(*) FROM duckdb_tables() WHERE table_name = '_migrations'"
    if not con.execute(tables).fetchone()[0]:
        return []
    known = {m.__name__ for m in MIGRATIONS}
    names = [row[0] for row in con.execute("SELECT name FROM _migrations").fetchall()]
    return [name for name in names if name not in known]


def schema_version(con) -> int:
    return len(applied(con))
