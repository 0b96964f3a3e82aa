"""What a newcomer meets first: `make` lists the targets, `make superuser` without a terminal says why it cannot
work, and the reference the README and the docs page point to is in the repository."""

import re
import subprocess

from django.conf import settings

from tests.helpers.processes import project_env


def _make(base_dir, *args: str, tmp_path) -> subprocess.CompletedProcess[str]:
    env = project_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=base_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_bare_make_lists_every_target(base_dir, tmp_path) -> None:
    result = _make(base_dir, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    phony = re.search(r"^\.PHONY: (.*)$", (base_dir / "Makefile").read_text(), re.MULTILINE)
    assert phony
    listed = re.findall(r"^  make (\S+) +\S", result.stdout, re.MULTILINE)
    assert sorted(listed) == sorted(phony.group(1).split())


def test_make_superuser_without_a_terminal_fails_loudly(base_dir, tmp_path) -> None:
    result = _make(base_dir, "superuser", tmp_path=tmp_path)
    assert result.returncode != 0
    assert "needs a terminal, or DJANGO_SUPERUSER_EMAIL and DJANGO_SUPERUSER_PASSWORD" in result.stderr


def test_the_reference_is_in_the_repository(base_dir) -> None:
    readme = (base_dir / "README.md").read_text()
    for page in ("docs/api.md", "docs/schema.md"):
        assert (base_dir / page).is_file()
        assert f"]({page})" in readme
    assert "docs/api.md" in settings.SPECTACULAR_SETTINGS["DESCRIPTION"]
    tracked = subprocess.run(
        ["git", "ls-files"],
        cwd=base_dir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    outside = re.compile(r"(?<!docs/)\bAPI\.md\b|\bshared/|/work/")
    offenders = [
        name
        for name in tracked
        if name.endswith((".py", ".md", ".yml", ".yaml", ".toml", ".txt", ".json", ".ts", "Makefile"))
        and name != "tests/core/test_first_hour.py"
        and outside.search((base_dir / name).read_text(errors="replace"))
    ]
    assert offenders == []
