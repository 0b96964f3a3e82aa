"""What the service calls itself: its name and version (index page, schema, JWT issuer, error reports)."""

SERVICE_NAME = "django-rest-monolith"
SERVICE_VERSION = "0.1.0"
