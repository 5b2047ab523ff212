"""Every code block of README.md and docs/**/*.md runs here, and the outputs it states are checked.

Docs that are run cannot drift from the code. The convention, for whoever writes a page:

Python blocks (```` ```python ````)
    The blocks of one page run in order, in one namespace, from the repository root (a
    scratch copy of it made of symlinks, with an empty ``docs/img``, so that a block which
    redraws a figure or writes an ``--out`` directory leaves the tree alone). Every block must
    run; a block that is not meant to run is not a ``python`` block (use ``text``).

Claims
    A ``print(...)`` statement whose trailing comment starts with a value states its output.
    A comment starts with a value when it starts with a number (``0.64``, ``-0.178``, ``.5``),
    an opening ``[``, ``{``, ``(``, ``<`` or a quote, ``True``/``False``/``None``, a capitalised
    name followed by ``(`` (a repr such as ``Effect(value=...``), or the words ``about`` or
    ``exactly``. Any other comment is prose and is not checked. The claim is the comment up to
    the first ``": "``, ``" ("``, ``"; "`` or ``" -- "`` outside brackets and quotes; what
    follows is explanation::

        print(hot["sunscreen"].mean().round(1))   # 75.1 (truth: 5 + 2 * 35 = 75)

    checks that the print shows ``75.1``; ``(truth: ...)`` is prose.

    * ``X`` (a literal output, numbers included): the printed text must match, whitespace
      runs being equal, ``...`` matching anything (as in doctest), and every number agreeing
      with the stated one to the precision it is written with (``0.64`` accepts 0.635 to
      0.645, ``3`` accepts 2.5 to 3.5).
    * ``about X``: the print is one number within one unit of X's last digit (``about
      0.063`` accepts 0.062 to 0.064), or within ``t`` when written ``about X ± t``. Use it
      for Monte-Carlo figures that the page quotes from a larger run.
    * ``exactly X``: the print is one number equal to X (to 1e-9).

    A value-like comment on a line that is not a ``print`` fails the test: a stated output
    must be printed to be checked.

Slow blocks
    ``<!-- slow -->`` (or ``<!-- slow: reason -->``) on the line before a block's fence marks
    it slow. A page with a slow block gives two tests: its fast blocks in the default suite,
    and all its blocks, in order, under ``-m slow``.
    A slow console block's commands run under ``-m slow`` only (in a test of their own).

Console blocks (```` ```console ````)
    Each ``causalsim ...`` (or ``python -m causalsim ...``) command, including one after
    ``&&``, runs (in this process, through ``causalsim.cli.main``, which is what both entry
    points call) from the same scratch root and must exit with status 0.
    Synopsis lines with upper-case placeholders (``SPEC``, ``NODE=VALUE``) and other programs
    (``pip``, ``pytest``, shell loops) are not run. When a block holds one command and a
    ```` ```text ```` block follows it directly (blank lines only between), that text is the
    command's stated output and is matched like a literal claim. ``causalsim whatif`` output
    is not compared: it is a Monte-Carlo table whose layout and numbers are pinned by
    ``tests/cli/test_cli.py``, so here it only has to run.

``benchmarks/README.md``
    Must have a section on every ``benchmarks/bench_*.py`` with its usage line, and that
    line must list exactly the script's options.
"""

from __future__ import annotations

import ast
import contextlib
import io
import math
import re
import shlex
import tokenize
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


# ---------------------------------------------------------------------- reading pages
@dataclass(frozen=True)
class Block:
    page: Path
    lang: str
    line: int  # line number (1-based) of the first line of code
    code: str
    slow: bool
    follows: Block | None = None  # the block just before, with blank lines only between

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


