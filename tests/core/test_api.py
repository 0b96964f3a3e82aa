"""Every view validates its input one way: `ValidatedInputMixin.get_valid_data` in apps/core/http/api.py."""

import ast
from pathlib import Path


def _is_valid_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text())
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "is_valid"
    ]


def test_no_view_validates_a_serializer_itself(base_dir: Path) -> None:
    view_modules = [
        path
        for path in (base_dir / "apps").rglob("*.py")
        if path.name in {"views.py", "api.py"} or path.parent.name == "views"
    ]
    assert len(view_modules) >= 8  # the search really found the view modules
    calls = {str(path.relative_to(base_dir)): lines for path in view_modules if (lines := _is_valid_calls(path))}
    assert list(calls) == ["apps/core/http/api.py"]
    assert len(calls["apps/core/http/api.py"]) == 1
