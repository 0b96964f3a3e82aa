"""The test settings, but sending through the `http` backend: for a worker a test starts against a gateway of its
own (SMS_GATEWAY_URL)."""

from config.settings.test import *  # noqa: F403

SMS_BACKEND = "apps.messages.backends.http.HttpGatewayBackend"
