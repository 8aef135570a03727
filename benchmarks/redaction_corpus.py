"""A seeded generator of the labelled corpus that the redaction benchmark scores.

Every secret is a fake of the right shape, made at run time from a seeded
random generator, so no realistic credential sits in a file. Positives put
those fakes in realistic places (shell commands, terminal output, diffs,
config files, code) and label the span of each value with its category.
Negatives are text that must survive untouched: git SHAs, sha256/sha512
digests, pip ``--hash``, docker digests, UUIDs, base64 data, version strings,
ordinary code and logs. Templates mark slots with «name».
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field

LOWER = string.ascii_lowercase
UPPER = string.ascii_uppercase
DIGITS = string.digits
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"
HEX = "0123456789abcdef"
BASE32 = UPPER + "234567"
PASSWORD_SYMBOLS = "!#%*+,-.:=?@^_~"

# The fake person at the benchmark's machine; the benchmark hands this to the engine.
PROFILE = {
    "user": "anguyen",
    "name": "Alice Nguyen",
    "host": "anguyen-xps",
    "home": "/home/anguyen",
    "email": "alice.nguyen@example.org",
}
CATEGORIES = ("provider-token", "shell", "url", "dotenv", "entropy", "personal")
_SLOT = re.compile(r"«(\w+)»")


@dataclass(frozen=True)
class Label:
    start: int
    end: int
    category: str
    kind: str


@dataclass
class Sample:
    text: str
    context: str  # command, output, diff, config, code
    group: str  # what generated it, e.g. "provider-token:github-token" or "negative:git-log"
    labels: list[Label] = field(default_factory=list)


def rs(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def fill(template: str, slots: dict[str, object]) -> tuple[str, list[Label]]:
    """Replace «name» slots; a slot given as (text, category, kind) is labelled."""
    parts: list[str] = []
    labels: list[Label] = []
    size = 0
    for i, piece in enumerate(_SLOT.split(template)):
        if i % 2 == 0:
            text = piece
        else:
            value = slots[piece]
            text = value[0] if isinstance(value, tuple) else str(value)
            if isinstance(value, tuple) and text:
                labels.append(Label(size, size + len(text), value[1], value[2]))
        parts.append(text)
        size += len(text)
    return "".join(parts), labels


def sample(template: str, context: str, group: str, **slots: object) -> Sample:
    text, labels = fill(template, slots)
    return Sample(text, context, group, labels)


# -- fake values ---------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def fake_jwt(rng: random.Random) -> str:
    header = {"alg": rng.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"}
    payload = {
        "sub": rs(rng, HEX, 12),
        "iat": rng.randrange(1_700_000_000, 1_800_000_000),
        "scope": rng.choice(["read", "read write", "admin"]),
    }
    parts = [json.dumps(header).encode(), json.dumps(payload).encode(), rng.randbytes(32)]
    return ".".join(b64url(p) for p in parts)


def fake_pem(rng: random.Random, truncated: bool = False) -> str:
    kind = rng.choice(["RSA ", "EC ", "OPENSSH ", "", "ENCRYPTED "])
    lines = [base64.b64encode(rng.randbytes(48)).decode() for _ in range(rng.randint(6, 20))]
    if truncated:
        return f"-----BEGIN {kind}PRIVATE KEY-----\n" + "\n".join(lines[: rng.randint(1, 4)])
    tail = base64.b64encode(rng.randbytes(rng.randint(5, 40))).decode()
    body = "\n".join([*lines, tail])
    return f"-----BEGIN {kind}PRIVATE KEY-----\n{body}\n-----END {kind}PRIVATE KEY-----"


def fake_password(rng: random.Random) -> str:
    style = rng.randrange(5)
    if style == 0:
        word = rng.choice(["Summer", "winter", "Dragon", "monkey", "Sunshine", "tr0ub4dor", "Pa55"])
        return word + str(rng.randint(1, 9999)) + rng.choice(["", "!", "#", "?"])
    if style == 1:
        return rs(rng, ALNUM, rng.randint(8, 14))
    if style == 2:
        return rng.choice(ALNUM) + rs(rng, ALNUM + PASSWORD_SYMBOLS, rng.randint(9, 19))
    if style == 3:
        return rng.choice(["hunter2", "letmein42", "postgres123", "s3cr3t", "admin1234", "qwerty7"])
    return rs(rng, LOWER + DIGITS, rng.randint(16, 32))


def fake_api_token(rng: random.Random) -> str:
    """A random token with no provider prefix (a generic API key)."""
    style = rng.randrange(4)
    if style == 0:
        return rs(rng, HEX, rng.choice([32, 40, 64]))
    if style == 1:
        return rs(rng, ALNUM, rng.randint(24, 48))
    if style == 2:
        return base64.b64encode(rng.randbytes(rng.choice([24, 32, 48]))).decode()
    return rs(rng, URLSAFE, rng.randint(30, 50))


def fake_uuid(rng: random.Random) -> str:
    h = rs(rng, HEX, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def fake_ipv4(rng: random.Random) -> str:
    first = rng.choice([10, 172, 192, 34, 52, 81, 100, 145, 203, 198])
    return ".".join(str(x) for x in [first, rng.randint(0, 255), rng.randint(0, 255)]) + (
        f".{rng.randint(1, 254)}"
    )


def fake_ipv6(rng: random.Random) -> str:
    groups = [rng.choice(["2001", "2a02", "fd12", "2600"])] + [
        rs(rng, HEX, rng.randint(1, 4)).lstrip("0") or "0" for _ in range(rng.randint(3, 4))
    ]
    return ":".join(groups[:2]) + "::" + ":".join(groups[2:])


FIRST = ["bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory"]
LAST = ["smith", "jones", "garcia", "kim", "patel", "mueller", "rossi", "tanaka", "silva"]
DOMAINS = ["example.com", "corp.example.net", "lab.example.edu", "mail.example.org"]


def fake_email(rng: random.Random) -> str:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    local = rng.choice([f"{first}.{last}", f"{first}{rng.randint(1, 99)}", f"{first[0]}{last}"])
    return f"{local}@{rng.choice(DOMAINS)}"


# -- provider tokens -------------------------------------------------------------------

Maker = Callable[[random.Random], str]

PROVIDERS: dict[str, tuple[tuple[str, ...], Maker]] = {
    "aws-access-key-id": (
        ("AWS_ACCESS_KEY_ID",),
        lambda r: r.choice(["AKIA", "ASIA"]) + rs(r, BASE32, 16),
    ),
    "aws-secret-access-key": (("AWS_SECRET_ACCESS_KEY",), lambda r: rs(r, B64, 40)),
    "github-token": (("GITHUB_TOKEN", "GH_TOKEN"), lambda r: "ghp_" + rs(r, ALNUM, 36)),
    "github-oauth-token": (("GITHUB_TOKEN",), lambda r: "gho_" + rs(r, ALNUM, 36)),
    "github-app-token": (
        ("GITHUB_TOKEN",),
        lambda r: r.choice(["ghs_", "ghu_"]) + rs(r, ALNUM, 36),
    ),
    "github-fine-grained-token": (
        ("GITHUB_PAT", "GH_TOKEN"),
        lambda r: "github_pat_11" + rs(r, UPPER + DIGITS, 20) + "_" + rs(r, ALNUM, 59),
    ),
    "gitlab-token": (("GITLAB_TOKEN", "CI_JOB_TOKEN"), lambda r: "glpat-" + rs(r, URLSAFE, 20)),
    "slack-token": (
        ("SLACK_BOT_TOKEN", "SLACK_TOKEN"),
        lambda r: (
            f"xox{r.choice('bpa')}-{rs(r, DIGITS, 11)}-{rs(r, DIGITS, 13)}-{rs(r, ALNUM, 24)}"
        ),
    ),
    "slack-webhook": (
        ("SLACK_WEBHOOK_URL",),
        lambda r: f"T{rs(r, UPPER + DIGITS, 8)}/B{rs(r, UPPER + DIGITS, 10)}/{rs(r, ALNUM, 24)}",
    ),
    "stripe-key": (
        ("STRIPE_SECRET_KEY", "STRIPE_API_KEY"),
        lambda r: r.choice(["sk_live_", "sk_test_", "rk_live_"]) + rs(r, ALNUM, r.choice([24, 99])),
    ),
    "openai-key": (
        ("OPENAI_API_KEY",),
        lambda r: r.choice(
            [
                "sk-proj-" + rs(r, URLSAFE, 120) + "T3BlbkFJ" + rs(r, URLSAFE, 20),
                "sk-" + rs(r, ALNUM, 20) + "T3BlbkFJ" + rs(r, ALNUM, 20),
                "sk-svcacct-" + rs(r, URLSAFE, 64),
            ]
        ),
    ),
    "anthropic-key": (
        ("ANTHROPIC_API_KEY",),
        lambda r: "sk-ant-api03-" + rs(r, URLSAFE, 93) + "AA",
    ),
    "huggingface-token": (
        ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"),
        lambda r: "hf_" + rs(r, ALNUM, 34),
    ),
    "google-api-key": (("GOOGLE_API_KEY", "GEMINI_API_KEY"), lambda r: "AIza" + rs(r, URLSAFE, 35)),
    "npm-token": (("NPM_TOKEN",), lambda r: "npm_" + rs(r, ALNUM, 36)),
    "pypi-token": (
        ("TWINE_PASSWORD", "PYPI_TOKEN"),
        lambda r: "pypi-AgEIcHlwaS5vcmc" + rs(r, URLSAFE, r.randint(60, 150)),
    ),
    "azure-storage-key": (
        ("AZURE_STORAGE_KEY",),
        lambda r: base64.b64encode(r.randbytes(64)).decode(),
    ),
    "azure-client-secret": (
        ("AZURE_CLIENT_SECRET",),
        lambda r: rs(r, ALNUM, 3) + str(r.randint(0, 9)) + "Q~" + rs(r, ALNUM + "_~.-", 34),
    ),
    "jwt": (("ACCESS_TOKEN", "ID_TOKEN"), fake_jwt),
    "private-key": (("PRIVATE_KEY",), lambda r: fake_pem(r, truncated=r.random() < 0.3)),
    "sendgrid-key": (
        ("SENDGRID_API_KEY",),
        lambda r: f"SG.{rs(r, URLSAFE, 22)}.{rs(r, URLSAFE, 43)}",
    ),
    "digitalocean-token": (("DIGITALOCEAN_TOKEN",), lambda r: "dop_v1_" + rs(r, HEX, 64)),
    "docker-hub-token": (("DOCKER_TOKEN",), lambda r: "dckr_pat_" + rs(r, URLSAFE, 27)),
    "vault-token": (("VAULT_TOKEN",), lambda r: "hvs." + rs(r, URLSAFE, 24)),
    "replicate-token": (("REPLICATE_API_TOKEN",), lambda r: "r8_" + rs(r, ALNUM, 37)),
    "groq-key": (("GROQ_API_KEY",), lambda r: "gsk_" + rs(r, ALNUM, 52)),
    "databricks-token": (("DATABRICKS_TOKEN",), lambda r: "dapi" + rs(r, HEX, 32)),
}

# Contexts that name the variable (any token) and bare ones (tokens with a distinctive shape).
VAR_CONTEXTS = [
    ("command", "export «VAR»=«S»"),
    ("command", 'export «VAR»="«S»"\npython train.py --config configs/base.yaml'),
    ("command", "«VAR»=«S» python scripts/sync.py --dry-run"),
    ("command", "docker run --rm -e «VAR»=«S» -v $PWD:/work ghcr.io/acme/tool:1.4.2"),
    ("output", "$ env | grep -i «PREFIX»\n«VAR»=«S»\n«PREFIX»_DEBUG=0"),
    ("diff", "--- a/.env\n+++ b/.env\n@@ -1,2 +1,3 @@\n LOG_LEVEL=info\n+«VAR»=«S»\n"),
    ("config", "# local settings\n«VAR»=«S»\nWORKERS=4\n"),
    ("config", 'env:\n  - name: «VAR»\n    value: "«S»"\n'),
    ("code", 'os.environ["«VAR»"] = "«S»"\nclient = make_client()'),
    ("config", "[default]\n«var» = «S»\nregion = eu-west-1\n"),
]
BARE_CONTEXTS = [
    ("command", 'curl -sS -H "Authorization: Bearer «S»" https://api.example.com/v1/me'),
    ("output", "$ cat ~/.config/acme/token\n«S»\n$ "),
    ("output", "Created token: «S»\nIt will expire in 30 days."),
    ("output", '{"id": 42, "token": "«S»", "expires_in": 3600}'),
    ("code", 'API_TOKEN = "«S»"\n\n\ndef fetch(url):\n    return get(url, token=API_TOKEN)'),
    ("code", 'resp = requests.get(url, headers={"Authorization": f"token «S»"})'),
    ("command", "python upload.py --token «S» --repo acme/data"),
    ("output", "error: authentication failed for token «S» (HTTP 401)"),
    ("diff", '-    token = load_token()\n+    token = "«S»"\n     return Client(token)'),
    ("output", "$ git remote -v\norigin\thttps://«S»@github.com/acme/app.git (fetch)"),
    ("output", "Set the repository secret to `«S»`."),
    ("output", "> GET /v1/me HTTP/1.1\n> Cookie: session=«S»; Path=/\n< HTTP/1.1 200 OK"),
    ("command", "curl 'https://api.example.com/v1/items?access_token=«S»&limit=10'"),
    ("code", 'HEADERS = {"Authorization": "Bearer " + "«S»"}'),
    (
        "output",
        'Traceback (most recent call last):\n    client = Client("«S»")\n'
        "ValueError: invalid key «S2»",
    ),
    ("config", "apiVersion: v1\nkind: Secret\nstringData:\n  token: «S»\n"),
    ("code", "```bash\n# paste your key\nacme-cli configure --key «S»\n```"),
]
CONTEXTLESS_KINDS = {"aws-secret-access-key", "azure-storage-key", "slack-webhook", "private-key"}
SPECIAL_CONTEXTS = {
    "aws-secret-access-key": [
        ("config", "[default]\naws_access_key_id = «ID»\naws_secret_access_key = «S»\n"),
        (
            "output",
            '{\n    "Credentials": {\n        "AccessKeyId": "«ID»",\n'
            '        "SecretAccessKey": "«S»",\n        "Expiration": "2026-11-25T19:00:00Z"\n'
            "    }\n}",
        ),
        ("command", "aws configure set aws_secret_access_key «S» --profile ci"),
        ("code", 's3 = boto3.client("s3", aws_access_key_id="«ID»", aws_secret_access_key="«S»")'),
        (
            "output",
            "AWS Access Key ID [None]: «ID»\nAWS Secret Access Key [None]: «S»\n"
            "Default region name [None]: us-east-1",
        ),
    ],
    "azure-storage-key": [
        (
            "config",
            "AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;"
            "AccountName=acmedata;AccountKey=«S»;EndpointSuffix=core.windows.net",
        ),
        ("command", "az storage blob list -c raw --account-name acmedata --account-key «S»"),
    ],
    "slack-webhook": [
        ("command", 'curl -X POST -d \'{"text":"done"}\' https://hooks.slack.com/services/«S»'),
        ("config", "notify:\n  slack: https://hooks.slack.com/services/«S»\n"),
    ],
    "private-key": [
        ("output", "$ cat ~/.ssh/id_deploy\n«S»\n$ "),
        ("diff", "+++ b/deploy/key.pem\n@@ -0,0 +1,30 @@\n+«S»"),
        ("config", '{"type": "service_account", "private_key": "«S»", "client_id": "1234"}'),
    ],
}


def provider_sample(rng: random.Random, kind: str) -> Sample:
    names, make = PROVIDERS[kind]
    token = make(rng)
    var = rng.choice(names)
    contexts = list(SPECIAL_CONTEXTS.get(kind, []))
    if kind not in CONTEXTLESS_KINDS:
        contexts += VAR_CONTEXTS + (BARE_CONTEXTS if kind != "private-key" else [])
    context, template = rng.choice(contexts)
    slots: dict[str, object] = {
        "VAR": var,
        "var": var.lower(),
        "PREFIX": var.split("_")[0],
        "ID": ("AKIA" + rs(rng, BASE32, 16), "provider-token", "aws-access-key-id"),
    }
    if kind == "private-key" and '"private_key"' in template:
        token = token.replace("\n", "\\n")
    if kind == "private-key" and context == "diff":
        token = token.replace("\n", "\n+")
    slots["S"] = (token, "provider-token", kind)
    slots["S2"] = (token, "provider-token", kind)
    return sample(template, context, f"provider-token:{kind}", **slots)


# -- secrets in shell syntax -----------------------------------------------------------

SHELL_TEMPLATES = [
    ("command", "export DB_PASSWORD=«P»"),
    ("command", "export POSTGRES_PASSWORD='«P»'"),
    ("command", "PGPASSWORD=«P» psql -h db.internal -U app -d analytics -c 'select 1'"),
    ("command", "mysql -h 127.0.0.1 -u root -p«P» experiments < schema.sql"),
    ("command", "mysqldump -uroot -p'«P»' --all-databases > backup.sql"),
    ("command", "curl -u admin:«P» https://jenkins.example.com/job/nightly/build"),
    (
        "command",
        "curl --user 'ci-bot:«P»' -X PUT --data-binary @model.bin https://artifacts.example.com/m",
    ),
    ("command", "docker login -u deploy -p «P» registry.example.com"),
    ("command", "docker login registry.example.com --username ci --password «P»"),
    ("command", "sshpass -p '«P»' ssh -o StrictHostKeyChecking=no deploy@build-01"),
    ("command", "psql --host=db --username=app --password=«P» analytics"),
    ("command", "python tools/migrate.py --db-password «P» --dry-run"),
    ("command", "./deploy.sh --api-token=«T» --env staging"),
    ("command", "vault login -method=userpass username=ops password=«P»"),
    ("command", "openssl pkcs12 -export -in cert.pem -inkey key.pem -passout pass:«P» -out c.p12"),
    ("command", "curl -H 'X-API-Key: «T»' https://api.example.com/v2/datasets"),
    ("command", 'curl -H "Authorization: Token «T»" https://registry.example.com/api/'),
    ("command", "SERVICE_TOKEN=«T» ./bin/worker --queue default"),
    ("command", "export MLFLOW_TRACKING_PASSWORD=«P» MLFLOW_TRACKING_USERNAME=ci-bot"),
    ("command", "export WANDB_API_KEY=«T»"),
    ("command", "redis-cli -h cache -a «P» ping"),
    ("command", "kubectl create secret generic db --from-literal=password=«P»"),
    ("command", 'docker run -d -e "POSTGRES_PASSWORD=«P»" -p 5432:5432 postgres:16'),
    ("command", 'psql "host=db.internal user=app password=«P» dbname=app sslmode=require"'),
    ("command", "helm upgrade --install app ./chart --set auth.password=«P» --wait"),
    ("command", "docker build --build-arg NPM_TOKEN=«T» -t acme/web ."),
    ("command", "mysql --user=root --password='«P»' -e 'show databases'"),
]


def shell_sample(rng: random.Random) -> Sample:
    context, template = rng.choice(SHELL_TEMPLATES)
    if "«B»" in template or rng.random() < 0.08:
        user, password = rng.choice(FIRST), fake_password(rng)
        blob = base64.b64encode(f"{user}:{password}".encode()).decode()
        template = "curl -H 'Authorization: Basic «B»' https://api.example.com/private"
        return sample(template, "command", "shell:basic-auth", B=(blob, "shell", "basic-auth"))
    password = fake_password(rng)
    if "'«P»'" not in template and "pass:" not in template:
        password = password.replace("#", "x").replace("~", "x")
    return sample(
        template,
        context,
        "shell",
        P=(password, "shell", "password"),
        T=(fake_api_token(rng), "shell", "api-token"),
    )


# -- credentials in URLs -----------------------------------------------------------------

URL_TEMPLATES = [
    ("config", "DATABASE_URL=postgres://app:«P»@db.internal:5432/analytics"),
    ("command", "psql 'postgresql://readonly:«P»@db-replica:5432/warehouse?sslmode=require'"),
    ("code", 'engine = create_engine("mysql+pymysql://root:«P»@localhost/experiments")'),
    ("config", "broker_url: redis://:«P»@cache.internal:6379/0"),
    ("command", "git clone https://oauth2:«P»@gitlab.example.com/ml/pipeline.git"),
    ("output", "remote: Invalid credentials for https://ci:«P»@git.example.com/acme/app.git"),
    ("config", 'MONGO_URI="mongodb+srv://admin:«P»@cluster0.ab12c.mongodb.net/prod"'),
    ("command", "pip install --index-url https://__token__:«P»@pypi.example.com/simple acme-core"),
    ("command", "wget https://data.example.com/export.csv?token=«T»&format=csv"),
    ("output", "Downloading https://storage.example.com/b/ckpt.pt?sv=2022-11-02&sp=r&sig=«T»"),
    ("config", "spring.datasource.url=jdbc:postgresql://db:5432/app?user=app&password=«P»"),
    ("config", "CELERY_BROKER_URL=amqp://worker:«P»@rabbitmq:5672/vhost"),
    ("command", "mongosh 'mongodb://admin:«P»@mongo-0:27017,mongo-1:27017/app?replicaSet=rs0'"),
]


def url_sample(rng: random.Random) -> Sample:
    if rng.random() < 0.3:
        return signed_url_sample(rng)
    context, template = rng.choice(URL_TEMPLATES)
    password = fake_password(rng)
    if rng.random() < 0.25:
        password = password[:4] + rng.choice(["@", "/", ":", "#", "?"]) + password[4:]
    token = rs(rng, URLSAFE, rng.randint(24, 44))
    return sample(
        template, context, "url", P=(password, "url", "password"), T=(token, "url", "token")
    )


def signed_url_sample(rng: random.Random) -> Sample:
    key_id = "AKIA" + rs(rng, BASE32, 16)
    template = (
        "https://acme-data.s3.us-east-1.amazonaws.com/exports/run-«N».tar.gz"
        "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=«K»%2F20261125%2Fus-east-1%2Fs3"
        "%2Faws4_request&X-Amz-Date=20261125T120000Z&X-Amz-Expires=3600"
        "&X-Amz-SignedHeaders=host&X-Amz-Signature=«S»"
    )
    if rng.random() < 0.4:
        template = (
            "https://storage.googleapis.com/acme-ckpt/model-«N».pt?X-Goog-Algorithm="
            "GOOG4-RSA-SHA256&X-Goog-Date=20261125T120000Z&X-Goog-Expires=900&X-Goog-Signature=«S»"
        )
    prefix = rng.choice(["curl -O '", "Download URL: ", 'wget -q "', ""])
    return sample(
        prefix + template,
        "command" if prefix.startswith(("curl", "wget")) else "output",
        "url:signed",
        N=rng.randint(1, 999),
        K=(key_id, "provider-token", "aws-access-key-id"),
        S=(rs(rng, HEX, rng.choice([64, 128])), "url", "signature"),
    )


# -- .env / .netrc / .pypirc content ---------------------------------------------------

DOTENV_TEMPLATES = [
    (
        "diff",
        "diff --git a/.env b/.env\n--- a/.env\n+++ b/.env\n@@ -3,2 +3,3 @@\n DEBUG=false\n"
        "+SECRET_KEY=«T»\n+SMTP_PASSWORD=«P»\n",
    ),
    ("output", "$ cat .env\nAPP_ENV=dev\nDB_USER=app\nDB_PASSWORD=«P»\nSESSION_SECRET=«T»\n"),
    ("output", "$ cat ~/.netrc\nmachine api.example.com\n  login deploy\n  password «P»\n"),
    ("config", "machine git.example.com login ci-bot password «P»\n"),
    (
        "output",
        "$ cat ~/.pypirc\n[distutils]\nindex-servers = internal\n\n[internal]\n"
        "repository = https://pypi.example.com/\nusername = deploy\npassword = «P»\n",
    ),
    ("config", "//npm.example.com/:_authToken=«T»\nalways-auth=true\n"),
    ("config", "database:\n  host: db.internal\n  user: app\n  password: «P»\n  pool: 5\n"),
    ("diff", "+[mail]\n+smtp_host = smtp.example.com\n+smtp_password = «P»\n"),
    ("config", "REDIS_PASSWORD=«P»\nREDIS_HOST=cache\nJWT_SECRET=«T»\n"),
    (
        "config",
        "services:\n  db:\n    environment:\n      - POSTGRES_PASSWORD=«P»\n      - PGDATA=/d\n",
    ),
    ("config", "export SECRET_KEY='«T»'  # rotated monthly\nexport DEBUG=0\n"),
    ("diff", "@@ -1 +1,2 @@\n [client]\n+password=«P»\n"),
]


def dotenv_sample(rng: random.Random) -> Sample:
    context, template = rng.choice(DOTENV_TEMPLATES)
    return sample(
        template,
        context,
        "dotenv",
        P=(fake_password(rng).replace("#", "x"), "dotenv", "password"),
        T=(fake_api_token(rng), "dotenv", "token"),
    )


# -- high-entropy values assigned to secret-named keys -----------------------------------

ENTROPY_TEMPLATES = [
    ("code", 'SECRET_KEY = "«D»"\nDEBUG = False\nALLOWED_HOSTS = ["*"]'),
    ("code", 'client = ApiClient(api_key="«T»", timeout=30)'),
    ("code", "self.signing_key = '«T»'"),
    (
        "config",
        '{\n  "client_id": "web-app",\n  "client_secret": "«T»",\n  "redirect_uri": "/cb"\n}',
    ),
    ("config", "auth:\n  provider: oidc\n  client_secret: «T»\n"),
    ("config", '[tool.acme]\napi_token = "«T»"\nendpoint = "https://api.example.com"\n'),
    ("diff", '-ENCRYPTION_KEY = os.environ["ENCRYPTION_KEY"]\n+ENCRYPTION_KEY = "«T»"\n'),
    ("code", 'config["access_token"] = "«T»"'),
    ("code", "const apiKey = '«T»';\nfetch(url, { headers: { 'x-api-key': apiKey } });"),
    ("config", "webhook_secret: '«T»'\nretries: 3\n"),
    ("code", 'func main() {\n\tapiKey := "«T»"\n\tclient := acme.New(apiKey)\n}'),
    ("code", 'private static final String CLIENT_SECRET = "«T»";'),
    ("config", 'resource "acme_app" "web" {\n  client_secret = "«T»"\n}'),
    ("config", '{"auths": {"registry.example.com": {"auth": "«B»"}}}'),
]


def entropy_sample(rng: random.Random) -> Sample:
    context, template = rng.choice(ENTROPY_TEMPLATES)
    django = "django-insecure-" + rs(rng, LOWER + DIGITS + "!@#%^&*(-_=+)", 50)
    basic = base64.b64encode(f"{rng.choice(FIRST)}:{fake_password(rng)}".encode()).decode()
    return sample(
        template,
        context,
        "entropy",
        T=(fake_api_token(rng), "entropy", "token"),
        D=(django, "entropy", "django-secret"),
        B=(basic, "entropy", "docker-auth"),
    )


# -- personal data ----------------------------------------------------------------------------

PERSONAL_TEMPLATES = [
    ("output", "«U»@«H»:~/code/vision$ git status\nOn branch main\nnothing to commit"),
    (
        "output",
        'Traceback (most recent call last):\n  File "«HOME»/code/vision/train.py", '
        "line 88, in <module>\n    main()\nKeyError: 'lr'",
    ),
    (
        "output",
        "commit «SHA»\nAuthor: «NAME» <«EMAIL»>\nDate:   Wed Nov 25 18:29:19 2026 +0000\n\n"
        "    Fix data loader",
    ),
    ("command", "ssh «U»@«IP» -p 2222"),
    ("output", "Last login: Tue Nov 24 09:12:44 2026 from «IP»"),
    (
        "output",
        "2: eth0: <BROADCAST,MULTICAST,UP> mtu 1500\n    inet «IP»/24 brd «IP2» scope global"
        " eth0\n    inet6 «IP6»/64 scope global dynamic",
    ),
    ("command", "scp results.tar.gz «U»@«H»:/data/«U»/runs/"),
    ("output", "Signed-off-by: «NAME2» <«EMAIL2»>\nReviewed-by: «NAME» <«EMAIL»>"),
    ("command", "git config --global user.email «EMAIL»"),
    (
        "output",
        "PING «IP» («IP»): 56 data bytes\n64 bytes from «IP»: icmp_seq=0 ttl=57 time=12.3 ms",
    ),
    ("output", "error: cannot open /Users/«OTHER»/datasets/coco/train2017: Permission denied"),
    ("command", "rsync -av /home/«OTHER»/shared/checkpoints/ «HOME»/ckpt/"),
    ("output", "[«H»] INFO worker started (pid 4242), writing to «HOME»/.cache/acme"),
    ("code", '# Contact: «EMAIL2» for access\nDATA_DIR = "«HOME»/data"'),
    ("output", "Connecting to «IP6» port 443... connected."),
    ("config", "[user]\n\tname = «NAME»\n\temail = «EMAIL»\n[core]\n\teditor = vim"),
    ("output", "Linux «H» 6.8.0-45-generic #45-Ubuntu SMP PREEMPT_DYNAMIC x86_64 GNU/Linux"),
    (
        "output",
        "State  Recv-Q Send-Q Local Address:Port  Peer Address:Port\n"
        "ESTAB  0      0      «IP»:22        «IP2»:51234",
    ),
    ("output", "$ git shortlog -sn\n   42\t«NAME»\n    7\t«NAME2»"),
    ("code", "# Questions? mailto:«EMAIL2»\nMAINTAINER = '«NAME»'"),
    ("output", "drwxr-xr-x 5 «U» «U» 4096 Nov 25 18:29 /tmp/«U»-cache"),
]


def personal_sample(rng: random.Random) -> Sample:
    context, template = rng.choice(PERSONAL_TEMPLATES)
    other = rng.choice(FIRST)
    return sample(
        template,
        context,
        "personal",
        U=(PROFILE["user"], "personal", "username"),
        H=(PROFILE["host"], "personal", "hostname"),
        HOME=(PROFILE["home"], "personal", "home"),
        NAME=(PROFILE["name"], "personal", "name"),
        EMAIL=(PROFILE["email"], "personal", "email"),
        NAME2=f"{other.title()} {rng.choice(LAST).title()}",
        EMAIL2=(fake_email(rng), "personal", "email"),
        IP=(fake_ipv4(rng), "personal", "ip"),
        IP2=(fake_ipv4(rng), "personal", "ip"),
        IP6=(fake_ipv6(rng), "personal", "ip"),
        OTHER=(other, "personal", "home-user"),
        SHA=rs(rng, HEX, 40),
    )


# -- negatives: must survive untouched ---------------------------------------------------------


def neg_git(rng: random.Random) -> Sample:
    lines = []
    for _ in range(rng.randint(3, 8)):
        subject = rng.choice(
            [
                "Fix tokenizer padding",
                "Bump torch to 2.5.1",
                "Add key rotation docs",
                "Refactor secret manager client",
                "Merge pull request #412 from acme/auth-token",
                "Update password reset flow",
                "Revert sha256 check",
            ]
        )
        lines.append(f"{rs(rng, HEX, rng.choice([7, 8, 12]))} {subject}")
    head = rs(rng, HEX, 40)
    text = "$ git log --oneline\n" + "\n".join(lines) + f"\n$ git rev-parse HEAD\n{head}\n"
    if rng.random() < 0.5:
        text += f"$ git show --stat {head[:10]}\ncommit {head}\nMerge: {rs(rng, HEX, 7)} {rs(rng, HEX, 7)}"
    return Sample(text, "output", "negative:git")


def neg_digest(rng: random.Random) -> Sample:
    style = rng.randrange(5)
    if style == 0:
        text = "\n".join(
            f"{rs(rng, HEX, 64)}  data/shard-{i:05d}.parquet" for i in range(rng.randint(2, 6))
        )
        text = "$ sha256sum data/*.parquet\n" + text
    elif style == 1:
        text = f"$ shasum -a 512 model.safetensors\n{rs(rng, HEX, 128)}  model.safetensors"
    elif style == 2:
        reqs = [
            f"{pkg}=={ver} \\\n    --hash=sha256:{rs(rng, HEX, 64)} \\\n"
            f"    --hash=sha256:{rs(rng, HEX, 64)}"
            for pkg, ver in [("numpy", "1.26.4"), ("requests", "2.32.3"), ("torch", "2.5.1")]
        ]
        text = (
            "# requirements.lock\n"
            + "\n".join(reqs)
            + "\n$ pip install --require-hashes -r requirements.lock"
        )
    elif style == 3:
        text = (
            f"$ docker pull python:3.11-slim@sha256:{rs(rng, HEX, 64)}\n"
            f"Digest: sha256:{rs(rng, HEX, 64)}\nStatus: Downloaded newer image\n"
            f"$ docker images\nREPOSITORY   TAG   IMAGE ID       CREATED\n"
            f"acme/train   1.4   {rs(rng, HEX, 12)}   2 days ago"
        )
    else:
        text = (
            f'[[package]]\nname = "urllib3"\nversion = "2.2.3"\nfiles = [\n'
            f'    {{file = "urllib3-2.2.3-py3-none-any.whl", hash = "sha256:{rs(rng, HEX, 64)}"}},\n'
            f'    {{file = "urllib3-2.2.3.tar.gz", hash = "sha512:{rs(rng, HEX, 128)}"}},\n]'
        )
    return Sample(text, "config" if style == 4 else "output", "negative:digest")


def neg_ids(rng: random.Random) -> Sample:
    style = rng.randrange(4)
    if style == 0:
        text = f"wandb: Syncing run {rs(rng, LOWER + DIGITS, 8)}\nrun_id: {fake_uuid(rng)}\n"
        text += f"request-id: {fake_uuid(rng)}\ntrace_id={rs(rng, HEX, 32)}"
    elif style == 1:
        text = (
            f"CONTAINER ID   IMAGE\n{rs(rng, HEX, 12)}   postgres:16\n{rs(rng, HEX, 12)}   redis:7"
        )
    elif style == 2:
        text = f'experiment = mlflow.get_experiment("{rs(rng, DIGITS, 18)}")\nrun = client.get_run("{rs(rng, HEX, 32)}")'
    else:
        text = f'metadata:\n  uid: {fake_uuid(rng)}\n  resourceVersion: "{rng.randint(10**5, 10**7)}"\n  name: trainer-{rs(rng, LOWER + DIGITS, 5)}'
    return Sample(text, "output", "negative:ids")


def neg_base64(rng: random.Random) -> Sample:
    blob = base64.b64encode(rng.randbytes(rng.randint(60, 600))).decode()
    style = rng.randrange(3)
    if style == 0:
        text = f'{{"output_type": "display_data", "data": {{"image/png": "iVBORw0KGgo{blob}"}}}}'
    elif style == 1:
        text = (
            f"$ echo hello | base64\naGVsbG8K\n$ base64 -w0 weights.bin | head -c 120\n{blob[:120]}"
        )
    else:
        text = f'<img src="data:image/jpeg;base64,/9j/4AAQ{blob}" alt="loss curve"/>'
    return Sample(text, "output", "negative:base64")


def neg_versions(rng: random.Random) -> Sample:
    lines = [
        "Python 3.11.7",
        "pip 24.3.1 from /usr/lib/python3/site-packages/pip (python 3.11)",
        "torch==2.5.1+cu121",
        "numpy 1.26.4",
        "node v20.11.1",
        "CUDA Version: 12.2",
        "Driver Version: 535.104.05",
        "transformers-4.46.3-py3-none-any.whl",
        "Successfully installed tokenizers-0.20.3 safetensors-0.4.5",
        "go version go1.22.4 linux/amd64",
        "gcc (Debian 12.2.0-14) 12.2.0",
    ]
    return Sample("\n".join(rng.sample(lines, rng.randint(3, 7))), "output", "negative:versions")


PY_SNIPPETS = [
    'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")\nbatch = tokenizer(texts, '
    'max_length=512, truncation=True, return_tensors="pt")',
    'def get_token(self) -> str:\n    token = os.environ.get("HF_TOKEN")\n    if token is None:\n'
    '        raise RuntimeError("set HF_TOKEN")\n    return token',
    'password = getpass.getpass("DB password: ")\nconn = connect(user=user, password=password)',
    'api_key = os.getenv("OPENAI_API_KEY")\nclient = OpenAI(api_key=api_key)',
    'cache_key = f"{user_id}:{item_id}"\nkey = hashlib.sha256(cache_key.encode()).hexdigest()',
    "@torch.no_grad()\ndef evaluate(model, loader):\n    logits = x @ w.T + b\n    return logits.softmax(-1)",
    'for epoch in range(cfg.epochs):\n    loss = step(batch)\n    print(f"epoch {epoch} loss {loss:.4f}")',
    'secret_name = "prod/db"\nresponse = sm.get_secret_value(SecretId=secret_name)',
    'MAX_TOKENS = 4096\nTOKEN_LIMIT_WARNING = 0.9\nsort_key = "created_at"',
    "class TokenBucket:\n    def __init__(self, rate: float, capacity: int):\n        self.tokens = capacity",
    "if password == confirm_password:\n    user.set_password(password)\n    user.save()",
    'headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}',
    'token_type = "bearer"\nauth_method = "oauth2"\npassword_min_length = 12',
    'PRIMARY_KEY = "id"\nforeign_key = "users.id"\nprivate_key_path = "keys/signing.pem"',
]
SHELL_NEGATIVES = [
    "export PATH=$HOME/.local/bin:$PATH",
    "export CUDA_VISIBLE_DEVICES=0,1",
    "export TOKENIZERS_PARALLELISM=false",
    "export HF_TOKEN=$(cat ~/.cache/huggingface/token)",
    'export OPENAI_API_KEY="$OPENAI_KEY"',
    "mkdir -p build/logs && cd build",
    "docker run -p 8080:8080 -u 1000:1000 acme/api:latest",
    "git push -u origin main",
    "mysql -u root -p",
    "gh auth login --with-token < token.txt",
    "kubectl get secret db-password -o jsonpath='{.data.password}'",
    "pass show github/token | gh auth login --with-token",
    "ls -la ~/.ssh",
    "python -m pytest tests/ -k 'not slow' -x",
    "curl -s https://api.github.com/repos/acme/app",
    "docker login -u ci --password-stdin < /run/secrets/registry",
    "export AWS_PROFILE=research",
    "ssh-keygen -t ed25519 -f ~/.ssh/id_ci -N ''",
]


def neg_code(rng: random.Random) -> Sample:
    return Sample("\n\n".join(rng.sample(PY_SNIPPETS, rng.randint(1, 3))), "code", "negative:code")


def neg_shell(rng: random.Random) -> Sample:
    return Sample(
        "\n".join(rng.sample(SHELL_NEGATIVES, rng.randint(2, 5))), "command", "negative:shell"
    )


def neg_log(rng: random.Random) -> Sample:
    lines = []
    for i in range(rng.randint(4, 12)):
        ts = (
            f"2026-11-25 {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
        )
        lines.append(
            rng.choice(
                [
                    f"{ts} INFO step {i * 50} loss {rng.random():.4f} lr 3.0e-04 tokens/s {rng.randint(1000, 9000)}",
                    f"{ts} WARNING token indices sequence length is longer than the specified maximum",
                    f"{ts} DEBUG GET https://huggingface.co/api/models/bert-base-uncased/revision/main 200",
                    f"epoch {i}: 100%|██████████| {rng.randint(100, 999)}/{rng.randint(100, 999)} [00:{rng.randint(10, 59)}<00:00, 12.3it/s]",
                    f"{ts} INFO saved checkpoint to ./runs/{rs(rng, HEX, 8)}/ckpt-{i}.pt",
                    f"link/ether 02:42:ac:11:00:{rng.randint(10, 99)} brd ff:ff:ff:ff:ff:ff",
                    f"|   0  NVIDIA A100-SXM4-80GB  On | 00000000:{rng.randint(10, 99)}:00.0 Off |",
                ]
            )
        )
    return Sample("\n".join(lines), "output", "negative:log")


def neg_diff(rng: random.Random) -> Sample:
    text = (
        f"diff --git a/src/train.py b/src/train.py\nindex {rs(rng, HEX, 7)}..{rs(rng, HEX, 7)} 100644\n"
        "--- a/src/train.py\n+++ b/src/train.py\n@@ -10,7 +10,8 @@ def main(cfg):\n"
        '-    lr = 1e-4\n+    lr = cfg.lr\n+    warmup = cfg.get("warmup_steps", 500)\n'
        "     tokenizer = load_tokenizer(cfg.tokenizer)\n"
        f'-version = "1.{rng.randint(0, 9)}.{rng.randint(0, 9)}"\n+version = "1.{rng.randint(0, 9)}.{rng.randint(0, 9)}"'
    )
    return Sample(text, "diff", "negative:diff")


def neg_config(rng: random.Random) -> Sample:
    text = (
        "model:\n  name: meta-llama/Llama-3.1-8B\n  tokenizer: meta-llama/Llama-3.1-8B\n"
        f"  max_tokens: {rng.choice([512, 2048, 4096])}\ntraining:\n  seed: {rng.randint(0, 9999)}\n"
        "  password_file: /run/secrets/db_password\n  secret_ref: vault://kv/ml/db\n"
        "  auth: oauth2\n  token_type: bearer\nenv:\n  - name: DB_PASSWORD\n    valueFrom:\n"
        "      secretKeyRef: {name: db, key: password}\n"
    )
    return Sample(text, "config", "negative:config")


def neg_placeholders(rng: random.Random) -> Sample:
    lines = [
        "export GITHUB_TOKEN=ghp_" + "x" * 36,
        "OPENAI_API_KEY=sk-...",
        "AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX",
        "password: <your-password>",
        'api_key = "YOUR_API_KEY"',
        "token: ${{ secrets.GITHUB_TOKEN }}",
        "HF_TOKEN=hf_***",
        "export DB_PASSWORD=",
        "password: ${DB_PASSWORD:?set it}",
        'client_secret: "{{ vault_client_secret }}"',
    ]
    return Sample("\n".join(rng.sample(lines, rng.randint(2, 5))), "config", "negative:placeholder")


def neg_public(rng: random.Random) -> Sample:
    body = "\n".join(base64.b64encode(rng.randbytes(48)).decode() for _ in range(rng.randint(3, 8)))
    kind = rng.choice(["PUBLIC KEY", "CERTIFICATE"])
    pem = f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----"
    ssh = f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{rs(rng, B64, 43)} deploy@ci"
    lfs = f"version https://git-lfs.github.com/spec/v1\noid sha256:{rs(rng, HEX, 64)}\nsize 1048576"
    npm = f'"integrity": "sha512-{base64.b64encode(rng.randbytes(64)).decode()}",'
    return Sample(rng.choice([pem, ssh, lfs, npm]), "output", "negative:public")


def neg_code_hard(rng: random.Random) -> Sample:
    lines = [
        "token = tokenizer.encode(text)",
        'password_hash = "$2b$12$' + rs(rng, ALNUM + "./", 53) + '"',
        "TOKEN_EXPIRY = 3600",
        'AUTH_USER_MODEL = "accounts.User"',
        "const token = await getToken();",
        "secret_key_path: Path = Path.home() / '.config' / 'acme' / 'key'",
        f"X-Request-Id: {rs(rng, HEX, 32)}",
        "num_tokens = len(tokens)",
        "def check_password(self, raw_password: str) -> bool:",
        "api_key_header = APIKeyHeader(name='X-API-Key')",
        'tokens_per_second = f"{n / dt:.1f}"',
    ]
    return Sample("\n".join(rng.sample(lines, rng.randint(2, 6))), "code", "negative:code-hard")


NEGATIVES: list[Callable[[random.Random], Sample]] = [
    neg_placeholders,
    neg_public,
    neg_code_hard,
    neg_git,
    neg_digest,
    neg_ids,
    neg_base64,
    neg_versions,
    neg_code,
    neg_shell,
    neg_log,
    neg_diff,
    neg_config,
]


def _with_noise(rng: random.Random, s: Sample) -> Sample:
    """Put a negative sample before or after a positive one, shifting its labels."""
    noise = rng.choice(NEGATIVES)(rng).text
    if rng.random() < 0.5:
        return Sample(s.text + "\n" + noise, s.context, s.group, s.labels)
    shift = len(noise) + 1
    labels = [Label(lb.start + shift, lb.end + shift, lb.category, lb.kind) for lb in s.labels]
    return Sample(noise + "\n" + s.text, s.context, s.group, labels)


# -- held out: written after the rules were tuned on everything above, and never tuned on ----

HELDOUT_TOKEN = [
    ("output", "Your new token is ready:\n\n    «S»\n\nMake sure to copy it now."),
    ("config", "[credentials]\ntoken=«S»\n"),
    ("code", "st.secrets['api'] = '«S»'"),
    ("command", "gh secret set DEPLOY_KEY --body «S»"),
    ("output", "| api_key | «S» |"),
    ("code", "// TODO remove before commit: «S»"),
    ("command", "echo -n '«S»' | pbcopy"),
    ("config", "  - name: API_TOKEN\n    value: «S»"),
    ("output", "Error: 403 Forbidden (token=«S»)"),
    ("code", "fetch(`https://api.example.com/v1?key=«S»`)"),
]
HELDOUT_SECRET = [
    ("command", 'export PGPASSWORD="«P»"; pg_dump -h db app > app.sql', "shell"),
    ("command", "sudo mysql -uadmin -p«P» -e 'FLUSH PRIVILEGES'", "shell"),
    ("command", "wget --user=deploy --password=«P» https://files.example.com/a.tgz", "shell"),
    ("command", "ldapsearch -x -D cn=admin,dc=example,dc=com -w «P» -b dc=example,dc=com", "shell"),
    ("command", "smbclient //fs/share -U alice%«P»", "shell"),
    ("command", "htpasswd -b -c .htpasswd admin «P»", "shell"),
    ("command", "az login --service-principal -u app-id -p «P» --tenant t", "shell"),
    ("command", "rclone config create s3 s3 secret_access_key=«T» access_key_id=x", "shell"),
    ("config", "REDIS_URL=rediss://:«P»@cache.example.com:6380/0", "url"),
    ("output", "fatal: unable to access 'https://deploy:«P»@git.example.com/x.git/': 403", "url"),
    ("config", "proxy = http://proxyuser:«P»@proxy.corp:3128", "url"),
    ("config", "[database]\nhost = db\nuser = app\npasswd = «P»\n", "dotenv"),
    ("config", "spring:\n  datasource:\n    password: «P»\n", "dotenv"),
    ("config", '<add key="ApiSecret" value="«T»" />', "entropy"),
    ("config", '{"password": "«P»", "user": "app"}', "dotenv"),
    ("code", "SLACK_SIGNING_SECRET = os.environ.get('X', '«T»')", "entropy"),
    ("code", "client = Client(token='«T»')", "entropy"),
    ("code", "conf.set('fs.s3a.secret.key', '«T»')", "entropy"),
]
HELDOUT_PERSONAL = [
    ("output", "Welcome to Ubuntu 24.04 LTS\n«U»@«H»:~$ whoami\n«U»"),
    ("output", "fatal: could not read from «HOME»/.ssh/id_ed25519"),
    ("output", "Cloning into 'app'...\nFrom «IP»:acme/app"),
    ("code", "# Copyright 2026 «NAME» <«EMAIL»>"),
]
HELDOUT_NEGATIVE = [
    "git checkout -b feature/token-refresh",
    "kubectl get secrets -n prod",
    "pass generate web/github 24",
    "npm token list",
    "aws sts get-caller-identity",
    "echo $GITHUB_TOKEN | wc -c",
    "docker secret ls",
    "SECRET_NAME=prod/db/password",
    "export PASSWORD_FILE=/run/secrets/pw",
    "jwt.decode(token, key, algorithms=['HS256'])",
    "if not api_key:\n    raise SystemExit('set OPENAI_API_KEY')",
    "Token indices sequence length is longer than the specified maximum (1024 > 512)",
]


# A second held-out set, written after the rules were extended for the first one.
HELDOUT2_TOKEN = [
    ("code", 'export const config = { apiKey: "«S»" };'),
    ("command", 'http POST api.example.com/v1/run Authorization:"Bearer «S»"'),
    ("output", "[INFO] using credentials «S» for upload"),
    ("config", 'tokens = ["«S»"]'),
    ("code", "curl_setopt($ch, CURLOPT_HTTPHEADER, ['Authorization: Bearer «S»']);"),
    ("output", "«S»\n"),
    ("command", "kubectl create secret generic api --from-literal=token=«S»"),
]
HELDOUT2_SECRET = [
    ("command", "sqlcmd -S db -U sa -P «P» -Q 'select 1'", "shell"),
    ("command", "mongodump --uri mongodb://backup:«P»@db:27017/app", "url"),
    ("command", "export AWS_SECRET_ACCESS_KEY=«T»", "shell"),
    ("config", "DB_PASS=«P»", "dotenv"),
    ("config", "[client]\nuser=root\npassword=«P»\n", "dotenv"),
    ("code", "$password = '«P»';", "entropy"),
    ("code", 'let token = "«T»"', "entropy"),
    ("config", "  api-key: «T»", "entropy"),
    ("command", "openssl enc -aes-256-cbc -k «P» -in a -out b", "shell"),
    ("command", "zip -P «P» secrets.zip notes.txt", "shell"),
    ("output", "Generated password: «P»", "shell"),
    ("config", "Password=«P»;Server=db;Database=app;User Id=sa;", "dotenv"),
]
HELDOUT2_PERSONAL = [
    ("output", "«U»  pts/0  2026-11-25 09:12 («IP»)"),
    ("output", "Signed-off-by: «NAME» <«EMAIL»>"),
    ("command", "cd «HOME»/projects && make"),
    ("output", "«H».local has address «IP»"),
]
HELDOUT2_NEGATIVE = [
    "git log --author=bot --grep='rotate token'",
    "const PASSWORD_MIN = 12;",
    "SECRET_KEY_BASE is required in production",
    "docker run --env-file .env app",
    "openssl rand -hex 32",
    "gpg --gen-key",
    "awk -F: '{print $1}' /etc/passwd",
    "pip install keyring keyrings.alt",
]
HELDOUT_SETS = {
    1: (HELDOUT_TOKEN, HELDOUT_SECRET, HELDOUT_PERSONAL, HELDOUT_NEGATIVE),
    2: (HELDOUT2_TOKEN, HELDOUT2_SECRET, HELDOUT2_PERSONAL, HELDOUT2_NEGATIVE),
}


def heldout_corpus(seed: int = 11, count: int = 600, which: int = 1) -> list[Sample]:
    """Samples from one set of held-out templates, in the same label scheme."""
    tokens, secrets, personal, negatives = HELDOUT_SETS[which]
    rng = random.Random(seed)
    out: list[Sample] = []
    kinds = [k for k in PROVIDERS if k not in CONTEXTLESS_KINDS]
    for _ in range(count):
        roll = rng.random()
        if roll < 0.3:
            kind = rng.choice(kinds)
            context, template = rng.choice(tokens)
            token = PROVIDERS[kind][1](rng)
            out.append(
                sample(template, context, f"heldout:{kind}", S=(token, "provider-token", kind))
            )
        elif roll < 0.6:
            context, template, category = rng.choice(secrets)
            p = fake_password(rng).replace("#", "x")
            t = fake_api_token(rng)
            out.append(
                sample(template, context, "heldout", P=(p, category, "p"), T=(t, category, "t"))
            )
        elif roll < 0.75:
            context, template = rng.choice(personal)
            out.append(
                sample(
                    template,
                    context,
                    "heldout:personal",
                    U=(PROFILE["user"], "personal", "username"),
                    H=(PROFILE["host"], "personal", "hostname"),
                    HOME=(PROFILE["home"], "personal", "home"),
                    NAME=(PROFILE["name"], "personal", "name"),
                    EMAIL=(PROFILE["email"], "personal", "email"),
                    IP=(fake_ipv4(rng), "personal", "ip"),
                )
            )
        else:
            text = "\n".join(rng.sample(negatives, rng.randint(1, 3)))
            out.append(Sample(text, "command", "heldout:negative"))
    return out


def build_corpus(seed: int = 20261125, per_provider: int = 24, scale: int = 1) -> list[Sample]:
    """The labelled corpus: positives of every category (half with noise around) and negatives."""
    rng = random.Random(seed)
    out: list[Sample] = []
    for kind in PROVIDERS:
        out += [provider_sample(rng, kind) for _ in range(per_provider * scale)]
    for make, count in [
        (shell_sample, 300),
        (url_sample, 200),
        (dotenv_sample, 200),
        (entropy_sample, 200),
        (personal_sample, 400),
    ]:
        out += [make(rng) for _ in range(count * scale)]
    out = [_with_noise(rng, s) if rng.random() < 0.5 else s for s in out]
    out += [rng.choice(NEGATIVES)(rng) for _ in range(1500 * scale)]
    rng.shuffle(out)
    return out


def background(seed: int = 7, size: int = 8 << 20, positive_rate: float = 0.01) -> list[str]:
    """Realistic recorder traffic for throughput: mostly clean text, a few secrets."""
    rng = random.Random(seed)
    makers = [provider_sample_any, shell_sample, url_sample, personal_sample]
    texts: list[str] = []
    total = 0
    while total < size:
        if rng.random() < positive_rate:
            text = rng.choice(makers)(rng).text
        else:
            text = rng.choice(NEGATIVES)(rng).text
        texts.append(text)
        total += len(text)
    return texts


def provider_sample_any(rng: random.Random) -> Sample:
    return provider_sample(rng, rng.choice(list(PROVIDERS)))
