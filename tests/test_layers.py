"""Imports flow one way: space < sim < evo < tasks < store < analysis < runs < cli.

Every module's imports are read with ``ast`` (module level, function-local and
``TYPE_CHECKING`` ones alike) and resolved to modules of the package. The
package root (``spatial_snn/__init__.py``) re-exports the public API and may
import anything; nothing inside the package imports it. ``_version`` imports
nothing and may be imported by anyone. The command line must start without the
numerical stack, so ``spatial-snn --help`` answers at once.

One import path per name: a module imports each name from the module that
defines it (users may also take the front door's names from the root); a
module's ``__all__`` lists only its own names; no module uses another's
private ``_name``; a public name is defined in one module only. A
subpackage's ``__init__`` would be its only facade, and re-exports nothing:
the root is the one front door. ``python tests/test_layers.py`` prints the
figures (modules per subpackage, re-exported names, the longest chain of
module-level imports).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import spatial_snn

PACKAGE = Path(spatial_snn.__file__).parent
ROOT = "spatial_snn"
LAYERS = ("space", "sim", "evo", "tasks", "store", "analysis", "runs", "cli")
HEAVY = ("numba", "h5py", "deap", "gymnasium", "scipy", "matplotlib", "mujoco", "envpool", "dask", "tqdm")


def module_files(package_dir: Path, root: str = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under ``package_dir``."""
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = [root, *path.relative_to(package_dir).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_package(name: str, files: dict[str, Path]) -> bool:
    return files[name].name == "__init__.py"


def imports_of(name: str, files: dict[str, Path]) -> list[tuple[str, int]]:
    """(imported package module, line) for every import statement in module ``name``."""
    return _imports_in(ast.parse(files[name].read_text(), str(files[name])), name, files)


def _imports_in(tree: ast.AST, name: str, files: dict[str, Path]) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _resolve_from(node, name, files)
            # `from pkg import mod` depends on the module pkg.mod; `from mod import name` on mod
            targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in files else source for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in files and "." in target:
                target = target.rpartition(".")[0]  # `import a.b.c` of a package module
            if target in files:
                found.append((target, node.lineno))
    return found


def layer(name: str) -> int | None:
    """Index of a module's layer; None for the root and ``_version`` (they stand aside)."""
    parts = name.split(".")
    if len(parts) == 1 or parts[1] == "_version":
        return None
    return LAYERS.index(parts[1])


def violations(files: dict[str, Path], root: str = ROOT) -> list[str]:
    """Every import from a higher layer, of the package root, or by ``_version``."""
    out = []
    for name in files:
        here = layer(name)
        for target, line in imports_of(name, files):
            where = f"{files[name].name}:{line} ({name} imports {target})"
            if name == f"{root}._version":
                out.append(f"{where}: _version must import nothing of the package")
            elif target == root and name != root:
                out.append(f"{where}: only users import the package root; import the module that defines the name")
            elif here is not None and layer(target) is not None and layer(target) > here:
                out.append(f"{where}: {LAYERS[layer(target)]} is above {LAYERS[here]}")
    return out


def cycles(files: dict[str, Path]) -> list[list[str]]:
    """Strongly connected groups of more than one module (or a module importing itself)."""
    graph = {name: sorted({t for t, _ in imports_of(name, files)}) for name in files}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []

    def visit(v: str) -> None:  # Tarjan; the package is small, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in graph[v]:
                groups.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return groups


def _executed_at_import(body: list[ast.stmt]):
    """Statements a module runs when imported: its body and the blocks in it, not functions, classes or
    ``if TYPE_CHECKING:`` (which only static analysers read)."""
    for node in body:
        if isinstance(node, ast.If):
            if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                yield from _executed_at_import(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            yield from _executed_at_import(
                node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body]
            )
        elif isinstance(node, ast.With):
            yield from _executed_at_import(node.body)
        else:
            yield node


def _resolve_from(node: ast.ImportFrom, name: str, files: dict[str, Path]) -> str:
    """The dotted module a ``from ... import`` statement in module ``name`` reads from."""
    if not node.level:
        return node.module or ""
    package = name if _is_package(name, files) else name.rpartition(".")[0]
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def module_level_graph(files: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package modules it imports when it is imported (module level: no function-local
    or ``TYPE_CHECKING`` imports)."""
    graph = {}
    for name, path in files.items():
        body = [
            n
            for n in _executed_at_import(ast.parse(path.read_text(), str(path)).body)
            if isinstance(n, ast.Import | ast.ImportFrom)
        ]
        graph[name] = {t for t, _ in _imports_in(ast.Module(body=body, type_ignores=[]), name, files)} - {name}
    return graph


def longest_chain(files: dict[str, Path]) -> list[str]:
    """The longest chain of module-level package imports: ``a`` imports ``b`` imports ``c`` ..."""
    graph = module_level_graph(files)
    memo: dict[str, list[str]] = {}

    def chain(v: str) -> list[str]:
        if v not in memo:
            memo[v] = [v]  # a cycle (the cycle test fails on one) cannot recurse forever
            memo[v] = [v, *max((chain(w) for w in sorted(graph[v])), key=len, default=[])]
        return memo[v]

    return max((chain(v) for v in sorted(graph)), key=len)


def defined_names(path: Path) -> set[str]:
    """Names a module binds at top level other than by importing them: functions, classes, assignments."""
    out = set()
    for node in _executed_at_import(ast.parse(path.read_text(), str(path)).body):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                out |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return out


def imported_names(name: str, files: dict[str, Path], path: Path | None = None) -> list[tuple[str, str, int]]:
    """(package module, name, line) for every name (not a submodule) that ``name`` imports with ``from``."""
    path = path or files[name]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            source = _resolve_from(node, name, files)
            if source in files:
                out += [(source, a.name, node.lineno) for a in node.names if f"{source}.{a.name}" not in files]
    return out


def _is_facade(module: str, files: dict[str, Path]) -> bool:
    """A package's ``__init__``: the root (the front door, for users; the package may not import it) or a
    subpackage's."""
    return _is_package(module, files)


def borrowed_imports(files: dict[str, Path], users: dict[str, Path] | None = None) -> list[str]:
    """Every ``from M import x`` (in the package, or in ``users``) where M does not define x and is no facade."""
    defined = {m: defined_names(p) for m, p in files.items()}
    out = []
    for user, path in (users or files).items():
        for source, n, line in imported_names(user, files, path):
            if n != "*" and not _is_facade(source, files) and n not in defined[source]:
                out.append(f"{path.name}:{line}: {n} from {source}, which does not define it")
    return out


def private_imports(files: dict[str, Path]) -> list[str]:
    """Every use of another module's private ``_x`` (not a dunder): ``from M import _x`` or ``M._x``."""
    out = []
    for user, path in files.items():
        tree = ast.parse(path.read_text(), str(path))
        found = [(s, n, line) for s, n, line in imported_names(user, files)]
        modules = {}  # local name -> package module, for `from pkg import mod` and `import a.b as m`
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _resolve_from(node, user, files)
                modules |= {
                    a.asname or a.name: f"{source}.{a.name}" for a in node.names if f"{source}.{a.name}" in files
                }
            elif isinstance(node, ast.Import):
                modules |= {a.asname: a.name for a in node.names if a.asname and a.name in files}
        found += [
            (modules[node.value.id], node.attr, node.lineno)
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
        ]
        for source, n, line in found:
            if n.startswith("_") and not n.startswith("__") and source != user:
                out.append(f"{path.name}:{line}: {user} uses the private {n} of {source}; give it a public name")
    return out


def exported_but_not_defined(files: dict[str, Path]) -> list[str]:
    """Names in a module's ``__all__`` that it does not define (a second import path for them)."""
    out = []
    for name, path in files.items():
        if name == ROOT:
            continue  # the front door: its names are listed in _SOURCES, checked below
        for node in ast.parse(path.read_text(), str(path)).body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
            ):
                missing = sorted(set(ast.literal_eval(node.value)) - defined_names(path))
                out += [f"{name}.__all__ lists {n}, defined elsewhere" for n in missing]
    return out


def reexported(files: dict[str, Path], users: dict[str, Path]) -> set[tuple[str, str]]:
    """(module, name) pairs that some user imports from a module that only imports them itself."""
    defined = {m: defined_names(p) for m, p in files.items()}
    return {
        (s, n)
        for u, p in users.items()
        for s, n, _ in imported_names(u, files, p)
        if n not in defined[s] and not _is_facade(s, files)
    }


# ------------------------------------------------------------------ the package
def test_every_module_belongs_to_a_layer():
    files = module_files(PACKAGE)
    strays = [n for n in files if n != ROOT and n != f"{ROOT}._version" and n.split(".")[1] not in LAYERS]
    assert not strays, f"modules outside the layers {LAYERS}: {strays}; move them into a subpackage"


def test_no_module_imports_from_a_higher_layer():
    assert violations(module_files(PACKAGE)) == []


def test_no_import_cycles_not_even_function_local_ones():
    assert cycles(module_files(PACKAGE)) == []


def _modules_loaded_by(code: str) -> set[str]:
    """Top-level names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=PACKAGE.parent)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_loads_no_numerical_stack():
    loaded = _modules_loaded_by("import spatial_snn.cli")
    assert not loaded & set(HEAVY), f"import spatial_snn.cli loads {sorted(loaded & set(HEAVY))}"


@pytest.mark.parametrize("command", [None, "evolve", "resume", "batch", "inspect", "replay", "export"])
def test_help_loads_no_numerical_stack(command):
    argv = ["--help"] if command is None else [command, "--help"]
    code = (
        f"import spatial_snn.cli as c\ntry:\n    c.main({argv!r})\nexcept SystemExit as e:\n"
        f"    assert e.code == 0, e.code"
    )
    loaded = _modules_loaded_by(code)
    assert not loaded & set(HEAVY), f"spatial-snn {' '.join(argv)} loads {sorted(loaded & set(HEAVY))}"


def test_the_package_root_serves_every_public_name_from_its_module():
    assert sorted(spatial_snn.__all__) == sorted(spatial_snn._SOURCES)  # one list of names, kept in step
    for name in spatial_snn.__all__:
        value = getattr(spatial_snn, name)
        assert value is getattr(sys.modules[f"spatial_snn.{spatial_snn._SOURCES[name]}"], name), name
    assert set(spatial_snn.__all__) <= set(dir(spatial_snn))
    with pytest.raises(AttributeError, match="no_such_name"):
        spatial_snn.no_such_name  # noqa: B018


def test_the_front_door_is_small_and_internals_live_in_their_subpackages():
    assert len(spatial_snn.__all__) <= 16  # what a user starts from, not every module's names
    for internal in ("SPIKES", "set_threads", "compact", "RunWriter", "WorkerPool", "make_env"):
        assert internal not in spatial_snn.__all__
        with pytest.raises(AttributeError):
            getattr(spatial_snn, internal)


def _users() -> dict[str, Path]:
    """Tests and benchmarks: they import names as the package does."""
    here = Path(__file__).parent
    out = {f"tests.{p.stem}": p for p in sorted(here.glob("*.py"))}
    return out | {f"benchmarks.{p.stem}": p for p in sorted((here.parent / "benchmarks").rglob("*.py"))}


def test_every_name_is_imported_from_the_module_that_defines_it():
    files = module_files(PACKAGE)
    assert borrowed_imports(files) == []
    assert borrowed_imports(files, _users()) == []  # tests and benchmarks too (or from the package root)
    assert exported_but_not_defined(files) == []


def test_no_private_name_is_used_across_modules():
    assert private_imports(module_files(PACKAGE)) == []


def test_subpackages_re_export_nothing():
    files = module_files(PACKAGE)
    for name, path in files.items():
        if name != ROOT and _is_package(name, files):
            tree = ast.parse(path.read_text(), str(path))
            assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)], name


#: Packages whose modules each implement one interface by name (one algorithm per
#: file, evosax's layout: ``NAME, Params, State, init, ask, tell, centre``).
PLUGIN_PACKAGES = (f"{ROOT}.evo.strategies",)


def _plugins_only(modules: list[str]) -> bool:
    return any(all(m.rpartition(".")[0] == pkg for m in modules) for pkg in PLUGIN_PACKAGES)


def test_one_public_name_means_one_thing():
    """A public name is defined in one module only (a class lives in one file), except the
    interface that every module of a plug-in package implements by name."""
    homes: dict[str, list[str]] = {}
    files = module_files(PACKAGE)
    for name, path in files.items():
        if name != ROOT:
            for n in defined_names(path):
                if not n.startswith("_"):
                    homes.setdefault(n, []).append(name)
    assert {n: m for n, m in homes.items() if len(m) > 1 and not _plugins_only(m)} == {}


def figures(files: dict[str, Path] | None = None) -> dict:
    """What the import structure looks like: modules per subpackage, re-exported names, longest chain."""
    files = files or module_files(PACKAGE)
    per = {}
    for name in files:
        parts = name.split(".")
        if len(parts) > 2:
            per[parts[1]] = per.get(parts[1], 0) + 1
    chain = longest_chain(files)
    again = reexported(files, files | _users())
    return {
        "modules per subpackage": per,
        "re-exported names": len(again),
        "modules re-exporting": len({m for m, _ in again}),
        "longest chain": len(chain),
        "chain": " -> ".join(c.removeprefix(f"{ROOT}.") for c in chain),
    }


# ------------------------------------------------------------------ the checker itself
def _tree(tmp_path: Path, sources: dict[str, str]) -> dict[str, Path]:
    for rel, text in sources.items():
        path = tmp_path / ROOT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return module_files(tmp_path / ROOT)


_CLEAN = {
    "__init__.py": "from .runs.runner import evolve\n",
    "_version.py": "__version__ = '0'\n",
    "space/__init__.py": "",
    "space/rule.py": "import numpy\n",
    "space/genome.py": "from .rule import Rule\nfrom .._version import __version__\n",
    "sim/__init__.py": "",
    "sim/network.py": "from ..space import genome\n",
    "runs/__init__.py": "",
    "runs/runner.py": "from ..sim.network import Network\nimport spatial_snn.space.rule\n",
}


def test_the_checker_accepts_a_clean_tree(tmp_path):
    files = _tree(tmp_path, _CLEAN)
    assert ("spatial_snn.space.genome", 3) not in imports_of("spatial_snn.sim.network", files)
    assert imports_of("spatial_snn.sim.network", files) == [("spatial_snn.space.genome", 1)]
    assert {t for t, _ in imports_of("spatial_snn.runs.runner", files)} == {
        "spatial_snn.sim.network",
        "spatial_snn.space.rule",
    }
    assert violations(files) == [] and cycles(files) == []


def test_the_checker_finds_a_function_local_cycle(tmp_path):
    files = _tree(tmp_path, {**_CLEAN, "space/rule.py": "def f():\n    from .genome import G\n"})
    assert cycles(files) == [["spatial_snn.space.genome", "spatial_snn.space.rule"]]
    assert violations(files) == []


def test_the_checker_finds_an_upward_import_and_a_root_import(tmp_path):
    files = _tree(
        tmp_path,
        {**_CLEAN, "sim/network.py": "from ..runs import runner\n", "space/rule.py": "from .. import __version__\n"},
    )
    found = violations(files)
    assert len(found) == 2
    assert any("runs is above sim" in v for v in found)
    assert any("package root" in v for v in found)
    assert any({"spatial_snn.runs.runner", "spatial_snn.sim.network"} <= set(g) for g in cycles(files))


_TANGLED = {
    "__init__.py": "",
    "space/__init__.py": "from ._h import Rule\n",  # a facade may re-export
    "space/_h.py": "class Rule:\n    pass\n\n\ndef _helper():\n    pass\n",
    "space/rule.py": "from ._h import Rule, _helper\n",
    "space/genome.py": "from . import Rule\n__all__ = ['Rule', 'G']\nG = 1\n",
    "sim/__init__.py": "",
    "sim/network.py": "from ..space.rule import Rule\nfrom ..space import _h\nx = _h._helper\n",
    "runs/__init__.py": "",
    "runs/runner.py": "from ..sim.network import x\n\n\ndef f():\n    from ..space import genome\n",
}


def test_the_checker_finds_borrowed_and_private_imports_and_the_longest_chain(tmp_path):
    files = _tree(tmp_path, _TANGLED)
    borrowed = borrowed_imports(files)
    assert len(borrowed) == 1 and "Rule from spatial_snn.space.rule, which does not define it" in borrowed[0]
    private = private_imports(files)
    assert len(private) == 2 and all("the private _helper of spatial_snn.space._h" in p for p in private)
    assert exported_but_not_defined(files) == ["spatial_snn.space.genome.__all__ lists Rule, defined elsewhere"]
    assert reexported(files, files) == {("spatial_snn.space.rule", "Rule")}
    # the function-local import of space.genome does not count
    assert longest_chain(files) == [
        "spatial_snn.runs.runner",
        "spatial_snn.sim.network",
        "spatial_snn.space.rule",
        "spatial_snn.space._h",
    ]
    assert violations(files) == [] and cycles(files) == []


if __name__ == "__main__":  # python tests/test_layers.py: the figures of the import structure
    for key, value in figures().items():
        print(f"{key}: {value}")
