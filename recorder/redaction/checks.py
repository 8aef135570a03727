"""Validators that a rule's match must also pass (the ``check`` column of the table).

A pattern says where a secret can be; a check rejects what is there but is not
one: references (``$TOKEN``, ``self.token``), paths, template holes, trivial or
placeholder values, identifiers and type names in code, low-entropy strings,
version numbers that look like IP addresses. Each check gets the candidate
value, the matched ``name`` group (or ``""``), the text before the value on its
line and up to two characters after it.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable

Check = Callable[[str, str, str, str], bool]

_TRIVIAL_WORDS = """true false yes no on off none null nil undefined empty unset required
optional string str int bool bytes object any dict list float secret token password passwd key
value default changeme the"""
TRIVIAL = frozenset(_TRIVIAL_WORDS.split())
_PLACEHOLDER_MARKERS = ("your_", "your-", "yourtoken", "replace_me", "replace-me", "xxxx", "***")
_PLACEHOLDER_MARKERS += ("...", "\u2026")
_REFERENCE_START = ("$", "%", "{", "<", "@", "-", "`")
_PATH_START = ("/", "~/", "./", "../")
_STRONG_NAMES = ("TOKEN", "SECRET", "PASSW", "PASSPHRASE", "API_KEY", "APIKEY", "CREDENTIAL")
_STRONG_NAMES += ("_PASS", "_PWD", "_PAT")
_PASSWORD_NAMES = ("passw", "pwd", "passphrase", "_pass")
# A value naming a secret by its kind (``token = Token()``, ``api_token: ApiToken``).
_SECRET_WORDS = ("token", "key", "secret", "auth", "credential")

_WORD_SEPARATORS = re.compile(r"[ ._/:\-]")
_CAMEL = re.compile(r"(?:[A-Z]+|[A-Za-z][a-z]*)(?:[A-Z][a-z]+)*[A-Z]*")
_DEFAULT_TARGET = re.compile(
    r"(?i)([A-Za-z0-9_.\-]*(?:secret|token|passw(?:or)?d|api_?key|access_?key|credentials?))"
    r"[\"']?\]?[ \t]*(?::?=|:)[ \t]*[A-Za-z0-9_.]*(?:getenv|environ\.get|env\.get|ENV\.fetch)\("
)
_HUMPS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")
_CHAR_KINDS = tuple(re.compile(p) for p in ("[a-z]", "[A-Z]", "[0-9]", "[^A-Za-z0-9]"))
_FILE_LIKE = re.compile(
    r"[\w.\-/~]*\.(?:pem|key|json|txt|crt|cer|p12|pfx|der|gpg|asc|env|ya?ml|toml|ini|cfg|conf)"
)
_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?:\(\))?")
_CODE_NAME = re.compile(r"_*[A-Za-z]+[0-9]*(?:_+[A-Za-z]+[0-9]*)*_*")
_CONSTANT = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_HEX_COLOR = re.compile(r"#[0-9A-Fa-f]{3,8}")
_SNAKE = re.compile(r"_*[a-z][a-z0-9]*(?:_+[a-z0-9]+)+")
_CODE_EXPRESSION = re.compile(r"[A-Za-z_][\w.]*[\[(]")
_PORT_PATH = re.compile(r"\d{1,5}(?:/|$)")
_VERSION_BEFORE = re.compile(r"(?i)(?:version|ver|release|section|sections|rfc)\W{0,3}$")
_FLAG_START = re.compile(r"(?:^|\s)--?[\w-]+(?:=|[ \t]+)[\"']?$")
_HTTP_COMMAND = re.compile(r"(?:^|[\s;&|(])(?:curl|wget|http|https|xh)\s[^;&|]*$")
_LOGIN = re.compile(r"(?:^|[\s;&|(])[\w.-]+(?:[ \t]+registry)?[ \t]+login\b[^;&|]*$")
_TOOL_FLAG = re.compile(
    r"(?:^|[\s;&|(])(zip|unzip|7za?|sqlcmd|bcp|openssl)\b[^;&|]*[ \t]-([Pkp])[ \t]*[\"']?$"
)
_TOOL_FLAGS = {"zip": "P", "unzip": "P", "7z": "p", "7za": "p", "sqlcmd": "P", "bcp": "P"}
_TOOL_FLAGS["openssl"] = "k"
_SMB_COMMAND = re.compile(r"(?:^|[\s;&|(])(?:smbclient|rpcclient|smbmap|net|mount\.cifs)\s[^;&|]*$")
_OPENSSL_PASS = re.compile(r"(?:^|\s)-pass(?:in|out)?[ \t]+pass:[\"']?$")
_HEADER_NAME = re.compile(
    r"(?i)(?:^|[^a-z0-9:_])(?:proxy-)?(?:authorization|x-api-key|api-key|apikey|x-auth-token|"
    r"x-access-token|private-token|x-goog-api-key|ocp-apim-subscription-key|x-vault-token|"
    r"x-hasura-admin-secret|x-algolia-api-key|x-figma-token)[\"']?[ \t]*[:=][ \t]*[\"']?"
    r"(?:[a-z]+[ \t]+)?$"
)
_TEMPLATE_WORD = re.compile(r"[A-Z][A-Z_]{2,}")
_TEMPLATE_SECRET_WORDS = ("PASS", "PWD", "SECRET", "TOKEN", "KEY")
# Four-part versions (cuDNN 8.9.2.26, TensorRT 10.0.1.6) look like IPv4 addresses.
_VERSION_CONTEXT = re.compile(
    r"(?i)(?:cudnn|cuda|cublas|tensorrt|trt|nccl|nvidia|cu1\d|driver|toolkit|version|ver\b|"
    r"release|build|firmware|libcudnn\w*|==|~=|>=|<=)[^\n]{0,40}$"
)
_ADDRESS_CONTEXT = re.compile(
    r"(?i)(?:\b(?:ip|addr\w*|inet6?|host\w*|server|ssh|ping|connect\w*|from|to|via|proxy|"
    r"dns|gateway|peer|client)\b|@)[^\n]{0,24}$"
)
_CALL_NAME = re.compile(r"([A-Za-z_][\w.]*)\((?:[^()]*,)?[ \t]*\w+[ \t]*=[ \t]*[\"']?$")
_AUTH_CALL = re.compile(
    r"(?i)login|auth|init|client|connect|session|configure|setup|credential|api|sdk|"
    r"service|account|token|key"
)
_PROMPT_USER = re.compile(r"(?:\([^)\n]{1,40}\)[ \t]*)?\[?[a-z_][a-z0-9_.\-]{0,31}@")
_PUBLIC_HOST_WORDS = """github.com gitlab.com bitbucket.org ssh.dev.azure.com vs-ssh.visualstudio.com
    huggingface.co hf.co heroku.com source.developers.google.com localhost
