"""Validators that a rule's match must also pass (the ``check`` column of the table).

A pattern says where a secret can be; a check rejects what is there but is not
one: references (``$TOKEN``), paths, template holes, trivial values, words,
low-entropy strings, version numbers that look like IP addresses. Each check
gets the candidate value, the matched ``name`` group (or ``""``), and a few
characters of context either side.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable

Check = Callable[[str, str, str, str], bool]

_TRIVIAL_WORDS = """true false yes no on off none null nil undefined empty unset required optional string
str int bool secret token password passwd key value default changeme"""
TRIVIAL = frozenset(_TRIVIAL_WORDS.split())
_PLACEHOLDER_MARKERS = ("your_", "your-", "yourtoken", "replace_me", "replace-me", "xxxx")
_REFERENCE_START = ("$", "%", "{", "<", "@", "-", "`")
_PATH_START = ("/", "~/", "./", "../")
_WORDS = re.compile(r"(?:[a-z]+|[A-Z]+|[A-Z][a-z]+)(?:[ ._/\-](?:[a-z]+|[A-Z]+|[A-Z][a-z]+))*")
_FILE_LIKE = re.compile(
    r"[\w.\-/~]*\.(?:pem|key|json|txt|crt|cer|p12|pfx|der|gpg|asc|env|ya?ml|toml|ini|cfg|conf)"
)
_PORT_PATH = re.compile(r"\d{1,5}(?:/|$)")
_VERSION_BEFORE = re.compile(r"(?i)(?:version|ver|release)\W{0,3}$")
_PASSWORD_NAMES = ("passw", "pwd", "passphrase", "_pass")
_STRONG_NAMES = (
    "TOKEN",
    "SECRET",
    "PASSW",
    "PASSPHRASE",
    "API_KEY",
    "APIKEY",
    "CREDENTIAL",
    "_PASS",
    "_PWD",
    "_PAT",
)
_EMAIL_SKIP_LOCAL = frozenset({"git"})
_EMAIL_SKIP_FIRST_LABEL = frozenset({"self", "np", "torch", "cls", "this", "tf", "jnp", "x", "w"})
_EMAIL_SKIP_TLD_WORDS = """png jpg jpeg gif svg webp ico js mjs ts tsx jsx py pyc css scss html htm json md txt
lock toml yaml yml cfg ini sh whl gz zip tar log csv"""
_EMAIL_SKIP_TLD = frozenset(_EMAIL_SKIP_TLD_WORDS.split())
_HOME_SKIP_WORDS = """runner linuxbrew shared public default guest ubuntu ec2-user vagrant jovyan codespace
vscode node circleci travis user admin root"""
_HOME_SKIP = frozenset(_HOME_SKIP_WORDS.split())


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def looks_like_words(value: str) -> bool:
    """Ordinary words (``bert-base-uncased``, ``DEFAULT_NAME``), not a random token."""
    return _WORDS.fullmatch(value) is not None


def is_value(value: str, name: str = "", before: str = "", after: str = "") -> bool:
    """A literal value: not empty, a reference, a path, a template or a trivial word."""
    v = value.strip()
    if len(v) < 3 or v.startswith(_REFERENCE_START) or v.startswith(_PATH_START):
        return False
    low = v.lower()
    if low in TRIVIAL or len(set(v)) == 1:
        return False
    return not any(marker in low for marker in _PLACEHOLDER_MARKERS)


def is_random(value: str) -> bool:
    """Long and varied enough to be a generated secret rather than a name."""
    if len(value) < 10 or " " in value or "://" in value or looks_like_words(value):
        return False
    if _FILE_LIKE.fullmatch(value):
        return False
    classes = sum(
        any(test(c) for c in value) for test in (str.islower, str.isupper, str.isdigit)
    ) + any(not c.isalnum() for c in value)
    threshold = 3.0 if len(value) >= 16 else 2.7
    return classes >= 2 and shannon_entropy(value) >= threshold


def check_shell_name(value: str, name: str, before: str, after: str) -> bool:
    """``NAME=value``: any value for a strong name, a random-looking one for ``*_KEY``."""
    upper = name.upper()
    if upper.endswith(("PUBLIC_KEY", "PUB_KEY")) or after[:1] in ("(", "[", "."):
        return False
    if not is_value(value):
        return False
    return any(word in upper for word in _STRONG_NAMES) or is_random(value)


def check_cli_flag(value: str, name: str, before: str, after: str) -> bool:
    if name.lower().startswith(("no-", "no_")):
        return False
    if value.lower().startswith(("env:", "file:", "fd:", "stdin")):
        return False
    return is_value(value)


def check_token(value: str, name: str, before: str, after: str) -> bool:
    return is_value(value) and not (len(value) < 24 and looks_like_words(value))


def check_entropy(value: str, name: str, before: str, after: str) -> bool:
    return is_value(value) and is_random(value)


def check_assignment(value: str, name: str, before: str, after: str) -> bool:
    """Secret-named key in code or config: any password; a random-looking anything else."""
    if not is_value(value) or _FILE_LIKE.fullmatch(value) or "://" in value:
        return False
    if any(word in name.lower() for word in _PASSWORD_NAMES):
        return len(value) >= 4 and not value.startswith(("os.", "getpass", "input("))
    return is_random(value)


def check_url_password(value: str, name: str, before: str, after: str) -> bool:
    return bool(value) and not value.startswith(("$", "{")) and not _PORT_PATH.match(value)


def check_email(value: str, name: str, before: str, after: str) -> bool:
    local, _, domain = value.rpartition("@")
    labels = domain.lower().split(".")
    if local.lower() in _EMAIL_SKIP_LOCAL or labels[0] in _EMAIL_SKIP_FIRST_LABEL:
        return False
    return labels[-1] not in _EMAIL_SKIP_TLD


def check_ipv4(value: str, name: str, before: str, after: str) -> bool:
    octets = [int(part) for part in value.split(".")]
    if any(o > 255 for o in octets) or octets[0] in (0, 127) or octets[0] >= 224:
        return False
    if before[-1:] in (".", "-") or _VERSION_BEFORE.search(before):
        return False
    return not (after[:1] == "." and after[1:2].isdigit())


def check_ipv6(value: str, name: str, before: str, after: str) -> bool:
    if before[-1:].isalnum() or before[-1:] in (":", ".") or after[:1].isalnum():
        return False
    if value.count(":") < 3 or sum(1 for g in value.split(":") if g) < 3:
        return False
    try:
        address = ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return not (address.is_loopback or address.is_unspecified)


def check_home_user(value: str, name: str, before: str, after: str) -> bool:
    return value.lower() not in _HOME_SKIP


def check_path_end(value: str, name: str, before: str, after: str) -> bool:
    """A home directory, not a longer name that starts with it (``/home/al`` in ``/home/alice``)."""
    if after[:1] == ".":
        return not (after[1:2].isalnum() or after[1:2] == "_")
    return not (after[:1].isalnum() or after[:1] in ("_", "-"))


CHECKS: dict[str, Check] = {
    "value": lambda v, n, b, a: is_value(v),
    "shell-name": check_shell_name,
    "cli-flag": check_cli_flag,
    "token": check_token,
    "entropy": check_entropy,
    "assignment": check_assignment,
    "url-password": check_url_password,
    "email": check_email,
    "ipv4": check_ipv4,
    "ipv6": check_ipv6,
    "home-user": check_home_user,
    "path-end": check_path_end,
}
