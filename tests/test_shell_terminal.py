"""The pane-stream parser: OSC 133 marks, escape stripping, rewrites, capping, full screen."""

from __future__ import annotations

import pytest

from recorder.collectors.terminal import PaneStream


def _c(n: int, sid: str = "7-1") -> bytes:
    return b"\x1b]133;C;recorder=%s:%d\x07" % (sid.encode(), n)


def _d(n: int, exit_: int = 0, sid: str = "7-1", cmd: str = "x") -> bytes:
    return b"\x1b]133;D;%d;recorder=%s:%d;cmd=%s\x1b\\" % (exit_, sid.encode(), n, cmd.encode())


STREAM = (
    b"READY> echo hi\r\n" + _c(1) + b"hi \x1b[1;31mred\x1b[0m\r\n"
    b"\x1b]0;window title\x07tab\there\r\n"
    b"10%\r50%\r100%\r\n"
    b"typo\x08\x08\x08\x08fixed\r\n"
    + _d(1)
    + b"READY> vim f\r\n"
    + _c(2)
    + b"\x1b[?1049h\x1b[2J\x1b[Hscreen junk ~\r\n~\r\n\x1b[?1049l"
    + _d(2, cmd="vim")
    + b"READY>  secret\r\n"
    + _c(3)
    + b"not recorded: no D mark\r\n"
    + b"READY> x\r\n"
    + _c(4)
    + b"four\n"
    + _d(4, 1)
)


@pytest.mark.parametrize("chunk", [1, 2, 5, 13, len(STREAM)])
def test_marks_cut_the_stream_into_commands_whatever_the_chunking(chunk):
    stream = PaneStream(65536)
    outputs = []
    for i in range(0, len(STREAM), chunk):
        outputs += stream.feed(STREAM[i : i + chunk])
    assert [(o.shell_id, o.n) for o in outputs] == [("7-1", 1), ("7-1", 2), ("7-1", 4)]
    first, screen, fourth = outputs
    assert first.output == "hi red\ntab\there\n100%\nfixed\n"
    assert first.extra == {} and first.truncated is False
    assert first.output_bytes == len(first.output)
    assert screen.output == "" and screen.extra == {"fullscreen": "vim"}
    assert fourth.output == "four\n"


def test_output_is_capped_keeping_head_and_tail():
    stream = PaneStream(1000)
    body = b"".join(b"line %05d\n" % i for i in range(5000))
    (out,) = stream.feed(_c(1) + body + _d(1))
    assert out.truncated is True
    assert out.output_bytes == len(body)
    assert len(out.output.encode()) <= 1000
    assert out.output.startswith("line 00000\nline 00001\n")
    assert out.output.endswith("line 04998\nline 04999\n")
    assert "bytes omitted" in out.output


def test_foreign_osc133_marks_and_unmatched_ends_are_ignored():
    stream = PaneStream(100)
    data = b"\x1b]133;A\x07\x1b]133;C\x07" + _d(5) + _c(6) + b"x\n" + _d(7) + _d(6)
    (out,) = stream.feed(data)
    assert (out.n, out.output) == (6, "x\n")


def test_invalid_utf8_is_kept_visible_and_nul_holes_are_skipped():
    stream = PaneStream(100)
    (out,) = stream.feed(b"\x00\x00" + _c(1) + b"caf\xe9\n\x00" + _d(1))
    assert out.output == "caf\\xe9\n"
