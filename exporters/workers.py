"""Worker processes that export sessions in parallel, one session at a time each.

A worker is ``python -m exporters.workers``: a plain child process (no
multiprocessing start-method pitfalls, whatever script or notebook calls the
export). It reads jobs (:class:`exporters.jobs.SessionJob`) from stdin and
answers on stdout, each message a length-prefixed pickle: ``("progress", n)``
after each page, then ``("done", SessionOutput)`` or ``("error", exception)``.
In the parent, one thread per worker hands out jobs from a shared queue.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable

from recorder.errors import ExportError
from recorder.nopandas import keep_pandas_out

_HEADER = struct.Struct(">Q")


def send(stream, message) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def receive(stream):
    """The next message, or None at end of stream."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)


def run_in_workers(jobs: list, workers: int, advance: Callable[[int], None]) -> list:
    """Run ``jobs`` in ``workers`` child processes; their outputs, in job order."""
    todo: queue.Queue = queue.Queue()
    for job in jobs:
        todo.put(job)
    results: dict[int, object] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def progress(n: int) -> None:
        with lock:
            advance(n)

    threads = [
        threading.Thread(target=_drive, args=(todo, results, errors, progress), daemon=True)
        for _ in range(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [results[job.ordinal] for job in jobs]


def _drive(todo: queue.Queue, results: dict, errors: list, progress) -> None:
    """Feed one worker process jobs until none are left or something failed."""
    with tempfile.TemporaryFile() as stderr:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # holds exporters/
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}
        proc = subprocess.Popen(
            [sys.executable, "-m", "exporters.workers"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env,
        )  # fmt: skip
        try:
            while not errors:
                try:
                    job = todo.get_nowait()
                except queue.Empty:
                    break
                send(proc.stdin, job)
                results[job.ordinal] = _await(proc, progress, stderr)
        except BaseException as exc:
            errors.append(exc)
        finally:
            _stop(proc)


def _await(proc, progress, stderr):
    while True:
        message = receive(proc.stdout)
        if message is None:
            stderr.seek(0)
            tail = stderr.read().decode(errors="replace").strip().splitlines()[-1:]
            raise ExportError(f"an export worker died: {tail[0] if tail else 'no message'}")
        kind, value = message
        if kind == "progress":
            progress(value)
        elif kind == "done":
            return value
        else:
            raise value


def _stop(proc) -> None:
    with contextlib.suppress(OSError):
        proc.stdin.close()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> int:
    """The worker's loop: a job in, progress and one answer out, until stdin closes."""
    keep_pandas_out()  # half a second of each worker's start (see recorder.nopandas)
    from exporters.session import run_job

    stdin = sys.stdin.buffer
    # Messages go to the real stdout; anything a library prints goes to stderr instead.
    stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    while True:
        job = receive(stdin)
        if job is None:
            return 0
        try:
            output = run_job(job, lambda n: send(stdout, ("progress", n)))
        except Exception as exc:
            send(stdout, ("error", exc))
        else:
            send(stdout, ("done", output))


if __name__ == "__main__":
    sys.exit(main())
