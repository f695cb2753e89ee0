"""``nncz mock`` verb (registered by :mod:`nncz.cli` through :func:`add_cli`)."""

from nncz.mock.universe import add_cli

__all__ = ["add_cli"]
