"""The Redactor: finds secrets and personal data in text and replaces each value.

Text is encoded to UTF-8 once and scanned with RE2 (linear time). One pass of
an RE2 set over every rule's literal keywords (the prefilter) says which rules
can match at all; only those run. A batch is joined and scanned as one text
(each distinct text once), then cut back into its items. Overlapping findings are settled by category
(provider tokens first, personal data last), then by length. A secret found once is
found again wherever it appears later, bare (``known.py``). Each value becomes
``<SECRET:rule:xxxxxx>`` or ``<PII:rule:xxxxxx>``, where ``xxxxxx`` starts the
HMAC-SHA256 of the value under the installation key; the home directory
becomes ``~``. Text inside an existing placeholder is never matched again, so
redacting twice changes nothing.
"""

from __future__ import annotations

import bisect
import gc
import hmac
import json
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from itertools import accumulate, compress, repeat
from typing import Any, BinaryIO, NamedTuple

import re2

from recorder.errors import ConfigError, LeakFound, RuleError
from recorder.redaction.known import KnownValues
from recorder.redaction.matcher import CompiledRule, compile_rule, rule_spans
from recorder.redaction.personal import PersonalInfo, personal_rules
from recorder.redaction.remembered import RememberedValues
from recorder.redaction.rules import REMOTE_HOST_RULES, RULES, RULESET_VERSION, Rule
from recorder.redaction.user_rules import user_rules_digest, user_rules_from

PLACEHOLDER_PATTERN = r"<(?:SECRET|PII):[A-Za-z0-9_.\-]+:[0-9a-f]{6}>"
HOME_PLACEHOLDER = "~"
_SEPARATOR = b"\n\x00\n"
_SEPARATOR_TEXT = _SEPARATOR.decode()
_BATCH_BYTES = 4 << 20
_CHUNK = 8 << 10
STREAM_BLOCK = 1 << 20
_MADE_LIMIT = 4096
_HOLD_LINES = 8
_KEY_HOLD = 64 << 10  # a private key block is far shorter

Hit = tuple[int, int, int]  # start, end (bytes), rule index


class Finding(NamedTuple):
    """One redacted value: which rule, and where its placeholder (or, from scan, it) sits."""

    rule: str
    category: str
    start: int
    end: int
    placeholder: str

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


class RedactionResult(NamedTuple):
    text: str
    findings: list[Finding]


