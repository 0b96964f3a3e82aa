"""The base of the tests' model factories: `SomeFactory(...)` typed as the model it returns."""

from typing import TYPE_CHECKING, Any, TypeVar

import factory
from django.db import models

M = TypeVar("M", bound=models.Model)


class ModelFactory(factory.django.DjangoModelFactory[M]):
    """factory-boy's metaclass `__call__` turns `SomeFactory(...)` into `SomeFactory.create(...)`, but mypy types a
    class call from `__init__`/`__new__`, never from the metaclass: this `__new__`, seen only by mypy, says what
    the call returns."""

    class Meta:
        abstract = True

    if TYPE_CHECKING:

        def __new__(cls, **kwargs: Any) -> M:  # type: ignore[misc]  # the instance is the model's, not the factory's
            ...
