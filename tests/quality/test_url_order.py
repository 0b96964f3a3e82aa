"""config/urls.py puts the API's patterns first, busiest app first, for speed: that is safe only while no two apps'
patterns match the same path, so that the order never decides which view answers."""

import re

import pytest
from django.urls import URLPattern

from apps.messages import urls as messages_urls
from apps.products import urls as products_urls
from apps.users import urls as users_urls

APPS = {"products": products_urls, "messages": messages_urls, "users": users_urls}
# A value for each kind of path parameter the API's patterns take.
SAMPLES = {"pk": "7", "message_id": "0" * 26, "account_id": "me", "provider": "acme", "backend": "http"}


def example_path(pattern: URLPattern) -> str:
    """A path the pattern matches, its parameters filled in with SAMPLES."""
    route = str(pattern.pattern).removeprefix("^").removesuffix("$")
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: SAMPLES[m.group(1)], route)
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: SAMPLES[m.group(1)], route)
    assert pattern.resolve(route) is not None, f"{route} does not match its own pattern {pattern.pattern}"
    return route


CASES = [(app, pattern) for app, urls in APPS.items() for pattern in urls.urlpatterns]


@pytest.mark.parametrize(("app", "pattern"), CASES, ids=[str(pattern.pattern) for _, pattern in CASES])
def test_no_other_apps_pattern_matches_an_apps_path(app: str, pattern: URLPattern) -> None:
    path = example_path(pattern)

    matches = [
        f"{other}: {candidate.pattern}"
        for other, urls in APPS.items()
        if other != app
        for candidate in urls.urlpatterns
        if candidate.resolve(path) is not None
    ]

    assert matches == []
