"""``recorder scrub`` and the installation key."""

from __future__ import annotations

import re
import stat
import subprocess
import sys

import pytest
from click.testing import CliRunner

from recorder.cli import cli
from recorder.errors import HomeError
from recorder.redaction import Redactor, load_or_create_key

GHP = "ghp_" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0UvWxYz"  # fake, right shape
LOG = f"starting\nexport GITHUB_TOKEN={GHP}\nDB_PASSWORD=hunter2abc ./run\ndone\n"


def run(args, stdin=None):
    return CliRunner().invoke(cli, ["scrub", *args], input=stdin)


def test_scrub_reads_stdin_and_writes_redacted_text(recorder_home):
    result = run([], LOG)
    assert result.exit_code == 0, result.output
    assert GHP not in result.stdout and "hunter2abc" not in result.stdout
    assert re.search(r"export GITHUB_TOKEN=<SECRET:github-token:[0-9a-f]{6}>\n", result.stdout)
    assert result.stdout.startswith("starting\n") and result.stdout.endswith("done\n")


def test_scrub_uses_the_installation_key(recorder_home):
    result = run([], GHP)
    key = load_or_create_key(recorder_home)
    assert result.stdout == Redactor(key, personal=False).redact(GHP).text
    mode = stat.S_IMODE((recorder_home / "secret.key").stat().st_mode)
    assert mode == 0o600


def test_scrub_files_in_order(tmp_path):
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    first.write_text("one " + GHP + "\n")
    second.write_text("two DB_PASSWORD=hunter2abc\n")
    result = run([str(first), str(second)])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("one <SECRET:github-token:")
    assert lines[1].startswith("two DB_PASSWORD=<SECRET:")


def test_explain_lists_rule_and_position_never_the_secret(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text(LOG)
    result = run(["--explain", str(path)])
    assert result.exit_code == 0
    assert GHP not in result.stdout and "hunter2abc" not in result.stdout
    lines = result.stdout.splitlines()
    assert re.fullmatch(
        rf"{re.escape(str(path))}:2:21: github-token \(provider-token\) chars 29-69 -> "
        r"<SECRET:github-token:[0-9a-f]{6}>",
        lines[0],
    )
    assert lines[1].startswith(f"{path}:3:13: shell-secret-assignment (shell) chars 82-92")
    assert "2 finding(s)" in result.stderr


def test_rule_and_literal_options(recorder_home):
    result = run(
        ["--rule", r"ticket=TICKET-\d+", "--literal", "Nimbus"],
        "see TICKET-4242 about project nimbus\n",
    )
    assert result.exit_code == 0
    assert "TICKET-4242" not in result.stdout and "nimbus" not in result.stdout
    assert "<SECRET:ticket:" in result.stdout and "<SECRET:user-literal:" in result.stdout


def test_config_rules_apply(recorder_home):
    recorder_home.mkdir(parents=True, exist_ok=True)
    (recorder_home / "config.toml").write_text(
        'researcher_id = "r-test"\n[redaction]\nliterals = ["blue-falcon"]\n'
    )
    result = run([], "codename Blue-Falcon ships\n")
    assert result.exit_code == 0, result.output
    assert "falcon" not in result.stdout.lower()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rule", "broken=(unclosed"], "redaction rule 'broken': invalid regular expression"),
        (["--rule", "no-equals-sign"], "--rule must be NAME=REGEX"),
        (["--literal", " "], "--literal needs a non-empty TEXT"),
    ],
)
def test_bad_options_fail_with_one_clear_line(args, message):
    result = run(args, "text")
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_missing_file_is_a_usage_error(tmp_path):
    result = run([str(tmp_path / "nope.txt")])
    assert result.exit_code != 0
    assert "nope.txt" in result.stderr and "Traceback" not in result.stderr


def test_importing_the_command_does_not_load_re2():
    code = "import sys, recorder.cli.scrub; print('re2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_key_is_created_once_owner_only(tmp_path):
    home = tmp_path / "home"
    key = load_or_create_key(home)
    assert len(key) == 32
    assert load_or_create_key(home) == key
    assert stat.S_IMODE((home / "secret.key").stat().st_mode) == 0o600
    assert load_or_create_key(tmp_path / "other") != key


def test_a_damaged_key_is_refused(tmp_path):
    (tmp_path / "secret.key").write_bytes(b"short")
    with pytest.raises(HomeError, match="damaged"):
        load_or_create_key(tmp_path)


@pytest.mark.parametrize("block", [64, 4096])
def test_a_stream_in_blocks_is_scrubbed_and_explained_as_the_whole_text(block):
    import io

    from recorder.redaction.scrubbing import explain, scrub

    text = ("noise line é\n" * 7 + LOG) * 40 + "tail " + GHP  # many blocks, no final newline
    redactor = Redactor(b"k" * 32, personal=False)
    sink = io.BytesIO()
    scrub(redactor, io.BytesIO(text.encode()), sink, block)
    assert sink.getvalue().decode() == Redactor(b"k" * 32, personal=False).redact(text).text
    found = list(explain(Redactor(b"k" * 32, personal=False), io.BytesIO(text.encode()), block))
    whole = Redactor(b"k" * 32, personal=False).scan(text)
    assert [(at.start, at.end, at.finding.rule) for at in found] == [
        (f.start, f.end, f.rule) for f in whole
    ]
    for at in found:  # line and column point at the value itself
        line = text.split("\n")[at.line - 1]
        assert line[at.column - 1 :].startswith(text[at.start : at.end])
    assert len(found) == 81


def test_redact_bytes_gives_the_text_redact_gives():
    from benchmarks.redaction_corpus import build_corpus

    text = "\n".join(s.text for s in build_corpus(2, per_provider=2)) + "\nnoise é € 😀\n"
    want = Redactor(b"k" * 32, personal=False).redact(text).text.encode()
    assert Redactor(b"k" * 32, personal=False).redact_bytes(text.encode()) == want
    assert want.count(b"<SECRET:") > 100


def test_scrub_turns_bytes_that_are_not_utf8_into_replacement_characters():
    import io

    from recorder.redaction.scrubbing import scrub

    raw = b"caf\xe9 \xff\xfe export API_TOKEN=" + GHP.encode() + b"\n"
    sink = io.BytesIO()
    scrub(Redactor(b"k" * 32, personal=False), io.BytesIO(raw), sink)
    text = raw.decode("utf-8", "replace")
    assert sink.getvalue() == Redactor(b"k" * 32, personal=False).redact(text).text.encode()
    assert "\ufffd" in sink.getvalue().decode() and GHP.encode() not in sink.getvalue()


def test_a_line_longer_than_four_blocks_is_cut_between_characters():
    import io

    from recorder.redaction.engine import stream_blocks

    text = ("aé€😀" * 300).encode()  # 1, 2, 3 and 4 bytes a character, no newline
    pieces = list(stream_blocks(io.BytesIO(text), 7))
    assert len(pieces) > 1 and b"".join(pieces) == text
    for piece in pieces:
        piece.decode("utf-8")  # strict: no character cut in two


def test_scrub_refuses_binary_input_in_one_line(tmp_path):
    binary = tmp_path / "tool"
    binary.write_bytes(b"\x7fELF\x02\x01\x00\x00\x1b[2J" + bytes(range(256)))
    proc = subprocess.run(
        [sys.executable, "-m", "recorder", "scrub", str(binary)], capture_output=True
    )
    assert proc.returncode == 1
    assert proc.stdout == b""  # nothing of it reaches the terminal
    assert proc.stderr.decode().strip().splitlines() == [
        f"Error: {binary} is binary (it holds NUL bytes); not scrubbed"
    ]
