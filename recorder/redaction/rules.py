"""The built-in rule table of the redaction engine, as data.

Each :class:`Rule` names what it finds, its category, an RE2 pattern and an
example it must catch. Only the value is redacted: the first capture group named
``secret``, ``secret2``, ``secret3``... that took part in the match, or the whole
match when the pattern has none. ``keywords`` are literals (matched without
regard to case) of which at least one occurs wherever the rule can match: the
engine runs a rule only on text where one of them occurs. A rule without
keywords is prefiltered by its own pattern. ``check`` names a validator in
:mod:`recorder.redaction.checks` that a match must also pass.

Patterns start with a literal where they can (RE2 then skips ahead with
memchr instead of stepping its automaton through every byte): a leading
``\\b`` is written as ``word_start`` (no word character may precede the value)
and an e-mail's local part as ``extend_left`` (the value grows leftwards over
these characters) instead.

Changing this table changes what an export contains, so every change bumps
``RULESET_VERSION`` (year.month.n) and updates ``RULESET_DIGEST`` (a test
recomputes it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

RULESET_VERSION = "2026.11.2"
RULESET_DIGEST = "dac1c4570fe9"

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
    word_start: bool = False
    extend_left: str = ""
    # A match may run over several lines (the engine then never cuts the text for it).
    multiline: bool = False


def _value(end: str = "") -> str:
    """A shell word: double-quoted, single-quoted or bare; the content is the secret.
    It never starts with ``$`` (a reference) or ``-`` (the next option); ``end`` is
    what must follow a bare word."""
    return (
        r'(?:"(?P<secret>[^"\n$][^"\n]*)"|' + r"'(?P<secret2>[^'\n$][^'\n]*)'|"
        r"(?P<secret3>[^\s\"'`;&|<>()$\-][^\s\"'`;&|<>()]*)" + end + ")"
    )


_SHELL_END = r"(?:[ \t\r\n;&|\"']|$)"
_BLANKS = ("", " ", "\t")
_PROSE_PASS = tuple(f"{word}{end}" for word in ("pass", "pw", "pwd") for end in " \t:=")


# Names that hold secrets: FOO_TOKEN, DB_PASSWORD, OPENAI_API_KEY, GH_PAT...
_SECRET_NAME = (
    r"(?P<name>(?:[A-Za-z_][A-Za-z0-9_]*?)?(?:TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|APIKEY|"
    r"API_KEY|_KEY|_PASS|_PWD|_PAT|CREDENTIALS?|_AUTH))"
)
_SECRET_NAME_WORDS = ("token", "secret", "passw", "passphrase", "apikey", "api_key", "_key")
_SECRET_NAME_WORDS += ("_pass", "_pwd", "_pat", "credential", "_auth")

_PEM_BEGIN = r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----"
_PEM_END = r"-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----"
_PEM_NL = r"(?:(?:\r?\n|\\r\\n|\\n)[+\- ]?[ \t]*|[ \t]+)"
_PEM_LINE = r"(?:[A-Za-z0-9+/=]+|(?:Proc-Type|DEK-Info|Comment|Version):[^\n\\]*)"

_GITLAB = ("glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "glft-", "glsoat-", "glimt-")
_GITLAB += ("gloas-", "glagent-", "glffct-")
_FAKE36 = "FAKEfake0123456789FAKEfake0123456789"
_URL_PARAMS = ("token", "auth", "sig", "signature", "credential", "key", "password", "secret")
_URL_PARAM_KEYWORDS = tuple(f"{sep}{name}=" for sep in "?&;" for name in _URL_PARAMS)
_URL_PARAM_KEYWORDS += ("_token=", "-token=", "_key=", "-signature=", "_secret=")


def _provider(name: str, pattern: str, example: str, keywords: tuple[str, ...], secret: str):
    """A token with a distinctive shape; the pattern starts with its literal prefix."""
    return Rule(
        name, "provider-token", pattern, example, keywords, "varied", secret, word_start=True
    )


PROVIDER_RULES: tuple[Rule, ...] = (
    Rule(
        "private-key",
        "provider-token",
        r"(?P<secret>" + _PEM_BEGIN + r"(?:" + _PEM_NL + r"*" + _PEM_LINE + r")*"
        r"(?:" + _PEM_NL + r"*" + _PEM_END + r")?)",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAfakefakefakefakefakefake0123456789abcdef\n"
        "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\n-----END RSA PRIVATE KEY-----",
        ("PRIVATE KEY",),
        multiline=True,
    ),
    _provider(
        "aws-access-key-id",
        r"(?P<secret>A(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16})\b",
        "aws_access_key_id = AKIAFAKEFAKEFAKE0123",
        ("AKIA", "ASIA", "ABIA", "ACCA"),
        "AKIAFAKEFAKEFAKE0123",
    ),
    Rule(
        "aws-secret-access-key",
        "provider-token",
        r"(?im)secret[_ ]?(?:access[_ ]?)?key(?: \[[^\]\n]*\])?[\"']?\]?[ \t]*(?:[:=]|[ \t])"
        r"[ \t]*[\"']?(?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)",
        "AWS_SECRET_ACCESS_KEY=fAkEfAkEfAkE/0123456789+abcdefghijKLMNOP",
        ("secret",),
        "varied",
        secret="fAkEfAkEfAkE/0123456789+abcdefghijKLMNOP",
    ),
    Rule(
        "aws-session-token",
        "provider-token",
        r"(?i)(?:session_?token|security_?token)[\"']?\]?[ \t]*(?:[:=]|[ \t])[ \t]*[\"']?"
        r"(?P<secret>[A-Za-z0-9/+=]{100,})",
        "aws_session_token = FwoGZXIvYXdzEFAKE" + "Ab0/+" * 20,
        ("session", "security"),
        secret="FwoGZXIvYXdzEFAKE" + "Ab0/+" * 20,
    ),
    _provider(
        "github-token",
        r"(?P<secret>ghp_[A-Za-z0-9]{36,})\b",
        "export GITHUB_TOKEN=ghp_" + _FAKE36,
        ("ghp_",),
        "ghp_" + _FAKE36,
    ),
    _provider(
        "github-oauth-token",
        r"(?P<secret>gho_[A-Za-z0-9]{36,})\b",
        "oauth_token: gho_" + _FAKE36,
        ("gho_",),
        "gho_" + _FAKE36,
    ),
    _provider(
        "github-app-token",
        r"(?P<secret>gh[usr]_[A-Za-z0-9]{36,})\b",
        f"https://x-access-token:ghs_{_FAKE36}@github.com/o/r",
        ("ghu_", "ghs_", "ghr_"),
        "ghs_" + _FAKE36,
    ),
    _provider(
        "github-fine-grained-token",
        r"(?P<secret>github_pat_[A-Za-z0-9_]{22,})\b",
        "gh auth login --with-token <<< github_pat_11FAKEFAKE0123456789_fakefakefake"
        "0123456789FAKEFAKEfakefake0123456789abcdefghijABCDEFGHIJ",
        ("github_pat_",),
        "github_pat_11FAKEFAKE0123456789_fakefakefake"
        "0123456789FAKEFAKEfakefake0123456789abcdefghijABCDEFGHIJ",
    ),
    _provider(
        "gitlab-token",
        r"(?P<secret>gl(?:pat|dt|rt|ptt|cbt|ft|soat|imt|oas|agent|ffct)-"
        r"[0-9A-Za-z_\-]{20,}(?:\.[0-9A-Za-z_\-]+)*)",
        'curl -H "PRIVATE-TOKEN: glpat-FAKEfake0123456789ab" https://gitlab.com/api/v4/user',
        _GITLAB,
        "glpat-FAKEfake0123456789ab",
    ),
    _provider(
        "slack-token",
        r"(?P<secret>x(?:ox(?:[abposre]|e\.xox[bp])|app)-[0-9A-Za-z\-]{10,})",
        "SLACK_BOT_TOKEN=xoxb-0000000000-0000000000000-FAKEfakeFAKEfake01234567",
        ("xox", "xapp-"),
        "xoxb-0000000000-0000000000000-FAKEfakeFAKEfake01234567",
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
        r"/api/webhooks/\d+/(?P<secret>[A-Za-z0-9_\-]{40,})",
        "https://discord.com/api/webhooks/123456789012345678/" + _FAKE36 * 2,
        ("/api/webhooks/",),
        secret=_FAKE36 * 2,
    ),
    _provider(
        "stripe-key",
        r"(?P<secret>[srp]k_(?:live|test)_[0-9A-Za-z]{10,})\b",
        "stripe.api_key = 'sk_live_FAKEfake0123456789FAKEfake'",
        ("k_live_", "k_test_"),
        "sk_live_FAKEfake0123456789FAKEfake",
    ),
    _provider(
        "stripe-webhook-secret",
        r"(?P<secret>whsec_[A-Za-z0-9]{24,})\b",
        "STRIPE_WEBHOOK_SECRET=whsec_FAKEfake0123456789FAKEfake0123",
        ("whsec_",),
        "whsec_FAKEfake0123456789FAKEfake0123",
    ),
    _provider(
        "anthropic-key",
        r"(?P<secret>sk-ant-[a-z]{3,8}\d{2}-[A-Za-z0-9_\-]{20,})",
        "ANTHROPIC_API_KEY=sk-ant-api03-FAKEfake0123456789FAKEfake0123456789-FAKEfakeAA",
        ("sk-ant-",),
        "sk-ant-api03-FAKEfake0123456789FAKEfake0123456789-FAKEfakeAA",
    ),
    _provider(
        "openai-key",
        r"(?P<secret>sk-(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{20,}|"
        r"[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|[A-Za-z0-9]{48}))",
        'client = OpenAI(api_key="sk-proj-FAKEfake0123456789_FAKEfake-0123456789")',
        ("sk-",),
        "sk-proj-FAKEfake0123456789_FAKEfake-0123456789",
    ),
    _provider(
        "huggingface-token",
        r"(?P<secret>hf_[A-Za-z0-9]{30,40})\b",
        "huggingface-cli login --token hf_FAKEfakeFAKEfakeFAKEfakeFAKEfakeAB",
        ("hf_",),
        "hf_FAKEfakeFAKEfakeFAKEfakeFAKEfakeAB",
    ),
    _provider(
        "google-api-key",
        r"(?P<secret>AIza[0-9A-Za-z_\-]{35})",
        "https://maps.googleapis.com/maps/api/geocode/json?key=AIzaFAKEfake0123456789FAKEfake012345678",
        ("AIza",),
        "AIzaFAKEfake0123456789FAKEfake012345678",
    ),
    _provider(
        "google-oauth-secret",
        r"(?P<secret>GOCSPX-[0-9A-Za-z_\-]{20,})",
        '"client_secret": "GOCSPX-FAKEfake0123456789FAKEfake"',
        ("GOCSPX-",),
        "GOCSPX-FAKEfake0123456789FAKEfake",
    ),
    _provider(
        "google-oauth-token",
        r"(?P<secret>ya29\.[0-9A-Za-z_\-]{20,}|1//0[0-9A-Za-z_\-]{30,})",
        "Authorization: Bearer ya29.FAKEfake0123456789FAKEfake0123456789",
        ("ya29.", "1//0"),
        "ya29.FAKEfake0123456789FAKEfake0123456789",
    ),
    _provider(
        "npm-token",
        r"(?P<secret>npm_[A-Za-z0-9]{36})\b",
        "//registry.npmjs.org/:_authToken=npm_" + _FAKE36,
        ("npm_",),
        "npm_" + _FAKE36,
    ),
    _provider(
        "pypi-token",
        r"(?P<secret>pypi-Ag[A-Za-z0-9_\-]{50,})",
        "password = pypi-AgEIcHlwaS5vcmc" + _FAKE36 * 2,
        ("pypi-Ag",),
        "pypi-AgEIcHlwaS5vcmc" + _FAKE36 * 2,
    ),
    Rule(
        "azure-storage-key",
        "provider-token",
        r"(?i)(?:AccountKey|SharedAccessKey|account-key)[ \t]*[= \t][ \t]*"
        r"(?P<secret>[A-Za-z0-9+/]{40,}={0,2})",
        "DefaultEndpointsProtocol=https;AccountName=fake;AccountKey="
        + "FAKEfake0123456789+/" * 4
        + "FAKEfa==;EndpointSuffix=core.windows.net",
        ("AccountKey", "SharedAccessKey", "account-key"),
        secret="FAKEfake0123456789+/" * 4 + "FAKEfa==",
    ),
    Rule(
        "azure-client-secret",
        "provider-token",
        r"(?m)(?:^|[^A-Za-z0-9_~.\-])(?P<secret>[A-Za-z0-9_~.\-]{3}\dQ~[A-Za-z0-9_~.\-]{31,34})"
        r"(?:[^A-Za-z0-9_~.\-]|$)",
        "AZURE_CLIENT_SECRET=abc8Q~FAKEfake0123456789FAKEfake01234.",
        ("Q~",),
        secret="abc8Q~FAKEfake0123456789FAKEfake01234.",
    ),
    _provider(
        "jwt",
        r"(?P<secret>eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*)",
        "token: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYWtlIn0.RkFLRWZha2VGQUtFZmFrZQ",
        ("eyJ",),
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYWtlIn0.RkFLRWZha2VGQUtFZmFrZQ",
    ),
    _provider(
        "sendgrid-key",
        r"(?P<secret>SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})",
        "SENDGRID=SG.FAKEfake0123456789FAKE.FAKEfake0123456789FAKEfake0123456789FAKEfak",
        ("SG.",),
        "SG.FAKEfake0123456789FAKE.FAKEfake0123456789FAKEfake0123456789FAKEfak",
    ),
    _provider(
        "digitalocean-token",
        r"(?P<secret>do[por]_v1_[a-f0-9]{64})\b",
        "doctl auth init -t dop_v1_" + "0123456789abcdef" * 4,
        ("dop_v1_", "doo_v1_", "dor_v1_"),
        "dop_v1_" + "0123456789abcdef" * 4,
    ),
    _provider(
        "docker-hub-token",
        r"(?P<secret>dckr_(?:pat|oat)_[A-Za-z0-9_\-]{20,})",
        "echo dckr_pat_FAKEfake0123456789FAKEfake01 | docker login -u me --password-stdin",
        ("dckr_pat_", "dckr_oat_"),
        "dckr_pat_FAKEfake0123456789FAKEfake01",
    ),
    _provider(
        "vault-token",
        r"(?P<secret>hv[sbr]\.[A-Za-z0-9_\-]{24,})",
        "VAULT_TOKEN=hvs.FAKEfake0123456789FAKEfake",
        ("hvs.", "hvb.", "hvr."),
        "hvs.FAKEfake0123456789FAKEfake",
    ),
    _provider(
        "replicate-token",
        r"(?P<secret>r8_[A-Za-z0-9]{37})\b",
        "REPLICATE_API_TOKEN=r8_FAKEfake0123456789FAKEfake0123456789F",
        ("r8_",),
        "r8_FAKEfake0123456789FAKEfake0123456789F",
    ),
    _provider(
        "groq-key",
        r"(?P<secret>gsk_[A-Za-z0-9]{48,56})\b",
        "client = Groq(api_key='gsk_FAKEfake0123456789FAKEfake0123456789FAKEfake01234567')",
        ("gsk_",),
        "gsk_FAKEfake0123456789FAKEfake0123456789FAKEfake01234567",
    ),
    _provider(
        "databricks-token",
        r"(?P<secret>dapi[a-f0-9]{32}(?:-\d)?)\b",
        "DATABRICKS_HOST=x DATABRICKS_TOKEN=dapi0123456789abcdef0123456789abcdef",
        ("dapi",),
        "dapi0123456789abcdef0123456789abcdef",
    ),
    Rule(
        "telegram-bot-token",
        "provider-token",
        r"(?P<secret>:AA[A-Za-z0-9_\-]{33})\b",
        "https://api.telegram.org/bot123456789:AAFAKEfake0123456789FAKEfake0123456/getMe",
        (":AA",),
        "telegram",
        secret="123456789:AAFAKEfake0123456789FAKEfake0123456",
        extend_left="0-9",
    ),
    _provider(
        "shopify-token",
        r"(?P<secret>shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b",
        "X-Shopify-Access-Token: shpat_0123456789abcdef0123456789abcdef",
        ("shpat_", "shpca_", "shppa_", "shpss_"),
        "shpat_0123456789abcdef0123456789abcdef",
    ),
    Rule(
        "wandb-key",
        "provider-token",
        r"wandb[ \t]+login[ \t]+(?:--relogin[ \t]+)?(?P<secret>[a-f0-9]{40}|[a-z0-9-]+-[a-f0-9]{40})\b",
        "wandb login 0123456789abcdef0123456789abcdef01234567",
        ("wandb",),
        secret="0123456789abcdef0123456789abcdef01234567",
    ),
)

SHELL_RULES: tuple[Rule, ...] = (
    Rule(
        "shell-secret-assignment",
        "shell",
        r"(?im)(?:^|[\s;&|(`=,.\"'{])(?:(?:export|declare[ \t]+-x|local|readonly|typeset)[ \t]+)?"
        + _SECRET_NAME
        + "="
        + _value(_SHELL_END),
        "DB_PASSWORD='correct horse battery' ./manage.py migrate",
        _SECRET_NAME_WORDS,
        "shell-name",
        secret="correct horse battery",
    ),
    Rule(
        "cli-secret-flag",
        "shell",
        r"--?(?i:(?P<name>(?:[a-z0-9]+[\-_])*(?:password|passwd|pass|token|secret|api-?key|"
        r"access-?key|secret-?key|account-?key|auth-?token|client-?secret|passphrase|pat)))"
        r"(?:=|[ \t]+)" + _value(),
        "psql --host db --password=hunter2 --dbname app",
        ("pass", "token", "secret", "key", "pat"),
        "cli-flag",
        secret="hunter2",
    ),
    Rule(
        "mysql-password",
        "shell",
        r"mysql[a-z]*\b[^\n;&|]*?[ \t]-p" + _value(),
        "mysql -h 127.0.0.1 -u root -pS3cr3t! appdb",
        ("mysql",),
        "value",
        secret="S3cr3t!",
    ),
    Rule(
        "http-basic-user",
        "shell",
        r"-(?:u|-user|a|-auth|-proxy-user|U)(?:=|[ \t]*)(?:'[^':\n]*:(?P<secret>[^'\n]+)'|"
        r"\"[^\":\n]*:(?P<secret2>[^\"\n]+)\"|[^\s:'\"]*:(?P<secret3>[^\s'\"]+))",
        "curl -u admin:pa55w0rd https://api.example.com/v1/items",
        ("curl", "wget", "http ", "xh "),
        "http-user",
        secret="pa55w0rd",
    ),
    Rule(
        "auth-header",
        "shell",
        r"(?i)authorization[\"']?[ \t]*[:=][ \t]*[\"']?(?:(?:basic|bearer|token|digest|"
        r"negotiate|ntlm|apikey|api-key|sso-key|key|jwt|dpop)[ \t]+)?"
        r"(?P<secret>[A-Za-z0-9+/=._~\-:]{8,})",
        "curl -H 'Authorization: Basic YWRtaW46czNjcjN0LXBhc3M=' https://example.com/api",
        ("authorization",),
        "header",
        secret="YWRtaW46czNjcjN0LXBhc3M=",
    ),
    Rule(
        "api-key-header",
        "shell",
        r"(?i)(?:x-api-key|api-key|apikey|x-auth-token|x-access-token|private-token|"
        r"x-goog-api-key|ocp-apim-subscription-key|x-vault-token|x-hasura-admin-secret|"
        r"x-algolia-api-key|x-figma-token)[\"']?[ \t]*:[ \t]*[\"']?"
        r"(?P<secret>[A-Za-z0-9+/=._~\-]{8,})",
        'curl -H "X-Api-Key: 7f3b2c1d9e8a4f5b6c7d8e9f0a1b2c3d" https://api.example.com/',
        ("api-key", "apikey", "-token:", '-token"', "-token'", "subscription-key", "admin-secret"),
        "header",
        secret="7f3b2c1d9e8a4f5b6c7d8e9f0a1b2c3d",
    ),
    Rule(
        "login-password",
        "shell",
        r"login[ \t][^\n;&|]*?[ \t](?:-p|--password)(?:=|[ \t]+)" + _value(),
        "docker login -u deploy -p Tr0ub4dor registry.example.com",
        ("login",),
        "login",
        secret="Tr0ub4dor",
    ),
    Rule(
        "tool-password",
        "shell",
        r"(?:zip|unzip|7za?|sqlcmd|bcp|openssl)\b[^\n;&|]*?[ \t]-[Pkp][ \t]*" + _value(),
        "zip -P Z1p-secret archive.zip notes.txt",
        ("zip ", "7z ", "7za ", "sqlcmd", "bcp ", "openssl "),
        "tool-password",
        secret="Z1p-secret",
    ),
    Rule(
        "ldap-password",
        "shell",
        r"ldap[a-z]*\b[^\n;&|]*?[ \t]-w[ \t]*" + _value(),
        "ldapsearch -x -D cn=admin,dc=example,dc=com -w Ld4p-Secret -b dc=example,dc=com",
        ("ldap",),
        "value",
        secret="Ld4p-Secret",
    ),
    Rule(
        "smb-password",
        "shell",
        r"(?:-U|--user)(?:=|[ \t]*)[\"']?[^\s%\"']+%" + _value(),
        "smbclient //fs/share -U alice%Smb-Pa55",
        ("smbclient", "rpcclient", "smbmap", "cifs", "net "),
        "smb",
        secret="Smb-Pa55",
    ),
    Rule(
        "htpasswd-password",
        "shell",
        r"htpasswd[ \t]+(?:-[A-Za-z]+[ \t]+)*\S+[ \t]+[^\s-]\S*[ \t]+" + _value(),
        "htpasswd -b -c .htpasswd admin Htp4ss-word",
        ("htpasswd",),
        "htpasswd",
        secret="Htp4ss-word",
    ),
    Rule(
        "redis-cli-password",
        "shell",
        r"redis-cli\b[^\n;&|]*?[ \t](?:-a|--pass)[ \t]+" + _value(),
        "redis-cli -h cache -a 'S3cr3t-redis' ping",
        ("redis-cli",),
        "value",
        secret="S3cr3t-redis",
    ),
    Rule(
        "sshpass-password",
        "shell",
        r"sshpass[ \t]+-p[ \t]*" + _value(),
        "sshpass -p 'winter2024' ssh deploy@203.0.113.7",
        ("sshpass",),
        "value",
        secret="winter2024",
    ),
    Rule(
        "prose-password",
        "shell",
        r"(?i)\b(?:password|passwd|passphrase|passcode|pass|pw|pwd)\b"
        r"(?:[ \t]+(?:for|of|to)(?:[ \t]+[^\s:=]{1,30}){1,2})?"
        r"(?:[ \t]*[:=][ \t]*|[ \t]+(?:is|was|will[ \t]+be)(?:[ \t]*:)?[ \t]+|[ \t]+)"
        r"[\"'`]?(?P<secret>[^\s\"'`]*[^\s\"'`.,;:)])",
        "note to self - the wifi password is Kq7!vR2#pL9z, rotate it",
        ("password", "passwd", "passphrase", "passcode", *_PROSE_PASS),
        "prose-password",
        secret="Kq7!vR2#pL9z",
    ),
    Rule(
        "openssl-password",
        "shell",
        r"pass:" + _value(),
        "openssl pkcs12 -export -in cert.pem -passout pass:Sup3rS3cret -out cert.p12",
        ("pass:",),
        "openssl",
        secret="Sup3rS3cret",
    ),
)

URL_RULES: tuple[Rule, ...] = (
    Rule(
        "teams-webhook",
        "url",
        r"webhook\.office\.com/webhookb2/[^\s/]+/IncomingWebhook/(?P<secret>[0-9A-Fa-f]{32})",
        "https://acme.webhook.office.com/webhookb2/0a1b2c3d@4e5f6a7b/IncomingWebhook/"
        "0123456789abcdef0123456789abcdef/89abcdef",
        ("webhook.office.com/",),
        secret="0123456789abcdef0123456789abcdef",
    ),
    Rule(
        "zapier-webhook",
        "url",
        r"hooks\.zapier\.com/hooks/catch/\d+/(?P<secret>[A-Za-z0-9]{5,})",
        "curl -X POST https://hooks.zapier.com/hooks/catch/1234567/b7Qx2Za/ -d @event.json",
        ("hooks.zapier.com/",),
        secret="b7Qx2Za",
    ),
    Rule(
        "ifttt-webhook",
        "url",
        r"maker\.ifttt\.com/(?:trigger/[^/\s]+/with/)?key/(?P<secret>[A-Za-z0-9_\-]{16,})",
        "https://maker.ifttt.com/trigger/done/with/key/dQ3kT9xZ1vB7mN2pL5rS8w",
        ("maker.ifttt.com/",),
        secret="dQ3kT9xZ1vB7mN2pL5rS8w",
    ),
    Rule(
        "webhook-url",
        "url",
        r"/(?:hooks|webhooks?)/(?P<secret>[A-Za-z0-9_\-]{20,})(?:[/?#\s'\"]|$)",
        "MATTERMOST_HOOK=https://chat.example.net/hooks/x8k2m9q4w7e1r5t3y6u0i2o4pa",
        ("/hooks/", "/webhook/", "/webhooks/"),
        "webhook",
        secret="x8k2m9q4w7e1r5t3y6u0i2o4pa",
    ),
    Rule(
        "url-password",
        "url",
        r"(?m)://[^\s/@:'\"]*:(?P<secret>[^\s'\"]*)@"
        r"(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?:[/:?#\s'\"\\)\]>,;]|$)",
        "DATABASE_URL=postgres://app:p@ss/w:rd@db.internal:5432/app",
        ("://",),
        "url-password",
        secret="p@ss/w:rd",
    ),
    Rule(
        "url-token",
        "url",
        r"://(?P<secret>[A-Za-z0-9_\-]{20,})@",
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
        _URL_PARAM_KEYWORDS,
        "param",
        secret="0123456789abcdef" * 4,
    ),
)

DOTENV_RULES: tuple[Rule, ...] = (
    Rule(
        "dotenv-secret",
        "dotenv",
        r"(?im)^[+\- ]?[ \t]*(?:export[ \t]+)?"
        + _SECRET_NAME
        + r"[ \t]*[=:][ \t]*"
        + _value(r"(?:[ \t\r]|$)"),
        "+STRIPE_SECRET = 'not-a-real-secret-123'",
        _SECRET_NAME_WORDS,
        "shell-name",
        secret="not-a-real-secret-123",
    ),
    Rule(
        "netrc-password",
        "dotenv",
        r"(?i)login\s+\S+\s+password\s+(?P<secret>[^\s]+)",
        "machine api.example.com\n  login alice\n  password Netrc-Pa55",
        ("password",),
        "value",
        secret="Netrc-Pa55",
        multiline=True,
    ),
    Rule(
        "npmrc-auth",
        "dotenv",
        r"(?i):_(?:authToken|auth|password)[ \t]*=[ \t]*(?P<secret>[^\s]+)",
        "//npm.example.com/:_authToken=0123abcd-FAKE-fake-FAKE-0123456789ab",
        (":_auth", ":_password"),
        "param",
        secret="0123abcd-FAKE-fake-FAKE-0123456789ab",
    ),
)

ENTROPY_RULES: tuple[Rule, ...] = (
    Rule(
        "key-argument",
        "entropy",
        r"[(,][ \t]*(?P<name>key|api_key|apikey|token|api_token|secret|secret_key|access_key|"
        r"auth_key|auth_token|license_key|pat)[ \t]?=[ \t]*"
        r"(?:\"(?P<secret>[^\"\n$][^\"\n]{11,})\"|'(?P<secret2>[^'\n$][^'\n]{11,})')",
        'wandb.login(key="0123456789abcdef0123456789abcdef01234567")',
        tuple(f"{word}{blank}=" for word in ("key", "token", "secret", "pat") for blank in _BLANKS),
        "key-argument",
        secret="0123456789abcdef0123456789abcdef01234567",
    ),
    Rule(
        "secret-assignment",
        "entropy",
        r"(?im)(?P<name>[A-Za-z0-9_.\-]*(?:secret|token|passw(?:or)?d|passphrase|api_?key|"
        r"access_?key|private_?key|auth_?key|signing_?key|encryption_?key|client_?secret|"
        r"credentials?|_key|auth|pwd))[\"']?\]?[ \t]*(?:=|:|:=|=>|==|\?\?=)[ \t]*"
        r"(?:\"(?P<secret>[^\"\n$][^\"\n]{3,})\"|'(?P<secret2>[^'\n$][^'\n]{3,})'|"
        r"(?P<secret3>[A-Za-z0-9+/=_\-.~]{16,})(?:[\s,;]|$))",
        'self.client_secret = "Zq8vW2xR5tY7uI9oP1aS3dF6gH4jK0lM"',
        ("secret", "token", "passw", "passphrase", "key", "credential", "auth", "pwd"),
        "assignment",
        secret="Zq8vW2xR5tY7uI9oP1aS3dF6gH4jK0lM",
    ),
    Rule(
        "secret-pair",
        "entropy",
        r"(?i)[\"'](?P<name>[A-Za-z0-9_.\-]*(?:secret|token|passw(?:or)?d|api[_.\-]?key|"
        r"access[_.\-]?key|secret[_.\-]?key|private[_.\-]?key|credentials?))[\"'][ \t]*"
        r"(?:,|[ \t]+value=)[ \t]*(?:\"(?P<secret>[^\"\n$][^\"\n]{3,})\"|'(?P<secret2>[^'\n$][^'\n]{3,})')",
        "conf.set('fs.s3a.secret.key', 'Zq8vW2xR5tY7uI9oP1aS3dF6gH4jK0lM')",
        ("secret", "token", "passw", "key", "credential"),
        "pair",
        secret="Zq8vW2xR5tY7uI9oP1aS3dF6gH4jK0lM",
    ),
    Rule(
        "secret-default",
        "entropy",
        r"(?:getenv|environ\.get|env\.get|ENV\.fetch)\([^,\n)]*,[ \t]*"
        r"(?:\"(?P<secret>[^\"\n$][^\"\n]{3,})\"|'(?P<secret2>[^'\n$][^'\n]{3,})')",
        "SIGNING_SECRET = os.environ.get('SIGNING', 'Zq8vW2xR5tY7uI9oP1aS3dF6gH4jK0lM')",
        ("getenv", "environ.get", "env.get", "env.fetch"),
        "default",
        secret="Zq8vW2xR5tY7uI9oP1aS3dF6gH4jK0lM",
    ),
)

PERSONAL_RULES: tuple[Rule, ...] = (
    Rule(
        "email",
        "personal",
        r"(?P<secret>@(?:[A-Za-z0-9\-]+\.)+[A-Za-z]{2,24})\b",
        "Author: Jane Roe <jane.roe@example.org>",
        ("@",),
        "email",
        secret="jane.roe@example.org",
        extend_left="A-Za-z0-9._%+-",
    ),
    Rule(
        "ipv4",
        "personal",
        r"\b(?P<secret>(?:\d{1,3}\.){3}\d{1,3})\b",
        "Connection to 34.120.8.15 port 22 closed.",
        (),
        "ipv4",
        secret="34.120.8.15",
    ),
    Rule(
        "ipv6",
        "personal",
        r"(?P<secret>::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?)",
        "inet6 2a02:6b8:85a3::8a2e:370:7334/64 scope global",
        ("::",),
        "ipv6",
        secret="2a02:6b8:85a3::8a2e:370:7334",
        extend_left="0-9A-Fa-f:",
    ),
    Rule(
        "ipv6-full",
        "personal",
        r"\b(?P<secret>[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){7})\b",
        "Connecting to 2a02:06b8:0000:0042:0000:8a2e:0370:7334 port 443",
        (),
        "ipv6",
        secret="2a02:06b8:0000:0042:0000:8a2e:0370:7334",
    ),
    Rule(
        "prompt-host",
        "personal",
        r"(?m)@(?P<secret>[A-Za-z0-9][A-Za-z0-9\-]{1,62})(?:[: \]]|$)",
        "(base) jdoe@gpu-node07:~/runs$ nvidia-smi",
        ("@",),
        "prompt-host",
        secret="gpu-node07",
    ),
    Rule(
        "ssh-host",
        "personal",
        r"(?:ssh|mosh|autossh)(?:[ \t]+(?:-[46AaCfGgKkMNnqsTtVvXxYy]+|"
        r"-[BbcDEeFIiJLlmOoPpQRSWw][ \t]*[^\s\-]\S*|--[\w\-]+(?:=\S+)?))*[ \t]+"
        r"(?:[A-Za-z0-9_.\-]+@)?(?P<secret>[A-Za-z][A-Za-z0-9\-]*(?:\.[A-Za-z0-9\-]+)*)"
        r"(?:[\s:'\"]|$)",
        "ssh -i ~/.ssh/lab -p 2222 jdoe@dgx07.cs.uni.example",
        ("ssh", "mosh"),
        "remote-host",
        secret="dgx07.cs.uni.example",
        word_start=True,
    ),
    Rule(
        "copy-host",
        "personal",
        r"(?:scp|rsync|sftp)\b[^\n;&|]*?[ \t](?:[A-Za-z0-9_.\-]+@)?"
        r"(?P<secret>[A-Za-z][A-Za-z0-9\-]*(?:\.[A-Za-z0-9\-]+)*):",
        "rsync -avz runs/ jdoe@titan12:/data/runs/",
        ("scp", "rsync", "sftp"),
        "remote-host",
        secret="titan12",
        word_start=True,
    ),
    Rule(
        "ssh-config-host",
        "personal",
        r"(?im)^[ \t]*(?:Host|HostName|ProxyJump)[ \t]*=?[ \t]+(?:[A-Za-z0-9_.\-]+@)?"
        r"(?P<secret>[A-Za-z][A-Za-z0-9\-]*(?:\.[A-Za-z0-9\-]+)*)",
        "Host bigbox\n    HostName bigbox.lab.example\n    User jdoe",
        tuple(f"{word}{end}" for word in ("host", "hostname", "proxyjump") for end in " \t="),
        "ssh-config-host",
        secret="bigbox",
    ),
    Rule(
        "cluster-node",
        "personal",
        r"(?im)(?:^[ \t]*\d+(?:_[\d\[\]\-,%]+)?[ \t]+\S+[ \t]+\S+[ \t]+\S+[ \t]+[A-Z]{1,3}"
        r"[ \t]+[\d:\-]+[ \t]+\d+[ \t]+|^\S+[ \t]+(?:up|down|drain|inact)[ \t]+\S+[ \t]+\d+"
        r"[ \t]+[a-z]+[*~#!%$@^+\-]?[ \t]+|(?:NodeName|BatchHost|NodeList|NodeHostName|NodeAddr)=)"
        r"(?P<secret>[A-Za-z][A-Za-z0-9\-]*(?:\[[\d,\-]+\])?"
        r"(?:,[A-Za-z][A-Za-z0-9\-]*(?:\[[\d,\-]+\])?)*)",
        "JOBID PARTITION NAME USER ST TIME NODES NODELIST(REASON)\n"
        "  4242 gpu train jdoe R 1:02:03 2 gpu[07-08]",
        ("nodelist", "nodename", "batchhost", "nodehostname", "nodeaddr"),
        "remote-host",
        secret="gpu[07-08]",
    ),
    Rule(
        "home-user",
        "personal",
        r"/(?:home|Users|var/home)/(?P<secret>[A-Za-z0-9._\-]+)",
        'File "/home/jdoe/project/train.py", line 3',
        ("/home/", "/users/"),
        "home-user",
        secret="jdoe",
    ),
)

# The personal rules that find the researcher's other machines (see ``known.py``).
REMOTE_HOST_RULES = frozenset({"prompt-host", "ssh-host", "copy-host", "ssh-config-host"})
REMOTE_HOST_RULES |= {"cluster-node"}

RULES: tuple[Rule, ...] = (
    PROVIDER_RULES + SHELL_RULES + URL_RULES + DOTENV_RULES + ENTROPY_RULES + PERSONAL_RULES
)


def escape_literal(text: str) -> str:
    """``text`` as an RE2 pattern matching exactly it."""
    return "".join(_escape_char(c) for c in text)


def _escape_char(c: str) -> str:
    if c.isalnum() or ord(c) > 127:
        return c
    return "\\" + c if c.isprintable() else f"\\x{{{ord(c):x}}}"


def word_bounded(literal: str, body: str, start: bool = True) -> str:
    """``body`` with ``\\b`` where ``literal``'s ends are word characters (at the start
    only when ``start``: a leading ``\\b`` is better written as ``word_start``)."""
    if start and (literal[:1].isalnum() or literal[:1] == "_"):
        body = r"\b" + body
    if literal[-1:].isalnum() or literal[-1:] == "_":
        body += r"\b"
    return body


def literal_rule(name: str, category: str, words, check: str = "") -> Rule:
    """A rule for any of ``words``, ignoring case, never inside a longer word."""
    words = sorted(set(words), key=len, reverse=True)
    starts = all(w[:1].isalnum() or w[:1] == "_" for w in words)
    body = "|".join(word_bounded(w, escape_literal(w), start=not starts) for w in words)
    pattern = f"(?i)(?P<secret>{body})"
    return Rule(name, category, pattern, words[0], tuple(words), check, word_start=starts)


def table_digest(rules: tuple[Rule, ...] = RULES) -> str:
    """A short hash of the rule table's content, pinned by ``RULESET_DIGEST``."""
    rows = [dataclasses.astuple(r) for r in rules]
    blob = json.dumps(rows, separators=(",", ":"), default=list).encode()
    return hashlib.sha256(blob).hexdigest()[:12]
