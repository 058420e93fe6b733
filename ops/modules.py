#!/usr/bin/env python3
"""Keeps the hub's and the client's modules in their layers (run by ops/test).

Reads every module of a crate's src/ (not main.rs, the binary), collects what it
imports from its own crate (`use crate::…`, `use super::…` and paths written inline;
`pub use` re-exports are not dependencies), and fails when

  * a module imports a module of a higher layer (ops/layers.txt), or
  * modules import each other in a cycle, or
  * a module is in no layer (a new module must be placed).

A module may use its ancestors' items (`super::`) and a parent module its children:
those edges are part of a module being one room, not dependencies between rooms.

    python3 ops/modules.py            # check, print violations, exit 1 on any
    python3 ops/modules.py --graph    # also print every module's imports
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def strip(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    text = re.sub(r"//[^\n]*", "", text)
    return text


def expand(prefix, tree):
    """`a::{b, c::{d}}` -> ['a::b', 'a::c::d']."""
    tree = tree.strip()
    m = re.match(r"^(.*?)\{(.*)\}$", tree, re.S)
    if not m:
        return ["::".join(prefix + [re.sub(r"\s+as\s+\w+$", "", tree)])]
    head = m.group(1).strip().rstrip(":")
    parts, depth, cur = [], 0, ""
    for ch in m.group(2):
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        if p.strip():
            out += expand(prefix + ([head] if head else []), p)
    return out


def modules(src):
    """Module path ('' for the crate root) -> (file, whether it is a directory module)."""
    mods = {}
    for d, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(d, f), src)[:-3].split(os.sep)
            directory = rel[-1] in ("mod", "lib")
            if rel[-1] == "mod":
                rel = rel[:-1]
            if rel == ["lib"]:
                rel = []
            if rel == ["main"] or rel[:1] == ["bin"]:
                continue
            mods["::".join(rel)] = (os.path.join(d, f), directory)
    return mods


USE = re.compile(r"(?<![\w:])(pub(\([^)]*\))?\s+)?use\s+([^;]+);")


def imports(src):
    mods = modules(src)
    edges = {m: set() for m in mods}
    for m, (path, directory) in mods.items():
        with open(path, encoding="utf-8") as f:
            text = strip(f.read())
        # Unit tests may reach anywhere.
        text = re.split(r"#\[cfg\(test\)\]\s*mod\s+tests", text)[0]
        paths = []
        for u in USE.finditer(text):
            if not u.group(1):
                paths += expand([], u.group(3))
        paths += re.findall(r"(?<![\w:])((?:crate|super|self)(?:::\w+)+)", USE.sub("", text))
        here = m.split("::") if m else []
        for p in paths:
            seg = [s for s in p.split("::") if s]
            if seg[0] == "crate":
                base, seg = [], seg[1:]
            elif seg[0] in ("super", "self"):
                # In a/b.rs `self` is a::b and `super` is a; in a/mod.rs `self` is a.
                base = list(here)
                while seg and seg[0] == "super":
                    base, seg = base[:-1], seg[1:]
                if seg and seg[0] == "self":
                    seg = seg[1:]
            else:
                continue
            target = list(base)
            for s in seg:
                if "::".join(target + [s]) in mods:
                    target.append(s)
                else:
                    break
            t = "::".join(target)
            ancestor = t == "" or m == t or m.startswith(t + "::")
            if t != m and not (ancestor and t != ""):
                if t == "" and m != "":
                    # The crate root's items (macros); the root is the lowest layer.
                    edges[m].add(t)
                elif not ancestor:
                    edges[m].add(t)
    # A parent's edges to its own children are not dependencies between rooms.
    for m in edges:
        edges[m] = {t for t in edges[m] if not (m == "" or t.startswith(m + "::"))}
    return edges


def read_layers(path):
    """crate dir -> list of (layer name, [module patterns]), lowest first."""
    crates = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            crate, rest = (x.strip() for x in line.split("|", 1))
            name, mods = (x.strip() for x in rest.split(":", 1))
            crates.setdefault(crate, []).append((name, mods.split()))
    return crates


def layer_of(module, layers):
    best = None
    for i, (_, patterns) in enumerate(layers):
        for p in patterns:
            name = "" if p == "<root>" else p
            if p.endswith("::*"):
                stem = p[:-3]
                if module == stem or module.startswith(stem + "::"):
                    score = len(stem) + 0.5
                    if best is None or score > best[1]:
                        best = (i, score)
            elif module == name:
                score = len(name) + 1
                if best is None or score > best[1]:
                    best = (i, score)
    return None if best is None else best[0]


def cycles(edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def show(m):
    return m or "<root>"


def main():
    graph = "--graph" in sys.argv
    crates = read_layers(os.path.join(ROOT, "ops", "layers.txt"))
    problems = []
    for crate, layers in crates.items():
        edges = imports(os.path.join(ROOT, crate, "src"))
        for m in sorted(edges):
            if graph:
                print(f"{crate}: {show(m)} -> {', '.join(sorted(show(t) for t in edges[m]))}")
            lm = layer_of(m, layers)
            if lm is None:
                problems.append(f"{crate}: module {show(m)} is in no layer of ops/layers.txt")
                continue
            for t in sorted(edges[m]):
                lt = layer_of(t, layers)
                if lt is not None and lt > lm:
                    problems.append(
                        f"{crate}: {show(m)} ({layers[lm][0]}) imports {show(t)} ({layers[lt][0]}), a higher layer"
                    )
        for c in cycles(edges):
            problems.append(f"{crate}: import cycle among {', '.join(show(m) for m in c)}")
    for p in problems:
        print(p)
    if problems:
        print(f"ops/modules.py: {len(problems)} problem(s); see ARCHITECTURE.md (layers)", file=sys.stderr)
        sys.exit(1)
    print(f"ops/modules.py: {', '.join(crates)}: every module in its layer, no import cycles")


if __name__ == "__main__":
    main()
