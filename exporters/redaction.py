"""Redaction at export time, and the final leak scan of everything written.

Text stored in the log was redacted at ingest with the rules of that day; an
export redacts the text columns again with the rules current now (a rule added
since then still applies to old sessions), then scans every text value it is
about to write. If any rule still matches, the export stops with one error and
leaves nothing behind. The engine is ``recorder.redaction``; it is built the
way the daemon builds it, with the user's rules and literals from config.toml,
but without the personal data read from the machine (login, home directory, host
name, git identity, addresses): those are of whoever runs the export, and an export
depends only on its sessions and settings. The recording daemon hid the recording
person's at ingest; the built-in personal rules (e-mail, addresses, other homes)
still apply.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from recorder.errors import ExportError, LeakFound
from recorder.redact_columns import redact_table

# Event columns that hold free text (``extra`` is JSON text, checked to stay JSON).
# Text columns of the steps table that are verbatim copies of event values the export has
# already verified (found clean by the redaction pass, or scanned): not scanned twice.
STEP_COPIES = (
    "observation.cwd", "observation.repository", "observation.git_head",
    "observation.git_branch", "observation.files_changed[]", "observation.shell_id",
    "action.command", "action.path", "action.old_path", "action.diff",
    "outcome.files_changed[]", "outcome.diffs[].path", "outcome.diffs[].diff",
)  # fmt: skip

EVENT_TEXT_COLUMNS = (
    "command", "output", "diff", "text", "cwd", "path", "old_path", "repo", "window_title",
    "git_branch", "extra",
)  # fmt: skip


def build_export_redactor(lay, config):
    """The redaction engine with the user's rules; an export never runs without one."""
    from recorder.redaction.installed import build_redactor
    from recorder.redaction.personal import PersonalInfo

    redactor = build_redactor(lay, config, personal=PersonalInfo())
    if redactor is None:
        raise ExportError(
            "the redaction engine (recorder.redaction) is not available: nothing is exported "
            "without it"
        )
    return redactor


@dataclass
class RedactionSummary:
    ruleset_version: str
    findings_by_rule: Counter = field(default_factory=Counter)
    findings_by_category: Counter = field(default_factory=Counter)
    rows_with_findings: int = 0
    values_scanned: int = 0

    def as_dict(self) -> dict:
        return {
            "ruleset_version": self.ruleset_version,
            "rows_with_findings": self.rows_with_findings,
            "findings_by_rule": dict(sorted(self.findings_by_rule.items())),
            "findings_by_category": dict(sorted(self.findings_by_category.items())),
            "leak_scan": {"values_scanned": self.values_scanned, "leaks": 0},
        }


class ExportRedaction:
    """Redacts event pages and scans output tables; keeps the summary for the dataset card."""

    def __init__(self, redactor):
        self.redactor = redactor
        self.summary = RedactionSummary(str(getattr(redactor, "ruleset_version", "unknown")))

    def redact_events(self, page):
        """``page`` with its text columns redacted and ``redactions`` updated."""
        table = redact_table(self.redactor, page, EVENT_TEXT_COLUMNS)
        table = _keep_json(table, "extra")
        self._count(table.column("redactions"))
        return table

    def redact_text(self, text: str | None) -> str | None:
        if not text:
            return text
        (result,) = self.redactor.redact_many([text])
        return text if result is None else result.text

    def _count(self, column) -> None:
        import pyarrow.compute as pc

        present = pc.drop_null(column)
        if len(present) == 0:
            return
        for value in present.to_pylist():
            findings = json.loads(value)
            if not findings:
                continue
            self.summary.rows_with_findings += 1
            for items in findings.values():
                for item in items:
                    self.summary.findings_by_rule[item.get("rule", "?")] += 1
                    self.summary.findings_by_category[item.get("category", "?")] += 1

    # -- leak scan --------------------------------------------------------------------------

    def scan(self, table_name: str, table, skip=(), rows=None, distinct=None) -> None:
        """Raise ExportError if any redaction rule matches a text value of ``table``.

        ``skip`` names column paths that are verbatim copies of values already verified;
        ``rows`` maps a column to a boolean mask of the rows to scan (the others were just
        found clean by the redaction pass, which runs the same matcher on the same text);
        ``distinct`` maps a column path to an array holding exactly the strings of that
        column, each at least once, in order of first appearance (``steps_table`` gives
        them), which saves finding the distinct values of a large flattened column.
        """
        for column, values in _text_values(table, set(skip), rows or {}, distinct or {}):
            self.scan_values(f"{table_name}.{column}", values)

    def scan_values(self, where: str, values: list[str]) -> None:
        """``scan`` of the distinct strings ``values`` of the column ``where``."""
        # The engine's batch pass finds the few values any rule may match; each of those
        # then gets the engine's own verdict.
        dirty = self.redactor.redact_dirty(values)
        suspects = [values[k] for k, result in dirty.items() if result.findings]
        for value in suspects:
            try:
                self.redactor.check_no_leaks(value)
            except LeakFound as exc:
                raise ExportError(
                    f"export stopped: a redaction rule still matches text in {where} ({exc}); "
                    f"nothing was written"
                ) from None
        self.summary.values_scanned += len(values)

    def changed_rows(self, original, table) -> dict:
        """Per text column of an events table: the rows whose value differs from the log's
        (redacted now, or cut to the output cap). Only those need the leak scan."""
        import pyarrow.compute as pc

        masks = {}
        for name in EVENT_TEXT_COLUMNS:
            before, after = original.column(name), table.column(name)
            same = pc.or_kleene(
                pc.equal(before, after), pc.and_(pc.is_null(before), pc.is_null(after))
            )
            masks[name] = pc.invert(pc.fill_null(same, False))
        return masks


def _text_values(table, skip: set[str], rows: dict, distinct: dict):
    """(column path, distinct non-null strings) for every string leaf of ``table``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def leaves(name, array):
        if name in skip:
            return
        if name in distinct:
            array = distinct[name]
        kind = array.type
        if pa.types.is_struct(kind):
            for i in range(kind.num_fields):
                yield from leaves(f"{name}.{kind.field(i).name}", array.field(i))
        elif pa.types.is_list(kind):
            yield from leaves(f"{name}[]", array.flatten())
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            yield name, array

    for name in table.column_names:
        column = table.column(name)
        if name in rows:
            column = column.filter(rows[name])
        for chunk in column.chunks:
            for path, array in leaves(name, chunk):
                values = pc.drop_null(pc.unique(array)).to_pylist()
                if values:
                    yield path, values


def _keep_json(table, column: str):
    """Values of a JSON column that redaction changed and left unparsable become a JSON
    object ``{"redacted_text": ...}``. Only rows whose ``redactions`` name the column changed."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if column not in table.column_names:
        return table
    touched = pc.fill_null(pc.match_substring(table.column("redactions"), f'"{column}":'), False)
    if not pc.any(touched).as_py():
        return table
    values = table.column(column).to_pylist()
    for i in pc.indices_nonzero(touched).to_pylist():
        value = values[i]
        if value is None:
            continue
        try:
            json.loads(value)
        except ValueError:
            values[i] = json.dumps({"redacted_text": value})
    index = table.column_names.index(column)
    return table.set_column(index, column, pa.array(values, pa.string()))
