"""A seeded held-out set for the redaction benchmark, by the groups of the privacy issue.

Written before the rules it measures, with its own templates and value generators (none
shared with ``redaction_corpus.py`` or the rule examples), and not looked at while the
rules were tuned: generate, measure, tune elsewhere, measure again.

Groups: provider tokens in new places; passwords without a key name (prose, Basic auth,
SDK login calls, key-named arguments); webhook URLs; hostnames of other machines;
known values (a secret defined in one text and seen again, bare, in a later one); and
look-alikes that must survive (four-part versions, documented example keys, template
placeholders), labelled ``keep``. A sample is one text; the samples of a session come in
order, so a tool with memory may use what it saw before.
"""

from __future__ import annotations

import base64
import random
import string
from dataclasses import dataclass, field

from benchmarks.redaction_corpus import Label, Sample, fill

KEEP = "keep"
GROUPS = ("provider-token", "password", "sdk-key", "webhook", "hostname", "known-value")

_A = string.ascii_letters
_D = string.digits
_AN = _A + _D
_HX = "abcdef" + _D
_PW = _AN + "!$%&*+-=?@^_"


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _token(rng: random.Random) -> tuple[str, str]:
    """(kind, value) of a provider token, its body from a seeded generator."""
    kinds = {
        "github": lambda: "ghp_" + _r(rng, _AN, 36),
        "github-fine": lambda: "github_pat_11" + _r(rng, _AN, 20) + "_" + _r(rng, _AN, 59),
        "gitlab": lambda: "glpat-" + _r(rng, _AN + "-_", 20),
        "slack": lambda: f"xoxp-{_r(rng, _D, 11)}-{_r(rng, _D, 12)}-{_r(rng, _HX, 32)}",
        "openai": lambda: "sk-proj-" + _r(rng, _AN + "_-", 64),
        "anthropic": lambda: "sk-ant-api03-" + _r(rng, _AN + "_-", 93) + "AA",
        "huggingface": lambda: "hf_" + _r(rng, _AN, 34),
        "aws": lambda: "AKIA" + _r(rng, string.ascii_uppercase + "234567", 16),
        "google": lambda: "AIza" + _r(rng, _AN + "_-", 35),
        "npm": lambda: "npm_" + _r(rng, _AN, 36),
        "docker": lambda: "dckr_pat_" + _r(rng, _AN + "_-", 27),
        "groq": lambda: "gsk_" + _r(rng, _AN, 52),
        "stripe": lambda: "rk_live_" + _r(rng, _AN, 40),
        "sendgrid": lambda: "SG." + _r(rng, _AN + "_-", 22) + "." + _r(rng, _AN + "_-", 43),
        "vault": lambda: "hvs." + _r(rng, _AN, 90),
        "replicate": lambda: "r8_" + _r(rng, _AN, 37),
    }
    kind = rng.choice(sorted(kinds))
    return kind, kinds[kind]()


def _password(rng: random.Random) -> str:
    """A random-looking password: mixed classes, 10 to 20 characters."""
    while True:
        value = _r(rng, _PW, rng.randint(10, 20))
        kinds = sum(
            any(c in s for c in value) for s in (string.ascii_lowercase, _D, "!$%&*+-=?@^_")
        )
        if kinds == 3 and value[0] not in "-$@":
            return value


def _host(rng: random.Random) -> str:
    stem = rng.choice(["gpu", "cn", "dgx", "titan", "rtx", "ws", "lab", "compute", "hpc", "a100n"])
    name = f"{stem}{rng.randint(1, 64):02d}"
    if rng.random() < 0.3:
        name += "." + rng.choice(["cs.uni-nord.edu", "cluster.lab.io", "int.acme-ai.net"])
    return name


@dataclass
class _Build:
    rng: random.Random
    samples: list[Sample] = field(default_factory=list)

    def add(self, template: str, context: str, group: str, **slots: object) -> None:
        text, labels = fill(template, slots)
        self.samples.append(Sample(text, context, group, labels))


def _provider(b: _Build) -> None:
    kind, value = _token(b.rng)
    tpl = b.rng.choice(
        [
            '{"cell_type": "code", "source": ["client = make(«t»)\\n"]}',
            "  - name: deploy\n    env:\n      CI_PUSH_CRED: «t»\n",
            "remote: Invalid credentials «t» for push\n",
            "| service | credential |\n|---|---|\n| ci | «t» |\n",
            "DEBUG using creds=«t» (cached)\n",
            "kubectl get secret ci -o jsonpath='{.data.v}' | base64 -d\n«t»\n",
            "cfg = {'svc': 'build', 'cred': '«t»'}\n",
            ">>> print(session.cred)\n«t»\n",
        ]
    )
    b.add(tpl, "output", f"provider-token:{kind}", t=(value, "provider-token", kind))