localhost.localdomain"""
_PUBLIC_HOSTS = frozenset(_PUBLIC_HOST_WORDS.split())
_PUBLIC_DOMAINS = (".github.com", ".gitlab.com", ".amazonaws.com", ".googleusercontent.com")
_GENERIC_HOST_TEXT = """host hostname server remote machine example example.com example.org user
your-host yourhost myhost my-server target node login"""
_GENERIC_HOST_WORDS = frozenset(_GENERIC_HOST_TEXT.split())
_DOC_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)

_EMAIL_SKIP_LOCAL = frozenset({"git"})
_EMAIL_SKIP_FIRST_LABEL = frozenset({"self", "np", "torch", "cls", "this", "tf", "jnp", "x", "w"})
_EMAIL_SKIP_TLD_WORDS = """png jpg jpeg gif svg webp ico js mjs ts tsx jsx py pyc css scss html
htm json md txt lock toml yaml yml cfg ini sh whl gz zip tar log csv"""
_EMAIL_SKIP_TLD = frozenset(_EMAIL_SKIP_TLD_WORDS.split())
_HOME_SKIP_WORDS = """runner linuxbrew shared public default guest ubuntu ec2-user vagrant
jovyan codespace vscode node circleci travis user admin root"""
_HOME_SKIP = frozenset(_HOME_SKIP_WORDS.split())


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def looks_like_words(value: str) -> bool:
    """Ordinary words (``bert-base-uncased``, ``DEFAULT_NAME``, ``TokenOpt``), not a token."""
    if len(value) > 128:
        return False
    parts = [part for part in _WORD_SEPARATORS.split(value) if part]
    return bool(parts) and all(
        part.isalpha() and (part.isupper() or _CAMEL.fullmatch(part) is not None) for part in parts
    )


def is_dotted_name(value: str) -> bool:
    """``self._token``, ``os.environ``, ``settings.SECRET_KEY``: every part a word-like name."""
    return bool(_DOTTED.fullmatch(value)) and all(
        _CODE_NAME.fullmatch(part) and looks_like_words(part.strip("_").rstrip("0123456789"))
        for part in value.removesuffix("()").split(".")
    )


def is_identifier(value: str) -> bool:
    """A name from code: ``self.token``, ``current_token``, ``ApiToken``, ``MAX_KEYS``."""
    if is_dotted_name(value) or _CONSTANT.fullmatch(value) or _SNAKE.fullmatch(value):
        return True
    if not value.isidentifier() or not looks_like_words(value):
        return False
    if "_" in value:
        return True
    humps = _HUMPS.findall(value)  # currentToken, ApiKey, HMAccessory: words of 3+ letters
    return len(humps) > 1 and all(len(h) >= 3 for h in humps)


def is_value(value: str, name: str = "", before: str = "", after: str = "") -> bool:
    """A literal value: not empty, a reference, a path, a template or a trivial word."""
    v = value.strip().rstrip(",;")
    if len(v) < 3 or v.startswith(_REFERENCE_START) or v.startswith(_PATH_START):
        return False
    low = v.lower()
    if low in TRIVIAL or len(set(v)) == 1 or _CODE_EXPRESSION.match(v) or is_dotted_name(v):
        return False
    if is_documented_example(v):
        return False
    return not any(marker in low for marker in _PLACEHOLDER_MARKERS)


def is_documented_example(value: str) -> bool:
    """A key from a provider's documentation, such as ``AKIAIOSFODNN7EXAMPLE``."""
    return len(value) >= 16 and "EXAMPLE" in value