FENCE = re.compile(r"^```\s*([\w+-]*)\s*$")
SLOW = re.compile(r"^<!--\s*slow\b.*-->$")


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a markdown page, in order."""
    out: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i, last_end = 0, -10
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start = i
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        before = [s.strip() for s in lines[:start] if s.strip()]
        slow = bool(before) and bool(SLOW.match(before[-1]))
        adjacent = out and all(not s.strip() for s in lines[last_end + 1:start])
        out.append(Block(page, m.group(1).lower(), start + 2, "\n".join(lines[start + 1:j]), slow,
                         follows=out[-1] if adjacent else None))
        last_end, i = j, j + 1
    return out


# ---------------------------------------------------------------------- claims
NUM = r"[-+−]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
NUMBER = re.compile(rf"(?<![\w.]){NUM}(?![\w])")
CLAIM_START = re.compile(
    r"""^(?:about\s|exactly\s|[-+−]?\.?\d|[\[{(<'"]|True\b|False\b|None\b|[A-Z]\w*\()""")
OPEN, CLOSE = "([{<", ")]}>"
STOPS = (": ", " (", "; ", " -- ")


def claim_text(comment: str) -> str:
    """The comment up to the first stop outside brackets and quotes."""
    depth, quote = 0, ""
    for k, ch in enumerate(comment):
        if quote:
            quote = "" if ch == quote else quote
            continue
        if ch in "'\"":
            quote = ch
        elif ch in OPEN:
            if depth == 0 and comment.startswith(STOPS, k - 1) and k > 0:
                return comment[:k - 1].rstrip()
            depth += 1
        elif ch in CLOSE:
            depth = max(depth - 1, 0)
        elif depth == 0 and comment.startswith(STOPS, k):
            return comment[:k].rstrip()
    return comment.rstrip()


def _unit(text: str) -> float:
    """One unit in the last digit written: 0.01 for ``0.64``, 1 for ``8``, 1e-4 for ``1.5e-3``."""
    mant, _, exp = text.lower().partition("e")
    decimals = len(mant.split(".")[1]) if "." in mant else 0
    return 10.0 ** (int(exp or 0) - decimals)


def _float(text: str) -> float:
    return float(text.replace("−", "-"))


def check_literal(expected: str, printed: str) -> str | None:
    """None if ``printed`` matches the literal claim ``expected``, else what differs."""
    pattern, wanted = [], []
    for k, part in enumerate(re.split(rf"((?<![\w.]){NUM}(?![\w])|\.\.\.)", expected)):
        if k % 2:
            if part == "...":
                pattern.append(".*?")
            else:
                pattern.append(f"({NUM})")
                wanted.append(part)
        else:
            pattern.extend(r"\s+" if w.isspace() else re.escape(w) for w in re.split(r"(\s+)", part) if w)
    m = re.fullmatch("".join(pattern), printed.strip(), flags=re.S)
    if m is None:
        return f"printed {printed.strip()!r}, which does not have the form of {expected!r}"
    for want, got in zip(wanted, m.groups(), strict=True):
        if not abs(_float(got) - _float(want)) <= 0.5 * _unit(want) * (1 + 1e-9):
            return f"printed {printed.strip()!r}: {got} is not {want} to the precision written"
    return None


def check_claim(expected: str, printed: str) -> str | None:
    """None if ``printed`` satisfies the claim ``expected`` (see the module docstring)."""
    m = re.fullmatch(rf"(about|exactly)\s+({NUM})(?:\s*±\s*({NUM}))?", expected)
    if m is None:
        if expected.startswith(("about ", "exactly ")):
            return f"cannot read the claim {expected!r}: write 'about X', 'about X ± t' or 'exactly X'"
        return check_literal(expected, printed)
    word, x, tol = m.groups()
    try:
        got = float(printed.strip())
    except ValueError:
        return f"an {word!r} claim needs the print to be one number, got {printed.strip()!r}"
    want = _float(x)
    if word == "exactly":
        ok = abs(got - want) <= 1e-9 * max(1.0, abs(want))
    else:
        ok = abs(got - want) <= (_float(tol) if tol else _unit(x)) * (1 + 1e-9)
    return None if ok and math.isfinite(got) else f"printed {got!r}, the page says {expected!r}"


def comments(code: str) -> dict[int, str]:
    """Line (1-based, within the block) -> comment text without the ``#``."""
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = tok.string[1:].strip()
    return out


def _is_print(stmt: ast.stmt) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id == "print")


def run_python(block: Block, namespace: dict) -> int:
    """Run ``block`` statement by statement in ``namespace``; check its claims; count them."""
    try:
        tree = ast.parse(block.code)
    except SyntaxError as exc:
        pytest.fail(f"{block.where}: not valid Python ({exc}); tag it as text if it is not code")
    notes = comments(block.code)
    checked = 0
    for stmt in tree.body:
        lines = range(stmt.lineno, stmt.end_lineno + 1)
        claims = [(n, notes[n]) for n in lines if n in notes and CLAIM_START.match(notes[n])]
        mod = ast.Module([stmt], type_ignores=[])
        ast.increment_lineno(mod, block.line - 1)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(mod, str(block.page), "exec"), namespace)  # noqa: S102 - the docs are ours
        for n, note in claims:
            where = f"{block.page.relative_to(ROOT)}:{block.line + n - 1}"
            if not _is_print(stmt):
                pytest.fail(f"{where}: the comment {note!r} states a value on a line that is not "
                            "a print, so it cannot be checked; print it, or reword the comment")
            problem = check_claim(claim_text(note), out.getvalue())
            if problem:
                pytest.fail(f"{where}: {problem}")
            checked += 1
    return checked


# ---------------------------------------------------------------------- console commands
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z_]{2,}\b")


def commands(block: Block) -> list[list[str]]:
    """The causalsim commands of a console block, as ``main``'s argument lists (see the docstring)."""
    out = []
    for line in block.code.splitlines():
        for part in line.split("&&"):
            part = part.strip()
            if not part.startswith(("causalsim ", "python -m causalsim ")) and part != "causalsim":
                continue
            args = shlex.split(part, comments=True)
            if "$" in part or any(PLACEHOLDER.search(a) for a in args):
                continue
            out.append(args[3:] if args[0] == "python" else args[1:])
    return out


# ---------------------------------------------------------------------- the tests
@pytest.fixture(scope="module")
def scratch_root(tmp_path_factory) -> Path:
    """The repository root as symlinks, except an empty ``docs/img`` that pages may write to."""
    root = tmp_path_factory.mktemp("root")
    for entry in ROOT.iterdir():
        if entry.name not in {".git", "docs"}:
            (root / entry.name).symlink_to(entry)
    (root / "docs").mkdir()
    for entry in (ROOT / "docs").iterdir():
        if entry.name != "img":
            (root / "docs" / entry.name).symlink_to(entry)
    (root / "docs" / "img").mkdir()
    return root


def _python_cases():
    for page in PAGES:
        code = [b for b in blocks(page) if b.lang in ("python", "py")]
        if not code:
            continue
        name = str(page.relative_to(ROOT))
        yield pytest.param([b for b in code if not b.slow], id=name)
        if any(b.slow for b in code):
            yield pytest.param(code, id=f"{name}+slow", marks=pytest.mark.slow)


@pytest.mark.parametrize("code", list(_python_cases()))
def test_python_blocks_run_and_print_what_they_claim(code, scratch_root, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    monkeypatch.chdir(scratch_root)
    namespace: dict = {"__name__": "__docs__"}
    try:
        for block in code:
            run_python(block, namespace)
    finally:
        plt.close("all")


def _console_cases():
    for page in PAGES:
        all_blocks = blocks(page)
        console = [b for b in all_blocks if b.lang == "console" and commands(b)]
        name = str(page.relative_to(ROOT))
        if any(not b.slow for b in console):
            yield pytest.param([b for b in console if not b.slow], all_blocks, id=name)
        if any(b.slow for b in console):
            yield pytest.param([b for b in console if b.slow], all_blocks, id=f"{name}+slow",
                               marks=pytest.mark.slow)


@pytest.mark.parametrize(("console", "all_blocks"), list(_console_cases()))
def test_console_commands_exit_0_and_print_what_the_page_shows(console, all_blocks, scratch_root,
                                                               monkeypatch, capsys):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from causalsim.cli import main

    monkeypatch.chdir(scratch_root)
    shown = {b.follows: b for b in all_blocks if b.lang == "text" and b.follows is not None}
    for block in console:
        for args in commands(block):
            cmd = shlex.join(["causalsim", *args])
            try:
                code = main(args)
            except SystemExit as exc:  # argparse's own errors
                code = exc.code
            finally:
                plt.close("all")
            out, err = capsys.readouterr()
            assert code == 0, f"{block.where}: `{cmd}` exited {code}:\n{err}"
            text = shown.get(block)
            if text is not None and len(commands(block)) == 1 and args[0] != "whatif":
                problem = check_literal(text.code, out)
                assert problem is None, f"{block.where}: `{cmd}` {problem}"


# ---------------------------------------------------------------------- the convention itself
@pytest.mark.parametrize(("comment", "claim"), [
    ("0.64: correlated...", "0.64"),
    ("75.1 (truth: 5 + 2 * 35 = 75)", "75.1"),
    ("<SCM 'icecream': 3 nodes, 0 hidden>", "<SCM 'icecream': 3 nodes, 0 hidden>"),
    ("{'equation': '2 * x + noise', 'noise': 'normal(0, 1)'}",
     "{'equation': '2 * x + noise', 'noise': 'normal(0, 1)'}"),
    ('about 0.29: the naive "effect"', "about 0.29"),
    ("about -0.178", "about -0.178"),
])
def test_the_claim_is_the_comment_up_to_its_explanation(comment, claim):
    assert CLAIM_START.match(comment)
    assert claim_text(comment) == claim


@pytest.mark.parametrize("comment", ["profit per customer", "...but not causal", "revenue: about 2",
                                     "the complier effect it estimates", "E[collision | do(brake)]"])
def test_prose_comments_are_not_claims(comment):
    assert not CLAIM_START.match(comment)


@pytest.mark.parametrize(("claim", "printed", "ok"), [
    ("0.64", "0.64\n", True),
    ("0.64", "0.6449", True),
    ("0.64", "0.646", False),
    ("75.1", "75.0", False),
    ("[10.0] exact", "[10.0] exact", True),
    ("[10.0] exact", "[10.0] weighting", False),
    ("<SCM 'icecream': 3 nodes, 0 hidden>", "<SCM 'icecream': 3 nodes, 0 hidden>", True),
    ("<SCM 'icecream': 3 nodes, 0 hidden>", "<SCM 'icecream': 4 nodes, 0 hidden>", False),
    ("['driving', 'healthcare', ...]", "['driving', 'healthcare', 'icecream']", True),
    ("Effect(value=-4.51..., ...)", "Effect(value=-4.5123, stderr=0.0015, n=10)", True),
    ("about 0.063", "0.0627", True),
    ("about 0.063", "0.0619", False),
    ("about 8", "8.9", True),
    ("about 8", "9.1", False),
    ("about 2.75 ± 0.05", "2.79", True),
    ("about 2.75 ± 0.05", "2.81", False),
    ("about 8", "Effect(value=8.0)", False),
    ("exactly 0", "0.0", True),
    ("exactly 0", "1e-6", False),
])
def test_claims_hold_to_the_precision_written(claim, printed, ok):
    assert (check_claim(claim, printed) is None) is ok


def test_pages_are_read_as_fenced_blocks_with_their_marks(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("Text.\n\n```python\nx = 1\n```\n\n<!-- slow: 10^6 units -->\n```python\n"
                    "print(x)  # 1\n```\n\n```console\ncausalsim scenarios\n"
                    "causalsim whatif SPEC --do NODE=VALUE\npython -m pip install .\n```\n\n"
                    "```text\ndriving\n```\n", encoding="utf-8")
    fast, slow, console, text = blocks(page)
    assert (fast.lang, fast.line, fast.code, fast.slow) == ("python", 4, "x = 1", False)
    assert (slow.line, slow.slow, slow.follows) == (9, True, None)
    assert commands(console) == [["scenarios"]]
    assert text.lang == "text" and text.follows is console


# ---------------------------------------------------------------------- benchmarks/README.md
def test_the_benchmarks_readme_documents_every_script_and_its_options():
    readme = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        assert f"## {script.name}" in readme, f"benchmarks/README.md has no section on {script.name}"
        usage = re.search(rf"python benchmarks/{script.name}((?:.|\n(?=\s))*)", readme)
        assert usage, f"benchmarks/README.md does not say how to run {script.name}"
        documented = set(re.findall(r"--[\w-]+", usage.group(1)))
        source = script.read_text(encoding="utf-8")
        declared = re.findall(r"add_argument\(\s*\"(--[\w-]+)\"(?![^)]*SUPPRESS)", source)
        options = set(declared) | {"--json", "--quick"}
        if "size_sweep_args(" in source:  # benchmarks/_common.py adds these three for a size sweep
            options |= {"--no-peers", "--repeats", "--sizes"}
        assert documented == options, f"{script.name}: README usage {documented}, script {options}"
