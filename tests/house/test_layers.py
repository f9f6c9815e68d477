"""The house plan (DESIGN.md) held against the package's imports: dependencies point one way, no cycles.

Read from the source with `ast`, every import of the package counts, those
inside functions too (not those only a type checker reads): a layer may import
the layers below it and its own row, never one above it, and the capabilities
of the top row (PEERS) never import each other: they hear of booking's changes
through its hooks. A module of `vmeeting/` that no layer names fails the test, so the plan
and the tree change together.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "vmeeting"

#: DESIGN.md, "Dependencies point one way": each layer's packages, bottom first
LAYERS = [
    {"core"},
    {"probes", "outbox", "jobs"},
    {"audit"},
    {"auth"},
    {"registry"},
    {"working_time"},
    {"booking"},
    {"readiness", "network", "attendance", "invites", "documents", "approvals"},
    {"home", "apidoc", "demo", "ops"},
    {"cli", "models", "__init__"},
]
#: the capabilities that learn of each other only through booking's hooks (and share the probes through probes/)
PEERS = {"readiness", "network", "attendance", "invites", "documents", "approvals"}
#: the one place the plan bends, each with its reason: a page of the outbox is guarded like every page
ALLOWED_UP = {("vmeeting.outbox.views", "vmeeting.auth.guards")}


def _part(module):
    """The plan's name of a module: its package under vmeeting, or its own name at the top."""
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _level(part):
    for level, parts in enumerate(LAYERS):
        if part in parts:
            return level
    raise AssertionError(f"vmeeting.{part} is in no layer of the plan (DESIGN.md): place it there and here")


def _walk_runtime(tree):
    """ast.walk, leaving out the bodies of `if TYPE_CHECKING:` (imports a type checker reads, Python never)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def _imports():
    """Yield (importing module, imported module) for every import of vmeeting by vmeeting."""
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(relative.parts[:-1] if relative.name == "__init__" else relative.parts)
        for node in _walk_runtime(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module == "vmeeting":  # from vmeeting import jobs, booking…
                    for alias in node.names:
                        yield module, f"vmeeting.{alias.name}"
                elif node.module.startswith("vmeeting."):
                    yield module, node.module
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("vmeeting."):
                        yield module, alias.name


def test_every_import_points_down_or_sideways_within_a_package():
    upward = []
    for importer, imported in _imports():
        if imported == "vmeeting" or (importer, imported) in ALLOWED_UP:
            continue
        low, high = _part(imported), _part(importer)
        if low == high:
            continue
        if _level(low) > _level(high) or (low in PEERS and high in PEERS):
            upward.append(f"{importer} imports {imported}")
    assert upward == []


def test_the_layers_name_every_package_of_the_tree():
    on_disk = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    on_disk |= {p.stem for p in PACKAGE.glob("*.py")}
    named = set().union(*LAYERS)
    assert on_disk - named == set()


@pytest.mark.parametrize("package", sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()))
def test_no_module_holds_more_than_one_subject(package):
    """DESIGN.md: a module over 500 lines holds more than one subject; split it along them."""
    long = {str(p.relative_to(PACKAGE)): n for p in (PACKAGE / package).rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert long == {}
