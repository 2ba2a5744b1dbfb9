"""Imports flow one way: space < sim < evo < tasks < store < analysis < runs < cli.

Every module's imports are read with ``ast`` (module level, function-local and
``TYPE_CHECKING`` ones alike) and resolved to modules of the package. The
package root (``spatial_snn/__init__.py``) re-exports the public API and may
import anything; nothing inside the package imports it. ``_version`` imports
nothing and may be imported by anyone. The command line must start without the
numerical stack, so ``spatial-snn --help`` answers at once.
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
    tree = ast.parse(files[name].read_text(), str(files[name]))
    package = name if _is_package(name, files) else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
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
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_loads_no_numerical_stack():
    loaded = _modules_loaded_by("import spatial_snn.cli")
    assert not loaded & set(HEAVY), f"import spatial_snn.cli loads {sorted(loaded & set(HEAVY))}"


@pytest.mark.parametrize("command", [None, "evolve", "resume", "batch", "inspect", "replay", "export"])
def test_help_loads_no_numerical_stack(command):
    argv = ["--help"] if command is None else [command, "--help"]
    code = (f"import spatial_snn.cli as c\ntry:\n    c.main({argv!r})\nexcept SystemExit as e:\n"
            f"    assert e.code == 0, e.code")
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
        "spatial_snn.sim.network", "spatial_snn.space.rule"}
    assert violations(files) == [] and cycles(files) == []


def test_the_checker_finds_a_function_local_cycle(tmp_path):
    files = _tree(tmp_path, {**_CLEAN, "space/rule.py": "def f():\n    from .genome import G\n"})
    assert cycles(files) == [["spatial_snn.space.genome", "spatial_snn.space.rule"]]
    assert violations(files) == []


def test_the_checker_finds_an_upward_import_and_a_root_import(tmp_path):
    files = _tree(tmp_path, {**_CLEAN, "sim/network.py": "from ..runs import runner\n",
                             "space/rule.py": "from .. import __version__\n"})
    found = violations(files)
    assert len(found) == 2
    assert any("runs is above sim" in v for v in found)
    assert any("package root" in v for v in found)
    assert any({"spatial_snn.runs.runner", "spatial_snn.sim.network"} <= set(g) for g in cycles(files))
