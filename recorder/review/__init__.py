"""The review step: what a researcher changes in recorded data, and signs off on.

    records.py    the change records, defined once
    changes.py    the change records (drop, redact, forget, set a task text, approve)
                  and ``apply_changes``: through the daemon's socket while one runs, else
                  holding the writer lock; one transaction per call
    edits.py      the named write operations (``WRITE_OPS``) a writer runs for them on
                  the event log, and making the change real on disk (blobs, pending
                  lines, quarantine, ``store.compact``)
    approval.py   ``content_hash`` (of exactly the rows the export writes for a session),
                  approvals and ``review_state``; the export gate's checks
    audit.py      the audit table's rows: what was done, when, by which rule; never the
                  secret

The Textual app (``recorder review``) is built on these.
"""
