#!/usr/bin/env python3
"""Extract the flags of `vllm serve` from an unpacked vLLM wheel into JSON, without importing vLLM
(no torch needed): flag -> {"type": int|float|str|bool|json|other, "choices": [...] when known,
"nargs", "deprecated", "negation" (BooleanOptionalAction adds --no-<flag>), "dataclass" and
"fields" for JSON flags that vLLM validates against a config dataclass}.

vLLM 0.10+ declares most flags as `group.add_argument("--x", **cls_kwargs["x"])`, where
`cls_kwargs = get_kwargs(SomeConfig)` turns each dataclass field's type annotation into argparse
kwargs (vllm/engine/arg_utils.py, _compute_kwargs). This script redoes that mapping over the
annotations with Python's ast, in _compute_kwargs's order: a config dataclass -> json; bool ->
bool (and --no-<flag>); Literal -> its choices; tuple / list -> element type, nargs "+"; int; float;
dict -> json; str or another class -> str. It also follows the per-flag overrides those files apply
(`kw["field"]["type"] = json.loads`, `... = optional_type(json.loads)`), the loop that adds every
FrontendArgs field, and explicit add_argument calls (type=int, action="store_true", ...).
Beyond the flags it records the registered KV connectors (KVConnectorFactory.register_connector in
vllm/distributed/kv_transfer/kv_connector/factory.py), the choices of VLLM_ALL2ALL_BACKEND and the
declared type of every VLLM_* variable (vllm/envs.py), which the emitted scripts also use.

How the committed list was made (no network needed by the tests):
  pip download vllm==0.11.0 --no-deps
  unzip vllm-0.11.0-*.whl 'vllm/config/*' vllm/engine/arg_utils.py vllm/entrypoints/openai/cli_args.py \\
      vllm/distributed/kv_transfer/kv_connector/factory.py vllm/envs.py
  python3 tests/data/extract_vllm_flags.py . 0.11.0 > tests/data/vllm-0.11.0-serve-args.json
The same files are in the PyPI sdist vllm-0.11.0.tar.gz (unpack it and run the script in
vllm-0.11.0/); it gives the same JSON. sha256 of that sdist:
  f435a64c24e9c4178d657a76f8edd8548ddc444012f7d06a9f79ac3a6392bfae
"""
import ast
import glob
import json
import os
import sys


def literal(node):
    try:
        return ast.literal_eval(node)
    except Exception:
        return None