def _prose_password(b: _Build) -> None:
    pw = _password(b.rng)
    tpl = b.rng.choice(
        [
            "# the password is «p» (rotate after the demo)\n",
            "pw: «p»\n",
            "note to self - wifi pass is «p»\n",
            "Generated password for user trainer: «p»\n",
            "login as admin, password «p»\n",
            "TODO: the db password was «p», move it to the vault\n",
            "Your temporary password is: «p»\n",
            "echo 'pwd=«p»' >> notes.txt\n",
        ]
    )
    b.add(tpl, "output", "password:prose", p=(pw, "password", "prose"))


def _basic_auth(b: _Build) -> None:
    user = b.rng.choice(["svc", "ci-bot", "trainer", "admin"])
    blob = base64.b64encode(f"{user}:{_password(b.rng)}".encode()).decode()
    tpl = b.rng.choice(
        [
            "requests.get(url, headers={'Authorization': 'Basic «b»'})\n",
            "> GET /v2/ HTTP/1.1\n> Authorization: Basic «b»\n",
            'http --print=H :8080 "authorization:Basic «b»"\n',
        ]
    )
    b.add(tpl, "output", "password:basic-auth", b=(blob, "password", "basic-auth"))


def _sdk_key(b: _Build) -> None:
    rng = b.rng
    hex40, b64 = _r(rng, _HX, 40), _r(rng, _AN + "+/", 40)
    choices = [
        ("wandb.login(key=«k»)", f'"{hex40}"', hex40, "wandb"),
        ("wandb.login(key='«k»', relogin=True)", hex40, hex40, "wandb"),
        ("comet_ml.login(api_key=«k»)", f'"{_r(rng, _AN, 25)}"', None, "comet"),
        ("neptune.init_run(project='x/y', api_token=«k»)", f'"{b64}"', b64, "neptune"),
        ("client = Client(key=«k»)", f'"{hex40[:32]}"', hex40[:32], "client-key"),
        ("svc = connect(host='db', secret=«k»)", f"'{b64[:32]}'", b64[:32], "connect-secret"),
        ("api = Api(token=«k»)", f'"{hex40}"', hex40, "api-token"),
    ]
    tpl, quoted, value, kind = rng.choice(choices)
    value = value or quoted.strip("'\"")
    q = quoted[0] if quoted[0] in "'\"" else ""
    text_tpl = tpl.replace("«k»", q + "«k»" + q) if q else tpl
    b.add("import x\n" + text_tpl + "\n", "code", f"sdk-key:{kind}", k=(value, "sdk-key", kind))


def _webhook(b: _Build) -> None:
    rng = b.rng
    choices = [
        (
            "https://discord.com/api/webhooks/" + _r(rng, _D, 19) + "/«k»",
            _r(rng, _AN + "_-", 68),
            "discord",
        ),
        (
            "https://discordapp.com/api/webhooks/" + _r(rng, _D, 18) + "/«k»",
            _r(rng, _AN + "_-", 68),
            "discord",
        ),
        (
            "https://acme.webhook.office.com/webhookb2/"
            + _r(rng, _HX, 8)
            + "@"
            + _r(rng, _HX, 8)
            + "/IncomingWebhook/«k»/"
            + _r(rng, _HX, 8),
            _r(rng, _HX, 32),
            "teams",
        ),
        ("https://chat.acme.dev/hooks/«k»", _r(rng, string.ascii_lowercase + _D, 26), "mattermost"),
        (
            "https://hooks.zapier.com/hooks/catch/" + _r(rng, _D, 7) + "/«k»/",
            _r(rng, _AN, 7),
            "zapier",
        ),
    ]
    url, value, kind = rng.choice(choices)
    tpl = rng.choice(["WEBHOOK = '%s'\n", "curl -X POST -d @msg.json %s\n", "notify: %s\n"])
    b.add(tpl % url, "output", f"webhook:{kind}", k=(value, "webhook", kind))


