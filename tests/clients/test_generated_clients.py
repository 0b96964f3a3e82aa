"""Clients generated from the served schema by two generators no one here wrote work as generated: the first-hour
scenario (register, login, me, catalog writes, a filtered two-key ordering, an idempotent message, refresh,
logout) through openapi-python-client's package and through openapi-fetch typed by openapi-typescript (checked by
tsc). Neither generator may print a warning about the schema. The TypeScript tools are pinned in
tests/clients/ts/package-lock.json and installed with `npm ci`."""

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.processes import BASE_DIR
from tests.quality.browser_helpers import ADMIN_EMAIL, PASSWORD, Service, running_service

pytestmark = [pytest.mark.slow]

CLIENTS = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
STEP_TIMEOUT = 180  # seconds for one install, generation, compilation or scenario run


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service(tmp_path_factory.mktemp("clients-service")) as running:
        yield running


@pytest.fixture(scope="module")
def schema_file(service: Service, tmp_path_factory: pytest.TempPathFactory) -> Path:
    with urllib.request.urlopen(f"{service.url}/api/schema/?format=json", timeout=30) as response:  # noqa: S310
        schema = json.load(response)
    path = tmp_path_factory.mktemp("schema") / "schema.json"
    path.write_text(json.dumps(schema))
    return path


def run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{output[-4000:]}"
    return output


def test_openapi_python_client(service: Service, schema_file: Path, tmp_path: Path) -> None:
    generator = Path(sys.executable).with_name("openapi-python-client")
    output = run(
        [
            str(generator),
            "generate",
            "--path",
            str(schema_file),
            "--output-path",
            str(tmp_path / "client"),
            "--config",
            str(CLIENTS / "openapi-python-client.yaml"),
        ],
        cwd=tmp_path,
    )
    assert output.strip() == f"Generating {tmp_path / 'client'}", output

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "client"), str(BASE_DIR)])}
    output = run(
        [sys.executable, "-m", "tests.clients.python_scenario", service.url, ADMIN_EMAIL, PASSWORD],
        cwd=BASE_DIR,
        env=env,
    )
    assert "python scenario: ok" in output


def test_openapi_typescript_with_openapi_fetch(service: Service, schema_file: Path, tmp_path: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        message = "npm is not installed (node 20 and npm come with the machine)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    project = tmp_path / "ts"
    shutil.copytree(CLIENTS / "ts", project, ignore=shutil.ignore_patterns("node_modules", "dist", "api.d.ts"))
    run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=project)
    bin_dir = project / "node_modules" / ".bin"

    output = run([str(bin_dir / "openapi-typescript"), str(schema_file), "-o", "api.d.ts"], cwd=project)
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 2, output  # its banner and "schema.json → api.d.ts", nothing else
    assert "openapi-typescript" in lines[0]
    assert "api.d.ts" in lines[1]

    run([str(bin_dir / "tsc"), "-p", "."], cwd=project)
    output = run(["node", "dist/scenario.js", service.url, ADMIN_EMAIL, PASSWORD], cwd=project)
    assert "typescript scenario: ok" in output
