"""The package itself: the import name clash with HIPS autograd is reported, the public API is complete."""
import importlib.metadata
import warnings

import pytest

import autograd


def test_warns_when_another_distribution_provides_autograd(monkeypatch):
    monkeypatch.setattr(importlib.metadata, "packages_distributions", lambda: {"autograd": ["dagrad", "autograd"]})
    with pytest.warns(RuntimeWarning, match=r"another installed distribution also provides the 'autograd' package \(autograd\)"
                      r".*dedicated virtual environment"):
        autograd._warn_if_shadowed()


def test_no_warning_when_only_dagrad_provides_it(monkeypatch):
    monkeypatch.setattr(importlib.metadata, "packages_distributions", lambda: {"autograd": ["dagrad"], "nn": ["dagrad"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        autograd._warn_if_shadowed()


def test_broken_metadata_never_stops_the_import(monkeypatch):
    def broken():
        raise OSError("unreadable site-packages")

    monkeypatch.setattr(importlib.metadata, "packages_distributions", broken)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        autograd._warn_if_shadowed()


def test_every_public_name_exists_and_is_documented():
    for name in autograd.__all__:
        obj = getattr(autograd, name)
        assert obj.__doc__, f"autograd.{name} has no docstring"
