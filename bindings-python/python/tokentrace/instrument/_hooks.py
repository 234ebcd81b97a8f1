"""Patch registry and post-import hook.

Patches are applied to classes (so clients created before `init()` are
traced too) in every target module already imported, and to modules
imported later through a meta-path finder that runs the pending patches
right after a watched module finishes executing. `unpatch_all()` restores
every original attribute.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

#: (module, class path, attribute, factory(original) -> replacement)
Target = Tuple[str, str, str, Callable[[Any], Any]]

_MARK = "__tokentrace_original__"

_lock = threading.RLock()
_targets: List[Target] = []
#: (class, attribute) -> original attribute as found in the class __dict__
_patched: Dict[Tuple[type, str], Any] = {}
_finder: Optional["_PostImportFinder"] = None


def _resolve(module: str, path: str) -> Any:
    obj = sys.modules.get(module)
    if obj is None:
        return None
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _apply(target: Target) -> bool:
    module, cls_path, attr, factory = target
    cls = _resolve(module, cls_path)
    if cls is None or not isinstance(cls, type):
        return False
    key = (cls, attr)
    if key in _patched:
        return True
    raw = cls.__dict__.get(attr)
    if raw is None:
        return False
    if getattr(raw, _MARK, None) is not None:
        return True
    replacement = factory(raw)
    try:
        replacement.__name__ = getattr(raw, "__name__", attr)
        replacement.__qualname__ = getattr(raw, "__qualname__", attr)
        replacement.__doc__ = getattr(raw, "__doc__", None)
        replacement.__wrapped__ = raw
        setattr(replacement, _MARK, raw)
    except (AttributeError, TypeError):
        pass
    setattr(cls, attr, replacement)
    _patched[key] = raw
    return True


def apply_pending() -> None:
    with _lock:
        for t in _targets:
            try:
                _apply(t)
            except Exception:
                pass


def register(targets: Iterable[Target]) -> None:
    with _lock:
        for t in targets:
            if t not in _targets:
                _targets.append(t)


def watched(name: str) -> bool:
    with _lock:
        return any(name == t[0] or name.startswith(t[0] + ".") for t in _targets)


def unpatch_all() -> None:
    with _lock:
        for (cls, attr), raw in list(_patched.items()):
            try:
                setattr(cls, attr, raw)
            except Exception:
                pass
        _patched.clear()
        _targets.clear()
        uninstall_finder()


def is_patched(cls: type, attr: str) -> bool:
    return (cls, attr) in _patched


class _LoaderProxy(importlib.abc.Loader):
    """Delegates to the real loader, then applies pending patches."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: Any) -> Any:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        apply_pending()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class _PostImportFinder(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self._busy = threading.local()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if getattr(self._busy, "on", False) or not watched(fullname):
            return None
        self._busy.on = True
        try:
            for finder in sys.meta_path:
                if finder is self:
                    continue
                find = getattr(finder, "find_spec", None)
                if find is None:
                    continue
                spec = find(fullname, path, target)
                if spec is not None:
                    if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                        spec.loader = _LoaderProxy(spec.loader)
                    return spec
            return None
        finally:
            self._busy.on = False


def install_finder() -> None:
    global _finder
    with _lock:
        if _finder is None:
            _finder = _PostImportFinder()
            sys.meta_path.insert(0, _finder)


def uninstall_finder() -> None:
    global _finder
    with _lock:
        if _finder is not None:
            try:
                sys.meta_path.remove(_finder)
            except ValueError:
                pass
            _finder = None


def instrument(targets: Iterable[Target]) -> None:
    register(targets)
    install_finder()
    apply_pending()