def _hostname(b: _Build) -> None:
    rng = b.rng
    host = _host(rng)
    short = host.split(".")[0]
    user = rng.choice(["alice", "bnguyen", "tk", "r2d2"])
    label = (short, "hostname", "host")
    full = (host, "hostname", "host")
    choices = [
        ("«h»", f"{user}@«h»:~/runs$ nvidia-smi\n", label),
        ("«h»", f"[{user}@«h» exp]$ ls\n", label),
        ("«h»", f"(torch) {user}@«h»:/scratch/{user}$ \n", label),
        ("«h»", f"ssh -i ~/.ssh/id_ed25519 {user}@«h»\n", full),
        ("«h»", "ssh -p 2222 «h»\n", full),
        ("«h»", f"mosh {user}@«h» -- tmux a\n", full),
        ("«h»", "scp ckpt.pt «h»:/scratch/\n", full),
        ("«h»", f"rsync -avz --progress runs/ {user}@«h»:/data/runs/\n", full),
        ("«h»", f"Host «h»\n    User {user}\n    IdentityFile ~/.ssh/lab\n", full),
        (
            "«h»",
            "  JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)\n"
            f" 481516       gpu    train {user:>8}  R    3:14:15      1 «h»\n",
            label,
        ),
        (
            "«h»",
            "PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\ngpu*         up 2-00:00:00      1    mix «h»\n",
            label,
        ),
    ]
    _, tpl, lab = rng.choice(choices)
    b.add(tpl, "output", "hostname:host", h=lab)


def _known_value(b: _Build) -> None:
    """A session of two texts: a secret defined where a rule sees it, then printed bare."""
    rng = b.rng
    value = _password(rng) if rng.random() < 0.6 else _token(rng)[1]
    name = rng.choice(["DB_PASSWORD", "REDIS_PASS", "SERVICE_TOKEN", "ADMIN_PASSWORD"])
    first = rng.choice(
        [
            f"{name}=«v»\nDB_HOST=localhost\n",
            f"export {name}='«v»'\n",
            "run.sh --password «v» --epochs 3\n",
        ]
    )
    later = rng.choice(
        [
            f"$ python -c 'print(os.environ[\"{name}\"])'\n«v»\n",
            "connecting with «v» ... ok\n",
            "-old_value = «v»\n+old_value = None\n",
            "«v»\n",
        ]
    )
    b.add(first, "config", "known-value:define", v=(value, "known-value", "define"))
    b.add(later, "output", "known-value:again", v=(value, "known-value", "again"))


def _lookalikes(b: _Build) -> None:
    rng = b.rng
    ver = f"{rng.randint(7, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(1, 99)}"
    cu = f"{rng.randint(11, 12)}.{rng.randint(0, 8)}.{rng.randint(0, 9)}.{rng.randint(1, 200)}"
    choices = [
        ("ii  libcudnn8  «k»-1+cuda12.1  amd64  cuDNN runtime libraries\n", ver),
        ("cuDNN version: «k»\n", ver),
        ("pip install tensorrt==«k»\n", ver),
        ("Found CUDA toolkit «k» at /usr/local/cuda\n", cu),
        ("nvidia-cublas-cu12 «k»\n", cu),
        ("AWS_ACCESS_KEY_ID=«k»\n", "AKIAIOSFODNN7EXAMPLE"),
        ("aws_secret_access_key = «k»\n", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ("DATABASE_URL=«k»\n", "postgresql://USER:PASSWORD@HOST:5432/DBNAME"),
        ("conn = connect('«k»')\n", "mysql://USERNAME:PASSWORD@HOSTNAME/DB"),
        ('api_key = "«k»"\n', "YOUR_API_KEY"),
        ("export OPENAI_API_KEY=«k»\n", "YOUR_OPENAI_API_KEY"),
        ("wandb.login(key=«k»)\n", 'os.environ["WANDB_API_KEY"]'),
        ("Client(key=«k»)\n", "settings.api_key"),
        ("The password is incorrect. «k»\n", "Try again."),
        ("ssh -T «k»\n", "git@github.com"),
    ]
    tpl, value = rng.choice(choices)
    b.add(tpl, "output", "keep:lookalike", k=(value, KEEP, "lookalike"))


_MAKERS = (
    (_provider, 4),
    (_prose_password, 3),
    (_basic_auth, 1),
    (_sdk_key, 3),
    (_webhook, 2),
    (_hostname, 4),
    (_known_value, 3),
    (_lookalikes, 6),
)


def heldout_samples(seed: int = 424242, count: int = 600) -> list[Sample]:
    """``count`` rounds of generators, in order (a known-value session is two samples)."""
    b = _Build(random.Random(seed))
    makers = [m for m, weight in _MAKERS for _ in range(weight)]
    for _ in range(count):
        b.rng.choice(makers)(b)
    return b.samples


def label_group(label: Label) -> str:
    return label.category
