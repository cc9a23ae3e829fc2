"""CLI command groups, one module per job.

Every module in this package defines ``register(app: typer.Typer) -> None`` and adds its
commands to the ``vendorlink`` application. :func:`register_all` finds the modules by name, so
adding a job's commands means adding one module here, without touching ``vendorlink.cli``.
Modules import their heavy dependencies (torch, FastAPI) inside the command bodies, so that
``vendorlink --help`` stays fast.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer


def register_all(app: typer.Typer) -> None:
    """Import every module of this package and let it add its commands to ``app``."""
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        register = getattr(module, "register", None)
        if register is None:
            raise RuntimeError(f"{module.__name__} defines no register(app) function")
        register(app)
