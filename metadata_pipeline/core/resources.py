"""Resource patterns: legacy regexes vs. globs.

The agent wrote legacy resource includes as Java regexes quoting a literal name
(``\\Qkafka/kafka-version.properties\\E``, optionally ``module:`` in front); newer releases write
globs. A regex that matches exactly one literal name is the same resource as the glob for
that name, so the model keeps it as a glob; any other regex stays a regex.
"""

from __future__ import annotations

import re

__all__ = ["literal_of_regex", "glob_of_regex", "glob_of_literal", "glob_parts", "literal_of_glob", "split_module",
           "regex_of_glob", "glob_matches", "glob_problems"]

# Characters that are plain in a Java regex (outside \Q..\E) when not escaped.
_REGEX_META = set(".^$|?*+()[]{}\\")
# Characters a GraalVM glob gives meaning to and that a literal name must escape.
_GLOB_META = set("*\\?[]{}")


def split_module(pattern: str) -> tuple[str | None, str]:
    """``java.base:\\Qa/b\\E`` -> (``java.base``, ``\\Qa/b\\E``).

    The legacy format prefixes a module name and a colon; a colon inside ``\\Q..\\E`` or after
    a regex metacharacter is part of the regex, so only a plain Java module name counts.
    """
    head, sep, rest = pattern.partition(":")
    if sep and head and re.fullmatch(r"[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*", head):
        return head, rest
    return None, pattern


def literal_of_regex(regex: str) -> str | None:
    """The one name a regex matches, if it is a plain literal (``\\Q..\\E``, escapes); else None."""
    out: list[str] = []
    i, n = 0, len(regex)
    while i < n:
        c = regex[i]
        if regex.startswith("\\Q", i):
            end = regex.find("\\E", i + 2)
            if end < 0:  # \Q without \E quotes to the end
                out.append(regex[i + 2:])
                break
            out.append(regex[i + 2:end])
            i = end + 2
        elif c == "\\":
            if i + 1 >= n:
                return None
            nxt = regex[i + 1]
            if nxt.isalnum():  # \d, \w, \n ... are classes or controls, not literals
                return None
            out.append(nxt)
            i += 2
        elif c in _REGEX_META:
            return None
        else:
            out.append(c)
            i += 1
    return "".join(out)


# The wildcards the legacy writer emits for glob wildcards, and back.
_REGEX_WILDCARDS = {"(.*/)?": "**/", ".*": "**", "[^/]*": "*"}


def glob_of_regex(regex: str) -> str | None:
    """The glob a regex is equal to, or None when no glob says the same.

    Literal parts (``\\Q..\\E`` and escapes) and the three wildcard spellings the legacy writer
    uses for ``**/``, ``**`` and ``*`` convert; anything else (classes, alternation, ...) does not.
    """
    out: list[str] = []
    i, n = 0, len(regex)
    while i < n:
        for token, wildcard in _REGEX_WILDCARDS.items():
            if regex.startswith(token, i):
                out.append(wildcard)
                i += len(token)
                break
        else:
            j = i
            # Consume one literal run: \Q..\E blocks, escapes, and plain characters.
            while j < n and not any(regex.startswith(t, j) for t in _REGEX_WILDCARDS):
                if regex.startswith("\\Q", j):
                    end = regex.find("\\E", j + 2)
                    j = n if end < 0 else end + 2
                elif regex[j] == "\\":
                    j += 2
                elif regex[j] in _REGEX_META:
                    return None
                else:
                    j += 1
            literal = literal_of_regex(regex[i:j])
            if literal is None:
                return None
            out.append(glob_of_literal(literal))
            i = j
    glob = "".join(out)
    # ``org/.*\.xml`` would read ``org/**.xml``, which GraalVM reads as ``org/*.xml``: such a
    # regex (and any other that makes an invalid glob) stays a regex.
    return None if glob_problems(glob) else glob


# GraalVM's GlobUtils.validatePattern: characters a glob must always escape.
_ALWAYS_ESCAPED = set("?[]{}")


def glob_problems(glob: str) -> list[str]:
    """Why GraalVM would reject or misread a glob (empty: it reads it as this project does).

    The checks of GraalVM's ``GlobUtils.validatePattern`` (empty pattern, ``***``, empty levels,
    ``**/**``, unescaped ``?[]{}``), plus ``**`` not alone in its level: GraalVM does not reject
    that but reads each ``*`` of it as a one-level star, so ``org/**.xml`` means ``org/*.xml``.
    ``tests/test_oracle.py`` holds this to GraalVM's own code.
    """
    if not glob:
        return ["empty glob"]
    problems = []
    if re.search(r"\*{3,}", glob):
        problems.append("more than two consecutive '*'")
    if "//" in glob:
        problems.append("empty level ('//')")
    if "**/**" in glob:
        problems.append("'**/**' (a '**' must be followed by something else)")
    escaped = False
    for c in glob:
        if c in _ALWAYS_ESCAPED and not escaped:
            problems.append(f"unescaped {c!r}")
        escaped = c == "\\"  # as GraalVM scans: a backslash escapes the next character, even another one
    body = glob[:-1] if glob.endswith("/") else glob
    for level in body.split("/"):
        if level != "**" and _has_unescaped_star_star(level):
            problems.append(f"'**' not alone in its level {level!r} (GraalVM reads it as '*')")
    return problems


def _has_unescaped_star_star(level: str) -> bool:
    """Two unescaped ``*`` in a row, scanning as GraalVM's ``GlobUtils.tokenize`` does."""
    escaped = previous_star = False
    for c in level:
        star = c == "*" and not escaped
        if star and previous_star:
            return True
        previous_star, escaped = star, c == "\\"
    return False


def glob_of_literal(name: str) -> str:
    return "".join("\\" + c if c in _GLOB_META else c for c in name)


def glob_parts(glob: str) -> list[tuple[bool, str]]:
    """A glob as (is wildcard, text) runs: wildcards ``**/``, ``**``, ``*``; literal text unescaped.

    The one reading of a glob that matching, literal detection and the legacy writer share.
    """
    parts: list[tuple[bool, str]] = []
    run: list[str] = []
    i = 0
    while i < len(glob):
        c = glob[i]
        if c == "\\" and i + 1 < len(glob):
            run.append(glob[i + 1])
            i += 2
            continue
        wildcard = next((w for w in ("**/", "**", "*") if glob.startswith(w, i)), None)
        if wildcard is None:
            run.append(c)
            i += 1
            continue
        if run:
            parts.append((False, "".join(run)))
            run = []
        parts.append((True, wildcard))
        i += len(wildcard)
    if run:
        parts.append((False, "".join(run)))
    return parts


def literal_of_glob(glob: str) -> str | None:
    """The one name a glob matches, or None when it has wildcards."""
    parts = glob_parts(glob)
    return None if any(wild for wild, _ in parts) else "".join(text for _, text in parts)


_PY_WILDCARDS = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*"}


def regex_of_glob(glob: str) -> str:
    """A Python regex for a GraalVM glob: ``**`` any depth, ``*`` within one path level."""
    return "".join(_PY_WILDCARDS[text] if wild else re.escape(text) for wild, text in glob_parts(glob))


def glob_matches(glob: str, name: str) -> bool:
    return re.fullmatch(regex_of_glob(glob), name) is not None
