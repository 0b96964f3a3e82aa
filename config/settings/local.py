"""Local development: `make run`. Debug on unless the environment says otherwise."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)

# With DEBUG off (`DEBUG=false make run`, the browser tests) runserver serves no static files: WhiteNoise serves the
# admin's and the docs' assets straight from the apps, with no collectstatic. Deployments collect them instead.
WHITENOISE_USE_FINDERS = True