def is_random(value: str) -> bool:
    """Long and varied enough to be a generated secret rather than a name."""
    if len(value) < 12 or " " in value or "://" in value or looks_like_words(value):
        return False
    if value[0] in "[(^#" or _HEX_COLOR.fullmatch(value):
        return False  # a regular expression or a colour, not a token
    if _FILE_LIKE.fullmatch(value) or is_dotted_name(value):
        return False
    head = value[:256]
    classes = sum(1 for kind in _CHAR_KINDS if kind.search(head))
    entropy = shannon_entropy(head)
    if len(value) >= 16:
        return classes >= 2 and entropy >= 3.0
    return (classes >= 3 and entropy >= 2.7) or (classes == 2 and entropy >= 3.2)


def check_shell_name(value: str, name: str, before: str, after: str) -> bool:
    """``NAME=value``: any value for a strong name, a random-looking one for ``*_KEY``."""
    upper = name.upper()
    v = value.strip().rstrip(",;")
    if upper.endswith(("PUBLIC_KEY", "PUB_KEY")) or after[:1] in ("(", "[", "."):
        return False
    if not is_value(v) or v.lower() == name.lower() or is_identifier(v):
        return False
    if _HEX_COLOR.fullmatch(v) or (upper.endswith("_PAT") and not is_random(v)):
        return False
    if after[:1] in (")", ",") and looks_like_words(v):
        return False  # a keyword argument in code: f(token=token)
    if any(word in v.lower() for word in _SECRET_WORDS) and looks_like_words(v):
        return False  # token = Token, auth: AuthConfig
    if "TOKEN" in upper and (v.isdigit() or (name.islower() and v.isalpha())):
        return False  # token ids and parser tokens: token=11098, last_token = prev
    return any(word in upper for word in _STRONG_NAMES) or is_random(v)


