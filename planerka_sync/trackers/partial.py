"""Importing one part of a client library whose package ``__init__`` imports every other part.

atlassian-python-api's ``atlassian/__init__.py`` imports Confluence, Bitbucket, Bamboo, Xray,
Tempo... (about three times what its Jira clients cost) before ``atlassian.jira`` can load.
:func:`submodule` loads the package without running its ``__init__``, then the submodule asked
for. The package completes itself the first time anyone asks it for a name it does not have yet
(``from atlassian import Confluence`` elsewhere still works, with the same classes).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any

_LOCK = threading.RLock()  # the package's __init__ may import a submodule() itself


def submodule(package: str, name: str) -> ModuleType:
    """``package.name``, its package's own ``__init__`` deferred (see the module docstring).
    An already imported package is used as it is."""
    with _LOCK:
        if package not in sys.modules:
            spec = importlib.util.find_spec(package)
            if spec is None or spec.loader is None or spec.submodule_search_locations is None:
                return importlib.import_module(f"{package}.{name}")
            shell = importlib.util.module_from_spec(spec)
            shell.__getattr__ = _completing(shell)  # type: ignore[method-assign]
            sys.modules[package] = shell
        return importlib.import_module(f"{package}.{name}")


def _completing(shell: ModuleType) -> Any:
    """The shell's module ``__getattr__`` (PEP 562): the first time a missing name other than a
    dunder (``__all__`` excepted) is asked for, the package's real ``__init__`` runs in it, and
    the name is looked up again."""
    done = False

    def __getattr__(attribute: str) -> Any:
        nonlocal done
        wanted = attribute == "__all__" or not attribute.startswith("__")
        with _LOCK:
            if done or not wanted:
                raise AttributeError(f"module {shell.__name__!r} has no attribute {attribute!r}")
            done = True
            assert shell.__spec__ is not None and shell.__spec__.loader is not None
            shell.__spec__.loader.exec_module(shell)
        return getattr(shell, attribute)

    return __getattr__
