"""Local development: `make run`. A random key of this checkout, debug pages only when asked for."""

from pathlib import Path

from config.keys import LOCAL_KEY_FILE, local_secret_key
from config.settings.base import *  # noqa: F403
from config.settings.base import SECRET_KEY, STATIC_ROOT
from config.settings.env import BASE_DIR, env

SECRET_KEY = SECRET_KEY or local_secret_key(BASE_DIR / LOCAL_KEY_FILE)
# Off unless asked for (`DEBUG=true make run`): Django's debug pages answer any client that reaches the server.
DEBUG = env.bool("DEBUG", default=False)

# With DEBUG off (`DEBUG=false make run`, the browser tests) runserver serves no static files: WhiteNoise serves the
# admin's and the docs' assets straight from the apps, with no collectstatic. Deployments collect them instead.
WHITENOISE_USE_FINDERS = True
# WhiteNoise also reads STATIC_ROOT when it starts, and warns on every start when the folder is missing; here it is
# empty until someone runs collectstatic, which is harmless (the finders above serve everything).
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