def check_cli_flag(value: str, name: str, before: str, after: str) -> bool:
    if name.lower().startswith(("no-", "no_")) or not _FLAG_START.search(before):
        return False
    if value.lower().startswith(("env:", "file:", "fd:", "stdin")):
        return False
    return is_value(value)


def check_http_user(value: str, name: str, before: str, after: str) -> bool:
    """``-u user:pass`` belongs to curl, wget, httpie or xh in the same command."""
    return bool(_HTTP_COMMAND.search(before)) and is_value(value)


def check_login(value: str, name: str, before: str, after: str) -> bool:
    """``<tool> login ... -p secret`` (docker, az, oc, cf...); not ``-p 2222``, a port."""
    if not _LOGIN.search(before) or (value.isdigit() and len(value) <= 5):
        return False
    return is_value(value)


def check_tool_password(value: str, name: str, before: str, after: str) -> bool:
    """The flag that takes a password for that tool: zip -P, 7z -p, sqlcmd -P, openssl -k."""
    m = _TOOL_FLAG.search(before)
    return bool(m) and m.group(2) in _TOOL_FLAGS.get(m.group(1), "") and is_value(value)


def check_smb(value: str, name: str, before: str, after: str) -> bool:
    """``-U user%password`` of smbclient and friends."""
    return bool(_SMB_COMMAND.search(before)) and is_value(value)


def check_htpasswd(value: str, name: str, before: str, after: str) -> bool:
    """``htpasswd -b file user password``: only batch mode puts the password on the line."""
    flags = "".join(re.findall(r"(?:^|\s)-([A-Za-z]+)", before.split("htpasswd", 1)[-1]))
    return "b" in flags and is_value(value)


def check_openssl(value: str, name: str, before: str, after: str) -> bool:
    return bool(_OPENSSL_PASS.search(before)) and is_value(value)


def check_param(value: str, name: str, before: str, after: str) -> bool:
    return len(value) >= 3 and not value.startswith(("$", "{", "<", "%7B", "%24"))


def check_telegram(value: str, name: str, before: str, after: str) -> bool:
    """A bot token: 8 to 10 digits before the colon."""
    digits = value.split(":", 1)[0]
    return 8 <= len(digits) <= 10 and (not before[-1:].isalnum() or before.endswith("bot"))


def check_token(value: str, name: str, before: str, after: str) -> bool:
    if not is_value(value) or is_identifier(value):
        return False
    return not (len(value) < 24 and looks_like_words(value))


def check_header(value: str, name: str, before: str, after: str) -> bool:
    """An HTTP header's value, the header name standing alone (not ``FooAuthorization``)."""
    return bool(_HEADER_NAME.search(before)) and check_token(value, name, before, after)


def check_varied(value: str, name: str, before: str, after: str) -> bool:
    """Not a documentation placeholder such as ``ghp_xxxxxxxx...``, ``AKIAXXXXXXXXXXXXXXXX``
    or ``AKIAIOSFODNN7EXAMPLE``."""
    return len(set(value)) >= 8 and not is_documented_example(value)


def check_entropy(value: str, name: str, before: str, after: str) -> bool:
    return is_value(value) and is_random(value)


