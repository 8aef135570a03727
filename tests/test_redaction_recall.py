"""Recall on the groups of the privacy issue: known values, passwords without a key name,
SDK login keys, webhook URLs, other machines' names, and the look-alikes that must stay."""

from __future__ import annotations

import pytest

from recorder.redaction import PersonalInfo, Redactor
from recorder.redaction.known import LIMIT

KEY = bytes(range(32))
PASSWORD = "Zr8#qLm2!vTx"


@pytest.fixture
def fresh():
    """A new Redactor per test: known values are learned, so tests must not share one."""
    info = PersonalInfo(usernames=("jdoe42",), hostnames=("jdoe-laptop",))
    return Redactor(KEY, personal=info)


def test_a_password_from_dotenv_is_redacted_when_printed_bare_later(fresh):
    first = fresh.redact(f"DB_PASSWORD={PASSWORD}\nDB_HOST=db\n")
    later = fresh.redact(f"$ python -c 'print(os.environ[\"DB_PASSWORD\"])'\n{PASSWORD}\n")
    assert PASSWORD not in first.text and PASSWORD not in later.text
    assert first.findings[0].placeholder == later.findings[0].placeholder
    assert later.findings[0].rule == first.findings[0].rule


def test_known_values_reach_every_item_of_a_batch_and_other_texts(fresh):
    texts = ["echo ok", f"{PASSWORD}\n", f"export API_TOKEN='{PASSWORD}'", "diff: -" + PASSWORD]
    results = fresh.redact_many(texts)
    assert all(PASSWORD not in r.text for r in results)
    assert results[0].text == "echo ok"
    assert PASSWORD not in fresh.redact(f"session two: {PASSWORD}").text


def test_a_known_value_inside_a_longer_word_stays(fresh):
    fresh.redact(f"export API_TOKEN={PASSWORD}")
    assert fresh.redact(f"x{PASSWORD}9").text == f"x{PASSWORD}9"


def test_short_or_trivial_values_are_not_remembered(fresh):
    fresh.redact("export DB_PASSWORD=abc1234 X_TOKEN=changeme")
    assert fresh.redact("abc1234 changeme").text == "abc1234 changeme"


def test_known_values_are_bounded_and_never_on_the_redactor_as_text(fresh):
    for n in range(LIMIT + 10):
        fresh.redact(f"export API_TOKEN=Q{n:06d}xZ#k9")
    assert LIMIT * 3 // 4 <= len(fresh._known._values) <= LIMIT
    assert PASSWORD not in repr(fresh.__dict__)


def test_a_redactor_without_findings_learns_nothing(fresh):
    assert not fresh._known
    fresh.redact("just text")
    assert not fresh._known


@pytest.mark.parametrize(
    "text, value",
    [
        ("# the password is Zr8#qLm2!vTx (rotate it)", PASSWORD),
        ("pw: Zr8#qLm2!vTx", PASSWORD),
        ("Generated password for user svc: Zr8#qLm2!vTx", PASSWORD),
        ("TODO: the db password was Zr8#qLm2!vTx, move it", PASSWORD),
        ("login with admin, password Zr8#qLm2!vTx", PASSWORD),
        ("> Authorization: Basic c3ZjOlpyOCNxTG0yIXZUeA==", "c3ZjOlpyOCNxTG0yIXZUeA=="),
        (
            'wandb.login(key="0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c")',
            "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c",
        ),
        ("client = Client(key='a9B3xQ7mK2pL5vN8rT1w')", "a9B3xQ7mK2pL5vN8rT1w"),
        (
            "comet_ml.init(project='x', api_key='Qm3vX9kL2pR7tZ1wB5nJ8cY4')",
            "Qm3vX9kL2pR7tZ1wB5nJ8cY4",
        ),
        (
            "https://discord.com/api/webhooks/112233445566778899/"
            + "aB3_cD5-eF7gH9iJ1kL3mN5oP7qR9sT1uV3wX5yZ7aB9cD1eF3gH5iJ7kL9mN1oP3q",
            "aB3_cD5-eF7gH9iJ1kL3mN5oP7qR9sT1uV3wX5yZ7aB9cD1eF3gH5iJ7kL9mN1oP3q",
        ),
        (
            "POST https://chat.acme.dev/hooks/k3j9x0m2q8w7e6r5t4y3u2i1o0",
            "k3j9x0m2q8w7e6r5t4y3u2i1o0",
        ),
    ],
)
def test_secrets_without_a_key_name_are_found(fresh, text, value):
    assert value not in fresh.redact(text).text


@pytest.mark.parametrize(
    "text, host",
    [
        ("jdoe42@gpu07:~/runs$ ls", "gpu07"),
        ("[jdoe42@login2 exp]$ squeue", "login2"),
        ("ssh -J bastion -p 2222 jdoe42@dgx-a100.lab.example", "dgx-a100.lab.example"),
        ("mosh titan9 -- tmux attach", "titan9"),
        ("scp ckpt.pt hpc03:/scratch/", "hpc03"),
        ("rsync -avz runs/ jdoe42@cn17:/data/", "cn17"),
        ("Host workbox\n  HostName workbox.cs.example\n", "workbox"),
        (" 4242   gpu  train  jdoe42  R  1:02:03  1 gpu-n12\n", None),
        (
            "PARTITION AVAIL TIMELIMIT NODES STATE NODELIST\ngpu* up 2-00:00:00 2 mix rtx[01-02]",
            "rtx[01-02]",
        ),
    ],
)
def test_other_machines_are_hidden(fresh, text, host):
    if host is None:  # squeue rows are known by their header
        text = "JOBID PARTITION NAME USER ST TIME NODES NODELIST(REASON)\n" + text
        host = "gpu-n12"
    assert host not in fresh.redact(text).text


