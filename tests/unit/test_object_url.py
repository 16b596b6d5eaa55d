"""``{% object_url %}`` gives exactly what ``{% url %}`` gives for one-id console URLs."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import reverse

NAMES = [
    "console:property",
    "console:tenant",
    "console:lease",
    "console:invoice",
    "console:payment",
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("pk", [1, 42, 987_654_321_987, 10**12 + 7])
def test_object_url_equals_url(name: str, pk: int) -> None:
    rendered = Template("{% load keja_tags %}{% object_url name pk %}").render(
        Context({"name": name, "pk": pk})
    )
    assert rendered == reverse(name, args=[pk])


def test_object_url_refuses_what_is_not_an_id() -> None:
    with pytest.raises(ValueError, match="invalid literal"):
        Template("{% load keja_tags %}{% object_url 'console:payment' pk %}").render(
            Context({"pk": "1/../../admin"})
        )
