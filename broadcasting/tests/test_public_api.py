"""broadcasting/__init__.py: the names a project uses, each importable from the package itself."""

import importlib

import broadcasting


def test_every_public_name_is_importable_from_the_package():
    for name in broadcasting.__all__:
        assert getattr(broadcasting, name) is getattr(importlib.import_module(broadcasting._PUBLIC[name]), name)
    assert sorted(broadcasting.__all__) == sorted(broadcasting._PUBLIC)


def test_an_unknown_name_is_an_attribute_error():
    try:
        broadcasting.not_a_name  # noqa: B018
    except AttributeError as error:
        assert "not_a_name" in str(error)
    else:
        raise AssertionError("expected AttributeError")
