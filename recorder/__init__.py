"""recorder: researcher-action telemetry for imitation learning."""

__version__ = "0.1.0"