def name_of(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value  # a forward reference "SomeConfig"
    return None


class Types:
    """Module-level type aliases and dataclasses of the parsed files."""

    def __init__(self, trees):
        self.aliases, self.classes = {}, {}
        for tree in trees:
            for node in tree.body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    self.aliases.setdefault(node.targets[0].id, node.value)
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                    if name_of(node.annotation) == "TypeAlias":
                        self.aliases.setdefault(node.target.id, node.value)
                elif isinstance(node, ast.ClassDef):
                    decos = {name_of(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list}
                    if decos & {"dataclass", "config"}:
                        self.classes[node.name] = node

    def fields(self, cls):
        out = {}
        for node in self.classes[cls].body:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if name_of(node.annotation) == "ClassVar" or (
                        isinstance(node.annotation, ast.Subscript) and name_of(node.annotation.value) == "ClassVar"):
                    continue
                out[node.target.id] = node.annotation
        return out

    def hints(self, node, seen=()):
        """The flattened set of type hints of an annotation (Union / Optional / Annotated / X | Y
        unpacked, aliases resolved) as (kind, payload) pairs."""
        if isinstance(node, ast.Constant) and node.value is None:
            return [("none", None)]
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                return self.hints(ast.parse(node.value, mode="eval").body, seen)
            except SyntaxError:
                return [("other", node.value)]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self.hints(node.left, seen) + self.hints(node.right, seen)
        if isinstance(node, ast.Subscript):
            base = name_of(node.value)
            args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if base in ("Optional",):
                return self.hints(args[0], seen) + [("none", None)]
            if base == "Union":
                return [h for a in args for h in self.hints(a, seen)]
            if base in ("Annotated", "SkipValidation"):  # pydantic's SkipValidation[X] is Annotated[X, ...]
                return self.hints(args[0], seen)
            if base == "Literal":
                return [("literal", self.literal_values(args, seen))]
            if base in ("list", "List", "Sequence"):
                return [("list", args[0])]
            if base in ("tuple", "Tuple"):
                return [("tuple", args)]
            if base in ("dict", "Dict", "Mapping"):
                return [("dict", None)]
            if base in ("type", "Type", "Callable"):
                return [("other", base)]
            return self.hints(node.value, seen)
        n = name_of(node)
        if n in ("bool", "int", "float", "str", "dict"):
            return [(n, None)]
        if n in ("Any",):
            return [("other", n)]
        if n in self.classes:
            return [("dataclass", n)]
        if n in self.aliases and n not in seen:
            return self.hints(self.aliases[n], seen + (n,))
        return [("other", n)]  # a class not parsed here (a non-builtin: str)

    def literal_values(self, args, seen):
        out = []
        for a in args:
            if isinstance(a, ast.Constant):
                out.append(a.value)
            else:  # Literal[AliasOfALiteral, ...] flattens
                for kind, payload in self.hints(a, seen):
                    if kind == "literal":
                        out.extend(payload)
        return out

    def element(self, node):
        kinds = [k for k, _ in self.hints(node)]
        for k in ("int", "float"):
            if k in kinds:
                return k
        return "str"

    def kwargs_of(self, annotation):
        """What _compute_kwargs gives one field: {"type", "choices", "nargs", "dataclass"}."""
        hs = self.hints(annotation)
        kinds = {k for k, _ in hs}
        payload = {k: p for k, p in hs}
        e = {}
        if "dataclass" in kinds:
            e = {"type": "json", "dataclass": payload["dataclass"]}
        elif "bool" in kinds:
            e = {"type": "bool", "negation": True}
        elif "literal" in kinds:
            values = sorted(set(payload["literal"]), key=lambda v: (str(type(v)), v))  # typing dedups too
            e = {"type": {int: "int", float: "float"}.get(type(values[0]), "str")}
            if "str" not in kinds:  # with str, vLLM shows them as a metavar only
                e["choices"] = [str(v) for v in values] + (["None"] if "none" in kinds else [])
        elif "tuple" in kinds or "list" in kinds:
            args = payload.get("tuple") or [payload.get("list")]
            e = {"type": self.element(args[0]), "nargs": "+"}
        elif "int" in kinds:
            e = {"type": "int"}
        elif "float" in kinds:
            e = {"type": "float"}
        elif "dict" in kinds:
            e = {"type": "json"}
        else:
            e = {"type": "str"}
        return e


def type_of_expr(node):
    """An explicit type= / assigned type: int, float, str, json (json.loads or optional_type(json.loads))."""
    if isinstance(node, ast.Call) and name_of(node.func) in ("optional_type", "parse_type") and node.args:
        return type_of_expr(node.args[0])
    n = name_of(node)
    if n == "loads":
        return "json"
    return {"int": "int", "float": "float", "str": "str", "human_readable_int": "int"}.get(n, "other")


def main(root, version):
    def parse(rel):
        return ast.parse(open(os.path.join(root, rel)).read())

    config_files = sorted(glob.glob(os.path.join(root, "vllm/config/*.py")))
    arg_files = ["vllm/engine/arg_utils.py", "vllm/entrypoints/openai/cli_args.py"]
    arg_trees = {f: parse(f) for f in arg_files}
    types = Types([ast.parse(open(f).read()) for f in config_files] + list(arg_trees.values()))

    flags = {}
    for tree in arg_trees.values():
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef) or func.name != "add_cli_args":
                continue
            kw_vars = {}  # frontend_kwargs -> {field: kwargs}
            for node in ast.walk(func):
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and \
                        name_of(node.value.func) == "get_kwargs" and isinstance(node.targets[0], ast.Name):
                    cls = name_of(node.value.args[0])
                    kw_vars[node.targets[0].id] = {f: types.kwargs_of(a) for f, a in types.fields(cls).items()}
            # Statements in order: overrides first touch the dict, then add_argument reads it.
            for node in ast.walk(func):
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript):
                    t = node.targets[0]  # var["field"]["type"] = ...
                    if isinstance(t.value, ast.Subscript) and isinstance(t.value.value, ast.Name) and \
                            t.value.value.id in kw_vars:
                        field, key = literal(t.value.slice), literal(t.slice)
                        entry = kw_vars[t.value.value.id].get(field)
                        if entry is not None and key == "type":
                            entry["type"] = type_of_expr(node.value)
                            entry.pop("dataclass", None)
                        elif entry is not None and key == "action":
                            act = literal(node.value)
                            entry["action"] = act if isinstance(act, str) else "custom"
                if isinstance(node, ast.Delete):
                    for t in node.targets:
                        if isinstance(t, ast.Subscript) and literal(t.slice) == "nargs" and \
                                isinstance(t.value, ast.Subscript) and isinstance(t.value.value, ast.Name) and \
                                t.value.value.id in kw_vars:
                            kw_vars[t.value.value.id].get(literal(t.value.slice), {}).pop("nargs", None)
            for node in ast.walk(func):
                # for key, value in frontend_kwargs.items(): add_argument(f"--{key...}", **value)
                if isinstance(node, ast.For) and isinstance(node.iter, ast.Call) and \
                        isinstance(node.iter.func, ast.Attribute) and node.iter.func.attr == "items" and \
                        name_of(node.iter.func.value) in kw_vars:
                    for field, entry in kw_vars[name_of(node.iter.func.value)].items():
                        flags["--" + field.replace("_", "-")] = dict(entry)
                    continue
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and
                        node.func.attr == "add_argument"):
                    continue
                names = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                if not names:  # add_argument(arg, type=type) in a loop over literal (flag, type) pairs
                    continue
                entry = {"type": "str"}
                for k in node.keywords:
                    if k.arg is None and isinstance(k.value, ast.Subscript) and name_of(k.value.value) in kw_vars:
                        entry = dict(kw_vars[name_of(k.value.value)].get(literal(k.value.slice), {"type": "other"}))
                for k in node.keywords:
                    if k.arg == "type":
                        entry["type"] = type_of_expr(k.value)
                        entry.pop("dataclass", None)
                    elif k.arg == "action":
                        act = literal(k.value)
                        if act in ("store_true", "store_false"):
                            entry = {"type": "bool"}
                        elif name_of(k.value) == "BooleanOptionalAction":
                            entry = {"type": "bool", "negation": True}
                        else:
                            entry["type"] = "other"
                    elif k.arg == "choices":
                        ch = literal(k.value)
                        if isinstance(ch, (list, tuple)):
                            entry["choices"] = [str(c) for c in ch]
                        else:
                            entry.pop("choices", None)  # built at run time (plugins)
                    elif k.arg == "nargs":
                        entry["nargs"] = str(literal(k.value))
                    elif k.arg == "deprecated" and literal(k.value):
                        entry["deprecated"] = True
                for n in names:
                    if n.startswith("--"):
                        flags[n] = entry
            # The deprecated guided-decoding flags: for arg, type in [("--x", str), ...]: add_argument(arg, type=type)
            for node in ast.walk(func):
                if isinstance(node, ast.For) and isinstance(node.iter, ast.List):
                    for el in node.iter.elts:
                        if isinstance(el, ast.Tuple) and isinstance(el.elts[0], ast.Constant):
                            t = name_of(el.elts[1])
                            flags[el.elts[0].value] = {"type": "bool" if t == "bool" else "str", "deprecated": True}
    # serve's own flags (make_arg_parser): parsed as above only inside add_cli_args; add them here.
    for node in ast.walk(arg_trees["vllm/entrypoints/openai/cli_args.py"]):
        if isinstance(node, ast.FunctionDef) and node.name == "make_arg_parser":
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and \
                        call.func.attr == "add_argument":
                    names = [a.value for a in call.args if isinstance(a, ast.Constant)]
                    kw = {k.arg: k.value for k in call.keywords}
                    entry = {"type": "bool"} if literal(kw.get("action")) == "store_true" else \
                        {"type": type_of_expr(kw["type"]) if "type" in kw else "str"}
                    for n in names:
                        if n.startswith("--"):
                            flags[n] = entry
    # JSON flags validated against a dataclass: its fields, so a test can check the keys.
    for entry in flags.values():
        if entry.get("dataclass") in types.classes:
            entry["fields"] = {f: types.kwargs_of(a) for f, a in types.fields(entry["dataclass"]).items()}
    connectors = []
    for node in ast.walk(parse("vllm/distributed/kv_transfer/kv_connector/factory.py")):
        if isinstance(node, ast.Call) and name_of(node.func) == "register_connector":
            connectors.append(literal(node.args[0]))
    env_choices, env_types = {}, {}
    for node in ast.walk(parse("vllm/envs.py")):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and \
                node.target.id.startswith("VLLM_"):
            env_types.setdefault(node.target.id, ast.unparse(node.annotation))
            if node.target.id == "VLLM_ALL2ALL_BACKEND":
                env_choices[node.target.id] = [str(v) for v in types.hints(node.annotation)[0][1]]
    out = {
        "stack": "vllm",
        "version": version,
        "command": "vllm serve",
        "source_files": arg_files + ["vllm/config/*.py"],
        "extracted_by": "tests/data/extract_vllm_flags.py (Python ast over add_argument calls and the config "
                        "dataclasses' annotations, mirroring get_kwargs)",
        "flags": dict(sorted(flags.items())),
        "kv_connectors": sorted(connectors),
        "env_choices": env_choices,
        "env_types": dict(sorted(env_types.items())),
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
