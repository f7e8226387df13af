"""The embedded runtime: revisions as supervised local processes (see :class:`LocalRuntime`)."""

from roost.runtime.local.runtime import LocalRuntime

__all__ = ["LocalRuntime"]
