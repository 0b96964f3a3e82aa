"""`make run` as a person starts it (config.settings.local, DEBUG off, no collectstatic) starts without a warning."""

from pathlib import Path

from tests.helpers.processes import project_env, run_python

SERVE_ONE_REQUEST = (
    "import django; django.setup()\n"
    "from django.test import Client\n"
    "assert Client().get('/health/live/').status_code == 200\n"
)


def test_a_fresh_checkout_serves_without_a_static_files_warning(tmp_path: Path) -> None:
    static_root = tmp_path / "staticfiles"  # not collected, not even created
    env = project_env(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DEBUG="false",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STATIC_ROOT=str(static_root),
        LOG_DIR=str(tmp_path / "logs"),
        PYTHONWARNINGS="error::UserWarning",  # WhiteNoise's "No directory at" is a UserWarning: now an error
    )
    env.pop("REDIS_URL", None)
    result = run_python(SERVE_ONE_REQUEST, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "No directory at" not in result.stderr