def check_assignment(value: str, name: str, before: str, after: str) -> bool:
    """Secret-named key in code or config: any password; a random-looking anything else."""
    if not value or value.startswith(_REFERENCE_START[:5]) or "://" in value:
        return False
    if is_documented_example(value):
        return False
    if _FILE_LIKE.fullmatch(value) or is_identifier(value) or _qualified(name, before):
        return False
    if is_random(value):
        return True
    if any(word in name.lower() for word in _PASSWORD_NAMES):
        return is_value(value) and not value.startswith(("os.", "getpass", "input("))
    return False


def _qualified(name: str, before: str) -> bool:
    """``Foo::Secret`` or ``aws:secret``: a type or resource name, not a variable."""
    at = before.rfind(name) if name else -1
    return at > 0 and before[at - 1] == ":"


def check_pair(value: str, name: str, before: str, after: str) -> bool:
    """``("password", "value")``: not a list of field names such as ``"password", "user"``."""
    return check_assignment(value, name, before, after) and not looks_like_words(value)


def check_default(value: str, name: str, before: str, after: str) -> bool:
    """``SECRET = os.environ.get("X", "value")``: a secret-named target, a secret default."""
    target = _DEFAULT_TARGET.search(before)
    return bool(target) and check_assignment(value, target.group(1), before, after)


def check_url_password(value: str, name: str, before: str, after: str) -> bool:
    if not value or value.startswith(("$", "{", "<")) or len(set(value)) == 1:
        return False
    if _TEMPLATE_WORD.fullmatch(value) and any(w in value for w in _TEMPLATE_SECRET_WORDS):
        return False  # postgresql://USER:PASSWORD@HOST/DB in documentation
    return not _PORT_PATH.match(value)


def check_email(value: str, name: str, before: str, after: str) -> bool:
    local, _, domain = value.rpartition("@")
    labels = domain.lower().split(".")
    if not local.strip(".") or local.lower() in _EMAIL_SKIP_LOCAL:
        return False
    if _TEMPLATE_WORD.fullmatch(local) and any(w in local for w in _TEMPLATE_SECRET_WORDS):
        return False  # https://USERNAME:TOKEN@github.com in documentation
    return labels[0] not in _EMAIL_SKIP_FIRST_LABEL and labels[-1] not in _EMAIL_SKIP_TLD


def _documentation(address) -> bool:
    return any(address.version == n.version and address in n for n in _DOC_NETWORKS)


def check_ipv4(value: str, name: str, before: str, after: str) -> bool:
    octets = [int(part) for part in value.split(".")]
    if any(o > 255 for o in octets) or octets[0] in (0, 127) or octets[0] >= 224:
        return False
    if before[-1:] in (".", "-") or _VERSION_BEFORE.search(before):
        return False
    if after[:1] == "." and after[1:2].isdigit():
        return False
    versioned = after[:1] in ("-", "+", "_") or before[-1:] in ("v", "V", "=")
    if versioned and (before[-1:] != "=" or before.endswith(("==", "~=", ">=", "<="))):
        return False  # v8.9.2.26, ==8.9.2.26, 8.9.2.26-1 (but host=10.0.0.5)
    if _VERSION_CONTEXT.search(before) and not _ADDRESS_CONTEXT.search(before):
        return False
    return not _documentation(ipaddress.IPv4Address(bytes(octets)))


def check_ipv6(value: str, name: str, before: str, after: str) -> bool:
    if before[-1:].isalnum() or before[-1:] in (":", ".") or after[:1].isalnum():
        return False
    if after[:1] == ":" or value.count(":") < 3 or sum(1 for g in value.split(":") if g) < 3:
        return False
    try:
        address = ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return not (address.is_loopback or address.is_unspecified or _documentation(address))


def check_home_user(value: str, name: str, before: str, after: str) -> bool:
    return len(value) >= 2 and value.lower() not in _HOME_SKIP


def check_path_end(value: str, name: str, before: str, after: str) -> bool:
    """A home directory, not a longer name that starts with it (``/home/al`` in ``/home/alice``)."""
    if after[:1] == ".":
        return not (after[1:2].isalnum() or after[1:2] == "_")
    return not (after[:1].isalnum() or after[:1] in ("_", "-"))