def test_a_remote_host_seen_once_is_hidden_later(fresh):
    fresh.redact("ssh jdoe42@gpu07")
    assert "gpu07" not in fresh.redact("job 12 ran on gpu07 for 3h").text


@pytest.mark.parametrize(
    "text",
    [
        "ii  libcudnn8  8.9.2.26-1+cuda12.2  amd64",
        "cuDNN version: 8.9.2.26",
        "pip install tensorrt==10.0.1.6",
        "Found CUDA toolkit 12.1.0.26",
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/DBNAME",
        "git push https://USERNAME:TOKEN@github.com/o/r",
        'api_key = "YOUR_API_KEY"',
        'wandb.login(key=os.environ["WANDB_API_KEY"])',
        "cache.get(key='a3f9c2e1b7d4f6a8c0e2')",
        "The password is incorrect. Try again.",
        "Host key verification failed.",
        "ssh -T git@github.com",
        "pw = getpass.getpass()",
    ],
)
def test_look_alikes_survive(fresh, text):
    assert fresh.redact(text).text == text


@pytest.mark.parametrize("text", ["ping 10.2.3.4", "inet 172.16.5.4/24", "host=10.9.8.7-dev"])
def test_addresses_in_context_are_still_found(fresh, text):
    assert fresh.redact(text).findings


def _corpus_text() -> str:
    from benchmarks.redaction_corpus import build_corpus

    return "\n".join(s.text for s in build_corpus(3, per_provider=2))


@pytest.mark.parametrize("block", [512, 4096, 1 << 20])
def test_a_stream_is_redacted_as_the_whole_text_is(block):
    import io

    text = _corpus_text()
    whole = Redactor(KEY, personal=False).redact(text).text
    streamed = Redactor(KEY, personal=False).redact_stream(io.BytesIO(text.encode()), block)
    # The same values at the same places with the same hashes; a value that two rules find
    # may be named by either, depending on which of its occurrences a block learned first.
    assert _unnamed("".join(streamed)) == _unnamed(whole)


def _unnamed(text: str) -> str:
    import re

    return re.sub(r"<(SECRET|PII):[A-Za-z0-9_.\-]+:", r"<\1:", text)


def test_a_private_key_across_stream_blocks_is_redacted_whole():
    import io

    pem = "-----BEGIN RSA PRIVATE KEY-----\n" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY\n" * 40
    text = "x\n" * 300 + pem + "-----END RSA PRIVATE KEY-----\n" + "y\n" * 300
    out = "".join(Redactor(KEY, personal=False).redact_stream(io.BytesIO(text.encode()), 256))
    assert "QUJDREVG" not in out and out.count("<SECRET:private-key:") == 1


def test_a_known_value_keeps_its_first_placeholder_under_another_rule(fresh):
    first = fresh.redact(f"psql postgres://app:{PASSWORD}@db/app").findings[0]
    again = fresh.redact(f"export DB_PASSWORD='{PASSWORD}'").findings[0]
    assert first.rule == "url-password" and again.placeholder == first.placeholder


def test_json_extra_is_redacted_and_stays_json(fresh):
    import json

    extra = json.dumps(
        {"cwd": "/home/jdoe42/x", "env": {"API_TOKEN": f"export API_TOKEN={PASSWORD}"}}
    )
    result = fresh.redact_json(extra)
    assert PASSWORD not in result.text and "jdoe42" not in result.text
    assert json.loads(result.text)["env"]["API_TOKEN"].startswith("export API_TOKEN=<SECRET:")
    assert result.findings
    assert fresh.redact_json('{"n": 1}').text == '{"n": 1}'
    assert PASSWORD not in fresh.redact_json(f"not json {PASSWORD}").text


def _resolve_globally(redactor, hits, data):
    """The plain greedy choice over all hits at once (what clusters must reproduce)."""
    import re

    taken = [m.span() for m in re.finditer(rb"<(?:SECRET|PII):[A-Za-z0-9_.\-]+:[0-9a-f]{6}>", data)]
    kept = []
    rules = redactor._rules
    for s, e, i in sorted(hits, key=lambda h: (rules[h[2]].rank, h[0] - h[1], h[0], h[2])):
        if any(ts < e and s < te for ts, te in taken):
            continue
        taken.append((s, e))
        kept.append((s, e, i))
    return sorted(kept)


def test_clustered_resolution_equals_the_global_greedy_choice(fresh):
    import random

    rng = random.Random(5)
    data = b"x" * 300 + b"<SECRET:github-token:abcdef>" + b"y" * 300
    for _ in range(300):
        hits = []
        for _ in range(rng.randint(1, 30)):
            s = rng.randrange(0, 620)
            hits.append((s, s + rng.randint(1, 40), rng.randrange(len(fresh._rules))))
        assert fresh._resolve(hits, data) == _resolve_globally(fresh, hits, data)
