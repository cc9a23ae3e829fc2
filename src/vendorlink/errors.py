"""Exceptions vendorlink raises for problems a user can fix (bad input, wrong folder)."""

from __future__ import annotations


class VendorlinkError(Exception):
    """Base class: a problem with the user's input or environment, with a clear message."""


class WorkspaceError(VendorlinkError):
    """The workspace folder is missing, not a workspace, or cannot be opened."""


class InputError(VendorlinkError, ValueError):
    """An input file, value or option cannot be used as given (missing column, bad shape)."""


class StageOrderError(VendorlinkError):
    """A stage was run before the stage whose output it reads."""
