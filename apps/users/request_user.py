"""The signed-in user of a request, typed as `User`.

`request.user` is `User | AnonymousUser` to the type checker; a view behind an authenticating permission class
(or the admin, which lets only staff in) knows better, and this is where it says so once.
"""

from django.http import HttpRequest
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from .models import User


def request_user(request: HttpRequest | Request) -> User:
    """The request's user; `NotAuthenticated` (401) when nobody is signed in."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user
