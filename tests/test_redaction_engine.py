"""The Redactor: what it finds, what it leaves alone, and how its placeholders behave."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import re

import pytest
from redactkit import KEY, PERSON

from recorder.errors import LeakFound, RecorderError, RuleError
from recorder.redaction import PersonalInfo, Redactor
from recorder.redaction import engine as engine_module
from recorder.redaction.rules import RULESET_VERSION

OTHER_KEY = bytes(range(1, 33))
GHP = "ghp_" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0UvWxYz"  # fake, right shape
SECRET = "<SECRET:[a-z0-9-]+:[0-9a-f]{6}>"
rng = random.Random(7)
HEX64 = "".join(rng.choice("0123456789abcdef") for _ in range(64))
HEX128 = HEX64 + HEX64[::-1]
BLOB = base64.b64encode(rng.randbytes(300)).decode()


NEGATIVES = [
    "commit 3f2a9c1b7d8e4f5a6b7c8d9e0f1a2b3c4d5e6f70\nMerge: 3f2a9c1 8b7d6e4\n",
    "3f2a9c1 Fix tokenizer padding\n8b7d6e4 Add key rotation docs",
    f"$ sha256sum data.parquet\n{HEX64}  data.parquet",
    f"$ shasum -a 512 model.bin\n{HEX128}  model.bin",
    f"pip install --require-hashes numpy==1.26.4 --hash=sha256:{HEX64}",
    f"docker pull python:3.11-slim@sha256:{HEX64}\nDigest: sha256:{HEX64}",
    "run_id: 123e4567-e89b-42d3-a456-426614174000\nrequest-id=9f8e7d6c-5b4a-4321-8fed-cba987654321",
    f'{{"image/png": "iVBORw0KGgo{BLOB}"}}',
    f"$ base64 -w0 weights.bin\n{BLOB}",
    "Python 3.11.7\nnumpy==1.26.4\nCUDA Version: 12.2\nnode v20.11.1\ntorch 2.5.1+cu121",
    "Driver Version: 535.104.05   Version 1.2.3.4 of the spec",
    'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")\nmax_tokens = 4096',
    'password = getpass.getpass("DB password: ")\napi_key = os.getenv("OPENAI_API_KEY")',
    "@torch.no_grad()\ndef evaluate(x, w):\n    return x @ w.T",
    'headers = {"Authorization": f"Bearer {token}"}\ncache_key = f"{user}:{item}"',
    "token = tokenizer.encode(text)\nself.password = self.config.password",
    'export HF_TOKEN=$(cat ~/.cache/huggingface/token)\nexport OPENAI_API_KEY="$OPENAI_KEY"',
    "export TOKENIZERS_PARALLELISM=false\nexport CUDA_VISIBLE_DEVICES=0,1",
    "docker run -p 8080:8080 -u 1000:1000 acme/api\nmysql -u root -p\ngit push -u origin main",
    "export GITHUB_TOKEN=ghp_" + "x" * 36 + "\napi_key: <your-api-key>\nHF_TOKEN=hf_***",
    'password: ${DB_PASSWORD}\nclient_secret: "{{ vault_client_secret }}"',
    "-----BEGIN PUBLIC KEY-----\n" + BLOB[:64] + "\n-----END PUBLIC KEY-----",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhL9kq2 deploy@ci",
    "listening on 127.0.0.1:8000 and 0.0.0.0:8080\nlink/ether 02:42:ac:11:00:02",
    "2026-11-25 18:29:19 INFO step 50 loss 0.2345 [00:12<00:00, 12.3it/s]",
    "std::vector<int> v; auto it = m.find(key); a[::2]",
    "git@github.com:acme/app.git\nnpm install @types/node@20.11.1",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_ordinary_text_survives_untouched(redactor, text):
    result = redactor.redact(text)
    assert result.findings == []
    assert result.text == text


SHELL_CASES = [
    (f"export GITHUB_TOKEN={GHP}", r"export GITHUB_TOKEN=<SECRET:github-token:[0-9a-f]{6}>"),
    ("DB_PASSWORD=hunter2abc ./manage.py migrate", rf"DB_PASSWORD={SECRET} \./manage\.py migrate"),
    ("psql --password=Zx9-pass db", rf"psql --password={SECRET} db"),
    ("sync.py --token qW3rTy8uI0pAsD --dry-run", rf"sync\.py --token {SECRET} --dry-run"),
    ("mysql -h db -u root -pS3cret! appdb", rf"mysql -h db -u root -p{SECRET} appdb"),
    ("curl -u admin:pa55w0rd https://api.example.com", rf"curl -u admin:{SECRET} https://.*"),
    (
        "curl -H 'Authorization: Bearer abcDEF123ghiJKL456' https://x.example.com",
        rf"curl -H 'Authorization: Bearer {SECRET}' https://x\.example\.com",
    ),
    (
        "curl -H 'Authorization: Basic YWRtaW46czNjcjN0LXBhc3M=' https://x.example.com",
        rf"curl -H 'Authorization: Basic {SECRET}' https://x\.example\.com",
    ),
    ("docker login -u me -p Tr0ub4dor registry.example.com", rf"docker login -u me -p {SECRET} .*"),
    (
        "DATABASE_URL=postgres://app:p@ss/w:rd@db.internal:5432/app",
        rf"DATABASE_URL=postgres://app:{SECRET}@db\.internal:5432/app",
    ),
    (
        f"https://b.s3.amazonaws.com/f?X-Amz-Date=20260101T000000Z&X-Amz-Signature={HEX64}",
        rf"https://b\.s3\.amazonaws\.com/f\?X-Amz-Date=20260101T000000Z&X-Amz-Signature={SECRET}",
    ),
    ("+SMTP_PASSWORD=Wint3r-is-coming\n", rf"\+SMTP_PASSWORD={SECRET}\n"),
    ("machine api.example.com login bot password n3trc-Pass", rf".* password {SECRET}"),
]


@pytest.mark.parametrize(("text", "expected"), SHELL_CASES)
def test_only_the_value_is_replaced(redactor, text, expected):
    result = redactor.redact(text)
    assert re.fullmatch(expected, result.text, re.S), result.text


def test_the_same_secret_gets_the_same_placeholder(redactor):
    text = f"export GITHUB_TOKEN={GHP}\ngit clone https://x-access-token:{GHP}@github.com/o/r"
    result = redactor.redact(text)
    assert len(result.findings) == 2
    assert result.findings[0].placeholder == result.findings[1].placeholder
    again = Redactor(KEY, personal=False).redact(f"echo {GHP}")
    assert again.findings[0].placeholder == result.findings[0].placeholder
    digest = hmac.new(KEY, GHP.encode(), hashlib.sha256).hexdigest()[:6]
    assert result.findings[0].placeholder == f"<SECRET:github-token:{digest}>"


def test_a_different_key_gives_different_placeholders():
    mine = Redactor(KEY, personal=False).redact(GHP).text
    theirs = Redactor(OTHER_KEY, personal=False).redact(GHP).text
    assert mine != theirs
    assert mine.startswith("<SECRET:github-token:") and theirs.startswith("<SECRET:github-token:")


MIXED = (
    f"jdoe42@jdoe-laptop:~$ export GITHUB_TOKEN={GHP}\n"
    "DB_PASSWORD='correct horse battery' psql postgres://app:s3cr3t@10.0.4.2/app\n"
    'File "/home/jdoe42/code/train.py", line 3\n'
    "Author: Jane Doe <jane.doe@example.org>\n"
    "Reviewed-by: Bob <bob.smith@corp.example.net>\n"
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    + "\n".join(BLOB[i : i + 64] for i in range(0, 256, 64))
    + "\n-----END OPENSSH PRIVATE KEY-----\n"
    "inet6 2a02:6b8:85a3::8a2e:370:7334/64 scope global\n"
    "ls /home/bob/shared /Users/carol/data"
)


def test_redacting_twice_changes_nothing(redactor):
    once = redactor.redact(MIXED)
    twice = redactor.redact(once.text)
    assert twice.text == once.text
    assert twice.findings == []
    redactor.check_no_leaks(once.text)
    assert len(once.findings) >= 12


def test_placeholders_match_no_rule(redactor):
    text = "<SECRET:github-token:3f2a9c> <PII:email:00aa11> <SECRET:user-literal:abcdef> ~/x"
    assert redactor.scan(text) == []


def test_findings_point_at_their_placeholders(redactor):
    text = "héllo wörld ✓ " + MIXED
    result = redactor.redact(text)
    for f in result.findings:
        assert result.text[f.start : f.end] == f.placeholder
        assert GHP not in repr(f) and "s3cr3t" not in repr(f)


def test_scan_points_at_the_values_in_the_original(redactor):
    text = "ünïcode first ✓ then " + MIXED
    findings = redactor.scan(text)
    values = {text[f.start : f.end] for f in findings}
    assert GHP in values and "s3cr3t" in values and "jane.doe@example.org" in values
    assert "/home/jdoe42" in values and "correct horse battery" in values


def test_leak_scan_names_rules_never_values(redactor):
    with pytest.raises(LeakFound) as caught:
        redactor.check_no_leaks(f"ok\nexport GITHUB_TOKEN={GHP}\n")
    assert caught.value.rules == ("github-token",)
    assert GHP not in str(caught.value)


def test_personal_data_of_this_machine(redactor):
    text = (
        "jdoe42@jdoe-laptop:~$ cd /home/jdoe42/code && git log\n"
        "Author: JANE  DOE <Jane.Doe@Example.org>\nssh deploy@10.11.12.13"
    )
    result = redactor.redact(text)
    assert "jdoe42" not in result.text and "jdoe-laptop" not in result.text
    assert "cd ~/code" in result.text
    assert "JANE  DOE" not in result.text and "Example.org" not in result.text
    assert "10.11.12.13" not in result.text
    kinds = {f.rule for f in result.findings}
    assert {"username", "hostname", "home-dir", "full-name"} <= kinds


def test_personal_placeholders_ignore_case(redactor):
    upper = redactor.redact("user JDOE42").findings[0].placeholder
    lower = redactor.redact("user jdoe42").findings[0].placeholder
    assert upper == lower and upper.startswith("<PII:username:")


def test_other_peoples_homes_keep_their_paths(redactor):
    result = redactor.redact("cp /home/bob/a.txt /Users/carol/b.txt")
    assert re.fullmatch(
        r"cp /home/<PII:home-user:[0-9a-f]{6}>/a\.txt /Users/<PII:home-user:[0-9a-f]{6}>/b\.txt",
        result.text,
    )


def test_personal_false_leaves_personal_data():
    text = "mail jane.doe@example.org from 34.120.8.15"
    assert Redactor(KEY, personal=False).redact(text).text == text
    assert Redactor(KEY, personal=PERSON).redact(text).text != text


def test_machine_personal_info_is_read_without_failing():
    info = PersonalInfo.from_machine()
    assert isinstance(info.usernames, tuple) and isinstance(info.home_dirs, tuple)
    assert all(len(name) >= 3 for name in info.usernames + info.hostnames)
    redactor = Redactor(KEY)
    assert redactor.redact(f"token {GHP}").findings[0].rule == "github-token"


def test_user_literals_and_rules():
    redactor = Redactor(
        KEY,
        personal=False,
        literals=["Project-Nimbus", "  "],
        user_rules=[
            {"name": "ticket", "pattern": r"TICKET-(?P<secret>\d{4,})", "example": "TICKET-12345"},
            {"name": "internal-host", "pattern": r"[a-z0-9-]+\.corp\.internal"},
        ],
    )
    result = redactor.redact(
        "deploy project-nimbus to api-7.corp.internal (TICKET-98765); nimbusX stays"
    )
    assert "nimbus" not in result.text.lower().replace("nimbusx", "")
    assert "corp.internal" not in result.text and "98765" not in result.text
    assert "TICKET-<SECRET:ticket:" in result.text and "nimbusX stays" in result.text
    assert {f.rule for f in result.findings} == {"user-literal", "ticket", "internal-host"}


def test_user_rules_change_the_ruleset_version():
    plain = Redactor(KEY, personal=False)
    custom = Redactor(KEY, personal=False, literals=["nimbus"])
    assert plain.ruleset_version == RULESET_VERSION
    assert re.fullmatch(re.escape(RULESET_VERSION) + r"\+u[0-9a-f]{6}", custom.ruleset_version)
    assert Redactor(KEY, personal=False, literals=["nimbus"]).ruleset_version == (
        custom.ruleset_version
    )
    assert Redactor(KEY, personal=False, literals=["other"]).ruleset_version != (
        custom.ruleset_version
    )


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"name": "broken", "pattern": "(unclosed"}, "invalid regular expression"),
        ({"name": "empty", "pattern": "a*"}, "matches empty text"),
        ({"name": "anchored", "pattern": r"\Afoo"}, "instead of"),
        ({"name": "bad name!", "pattern": "foo"}, "must be letters"),
        ({"name": "nopat"}, "needs a pattern"),
        ({"name": "wrong", "pattern": "foo", "example": "bar"}, "does not match its example"),
        ({"name": "github-token", "pattern": "foo"}, "used twice"),
    ],
)
def test_bad_user_rules_are_refused_clearly(rule, message):
    with pytest.raises(RuleError, match=message):
        Redactor(KEY, personal=False, user_rules=[rule])


def test_short_keys_are_refused():
    with pytest.raises(RecorderError):
        Redactor(b"short")


BATCH = [
    None,
    "",
    "ls -la",
    f"export GITHUB_TOKEN={GHP}",
    "export FOO_TOKEN=",
    "abcdefgh12345678 ./run",
    "plain text with ünïcode ✓ and jane.doe@example.org",
    MIXED,
    "<SECRET:github-token:3f2a9c> already redacted",
    "DB_PASSWORD='unterminated",
    "quote' and more",
    "\udcff lone surrogate then hunter2",
]


def test_redact_many_equals_redact_item_by_item(redactor):
    many = redactor.redact_many(BATCH)
    for text, result in zip(BATCH, many, strict=True):
        if text is None:
            assert result is None
        else:
            assert result == redactor.redact(text)


def test_redact_many_on_a_big_batch(redactor):
    texts = [f"line {i}: step {i} loss 0.{i:04d} ok" for i in range(20_000)]
    texts[123] = f"GITHUB_TOKEN={GHP}"
    texts[19_999] = "mail jane.doe@example.org"
    results = redactor.redact_many(texts)
    dirty = [i for i, r in enumerate(results) if r.findings]
    assert dirty == [123, 19_999]
    assert results[5].text == texts[5]


def test_redact_many_leaves_many_clean_short_strings_as_they_are():
    # Its speed is measured by benchmarks/redaction_bench.py (redact_many, 100k short lines).
    redactor = Redactor(KEY, personal=False)
    texts = [f"2026-11-25 INFO epoch {i % 7} step {i} loss 0.{i % 997:03d}" for i in range(100_000)]
    results = redactor.redact_many(texts)
    assert len(results) == len(texts)
    assert all(not r.findings for r in results)
    assert [r.text for r in results] == texts


def test_secrets_at_chunk_boundaries_are_found(redactor):
    filler = "x" * 70 + "\n"
    lines = [filler] * (3 * engine_module._CHUNK // len(filler))
    for at in (len(lines) // 3, len(lines) // 3 + 1, 2 * len(lines) // 3):
        lines[at] = f"GITHUB_TOKEN={GHP}\n"
    key_lines = [BLOB[i : i + 64] + "\n" for i in range(0, 256, 64)]
    middle = engine_module._CHUNK // len(filler) - 2
    lines[middle:middle] = ["-----BEGIN RSA PRIVATE KEY-----\n", *key_lines]
    text = "".join(lines)
    result = redactor.redact(text)
    assert GHP not in result.text
    assert all(chunk.strip() not in result.text for chunk in key_lines)
    assert [f.rule for f in result.findings].count("github-token") == 3


def test_a_user_rule_spanning_lines_is_found_across_chunks():
    pattern = r"BEGIN-X\n(?P<secret>[a-z\n]+)END-X"
    redactor = Redactor(KEY, personal=False, user_rules=[{"name": "block", "pattern": pattern}])
    start = engine_module._CHUNK - 4  # the block's first line ends just past a chunk's end
    filler = "y" * 70 + "\n"
    count = start // len(filler)
    prefix = filler * count + "y" * (start - count * len(filler) - 1) + "\n"
    text = prefix + "BEGIN-X\nabcdef\nghijkl\nEND-X\n" + filler * 300
    assert len(prefix) == start
    result = redactor.redact(text)
    assert "abcdef" not in result.text and "ghijkl" not in result.text
    assert [f.rule for f in result.findings] == ["block"]


def test_git_identity_is_read_from_config_text():
    from recorder.redaction.personal import parse_git_user

    text = '[core]\n\teditor = vim\n[user]\n\tname = "Jane Doe"\n\temail = jane@example.org # me\n'
    assert parse_git_user(text) == {"name": "Jane Doe", "email": "jane@example.org"}
    assert parse_git_user('[user "work"]\nname = Other\n') == {}
