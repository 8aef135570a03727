"""The built-in rule table of the redaction engine, as data.

Each :class:`Rule` names what it finds, its category, an RE2 pattern and an
example it must catch. Only the value is redacted: the first capture group named
``secret``, ``secret2``, ``secret3``... that took part in the match, or the whole
match when the pattern has none. ``keywords`` are literals (matched without
regard to case) of which at least one occurs wherever the rule can match: the
engine runs a rule only on text where one of them occurs. A rule without
keywords is prefiltered by its own pattern. ``check`` names a validator in
:mod:`recorder.redaction.checks` that a match must also pass.

Changing this table changes what an export contains, so every change bumps
``RULESET_VERSION`` (year.month.n) and updates ``RULESET_DIGEST`` (a test
recomputes it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

RULESET_VERSION = "2026.11.1"
RULESET_DIGEST = "f5aee7b1c8d1"

# Categories, in the order the engine prefers them when two findings overlap.
CATEGORIES = ("provider-token", "user", "url", "shell", "dotenv", "entropy", "personal")


@dataclass(frozen=True)
class Rule:
    name: str
    category: str
    pattern: str
    example: str
    keywords: tuple[str, ...] = ()
    check: str = ""
    # The part of ``example`` that must be gone after redaction (default: all of it).
    secret: str = ""


def _value() -> str:
    """A shell word: double-quoted, single-quoted or bare; the content is the secret."""
    return (
        r'(?:"(?P<secret>[^"\n]+)"|' + r"'(?P<secret2>[^'\n]+)'|"
        r"(?P<secret3>[^\s\"'`;&|<>()]+))"
    )


# Names that hold secrets: FOO_TOKEN, DB_PASSWORD, OPENAI_API_KEY, GH_PAT...
_SECRET_NAME = (
    r"(?P<name>(?:[A-Za-z_][A-Za-z0-9_]*?)?(?:TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|APIKEY|"
    r"API_KEY|_KEY|_PASS|_PWD|_PAT|CREDENTIALS?|_AUTH))"
)
_SECRET_NAME_WORDS = (
    "token",
    "secret",
    "passw",
    "passphrase",
    "apikey",
    "api_key",
    "_key",
    "_pass",
    "_pwd",
    "_pat",
    "credential",
    "_auth",
)

_PEM_BEGIN = r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----"
_PEM_END = r"-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----"
_PEM_NL = r"(?:(?:\r?\n|\\r\\n|\\n)[+\- ]?[ \t]*|[ \t]+)"
_PEM_LINE = r"(?:[A-Za-z0-9+/=]+|(?:Proc-Type|DEK-Info|Comment|Version):[^\n\\]*)"


PROVIDER_RULES: tuple[Rule, ...] = (
    Rule(
        "private-key",
        "provider-token",
        r"(?P<secret>" + _PEM_BEGIN + r"(?:" + _PEM_NL + r"*" + _PEM_LINE + r")*"
        r"(?:" + _PEM_NL + r"*" + _PEM_END + r")?)",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAfakefakefakefakefakefake0123456789abcdef\n"
        "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\n-----END RSA PRIVATE KEY-----",
        ("PRIVATE KEY",),
    ),
    Rule(
        "aws-access-key-id",
        "provider-token",
        r"\b(?P<secret>(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})\b",
        "aws_access_key_id = AKIAFAKEFAKEFAKE0123",
        ("AKIA", "ASIA", "ABIA", "ACCA"),
        secret="AKIAFAKEFAKEFAKE0123",
    ),
    Rule(
        "aws-secret-access-key",
        "provider-token",
        r"(?i)(?:aws_?secret_?(?:access_?)?key|secret_?access_?key|"
        r"secret access key(?: \[[^\]\n]*\])?)[\"']?\]?\s*(?:[:=]|\s)\s*[\"']?"
        r"(?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)",
        "AWS_SECRET_ACCESS_KEY=fAkEfAkEfAkE/0123456789+abcdefghijKLMNOP",
        ("secret",),
        secret="fAkEfAkEfAkE/0123456789+abcdefghijKLMNOP",
    ),
    Rule(
        "aws-session-token",
        "provider-token",
        r"(?i)(?:session_?token|security_?token)[\"']?\]?\s*(?:[:=]|\s)\s*[\"']?"
        r"(?P<secret>[A-Za-z0-9/+=]{100,})",
        "aws_session_token = FwoGZXIvYXdzEFAKE" + "Ab0/+" * 20,
        ("session", "security"),
        secret="FwoGZXIvYXdzEFAKE" + "Ab0/+" * 20,
    ),
    Rule(
        "github-token",
        "provider-token",
        r"\b(?P<secret>ghp_[A-Za-z0-9]{36,251})\b",
        "export GITHUB_TOKEN=ghp_FAKEfake0123456789FAKEfake0123456789",
        ("ghp_",),
        secret="ghp_FAKEfake0123456789FAKEfake0123456789",
    ),
    Rule(
        "github-oauth-token",
        "provider-token",
        r"\b(?P<secret>gho_[A-Za-z0-9]{36,251})\b",
        "oauth_token: gho_FAKEfake0123456789FAKEfake0123456789",
        ("gho_",),
        secret="gho_FAKEfake0123456789FAKEfake0123456789",
    ),
    Rule(
        "github-app-token",
        "provider-token",
        r"\b(?P<secret>gh[usr]_[A-Za-z0-9]{36,251})\b",
        "https://x-access-token:ghs_FAKEfake0123456789FAKEfake0123456789@github.com/o/r",
        ("ghu_", "ghs_", "ghr_"),
        secret="ghs_FAKEfake0123456789FAKEfake0123456789",
    ),
    Rule(
        "github-fine-grained-token",
        "provider-token",
        r"\b(?P<secret>github_pat_[A-Za-z0-9_]{22,251})\b",
        "gh auth login --with-token <<< github_pat_11FAKEFAKE0123456789_fakefakefake"
        "0123456789FAKEFAKEfakefake0123456789abcdefghijABCDEFGHIJ",
        ("github_pat_",),
        secret="github_pat_11FAKEFAKE0123456789_fakefakefake"
        "0123456789FAKEFAKEfakefake0123456789abcdefghijABCDEFGHIJ",
    ),
    Rule(
        "gitlab-token",
        "provider-token",
        r"\b(?P<secret>(?:gl(?:pat|dt|rt|ptt|cbt|ft|soat|imt|oas|agent|ffct)-|GR1348941)"
        r"[0-9A-Za-z_\-]{20,}(?:\.[0-9A-Za-z_\-]+)*)",
        'curl -H "PRIVATE-TOKEN: glpat-FAKEfake0123456789ab" https://gitlab.com/api/v4/user',
        (
            "glpat-",
            "gldt-",
            "glrt-",
            "glptt-",
            "glcbt-",
            "glft-",
            "glsoat-",
            "glimt-",
            "gloas-",
            "glagent-",
            "glffct-",
            "GR1348941",
        ),
        secret="glpat-FAKEfake0123456789ab",
    ),
    Rule(
        "slack-token",
        "provider-token",
        r"\b(?P<secret>(?:xox(?:[abposre]|e\.xox[bp])|xapp)-[0-9A-Za-z\-]{10,})",
        "SLACK_BOT_TOKEN=xoxb-0000000000-0000000000000-FAKEfakeFAKEfake01234567",
        ("xox", "xapp-"),
        secret="xoxb-0000000000-0000000000000-FAKEfakeFAKEfake01234567",
    ),
    Rule(
        "slack-webhook",
        "provider-token",
        r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9+/_\-]{20,})",
        "https://hooks.slack.com/services/T00000000/B00000000/FAKEfakeFAKEfake01234567",
        ("hooks.slack.com/",),
        secret="T00000000/B00000000/FAKEfakeFAKEfake01234567",
    ),
    Rule(
        "discord-webhook",
        "provider-token",
        r"discord(?:app)?\.com/api/webhooks/\d+/(?P<secret>[A-Za-z0-9_\-]{40,})",
        "https://discord.com/api/webhooks/123456789012345678/"
        "FAKEfakeFAKEfake0123456789FAKEfakeFAKEfake0123456789FAKEfake0123",
        ("/api/webhooks/",),
        secret="FAKEfakeFAKEfake0123456789FAKEfakeFAKEfake0123456789FAKEfake0123",
    ),
    Rule(
        "stripe-key",
        "provider-token",
        r"\b(?P<secret>(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{10,247})\b",
        "stripe.api_key = 'sk_live_FAKEfake0123456789FAKEfake'",
        ("sk_live_", "sk_test_", "rk_live_", "rk_test_", "pk_live_", "pk_test_"),
        secret="sk_live_FAKEfake0123456789FAKEfake",
    ),
    Rule(
        "stripe-webhook-secret",
        "provider-token",
        r"\b(?P<secret>whsec_[A-Za-z0-9]{24,})\b",
        "STRIPE_WEBHOOK_SECRET=whsec_FAKEfake0123456789FAKEfake0123",
        ("whsec_",),
        secret="whsec_FAKEfake0123456789FAKEfake0123",
    ),
    Rule(
        "anthropic-key",
        "provider-token",
        r"\b(?P<secret>sk-ant-[a-z]{3,8}\d{2}-[A-Za-z0-9_\-]{20,})",
        "ANTHROPIC_API_KEY=sk-ant-api03-FAKEfake0123456789FAKEfake0123456789-FAKEfakeAA",
        ("sk-ant-",),
        secret="sk-ant-api03-FAKEfake0123456789FAKEfake0123456789-FAKEfakeAA",
    ),
    Rule(
        "openai-key",
        "provider-token",
        r"\b(?P<secret>sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{20,}|"
        r"sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|sk-[A-Za-z0-9]{48})",
        'client = OpenAI(api_key="sk-proj-FAKEfake0123456789_FAKEfake-0123456789")',
        ("sk-",),
        secret="sk-proj-FAKEfake0123456789_FAKEfake-0123456789",
    ),
    Rule(
        "huggingface-token",
        "provider-token",
        r"\b(?P<secret>(?:hf_|api_org_)[A-Za-z0-9]{30,40})\b",
        "huggingface-cli login --token hf_FAKEfakeFAKEfakeFAKEfakeFAKEfakeAB",
        ("hf_", "api_org_"),
        secret="hf_FAKEfakeFAKEfakeFAKEfakeFAKEfakeAB",
    ),
    Rule(
        "google-api-key",
        "provider-token",
        r"\b(?P<secret>AIza[0-9A-Za-z_\-]{35})",
        "https://maps.googleapis.com/maps/api/geocode/json?key=AIzaFAKEfake0123456789FAKEfake012345678",
        ("AIza",),
        secret="AIzaFAKEfake0123456789FAKEfake012345678",
    ),
    Rule(
        "google-oauth-secret",
        "provider-token",
        r"\b(?P<secret>GOCSPX-[0-9A-Za-z_\-]{20,})",
        '"client_secret": "GOCSPX-FAKEfake0123456789FAKEfake"',
        ("GOCSPX-",),
        secret="GOCSPX-FAKEfake0123456789FAKEfake",
    ),
    Rule(
        "google-oauth-token",
        "provider-token",
        r"\b(?P<secret>ya29\.[0-9A-Za-z_\-]{20,}|1//0[0-9A-Za-z_\-]{30,})",
        "Authorization: Bearer ya29.FAKEfake0123456789FAKEfake0123456789",
        ("ya29.", "1//0"),
        secret="ya29.FAKEfake0123456789FAKEfake0123456789",
    ),
    Rule(
        "npm-token",
        "provider-token",
        r"\b(?P<secret>npm_[A-Za-z0-9]{36})\b",
        "//registry.npmjs.org/:_authToken=npm_FAKEfake0123456789FAKEfake0123456789",
        ("npm_",),
        secret="npm_FAKEfake0123456789FAKEfake0123456789",
    ),
    Rule(
        "pypi-token",
        "provider-token",
        r"\b(?P<secret>pypi-Ag[A-Za-z0-9_\-]{50,})",
        "password = pypi-AgEIcHlwaS5vcmcFAKEfake0123456789FAKEfake0123456789FAKEfake0123456789",
        ("pypi-Ag",),
        secret="pypi-AgEIcHlwaS5vcmcFAKEfake0123456789FAKEfake0123456789FAKEfake0123456789",
    ),
    Rule(
        "azure-storage-key",
        "provider-token",
        r"(?i)(?:AccountKey|SharedAccessKey)\s*=\s*(?P<secret>[A-Za-z0-9+/]{40,}={0,2})",
        "DefaultEndpointsProtocol=https;AccountName=fake;AccountKey="
        + "FAKEfake0123456789+/" * 4
        + "FAKEfa==;EndpointSuffix=core.windows.net",
        ("AccountKey", "SharedAccessKey"),
        secret="FAKEfake0123456789+/" * 4 + "FAKEfa==",
    ),
    Rule(
        "azure-client-secret",
        "provider-token",
        r"(?:^|[^A-Za-z0-9_~.\-])(?P<secret>[A-Za-z0-9_~.\-]{3}\dQ~[A-Za-z0-9_~.\-]{31,34})"
        r"(?:[^A-Za-z0-9_~.\-]|$)",
        "AZURE_CLIENT_SECRET=abc8Q~FAKEfake0123456789FAKEfake01234.",
        ("Q~",),
        secret="abc8Q~FAKEfake0123456789FAKEfake01234.",
    ),
    Rule(
        "jwt",
        "provider-token",
        r"\b(?P<secret>eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*)",
        "token: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYWtlIn0.RkFLRWZha2VGQUtFZmFrZQ",
        ("eyJ",),
        secret="eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYWtlIn0.RkFLRWZha2VGQUtFZmFrZQ",
    ),
    Rule(
        "sendgrid-key",
        "provider-token",
        r"\b(?P<secret>SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})",
        "SENDGRID=SG.FAKEfake0123456789FAKE.FAKEfake0123456789FAKEfake0123456789FAKEfak",
        ("SG.",),
        secret="SG.FAKEfake0123456789FAKE.FAKEfake0123456789FAKEfake0123456789FAKEfak",
    ),
    Rule(
        "digitalocean-token",
        "provider-token",
        r"\b(?P<secret>do[por]_v1_[a-f0-9]{64})\b",
        "doctl auth init -t dop_v1_" + "0123456789abcdef" * 4,
        ("dop_v1_", "doo_v1_", "dor_v1_"),
        secret="dop_v1_" + "0123456789abcdef" * 4,
    ),
    Rule(
        "docker-hub-token",
        "provider-token",
        r"\b(?P<secret>dckr_(?:pat|oat)_[A-Za-z0-9_\-]{20,})",
        "echo dckr_pat_FAKEfake0123456789FAKEfake01 | docker login -u me --password-stdin",
        ("dckr_pat_", "dckr_oat_"),
        secret="dckr_pat_FAKEfake0123456789FAKEfake01",
    ),
    Rule(
        "vault-token",
        "provider-token",
        r"\b(?P<secret>hv[sbr]\.[A-Za-z0-9_\-]{24,})",
        "VAULT_TOKEN=hvs.FAKEfake0123456789FAKEfake",
        ("hvs.", "hvb.", "hvr."),
        secret="hvs.FAKEfake0123456789FAKEfake",
    ),
    Rule(
        "replicate-token",
        "provider-token",
        r"\b(?P<secret>r8_[A-Za-z0-9]{37})\b",
        "REPLICATE_API_TOKEN=r8_FAKEfake0123456789FAKEfake0123456789F",
        ("r8_",),
        secret="r8_FAKEfake0123456789FAKEfake0123456789F",
    ),
    Rule(
        "groq-key",
        "provider-token",
        r"\b(?P<secret>gsk_[A-Za-z0-9]{48,56})\b",
        "client = Groq(api_key='gsk_FAKEfake0123456789FAKEfake0123456789FAKEfake01234567')",
        ("gsk_",),
        secret="gsk_FAKEfake0123456789FAKEfake0123456789FAKEfake01234567",
    ),
    Rule(
        "databricks-token",
        "provider-token",
        r"\b(?P<secret>dapi[a-f0-9]{32}(?:-\d)?)\b",
        "DATABRICKS_HOST=x DATABRICKS_TOKEN=dapi0123456789abcdef0123456789abcdef",
        ("dapi",),
        secret="dapi0123456789abcdef0123456789abcdef",
    ),
    Rule(
        "telegram-bot-token",
        "provider-token",
        r"(?:\bbot|\b)(?P<secret>\d{8,10}:AA[A-Za-z0-9_\-]{33})\b",
        "https://api.telegram.org/bot123456789:AAFAKEfake0123456789FAKEfake0123456/getMe",
        (":AA",),
        secret="123456789:AAFAKEfake0123456789FAKEfake0123456",
    ),
    Rule(
        "shopify-token",
        "provider-token",
        r"\b(?P<secret>shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b",
        "X-Shopify-Access-Token: shpat_0123456789abcdef0123456789abcdef",
        ("shpat_", "shpca_", "shppa_", "shpss_"),
        secret="shpat_0123456789abcdef0123456789abcdef",
    ),
    Rule(
        "wandb-key",
        "provider-token",
        r"\bwandb\s+login\s+(?:--relogin\s+)?(?P<secret>[a-f0-9]{40}|[a-z0-9-]+-[a-f0-9]{40})\b",
        "wandb login 0123456789abcdef0123456789abcdef01234567",
        ("wandb",),
        secret="0123456789abcdef0123456789abcdef01234567",
    ),
)

SHELL_RULES: tuple[Rule, ...] = (
    Rule(
        "shell-secret-assignment",
        "shell",
        r"(?i)(?:^|[\s;&|(`])(?:(?:export|declare\s+-x|local|readonly|typeset)\s+)?"
        + _SECRET_NAME
        + "="
        + _value(),
        "DB_PASSWORD='correct horse battery' ./manage.py migrate",
        _SECRET_NAME_WORDS,
        "shell-name",
        secret="correct horse battery",
    ),
    Rule(
        "cli-secret-flag",
        "shell",
        r"(?i)(?:^|\s)--?(?P<name>(?:[a-z0-9]+[\-_])*(?:password|passwd|pass|token|secret|"
        r"api-?key|access-?key|secret-?key|auth-?token|client-?secret|passphrase|pat))"
        r"(?:=|\s+)" + _value(),
        "psql --host db --password=hunter2 --dbname app",
        ("pass", "token", "secret", "key", "pat"),
        "cli-flag",
        secret="hunter2",
    ),
    Rule(
        "mysql-password",
        "shell",
        r"\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mysqlsh|mariadb|mariadb-dump)"
        r"\b[^\n;&|]*?\s-p" + _value(),
        "mysql -h 127.0.0.1 -u root -pS3cr3t! appdb",
        ("mysql", "mariadb"),
        "value",
        secret="S3cr3t!",
    ),
    Rule(
        "http-basic-user",
        "shell",
        r"\b(?:curl|wget|http|xh)(?:\s[^\n;&|]*?)?\s(?:-u|--user|-a|--auth|--proxy-user|-U)"
        r"(?:=|\s*)(?:'[^':\n]*:(?P<secret>[^'\n]+)'|\"[^\":\n]*:(?P<secret2>[^\"\n]+)\"|"
        r"[^\s:'\"]*:(?P<secret3>[^\s'\"]+))",
        "curl -u admin:pa55w0rd https://api.example.com/v1/items",
        ("curl", "wget", "http", "xh"),
        "value",
        secret="pa55w0rd",
    ),
    Rule(
        "auth-header",
        "shell",
        r"(?i)\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?(?:(?:basic|bearer|token|digest|"
        r"negotiate|ntlm|apikey|api-key|sso-key|key|jwt|dpop)\s+)?"
        r"(?P<secret>[A-Za-z0-9+/=._~\-:]{8,})",
        "curl -H 'Authorization: Basic YWRtaW46czNjcjN0LXBhc3M=' https://example.com/api",
        ("authorization",),
        "token",
        secret="YWRtaW46czNjcjN0LXBhc3M=",
    ),
    Rule(
        "api-key-header",
        "shell",
        r"(?i)\b(?:x-api-key|api-key|apikey|x-auth-token|x-access-token|private-token|"
        r"x-goog-api-key|ocp-apim-subscription-key|x-vault-token|x-hasura-admin-secret|"
        r"x-algolia-api-key|x-figma-token)[\"']?\s*:\s*[\"']?(?P<secret>[A-Za-z0-9+/=._~\-]{8,})",
        'curl -H "X-Api-Key: 7f3b2c1d9e8a4f5b6c7d8e9f0a1b2c3d" https://api.example.com/',
        ("api-key", "apikey", "-token", "subscription-key", "admin-secret"),
        "token",
        secret="7f3b2c1d9e8a4f5b6c7d8e9f0a1b2c3d",
    ),
    Rule(
        "registry-login-password",
        "shell",
        r"\b(?:docker|podman|buildah|skopeo|nerdctl|helm\s+registry|oras)\s+login\b"
        r"[^\n;&|]*?\s(?:-p|--password)(?:=|\s+)" + _value(),
        "docker login -u deploy -p Tr0ub4dor registry.example.com",
        ("login",),
        "value",
        secret="Tr0ub4dor",
    ),
    Rule(
        "redis-cli-password",
        "shell",
        r"\bredis-cli\b[^\n;&|]*?\s(?:-a|--pass)\s+" + _value(),
        "redis-cli -h cache -a 'S3cr3t-redis' ping",
        ("redis-cli",),
        "value",
        secret="S3cr3t-redis",
    ),
    Rule(
        "sshpass-password",
        "shell",
        r"\bsshpass\s+-p\s*" + _value(),
        "sshpass -p 'winter2024' ssh deploy@203.0.113.7",
        ("sshpass",),
        "value",
        secret="winter2024",
    ),
    Rule(
        "openssl-password",
        "shell",
        r"(?i)\s-(?:pass|passin|passout)\s+pass:" + _value(),
        "openssl pkcs12 -export -in cert.pem -passout pass:Sup3rS3cret -out cert.p12",
        ("pass:",),
        "value",
        secret="Sup3rS3cret",
    ),
)

URL_RULES: tuple[Rule, ...] = (
    Rule(
        "url-password",
        "url",
        r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s/@:'\"]*:(?P<secret>[^\s'\"]*)@"
        r"(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?:[/:?#\s'\"\\)\]>,;]|$)",
        "DATABASE_URL=postgres://app:p@ss/w:rd@db.internal:5432/app",
        ("://",),
        "url-password",
        secret="p@ss/w:rd",
    ),
    Rule(
        "url-token",
        "url",
        r"(?i)\b[a-z][a-z0-9+.\-]*://(?P<secret>[A-Za-z0-9_\-]{20,})@",
        "git clone https://0123456789abcdef0123456789abcdef01234567@github.com/org/repo.git",
        ("://",),
        "entropy",
        secret="0123456789abcdef0123456789abcdef01234567",
    ),
    Rule(
        "signed-url-param",
        "url",
        r"(?i)[?&;](?P<name>token|access_token|refresh_token|id_token|auth|sig|signature|"
        r"x-amz-signature|x-amz-security-token|x-goog-signature|x-goog-credential|"
        r"api_key|apikey|password|secret|client_secret)=(?P<secret>[^&\s#\"'<>]+)",
        "https://bucket.s3.amazonaws.com/f.tar?X-Amz-Date=20260101T000000Z"
        "&X-Amz-Signature=" + "0123456789abcdef" * 4,
        ("token=", "auth=", "sig=", "signature=", "credential=", "key=", "password=", "secret="),
        "value",
        secret="0123456789abcdef" * 4,
    ),
)

DOTENV_RULES: tuple[Rule, ...] = (
    Rule(
        "dotenv-secret",
        "dotenv",
        r"(?im)^[+\- ]?[ \t]*(?:export[ \t]+)?" + _SECRET_NAME + r"[ \t]*[=:][ \t]*" + _value(),
        "+STRIPE_SECRET = 'not-a-real-secret-123'",
        _SECRET_NAME_WORDS,
        "shell-name",
        secret="not-a-real-secret-123",
    ),
    Rule(
        "netrc-password",
        "dotenv",
        r"(?i)\b(?:login|machine)\s+\S+\s+password\s+(?P<secret>[^\s]+)",
        "machine api.example.com\n  login alice\n  password Netrc-Pa55",
        ("password",),
        "value",
        secret="Netrc-Pa55",
    ),
    Rule(
        "npmrc-auth",
        "dotenv",
        r"(?i):_(?:authToken|auth|password)\s*=\s*(?P<secret>[^\s]+)",
        "//npm.example.com/:_authToken=0123abcd-FAKE-fake-FAKE-0123456789ab",
        (":_auth", ":_password"),
        "value",
        secret="0123abcd-FAKE-fake-FAKE-0123456789ab",
    ),
)

ENTROPY_RULES: tuple[Rule, ...] = (
    Rule(
        "secret-assignment",
        "entropy",
        r"(?i)(?P<name>[A-Za-z0-9_.\-]*(?:secret|token|passw(?:or)?d|passphrase|api_?key|"
        r"access_?key|private_?key|auth_?key|signing_?key|encryption_?key|client_?secret|"
        r"credentials?|_key|auth|pwd))[\"']?\]?\s*(?:=|:|:=|=>|==|\?\?=)\s*"
        r"(?:\"(?P<secret>[^\"\n]{4,300})\"|'(?P<secret2>[^'\n]{4,300})'|"
        r"(?P<secret3>[A-Za-z0-9+/=_\-.~]{16,200})(?:[\s,;]|$))",
        'self.client_secret = "Zq8vW2xR5tY7uI9oP1aS3dF6gH4jK0lM"',
        ("secret", "token", "passw", "passphrase", "key", "credential", "auth", "pwd"),
        "assignment",
        secret="Zq8vW2xR5tY7uI9oP1aS3dF6gH4jK0lM",
    ),
)

PERSONAL_RULES: tuple[Rule, ...] = (
    Rule(
        "email",
        "personal",
        r"(?P<secret>[A-Za-z0-9._%+\-]+@(?:[A-Za-z0-9\-]+\.)+[A-Za-z]{2,24})\b",
        "Author: Jane Roe <jane.roe@example.org>",
        (),
        "email",
        secret="jane.roe@example.org",
    ),
    Rule(
        "ipv4",
        "personal",
        r"\b(?P<secret>(?:\d{1,3}\.){3}\d{1,3})\b",
        "Connection to 203.0.113.45 port 22 closed.",
        (),
        "ipv4",
        secret="203.0.113.45",
    ),
    Rule(
        "ipv6",
        "personal",
        r"(?i)(?P<secret>(?:[0-9a-f]{0,4}:){3,7}[0-9a-f]{0,4})",
        "inet6 2001:db8:85a3::8a2e:370:7334/64 scope global",
        (),
        "ipv6",
        secret="2001:db8:85a3::8a2e:370:7334",
    ),
    Rule(
        "home-user",
        "personal",
        r"(?:/home|/Users|/var/home)/(?P<secret>[A-Za-z0-9._\-]+)|"
        r"(?i:[a-z]:\\Users\\)(?P<secret2>[^\\\s\"'<>|:*?]+)",
        'File "/home/jdoe/project/train.py", line 3',
        ("/home/", "/users/", "\\users\\"),
        "home-user",
        secret="jdoe",
    ),
)

RULES: tuple[Rule, ...] = (
    PROVIDER_RULES + SHELL_RULES + URL_RULES + DOTENV_RULES + ENTROPY_RULES + PERSONAL_RULES
)


def table_digest(rules: tuple[Rule, ...] = RULES) -> str:
    """A short hash of the rule table's content, pinned by ``RULESET_DIGEST``."""
    rows = [[r.name, r.category, r.pattern, list(r.keywords), r.check] for r in rules]
    blob = json.dumps(rows, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:12]
