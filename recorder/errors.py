"""Every exception the recorder raises on purpose, in one tree.

Library code raises these and never exits; the CLI (``recorder.cli``) turns
each into one line on stderr and a non-zero exit status, in one place.

    RecorderError               a problem the user can act on, reported as one line
    ├── ConfigError             config.toml cannot be read or holds a bad value
    │   └── RuleError           a redaction literal or rule is malformed
    ├── HomeError               the home directory (or a watched tree) cannot be used
    ├── SessionError            a session cannot be found or is in the wrong state
    │   ├── NotRecording        no session records
    │   ├── AlreadyRecording    a session records already
    │   └── UnknownSession      no session (or more than one) matches a reference
    ├── DaemonError             the daemon cannot be started, reached or stopped
    │   ├── DaemonUnavailable   no daemon answers on the socket
    │   └── RequestRefused      the daemon refused a request (unknown operation, bad fields)
    ├── StoreError              the event log cannot be opened, migrated or read
    ├── SpoolError              a spool file cannot be written (for example a full disk)
    ├── UsageError              an argument is out of range (a negative limit, a bad date)
    ├── ExportError             an export cannot be made (selection, output directory)
    │   └── LeakFound           the final scan found text a rule still matches
    └── NotAFile                a path is absent, a symlink, not regular, or unreadable

``NotAFile`` is raised and caught inside the file collector; it never reaches
the CLI but is a ``RecorderError`` so that no code needs a bare ``Exception``.
"""

from __future__ import annotations

from collections.abc import Iterable


class RecorderError(Exception):
    """Base class: a problem the user can act on, reported as one line."""


class ConfigError(RecorderError):
    pass


class RuleError(ConfigError):
    """A redaction literal or rule (config.toml or the command line) is malformed."""


class HomeError(RecorderError):
    pass


class SessionError(RecorderError):
    pass


class NotRecording(SessionError):
    pass


class AlreadyRecording(SessionError):
    pass


class UnknownSession(SessionError):
    pass


class DaemonError(RecorderError):
    pass


class DaemonUnavailable(DaemonError):
    """No daemon answers on the socket."""


class RequestRefused(DaemonError):
    """The daemon answered, but refused the request."""


class StoreError(RecorderError):
    pass


class SpoolError(RecorderError):
    pass


class UsageError(RecorderError):
    """An argument a core function was given is out of its range."""


class ExportError(RecorderError):
    """An export cannot be made (bad selection, output directory, leak found)."""


class LeakFound(ExportError):
    """A rule still matches text that should already be redacted.

    The message names rules, never the matched values.
    """

    def __init__(self, rules: Iterable[str], count: int = 0):
        self.rules = tuple(sorted(set(rules)))
        self.count = count or len(self.rules)
        super().__init__(
            f"leak scan failed: {self.count} finding(s) from rule(s) {', '.join(self.rules)}"
        )


class NotAFile(RecorderError):
    """The path is absent, not a regular file, a symlink, or unreadable."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