class Redactor:
    """Redacts secrets and personal data; see the module docstring."""

    def __init__(
        self,
        key: bytes,
        *,
        literals: Sequence[str] = (),
        user_rules: Sequence[Mapping] = (),
        personal: bool | PersonalInfo = True,
        remembered: RememberedValues | None = None,
        review_rules: Sequence[Rule] = (),
        review_digest: str = "",
        builtin: bool = True,
    ):
        """``review_rules``: rules added at review (``redaction.review_rules``), their
        ``review_digest`` joining the rule set version; ``builtin=False``: only the rules
        given (the review step rewrites recorded text with one new rule)."""
        if not isinstance(key, bytes | bytearray) or len(key) < 16:
            raise ConfigError("the redaction key must be at least 16 bytes")
        self._key = bytes(key)
        table = _table(personal) if builtin else []
        table = table + user_rules_from(literals, user_rules) + list(review_rules)
        names = [r.name for r in table]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise RuleError(f"redaction rule name(s) used twice: {', '.join(duplicates)}")
        self._rules: list[CompiledRule] = [compile_rule(rule) for rule in table]
        self._set = re2.Set.SearchSet()
        for c in self._rules:
            self._set.Add(c.trigger)
        self._set.Compile()
        # Multi-line rules without keywords (the user's regexes): a match may cross chunks,
        # where no chunk's prefilter would see it, so they always scan the whole text.
        self._always = [
            i for i, c in enumerate(self._rules) if c.rule.multiline and not c.rule.keywords
        ]
        self._placeholders = re2.compile(PLACEHOLDER_PATTERN)
        self._known = KnownValues(self._rules, report_forgotten=remembered is not None)
        self._remembered = remembered  # known values of earlier runs, as keyed hashes
        self._rule_index = {c.rule.name: i for i, c in enumerate(self._rules)}
        self._made: dict[tuple[int, bytes], str] = {}  # placeholders of recent values
        self._ranks = [c.rank for c in self._rules]
        self.ruleset_version = RULESET_VERSION
        if literals or user_rules:
            self.ruleset_version += "+u" + user_rules_digest(literals, user_rules)
        if review_digest:
            self.ruleset_version += "+r" + review_digest

    @property
    def rules(self) -> list[tuple[str, str]]:
        """(name, category) of every rule in force, in table order."""
        return [(c.rule.name, c.rule.category) for c in self._rules]

    # -- finding -----------------------------------------------------------------

    def _scan(self, data: bytes, raw: list[tuple[int, int]] | None = None) -> list[Hit]:
        """Every rule's values in ``data``, overlapping. Long text is prefiltered a chunk of
        lines at a time, and a rule runs only over the runs of chunks with its keywords."""
        ranges: dict[int, list[list[int]]] = defaultdict(list)
        for lo, hi in _chunks(data):
            for i in self._set.Match(data[lo:hi] if lo or hi < len(data) else data) or ():
                runs = ranges[i]
                if runs and runs[-1][1] == lo:
                    runs[-1][1] = hi
                else:
                    runs.append([lo, hi])
        for i in self._always:
            ranges[i].append([0, len(data)])
        hits: list[Hit] = []
        for i in sorted(ranges):
            c = self._rules[i]
            runs = [[0, len(data)]] if c.rule.multiline else ranges[i]
            for lo, hi in runs:
                hits.extend((s, e, i) for s, e in rule_spans(c, data, raw, lo, hi))
        if hits:
            added = self._known.learn(data, hits, self._ranks)
            if self._remembered is not None:
                self._remember(added)
        if self._remembered is not None and self._remembered.pending:
            self._recall(data)
        if self._known:
            found = {(s, e) for s, e, _ in hits}
            hits += [h for h in self._known.find(data) if (h[0], h[1]) not in found]
        return hits

    def _remember(self, added: list[tuple[bytes, int]]) -> None:
        remembered, known = self._remembered, self._known
        for value, i in added:
            remembered.remember(value, self._rules[i].rule.name)
        while known.forgotten:
            remembered.forgotten(known.forgotten.pop())

    def _recall(self, data: bytes) -> None:
        """Values of earlier runs among ``data``'s tokens go back into memory."""
        for value, rule in self._remembered.find(data):
            i = self._rule_index.get(rule)
            if i is not None:
                self._known.adopt(value, i)

    def _hits(self, data: bytes) -> list[Hit]:
        hits = self._scan(data)
        return self._resolve(hits, data) if hits else []

    def _resolve(self, hits: list[Hit], data: bytes) -> list[Hit]:
        """Non-overlapping hits, preferring category order, then longer, then earlier.

        Hits that overlap only each other form a cluster, settled on its own (the choice
        in one cluster cannot affect another), so the cost grows with the cluster sizes
        rather than with the whole text's findings."""
        starts: list[int] = []
        ends: list[int] = []
        for m in self._placeholders.finditer(data):  # RE2 skips to each "<" with memchr
            starts.append(m.start())
            ends.append(m.end())
        kept: list[Hit] = []
        cluster: list[Hit] = []
        reach = -1
        for hit in sorted(hits):
            if cluster and hit[0] < reach:
                cluster.append(hit)
                reach = max(reach, hit[1])
                continue
            if cluster:
                self._settle(cluster, starts, ends, kept)
            cluster, reach = [hit], hit[1]
        if cluster:
            self._settle(cluster, starts, ends, kept)
        return kept

    def _settle(self, cluster: list[Hit], starts: list[int], ends: list[int], kept: list[Hit]):
        """Add to ``kept`` the hits of one cluster that win, in order of position."""
        where = bisect.bisect_right
        if len(cluster) == 1:
            s, e, _ = cluster[0]
            at = where(starts, s)
            if not ((at and ends[at - 1] > s) or (at < len(starts) and starts[at] < e)):
                kept.append(cluster[0])
            return
        rules = self._rules
        chosen: list[Hit] = []
        for hit in sorted(cluster, key=lambda h: (rules[h[2]].rank, h[0] - h[1], h[0], h[2])):
            s, e, _ = hit
            at = where(starts, s)
            if (at and ends[at - 1] > s) or (at < len(starts) and starts[at] < e):
                continue
            if any(cs < e and s < ce for cs, ce, _ in chosen):
                continue
            chosen.append(hit)
        kept.extend(sorted(chosen))

    def keyed_id(self, purpose: str, value: bytes) -> str:
        """A private id of ``value`` (a keyed hash under this installation's key): equal
        values get equal ids, and nobody without the key can test a guess."""
        message = purpose.encode() + b"\0" + value
        return hmac.digest(self._key, message, "sha256").hex()[:32]

    def _placeholder(self, i: int, value: bytes) -> str:
        key = (i, value)
        placeholder = self._made.get(key)
        if placeholder is None:
            if len(self._made) >= _MADE_LIMIT:
                self._made.clear()
            placeholder = self._made[key] = self._make_placeholder(i, value)
        return placeholder

    def _make_placeholder(self, i: int, value: bytes) -> str:
        rule = self._rules[i].rule
        if rule.name == "home-dir":
            return HOME_PLACEHOLDER
        if rule.category == "personal":
            value = value.decode("utf-8", "replace").lower().encode()
        digest = hmac.digest(self._key, value, "sha256").hex()[:6]
        kind = "PII" if rule.category == "personal" else "SECRET"
        return f"<{kind}:{rule.name}:{digest}>"

    def _finding(self, i: int, start: int, end: int, placeholder: str) -> Finding:
        rule = self._rules[i].rule
        return Finding(rule.name, rule.category, start, end, placeholder)

    def _apply(self, text: str, data: bytes, hits: list[Hit]) -> RedactionResult:
        if not hits:
            return RedactionResult(text, [])
        pieces: list[str] = []
        findings: list[Finding] = []
        prev = at = 0
        for s, e, i in hits:
            before = data[prev:s].decode("utf-8", "replace")
            i = self._known.rule_of(data[s:e], i)
            placeholder = self._placeholder(i, data[s:e])
            at += len(before)
            findings.append(self._finding(i, at, at + len(placeholder), placeholder))
            at += len(placeholder)
            pieces += (before, placeholder)
            prev = e
        pieces.append(data[prev:].decode("utf-8", "replace"))
        return RedactionResult("".join(pieces), findings)

    # -- public API ----------------------------------------------------------------

    def redact(self, text: str) -> RedactionResult:
        """``text`` with every finding replaced; positions are in the redacted text."""
        if not text:
            return RedactionResult(text, [])
        data = text.encode("utf-8", "replace")
        return self._apply(text, data, self._hits(data))

    def redact_bytes(self, data: bytes) -> bytes:
        """``redact`` of valid UTF-8 ``data``, as bytes and without findings: what a stream
        needs (no decoding, no positions)."""
        hits = self._hits(data) if data else []
        if not hits:
            return data
        pieces: list[bytes] = []
        prev = 0
        for s, e, i in hits:
            value = data[s:e]
            placeholder = self._placeholder(self._known.rule_of(value, i), value)
            pieces += (data[prev:s], placeholder.encode())
            prev = e
        pieces.append(data[prev:])
        return b"".join(pieces)

    def redact_stream(self, source: BinaryIO, block: int = STREAM_BLOCK) -> Iterator[str]:
        """``redact`` of a byte stream, piece by piece, in memory bounded by ``block``
        (see :func:`stream_blocks`)."""
        for piece in stream_blocks(source, block):
            yield self.redact(piece.decode("utf-8", "replace")).text

    def redact_json(self, text: str) -> RedactionResult:
        """``text`` (a JSON document, such as an event's ``extra``) with every string in it,
        keys too, redacted, and still JSON; findings are counted, positions are not kept.
        Text that is not JSON is redacted as text."""
        return self.redact_json_dirty([text]).get(0) or RedactionResult(text, [])

    def redact_json_dirty(self, texts: Sequence[str]) -> dict[int, RedactionResult]:
        """``redact_json`` of just the documents a rule matches, by index (as ``redact_dirty``):
        the strings of every document are redacted in one batch pass, each distinct string
        once, and only a document with a finding is parsed again and rebuilt."""
        strings_of: dict[int, list[str]] = {}
        not_json: list[int] = []
        for k, text in enumerate(texts):
            if not text:
                continue
            try:
                document = json.loads(text)
            except (ValueError, RecursionError):
                not_json.append(k)
                continue
            found: list[str] = []
            _json_strings(document, found)
            if found:
                strings_of[k] = found
        distinct = list(dict.fromkeys(s for found in strings_of.values() for s in found))
        dirty = {distinct[i]: r for i, r in self.redact_dirty(distinct).items() if r.findings}
        out: dict[int, RedactionResult] = {}
        for k, found in strings_of.items():
            hit = [s for s in found if s in dirty]
            if not hit:
                continue
            redacted = {s: dirty[s].text for s in hit}
            findings = [f._replace(start=0, end=0) for s in hit for f in dirty[s].findings]
            document = _json_replace(json.loads(texts[k]), redacted)
            out[k] = RedactionResult(json.dumps(document, ensure_ascii=False), findings)
        for i, result in self.redact_dirty([texts[k] for k in not_json]).items():
            out[not_json[i]] = result
        return out

    def redact_many(self, texts: Sequence[str | None]) -> list[RedactionResult | None]:
        """``redact`` over a batch, scanned a few megabytes at a time (a text repeated in the
        batch only once); None stays None."""
        collecting = gc.isenabled()
        gc.disable()  # a burst of 100k small results: collection passes would cost a third
        try:
            return self._redact_many(texts)
        finally:
            if collecting:
                gc.enable()

    def redact_dirty(self, texts: Sequence[str]) -> dict[int, RedactionResult]:
        """``redact`` of just the texts a rule matches, by index: the batch pass of
        ``redact_many`` without a result for each clean text. For distinct texts (a column's
        values); results with no findings may be among them."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            if all(texts):
                return dict(self._batches(texts))
            todo = [i for i, t in enumerate(texts) if t]
            return {todo[k]: result for k, result in self._batches([texts[i] for i in todo])}
        finally:
            if collecting:
                gc.enable()

    def _redact_many(self, texts: Sequence[str | None]) -> list[RedactionResult | None]:
        new = tuple.__new__  # skips NamedTuple's Python-level __new__
        if None in texts:
            results = [None if t is None else new(RedactionResult, (t, [])) for t in texts]
        else:
            results = list(
                map(new, repeat(RedactionResult), zip(texts, iter(list, None), strict=False))
            )
        if _repetitive(texts):
            # ``redact`` of a text depends on nothing else: equal texts (recorded traffic
            # repeats lines a lot) are redacted once, each copy getting its own findings list.
            unique = dict.fromkeys(texts)
            unique.pop(None, None)
            unique.pop("", None)
            distinct = list(unique)
            dirty = {distinct[k]: result for k, result in self._batches(distinct)}
            if dirty:
                for i in compress(range(len(texts)), map(dirty.__contains__, texts)):
                    text, findings = dirty[texts[i]]
                    results[i] = new(RedactionResult, (text, list(findings)))
        elif all(texts):
            for k, result in self._batches(texts):
                results[k] = result
        else:
            todo = [i for i, t in enumerate(texts) if t]
            for k, result in self._batches(list(map(texts.__getitem__, todo))):
                results[todo[k]] = result
        return results

    def _batches(self, items: Sequence[str]) -> Iterator[tuple[int, RedactionResult]]:
        """``(k, result)`` for the non-empty ``items[k]`` with findings, a batch at a time."""
        ends = list(accumulate(map(len, items)))
        first = 0
        while first < len(items):
            last = bisect.bisect_left(ends, ends[first] + _BATCH_BYTES, lo=first) + 1
            yield from self._redact_batch(items, range(first, min(last, len(items))))
            first = last

    def _redact_batch(self, texts, batch: Sequence[int]) -> Iterator[tuple[int, RedactionResult]]:
        """Results for the items of ``batch`` that have findings (the rest are clean)."""
        chosen = list(map(texts.__getitem__, batch))
        if all(map(str.isascii, chosen)):  # one encode, and bytes are characters
            parts = chosen
            data = _SEPARATOR_TEXT.join(chosen).encode()
        else:
            parts = list(map(str.encode, chosen, repeat("utf-8"), repeat("replace")))
            data = _SEPARATOR.join(parts)
        raw: list[tuple[int, int]] = []
        hits = self._scan(data, raw)
        if not hits and not raw:
            return  # the common case: every item is clean
        lens = list(map(len, parts))
        starts = list(accumulate(map(len(_SEPARATOR).__add__, lens), initial=0))
        per_item, crossing = self._batch_hits(hits, raw, data, starts, lens)
        for k in crossing:
            part = data[starts[k] : starts[k] + lens[k]]
            yield batch[k], self._apply(texts[batch[k]], part, self._hits(part))
        for k, item_hits in per_item.items():
            if k not in crossing:
                part = data[starts[k] : starts[k] + lens[k]]
                item_hits = self._resolve(item_hits, part)
                yield batch[k], self._apply(texts[batch[k]], part, item_hits)

    def _batch_hits(
        self,
        hits: list[Hit],
        raw: list[tuple[int, int]],
        data: bytes,
        starts: list[int],
        lens: list[int],
    ) -> tuple[dict[int, list[Hit]], set[int]]:
        """Hits per item of one joined scan (its ``hits`` and ``raw`` matches; item ``k`` is
        ``data[starts[k]:][:lens[k]]``), and the items a match ran across."""
        per_item: dict[int, list[Hit]] = defaultdict(list)
        crossing: set[int] = set()
        where = bisect.bisect_right
        for s, e, i in hits:
            k = where(starts, s) - 1
            if e <= starts[k] + lens[k]:
                per_item[k].append((s - starts[k], e - starts[k], i))
        find = data.find
        for s, e in raw:
            if find(b"\x00", s, e) < 0:
                continue  # a match that holds no whole separator stays in one item
            first = where(starts, s) - 1
            first += s >= starts[first] + lens[first]  # a match starting in a separator
            last = where(starts, max(s, e - 1)) - 1
            if last > first:
                crossing.update(range(first, last + 1))
        return per_item, crossing

    def scan(self, text: str) -> list[Finding]:
        """Findings without replacing; positions are in ``text`` itself."""
        if not text:
            return []
        data = text.encode("utf-8", "replace")
        ascii_only = len(data) == len(text)
        findings = []
        prev_byte = prev_char = 0
        for s, e, i in self._hits(data):
            if ascii_only:
                start, end = s, e
            else:
                start = prev_char + len(data[prev_byte:s].decode("utf-8", "replace"))
                end = start + len(data[s:e].decode("utf-8", "replace"))
                prev_byte, prev_char = e, end
            i = self._known.rule_of(data[s:e], i)
            findings.append(self._finding(i, start, end, self._placeholder(i, data[s:e])))
        return findings

    def check_no_leaks(self, text: str) -> None:
        """Raise :class:`LeakFound` (naming rules, never values) if any rule matches ``text``."""
        findings = self.scan(text)
        if findings:
            raise LeakFound([f.rule for f in findings], len(findings))


def _repetitive(texts: Sequence[str | None]) -> bool:
    """Whether a sample of ``texts`` repeats itself (then the batch is worth deduplicating)."""
    step = max(1, len(texts) // 1024)
    sample = [texts[i] for i in range(0, len(texts), step)] if len(texts) > 64 else []
    return len(set(sample)) < 0.9 * len(sample)


def _json_strings(node: Any, out: list[str]) -> None:
    if isinstance(node, str):
        out.append(node)
    elif isinstance(node, dict):
        for key, value in node.items():
            out.append(key)
            _json_strings(value, out)
    elif isinstance(node, list):
        for item in node:
            _json_strings(item, out)


def _json_replace(node: Any, redacted: dict[str, str]) -> Any:
    if isinstance(node, str):
        return redacted.get(node, node)
    if isinstance(node, dict):
        return {redacted.get(k, k): _json_replace(v, redacted) for k, v in node.items()}
    if isinstance(node, list):
        return [_json_replace(item, redacted) for item in node]
    return node


def stream_blocks(source: BinaryIO, block: int = STREAM_BLOCK) -> Iterator[bytes]:
    """A byte stream cut into pieces that may be redacted one at a time: each ends after a
    newline, holding back the last lines of a block (where a value over several lines, a
    netrc entry, may start) and an unfinished private key (up to 64 KB of it) for the next.
    A line longer than four blocks is cut at a character boundary."""
    carry = b""
    while True:
        data = source.read(block)
        text = carry + data if carry else data
        if not data:
            if text:
                yield text
            return
        cut = _stream_cut(text, block)
        if cut <= 0:
            carry = text
            continue
        yield text[:cut]
        carry = text[cut:]


def _stream_cut(text: bytes, block: int) -> int:
    """Where a block of a stream may end: after a newline, ``_HOLD_LINES`` lines before its
    end, and before a private key that has begun but not ended (unless that is too long)."""
    cut = len(text)
    for _ in range(_HOLD_LINES + 1):
        cut = text.rfind(b"\n", 0, cut)
        if cut < 0:
            return -1 if len(text) < 4 * block else _char_boundary(text)
    cut += 1
    begin = text.rfind(b"-----BEGIN", 0, cut)
    if (
        begin >= 0
        and text.find(b"-----END", begin, cut) < 0
        and cut - begin < max(block, _KEY_HOLD)
    ):
        cut = text.rfind(b"\n", 0, begin) + 1
    return cut


def _char_boundary(text: bytes) -> int:
    """The end of ``text`` less a UTF-8 character it cuts short."""
    end = len(text)
    for back in range(1, 4):
        if end - back < 0:
            break
        byte = text[end - back]
        if byte < 0x80:
            return end
        if byte >= 0xC0:  # a lead byte: is its character whole?
            size = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return end if back >= size else end - back
    return end


def _chunks(data: bytes) -> Iterator[tuple[int, int]]:
    """``[lo, hi)`` spans of about ``_CHUNK`` bytes that end just after a newline."""
    lo = 0
    while lo < len(data):
        hi = data.find(b"\n", lo + _CHUNK) + 1 or len(data)
        yield lo, hi
        lo = hi


def _table(personal: bool | PersonalInfo) -> list[Rule]:
    if personal is False:
        return [r for r in RULES if r.category != "personal"]
    info = PersonalInfo.from_machine() if personal is True else personal
    # Other machines' names last: where one is this machine's, its own rule names it.
    remote = [r for r in RULES if r.name in REMOTE_HOST_RULES]
    return [r for r in RULES if r not in remote] + list(personal_rules(info)) + remote
