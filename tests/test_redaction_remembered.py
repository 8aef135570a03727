"""Known values remembered across runs as keyed hashes (recorder/redaction/remembered.py)."""

from __future__ import annotations

from redactkit import KEY

from recorder.redaction import Redactor
from recorder.redaction import remembered as R
from recorder.redaction.remembered import RememberedValues

VALUE = "Xk7qP2v9LmZwR4"


def engine(path) -> Redactor:
    return Redactor(KEY, personal=False, remembered=RememberedValues(path, KEY))


def test_a_later_engine_finds_the_value_bare_in_tokens_and_pieces(tmp_path):
    path = tmp_path / R.FILE
    first = engine(path).redact(f"export DB_PASSWORD={VALUE}").findings[0].placeholder
    assert VALUE.encode() not in path.read_bytes() and len(path.read_text().splitlines()) == 1
    later = engine(path)
    for text in (VALUE, f'{{"pw": "{VALUE}"}}', f"user:{VALUE}@host", f"it was {VALUE}."):
        assert later.redact(text).text == text.replace(VALUE, first)
    # The same value learned again is not written twice.
    later.redact(f"export DB_PASSWORD={VALUE}")
    assert len(path.read_text().splitlines()) == 1


def test_a_line_cut_short_is_skipped_and_the_file_keeps_its_newest_lines(tmp_path, monkeypatch):
    path = tmp_path / R.FILE
    engine(path).redact(f"export DB_PASSWORD={VALUE}")
    with path.open("a") as fh:
        fh.write("00ff\t1")  # a crash in the middle of a line
    assert engine(path).redact(VALUE).text.startswith("<SECRET:")
    engine(path).redact("export DB_PASSWORD=AfterTheCrash42")  # on a line of its own
    assert engine(path).redact("AfterTheCrash42").text.startswith("<SECRET:")
    monkeypatch.setattr(R, "LIMIT", 2)
    for n in range(3):
        engine(path).redact(f"export DB_PASSWORD=Other{n}Value9xZ")
    engine(path)  # reading a file over the limit rewrites it
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and all(line.split("\t")[1] == "14" for line in lines)


def test_a_value_memory_forgets_is_looked_for_again(tmp_path, monkeypatch):
    from recorder.redaction import known

    monkeypatch.setattr(known, "LIMIT", 4)
    path = tmp_path / R.FILE
    redactor = engine(path)
    first = redactor.redact(f"export DB_PASSWORD={VALUE}").findings[0].placeholder
    for n in range(8):  # pushes VALUE out of memory
        redactor.redact(f"export API_TOKEN=Other{n}Value9xZq")
    assert redactor.redact(VALUE).text == first
