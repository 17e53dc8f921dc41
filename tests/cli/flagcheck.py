# SPDX-License-Identifier: Apache-2.0
"""Shared by the emit tests: walk a command's flag tokens against a stack's pinned flag table."""


def flag_values(name, toks, flags, stack):
    """Yields (flag, spec, value or None) for each `--flag [value]` in toks, after checking that the
    flag exists in `flags` and that a literal value has the declared type and one of its choices
    (values starting with `$` are shell variables, filled in at launch). A flag with nargs "+" yields
    the list of its values."""
    i = 0
    while i < len(toks):
        t = toks[i]
        assert t.startswith("--"), (name, t, toks)
        assert t in flags, f"{name}: {t} is not a {stack} flag"
        f = flags[t]
        if f["type"] == "bool":
            yield t, f, None
            i += 1
            continue
        if f.get("nargs") == "+":  # --prefill URL [BOOTSTRAP_PORT]: every value up to the next flag
            j = i + 1
            while j < len(toks) and not toks[j].startswith("--"):
                j += 1
            assert j > i + 1, (name, t, "needs a value")
            yield t, f, toks[i + 1:j]
            i = j
            continue
        v = toks[i + 1]
        assert not v.startswith("--"), (name, t, "needs a value")
        if not v.startswith("$"):
            if f["type"] == "int":
                int(v)
            if f["type"] == "float":
                float(v)
            if "choices" in f:
                assert v in f["choices"], (name, t, v, f["choices"])
        yield t, f, v
        i += 2
