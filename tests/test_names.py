"""No name used for two things (issue 13): a class or type alias is defined in one module of the
application, the workers, bench and devtools, and none takes a name of the libraries it sits
beside (``Session`` is SQLAlchemy's). stacks/ and infra/ are held to it once their config moves
to pydantic models (their ``Problem`` and ``ApiSettings`` are other things than the app's)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "services", "bench", "devtools")
LIBRARY_NAMES = frozenset({"Session", "Request", "Response", "Settings", "BaseModel"})


def _defined_names() -> dict[str, list[str]]:
    """Every top-level class and capitalised type alias, with the modules defining it."""
    found: defaultdict[str, list[str]] = defaultdict(list)
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            module = path.relative_to(ROOT).as_posix()
            for node in ast.parse(path.read_text()).body:
                if isinstance(node, ast.ClassDef):
                    found[node.name].append(module)
                elif isinstance(node, ast.Assign):
                    for target in node.targets:
                        name = target.id if isinstance(target, ast.Name) else ""
                        if name[:1].isupper() and not name.isupper():
                            found[name].append(module)
    return found


def test_the_scan_sees_the_layers() -> None:
    names = _defined_names()
    assert names["TaskRecord"] == ["app/tasks/records.py"]
    assert names["DbSession"] == ["app/api/deps.py"]


def test_no_class_or_type_name_is_defined_twice() -> None:
    twice = {name: modules for name, modules in _defined_names().items() if len(modules) > 1}
    assert twice == {}


def test_no_name_shadows_a_library_type() -> None:
    assert sorted(LIBRARY_NAMES & set(_defined_names())) == []
