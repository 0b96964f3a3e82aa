"""A small, real OpenID Connect provider for the sign-in tests: django-oauth-toolkit with OIDC on, in its own
Django project, process and SQLite database. `serve.py` starts it; tests/users/test_oidc.py drives it."""
