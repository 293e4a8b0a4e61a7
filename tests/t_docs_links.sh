#!/usr/bin/env bash
# labels: unit
# The documentation stands on its own: every link in the repository's
# Markdown files ([text](target), ![alt](target), [id]: target; code blocks
# and code spans excepted) must stay inside the repository (no ../shared,
# no ../../ out of it), name a file or folder that exists and that git
# tracks (or would: new files not yet added count, ignored ones such as
# build/ do not), and, when it names a heading of a Markdown file
# (file.md#anchor or #anchor), that heading must exist (GitHub's anchor
# rules). The Markdown files may not mention the contract files that live
# beside the repository on developers' machines (../shared/, KPIS.md,
# ARCHITECTURE.md): the contract is docs/kpis.md.
# First the checker runs on a small tree of known-bad links and must report
# each of them; then on the repository.
# Arguments (ccpulse binary, build dir) are passed by CTest and not needed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

exec python3 - "$root" <<'PY'
import os
import re
import subprocess
import sys
import tempfile
import unicodedata
from urllib.parse import unquote

FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
BRACKETS = r"\[(?:[^\[\]]|\[[^\[\]]*\])*\]"
INLINE = re.compile(r"!?" + BRACKETS + r"\(\s*<?([^()\s<>]*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
REFDEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
HTML_ID = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
STALE = re.compile(r"\.\./shared/|\bKPIS\.md\b|\bARCHITECTURE\.md\b")


def repo_files(root, use_git):
    """Files git tracks or would track (untracked but not ignored); without
    git, every file outside build*/ and dot folders."""
    try:
        if not use_git:
            raise OSError("git not used")
        out = subprocess.run(
            ["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            check=True, capture_output=True).stdout
        return {p for p in out.decode().split("\0") if p and os.path.exists(os.path.join(root, p))}
    except (OSError, subprocess.CalledProcessError):
        files = set()
        for d, dirs, names in os.walk(root):
            dirs[:] = [x for x in dirs if not x.startswith(".") and not x.startswith("build")]
            for n in names:
                files.add(os.path.relpath(os.path.join(d, n), root).replace(os.sep, "/"))
        return files


def lines_outside_fences(text):
    """(line number, line) of every line outside fenced code blocks."""
    fence = None
    for n, line in enumerate(text.split("\n"), 1):
        m = FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        yield n, line


def slug(heading):
    """GitHub's anchor of a heading: the rendered text, lower-cased, without
    punctuation, spaces turned into hyphens."""
    t = re.sub(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\([^)]*\)", r"\1", heading)  # links -> text
    t = t.replace("`", "").strip().lower()
    out = []
    for ch in t:
        cat = unicodedata.category(ch)
        if ch == " ":
            out.append("-")
        elif ch in "-_" or cat[0] in "LN" or cat == "Mn":
            out.append(ch)
    return "".join(out)


def anchors(path, cache={}):
    if path not in cache:
        seen, result = {}, set()
        with open(path, encoding="utf-8") as f:
            rows = list(lines_outside_fences(f.read()))
        prev = ""
        for _, line in rows:
            m = ATX.match(line)
            text = m.group(2) if m else None
            if not m and re.match(r"^\s{0,3}(=+|-+)\s*$", line) and prev.strip() and "|" not in prev:
                text = prev.strip()  # setext heading
            if text is not None:
                s = slug(text)
                k = seen.get(s, 0)
                seen[s] = k + 1
                result.add(s if k == 0 else f"{s}-{k}")
            result.update(HTML_ID.findall(line))
            prev = line
        cache[path] = result
    return cache[path]


def check(root, use_git=True):
    """Returns (problems, number of Markdown files, number of links)."""
    files = repo_files(root, use_git)
    dirs = {os.path.dirname(p) for p in files}
    while "" not in dirs and dirs:
        dirs |= {os.path.dirname(d) for d in dirs}
    problems, nlinks = [], 0
    md = sorted(p for p in files if p.endswith(".md"))
    for rel in md:
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            text = f.read()
        for n, line in enumerate(text.split("\n"), 1):
            for m in STALE.finditer(line):
                problems.append(f"{rel}:{n}: mentions '{m.group(0)}', which is not part of the "
                                "repository (the contract is docs/kpis.md)")
        base = os.path.dirname(rel)
        for n, line in lines_outside_fences(text):
            bare = CODE_SPAN.sub("", line)
            targets = INLINE.findall(bare)
            m = REFDEF.match(bare)
            if m:
                targets.append(m.group(1))
            for target in targets:
                nlinks += 1
                where = f"{rel}:{n}: link '{target}'"
                if not target or SCHEME.match(target):
                    continue
                path, _, anchor = target.partition("#")
                path = unquote(path)
                if path.startswith("/"):
                    dest = os.path.normpath(path.lstrip("/"))
                elif path:
                    dest = os.path.normpath(os.path.join(base, path))
                else:
                    dest = rel
                dest = dest.replace(os.sep, "/")
                if dest == "..":
                    dest = "../"
                if dest.startswith("../") or os.path.isabs(dest):
                    problems.append(f"{where} leads outside the repository")
                    continue
                if dest == ".":
                    dest = ""
                if dest not in files and dest not in dirs:
                    if os.path.exists(os.path.join(root, dest)):
                        problems.append(f"{where}: '{dest}' exists here but is not in the "
                                        "repository (ignored or outside it)")
                    else:
                        problems.append(f"{where}: '{dest}' does not exist")
                    continue
                if anchor and dest.endswith(".md"):
                    if unquote(anchor) not in anchors(os.path.join(root, dest)):
                        problems.append(f"{where}: '{dest}' has no heading '#{anchor}'")
    return problems, len(md), nlinks


def self_test():
    """The checker must catch each kind of bad link on a known tree."""
    with tempfile.TemporaryDirectory() as t:
        os.makedirs(os.path.join(t, "docs"))
        os.makedirs(os.path.join(t, "build"))
        with open(os.path.join(t, "build", "out.md"), "w") as f:
            f.write("# Out\n")
        with open(os.path.join(t, "docs", "a.md"), "w") as f:
            f.write("# A page\n\n## 2. Time and `now`\n\nText\n----\n\n"
                    "[ok](b.md#b-1) [ok](#2-time-and-now) [ok](#text) [ok](../README.md) "
                    "[ok](https://example.com/x.md#nope) `[code](nowhere.md)`\n"
                    "```\n[fenced](nowhere.md)\n```\n"
                    "[bad1](../../outside.md) [bad3](missing.md)\n"
                    "[bad4](b.md#no-such-heading) [bad5](#nope) ![bad6](img.png)\n"
                    "[bad7]: ../build/out.md\n")
        with open(os.path.join(t, "docs", "b.md"), "w") as f:
            f.write("# B\n\n## B\n")
        with open(os.path.join(t, "README.md"), "w") as f:
            f.write("See [docs](docs/) and [a](docs/a.md#a-page), not [bad2](../shared/KPIS.md).\n")
        problems, nmd, nlinks = check(t, use_git=False)
    text = "\n".join(problems)
    want = ["'../../outside.md' leads outside", "'../shared/KPIS.md' leads outside",
            "mentions '../shared/'", "mentions 'KPIS.md'", "'docs/missing.md' does not exist",
            "has no heading '#no-such-heading'", "has no heading '#nope'",
            "'docs/img.png' does not exist", "'build/out.md' exists here but is not"]
    missed = [w for w in want if w not in text]
    extra = [p for p in problems if not any(w in p for w in want)]
    if missed or extra or nmd != 3 or len(problems) != len(want):
        print("t_docs_links: self-test of the checker failed", file=sys.stderr)
        print("  not reported: " + "; ".join(missed), file=sys.stderr)
        print("  reported:\n    " + "\n    ".join(problems), file=sys.stderr)
        sys.exit(1)


self_test()
problems, nmd, nlinks = check(sys.argv[1])
for p in problems:
    print(p, file=sys.stderr)
if problems:
    print(f"t_docs_links: {len(problems)} problem(s) in {nmd} Markdown files", file=sys.stderr)
    sys.exit(1)
print(f"t_docs_links: {nmd} Markdown files, {nlinks} links, all inside the repository and found")
PY
