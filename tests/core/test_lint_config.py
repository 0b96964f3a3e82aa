"""`make lint` runs every checker, pre-commit runs the same versions, and mypy checks what the house style says."""

import re
import tomllib

import yaml


def pinned(base_dir, package: str) -> str:
    text = "\n".join((base_dir / "requirements" / name).read_text() for name in ("base.txt", "local.txt"))
    match = re.search(rf"^{re.escape(package)}(?:\[[\w,]+\])?==([\w.]+)$", text, re.MULTILINE | re.IGNORECASE)
    assert match is not None, package
    return match.group(1)


def lint_recipe(base_dir) -> list[str]:
    makefile = (base_dir / "Makefile").read_text()
    recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe is not None
    return [line.strip() for line in recipe.group(1).splitlines()]


def test_make_lint_runs_ruff_the_format_check_mypy_and_the_import_contracts(base_dir) -> None:
    assert lint_recipe(base_dir) == [
        "$(BIN)/ruff check .",
        "$(BIN)/ruff format --check .",
        "$(BIN)/mypy",
        "$(BIN)/lint-imports",
    ]


def test_mypy_checks_apps_config_bench_and_tests_with_both_stub_plugins(base_dir) -> None:
    mypy = tomllib.loads((base_dir / "pyproject.toml").read_text())["tool"]["mypy"]
    assert mypy["files"] == ["apps", "config", "bench", "tests"]
    assert mypy["plugins"] == ["mypy_django_plugin.main", "mypy_drf_plugin.main"]
    assert mypy["check_untyped_defs"] is True
    assert mypy["warn_unused_ignores"] is True
    assert "ignore_errors" not in mypy
    for override in mypy.get("overrides", []):
        assert set(override) == {"module", "ignore_missing_imports"}  # libraries without types, never our code
        assert not [module for module in override["module"] if module.startswith(("apps", "config", "bench", "tests"))]


def test_pre_commit_runs_the_pinned_ruff_and_targets_the_pinned_django(base_dir) -> None:
    config = yaml.safe_load((base_dir / ".pre-commit-config.yaml").read_text())
    repos = {repo["repo"].rsplit("/", 1)[-1]: repo for repo in config["repos"]}
    assert repos["ruff-pre-commit"]["rev"] == f"v{pinned(base_dir, 'ruff')}"
    assert [hook["id"] for hook in repos["ruff-pre-commit"]["hooks"]] == ["ruff-check", "ruff-format"]
    (upgrade,) = repos["django-upgrade"]["hooks"]
    django_version = ".".join(pinned(base_dir, "Django").split(".")[:2])
    assert upgrade["args"] == ["--target-version", django_version]
    assert [hook["id"] for hook in repos["pre-commit-hooks"]["hooks"]] == ["detect-private-key"]
    local = {hook["id"]: hook for hook in repos["local"]["hooks"]}
    assert local["mypy"]["entry"] == ".venv/bin/mypy"
    assert local["lint-imports"]["entry"] == ".venv/bin/lint-imports"


def test_the_import_contracts_state_the_arrows(base_dir) -> None:
    contracts = tomllib.loads((base_dir / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    forbidden = {
        (tuple(c["source_modules"]), tuple(c["forbidden_modules"])) for c in contracts if c["type"] == "forbidden"
    }
    assert forbidden == {
        (("apps.core",), ("apps.users", "apps.products", "apps.messages")),
        (("apps.users",), ("apps.products", "apps.messages")),
        (("apps",), ("config",)),
    }
    independent = [c["modules"] for c in contracts if c["type"] == "independence"]
    assert independent == [["apps.products", "apps.messages"]]
    (acyclic,) = (c for c in contracts if c["type"] == "acyclic_siblings")
    assert set(acyclic["ancestors"]) == {"apps.core", "apps.users", "apps.products", "apps.messages"}
    for rule in acyclic["ignore_imports"]:  # only a task module importing the services it runs, in its own app
        assert re.fullmatch(r"(apps\.\w+)\.\w*tasks -> \1\.\w+", rule), rule
