"""Architecture rules of STYLE.md that code review alone would miss."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_policies_never_import_mesa():
    offenders = [p for p in (ROOT / "policies").rglob("*.py") if "mesa" in _imports(p)]
    assert offenders == []


def test_no_global_random_state():
    bad = (
        "np.random.seed(",
        "np.random.rand(",
        "np.random.randn(",
        "np.random.normal(",
        "np.random.uniform(",
        "np.random.choice(",
        "random.seed(",
        "torch.manual_seed(",
    )
    offenders = []
    for folder in ("model", "agents", "policies", "runs", "visualization"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            offenders += [f"{path.name}: {b}" for b in bad if b in text]
    assert offenders == []
