#!/usr/bin/env python3
"""Extract every `add_argument("--flag", ...)` of a Python argparse source file into JSON:
flag -> {"type": int|float|str|bool (store_true/store_false)|other, "choices": [...] when literal}.

How the committed lists were made (no network needed by the tests):
  pip download sglang==0.5.2 --no-deps && unzip sglang-0.5.2-*.whl sglang/srt/server_args.py
  python3 tests/data/extract_argparse_flags.py sglang/srt/server_args.py sglang 0.5.2 > tests/data/sglang-0.5.2-server-args.json
  pip download sglang-router==0.1.9 --no-deps && unzip sglang_router-0.1.9-*.whl sglang_router/launch_router.py
  python3 tests/data/extract_argparse_flags.py sglang_router/launch_router.py sglang-router 0.1.9 > tests/data/sglang-router-0.1.9-args.json
"""
import ast
import json
import sys


def literal(node):
    try:
        return ast.literal_eval(node)
    except Exception:
        return None


def flag_name(node):
    """A literal flag name, or an f-string one with its placeholders empty: sglang-router writes
    f"--{prefix}policy" and its own launcher calls add_cli_args with an empty prefix."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    return None


def main(path, stack, version):
    tree = ast.parse(open(path).read())
    # Module-level NAME = [literal list] (choices are often given by name).
    consts = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            v = literal(node.value)
            if isinstance(v, (list, tuple)):
                consts[node.targets[0].id] = v
    flags = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument"):
            continue
        names = [flag_name(a) for a in node.args]
        names = [n for n in names if n]
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        kind = "str"
        if "action" in kw:
            act = literal(kw["action"])
            if act in ("store_true", "store_false"):
                kind = "bool"
            elif act is None:
                kind = "other"  # a custom action class
        if "type" in kw:
            t = kw["type"]
            tname = t.id if isinstance(t, ast.Name) else (t.attr if isinstance(t, ast.Attribute) else None)
            kind = {"int": "int", "float": "float", "str": "str"}.get(tname, "other")
        entry = {"type": kind}
        if "choices" in kw:
            ch = literal(kw["choices"])
            if ch is None and isinstance(kw["choices"], ast.Name):
                ch = consts.get(kw["choices"].id)
            if isinstance(ch, (list, tuple)):
                entry["choices"] = [str(c) for c in ch]
        if "nargs" in kw:
            entry["nargs"] = str(literal(kw["nargs"]))
        for n in names:
            if n.startswith("--"):
                flags[n] = entry
    out = {
        "stack": stack,
        "version": version,
        "source_file": path.split("site-packages/")[-1],
        "extracted_by": "tests/data/extract_argparse_flags.py (Python ast over add_argument calls)",
        "flags": dict(sorted(flags.items())),
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
