"""The one `env` reader every settings module takes its values from: `.env` read, empty variables dropped."""

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))
# An empty variable means "use the default", as if it were not set: `.env.example` copied unchanged leaves many
# empty, and a library that reads the environment itself (prometheus_client's PROMETHEUS_MULTIPROC_DIR) would
# take "" as a value. Dropped before anything reads them.
for _name in [name for name, value in os.environ.items() if not value]:
    del os.environ[_name]
