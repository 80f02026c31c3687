"""What the README's first command installs must be enough for every command it names (bench included)."""

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = {"portal", "provisioning", "bench", "tests"}


def _runtime_distributions(name: str = "provisioning-portal", seen: set[str] | None = None) -> set[str]:
    """The distribution and everything it requires without extras, recursively."""
    seen = set() if seen is None else seen
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in seen:
        return seen
    seen.add(key)
    try:
        requirements = metadata.requires(name) or []
    except metadata.PackageNotFoundError:
        return seen
    for requirement in requirements:
        marker = requirement.split(";", 1)[1] if ";" in requirement else ""
        if "extra ==" in marker:  # optional: only when a requirement names the extra (below)
            continue
        dependency = re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0]
        _runtime_distributions(dependency, seen)
        for extra in re.findall(r"\[([^\]]+)\]", requirement.split(";")[0]):
            for extra_name in extra.split(","):
                _extra_requirements(dependency, extra_name.strip(), seen)
    return seen


def _extra_requirements(name: str, extra: str, seen: set[str]) -> None:
    for requirement in metadata.requires(name) or []:
        if ";" in requirement and re.search(rf"extra == ['\"]{re.escape(extra)}['\"]", requirement):
            dependency = re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0]
            _runtime_distributions(dependency, seen)


def _top_level_imports(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules


def test_bench_and_commands_import_only_runtime_dependencies():
    runtime = _runtime_distributions()
    providers = metadata.packages_distributions()
    sources = [*(ROOT / "bench").glob("*.py"), *ROOT.glob("*/management/commands/*.py")]
    sources += list(ROOT.glob("*/*/management/commands/*.py"))
    missing = {}
    for source in sources:
        for module in _top_level_imports(source) - PROJECT_PACKAGES - set(sys.stdlib_module_names):
            distributions = {re.sub(r"[-_.]+", "-", d).lower() for d in providers.get(module, [])}
            if not distributions & runtime:
                missing.setdefault(module, []).append(str(source.relative_to(ROOT)))
    assert not missing, f"imported but installed only with the test extras: {missing}"
