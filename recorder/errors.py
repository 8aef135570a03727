"""The exception tree of the recorder core.

Library code raises these and never exits; the CLI turns each into one line on
stderr and a non-zero exit status.

    RecorderError
    ├── ConfigError          config.toml cannot be read or holds a bad value
    ├── HomeError            the home directory cannot be created or used
    ├── SessionError         no such session, not recording, already recording
    ├── DaemonError          the daemon cannot be started, reached or stopped
    ├── StoreError           the event log cannot be opened or migrated
    └── SpoolError           a spool file cannot be written (for example a full disk)
"""


class RecorderError(Exception):
    """Base class: a problem the user can act on, reported as one line."""


class ConfigError(RecorderError):
    pass


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


class StoreError(RecorderError):
    pass


class SpoolError(RecorderError):
    pass