def looks_like_password(value: str) -> bool:
    """Random-looking enough to be a password typed in prose: 8+ characters, not words,
    with a digit or symbol beside letters."""
    if len(value) < 8 or len(value) > 128 or not is_value(value) or looks_like_words(value):
        return False
    if "://" in value or _FILE_LIKE.fullmatch(value) or is_identifier(value):
        return False
    letters = any(c.isalpha() for c in value)
    others = any(not c.isalpha() for c in value)
    kinds = sum(1 for kind in _CHAR_KINDS if kind.search(value))
    return letters and others and kinds >= 2 and shannon_entropy(value) >= 2.8


def check_prose_password(value: str, name: str, before: str, after: str) -> bool:
    """``the password is X``, ``pw: X``: a random-looking X (an ordinary word is prose)."""
    if before.rstrip().endswith(("--", "-")) or _VERSION_BEFORE.search(before):
        return False
    return looks_like_password(value) and not _PORT_PATH.match(value)


def check_key_argument(value: str, name: str, before: str, after: str) -> bool:
    """``login(key="…")``: a random value given to a key-named argument of a call that
    logs in, connects or makes a client (``cache.get(key=…)`` stays)."""
    call = _CALL_NAME.search(before)
    if call is None or not _AUTH_CALL.search(call.group(1)):
        return False
    return is_value(value) and is_random(value) and not is_identifier(value)


def check_webhook(value: str, name: str, before: str, after: str) -> bool:
    return is_value(value) and (is_random(value) or len(set(value)) >= 10)


def check_remote_host(value: str, name: str, before: str, after: str) -> bool:
    """Another machine's name: not a public forge or service, not a generic or
    placeholder name, not an address (the ipv4/ipv6 rules own those)."""
    low = value.lower().rstrip(".")
    if len(low) < 3 or low in _PUBLIC_HOSTS or low.endswith(_PUBLIC_DOMAINS):
        return False
    if low in _GENERIC_HOST_WORDS or _TEMPLATE_WORD.fullmatch(value) or low.isdigit():
        return False
    return not all(part.isdigit() for part in low.split("."))


def check_prompt_host(value: str, name: str, before: str, after: str) -> bool:
    """``user@host:`` at the start of a prompt line (after a ``(venv)`` or ``[``)."""
    return bool(_PROMPT_USER.fullmatch(before)) and check_remote_host(value, name, before, after)


def check_ssh_config_host(value: str, name: str, before: str, after: str) -> bool:
    """``Host NAME`` in ssh config: a name with a digit, ``-`` or ``.``, or alone on its
    line (``Host key verification failed.`` is a message)."""
    if not check_remote_host(value, name, before, after):
        return False
    return any(c.isdigit() or c in "-." for c in value) or after[:1] in ("", "\r")


CHECKS: dict[str, Check] = {
    "value": lambda v, n, b, a: is_value(v),
    "shell-name": check_shell_name,
    "cli-flag": check_cli_flag,
    "http-user": check_http_user,
    "login": check_login,
    "smb": check_smb,
    "tool-password": check_tool_password,
    "htpasswd": check_htpasswd,
    "openssl": check_openssl,
    "param": check_param,
    "token": check_token,
    "header": check_header,
    "telegram": check_telegram,
    "varied": check_varied,
    "entropy": check_entropy,
    "assignment": check_assignment,
    "pair": check_pair,
    "default": check_default,
    "url-password": check_url_password,
    "email": check_email,
    "ipv4": check_ipv4,
    "ipv6": check_ipv6,
    "home-user": check_home_user,
    "path-end": check_path_end,
    "prose-password": check_prose_password,
    "key-argument": check_key_argument,
    "webhook": check_webhook,
    "remote-host": check_remote_host,
    "ssh-config-host": check_ssh_config_host,
    "prompt-host": check_prompt_host,
}
