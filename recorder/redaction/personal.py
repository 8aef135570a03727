"""Personal data of the person at this machine, read locally, and the rules that hide it.

Reads the login name, the full name (the passwd GECOS field and git's
``user.name``), the home directory, the hostname, git's ``user.email`` and the
machine's own IP addresses, from the passwd database, the environment, the git
config files and ``/proc``; nothing is looked up over a network. Values too
short or too generic to be identifying (``root``, ``localhost``) are left out,
since hiding them would mangle ordinary text.
"""

from __future__ import annotations

import functools
import itertools
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from recorder.redaction.rules import Rule, escape_literal, literal_rule, word_bounded

_GENERIC_USERS = """root admin administrator user users ubuntu debian runner ec2-user vagrant
nobody guest test dev developer jovyan codespace vscode node app www-data docker pi default"""
_GENERIC_HOSTS = """localhost localhost.localdomain localdomain ubuntu debian raspberrypi vm
host box server desktop laptop workstation container sandbox"""
GENERIC_USERS = frozenset(_GENERIC_USERS.split())
GENERIC_HOSTS = frozenset(_GENERIC_HOSTS.split())
_MIN_LEN = 3


@dataclass(frozen=True)
class PersonalInfo:
    """What identifies the person: each field a tuple of literal strings."""

    usernames: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    hostnames: tuple[str, ...] = ()
    home_dirs: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()

    @classmethod
    def from_machine(cls) -> PersonalInfo:
        return _from_machine()


@functools.lru_cache(maxsize=1)
def _from_machine() -> PersonalInfo:
    account = _passwd_entry()
    git = read_git_identity()
    users = [account.get("name", ""), os.environ.get("USER", ""), os.environ.get("LOGNAME", "")]
    homes = [account.get("dir", ""), os.environ.get("HOME", "")]
    homes += [os.path.realpath(h) for h in homes if h]
    hostname = socket.gethostname()
    return PersonalInfo(
        usernames=_keep(users, GENERIC_USERS),
        names=_keep([account.get("gecos", ""), git.get("name", "")], GENERIC_USERS),
        hostnames=_keep([hostname, hostname.split(".")[0]], GENERIC_HOSTS),
        home_dirs=tuple(dict.fromkeys(h.rstrip("/") for h in homes if len(h.rstrip("/")) > 1)),
        emails=_keep([git.get("email", "")], frozenset()),
        addresses=tuple(machine_addresses()),
    )


def _keep(values: Iterable[str], generic: frozenset[str]) -> tuple[str, ...]:
    out = []
    for value in values:
        value = " ".join(value.split())
        if len(value) >= _MIN_LEN and value.lower() not in generic and value not in out:
            out.append(value)
    return tuple(out)


def _passwd_entry() -> dict[str, str]:
    try:
        import pwd

        entry = pwd.getpwuid(os.getuid())
    except (ImportError, KeyError, AttributeError):
        return {}
    return {"name": entry.pw_name, "dir": entry.pw_dir, "gecos": entry.pw_gecos.split(",")[0]}


def git_config_files() -> list[Path]:
    """The user-level git config files, in the order git reads them."""
    home = Path.home()
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    files = [xdg / "git" / "config", home / ".gitconfig"]
    if os.environ.get("GIT_CONFIG_GLOBAL"):
        files = [Path(os.environ["GIT_CONFIG_GLOBAL"])]
    return files


def read_git_identity(files: Iterable[Path] | None = None) -> dict[str, str]:
    """``user.name`` and ``user.email`` from git config files (later files win)."""
    found: dict[str, str] = {}
    for path in git_config_files() if files is None else files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        found.update(parse_git_user(text))
    return found


def parse_git_user(text: str) -> dict[str, str]:
    """The ``[user]`` section's ``name`` and ``email`` from git-config syntax."""
    section = ""
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line[1:].split("]")[0].strip().lower()
            continue
        key, sep, value = line.partition("=")
        key = key.strip().lower()
        if section == "user" and sep and key in ("name", "email"):
            found[key] = value.split(" #")[0].strip().strip('"')
    return found


def machine_addresses() -> list[str]:
    """This machine's own non-loopback IPv4 and IPv6 addresses, from ``/proc`` (Linux)."""
    out: list[str] = []
    try:
        lines = Path("/proc/net/fib_trie").read_text().splitlines()
    except OSError:
        lines = []
    for prev, line in itertools.pairwise(lines):
        if "/32 host LOCAL" in line:
            ip = prev.strip().split()[-1]
            if not ip.startswith("127.") and ip not in out:
                out.append(ip)
    try:
        rows = Path("/proc/net/if_inet6").read_text().splitlines()
    except OSError:
        rows = []
    for row in rows:
        hexaddr = row.split()[0] if row.split() else ""
        if len(hexaddr) == 32 and hexaddr != "0" * 31 + "1":
            groups = [hexaddr[i : i + 4] for i in range(0, 32, 4)]
            out.append(_compress_ipv6(":".join(groups)))
    return out


def _compress_ipv6(full: str) -> str:
    import ipaddress

    return ipaddress.IPv6Address(full).compressed


def _name_rule(names: Iterable[str]) -> Rule:
    """Full names, matched whatever the whitespace between their parts."""
    names = sorted(set(names), key=len, reverse=True)
    body = "|".join(
        word_bounded(n, r"\s+".join(escape_literal(part) for part in n.split()), start=False)
        for n in names
    )
    keywords = tuple(n.split()[0] for n in names)
    pattern = "(?i)(?P<secret>" + body + ")"
    return Rule("full-name", "personal", pattern, names[0], keywords, word_start=True)


def personal_rules(info: PersonalInfo) -> tuple[Rule, ...]:
    """Literal rules for the values in ``info`` (the generic ones are in the table)."""
    rules = []
    for name, values, check in [
        ("home-dir", info.home_dirs, "path-end"),
        ("username", info.usernames, ""),
        ("hostname", info.hostnames, ""),
        ("known-email", info.emails, ""),
        ("machine-ip", info.addresses, ""),
    ]:
        if values:
            rules.append(literal_rule(name, "personal", values, check))
    if info.names:
        rules.append(_name_rule(info.names))
    return tuple(rules)
