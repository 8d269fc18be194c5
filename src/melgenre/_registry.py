"""Components by name: how a saved bundle names a loader or featurizer class.

Like Keras' ``register_keras_serializable``: melgenre's own classes are
registered as ``"melgenre>AudioLoader"``, ``"melgenre>MelFeaturizer"``; a
user's subclass registers itself with ::

    @melgenre.register_component(package="my_pkg")
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class PCENFeaturizer(melgenre.MelFeaturizer):
        ...

and is saved as ``"my_pkg>PCENFeaturizer"``. Loading a bundle that names a
class nobody registered fails with a message saying which module to import.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from melgenre._config import Component
from melgenre.errors import ConfigError, MelgenreTypeError

__all__ = [
    "deserialize_component",
    "get_registered_class",
    "get_registered_name",
    "import_components",
    "register_component",
    "serialize_component",
    "source_hash",
]

_T = TypeVar("_T", bound=type[Component])

_BY_NAME: dict[str, type[Component]] = {}
_BY_CLASS: dict[type[Component], str] = {}


def register_component(package: str = "Custom", name: str | None = None) -> Callable[[_T], _T]:
    """Class decorator: make a :class:`~melgenre.Component` subclass loadable by name.

    Parameters
    ----------
    package : str, default="Custom"
        A namespace, usually your package's name.
    name : str, optional
        The name within the package; default: the class name.

    Examples
    --------
    >>> import dataclasses, melgenre
    >>> @melgenre.register_component(package="docs")
    ... @dataclasses.dataclass(frozen=True, kw_only=True)
    ... class QuietLoader(melgenre.AudioLoader):
    ...     pass
    >>> melgenre.get_registered_name(QuietLoader)
    'docs>QuietLoader'
    """
    if not isinstance(package, str) or not package or ">" in package:
        raise ConfigError(
            f"register_component(package=...) must be a non-empty str without '>'. "
            f"Got {package!r} instead.",
            parameter="package",
            value=package,
        )

    def decorate(cls: _T) -> _T:
        if not (isinstance(cls, type) and issubclass(cls, Component)):
            raise MelgenreTypeError(
                f"register_component decorates melgenre Component classes (AudioLoader, "
                f"MelFeaturizer and their subclasses); got {cls!r}."
            )
        key = f"{package}>{name or cls.__name__}"
        previous = _BY_NAME.get(key)
        if previous is not None and previous is not cls:
            # Re-registering the same name (e.g. a module reloaded in a notebook) replaces it.
            _BY_CLASS.pop(previous, None)
        _BY_NAME[key] = cls
        _BY_CLASS[cls] = key
        return cls

    return decorate


def get_registered_name(obj_or_cls: Any) -> str:
    """The registered name of a component (or its class).

    Raises
    ------
    ConfigError
        The class is not registered: the message says how to register it.
    """
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    try:
        return _BY_CLASS[cls]
    except KeyError:
        raise ConfigError(
            f"{cls.__module__}.{cls.__qualname__} is not registered, so a bundle could not "
            f"name it. Decorate it with @melgenre.register_component(package='your_package').",
            parameter="class",
            value=cls.__qualname__,
        ) from None


def get_registered_class(name: str) -> type[Component]:
    """The class registered under ``name``.

    Raises
    ------
    ConfigError
        Nothing is registered under ``name``.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        package = name.split(">", 1)[0] if ">" in name else "?"
        raise ConfigError(
            f"Unknown component {name!r}: import the module that defines it (package "
            f"{package!r}, registered with @melgenre.register_component) before "
            "Predictor.load() (on the command line: melgenre --import MODULE ...). "
            f"Known: {sorted(_BY_NAME)}.",
            parameter="class_name",
            value=name,
        ) from None


def serialize_component(component: Component) -> dict[str, Any]:
    """``{"class_name": <registered name>, "config": component.get_config()}``."""
    return {"class_name": get_registered_name(component), "config": component.get_config()}


def deserialize_component(spec: Any) -> Component:
    """Rebuild a component from :func:`serialize_component`'s output."""
    if not isinstance(spec, dict) or "class_name" not in spec or "config" not in spec:
        raise ConfigError(
            f"A component spec must be {{'class_name': ..., 'config': {{...}}}}; got {spec!r}.",
            value=spec,
        )
    cls = get_registered_class(str(spec["class_name"]))
    return cls.from_config(spec["config"])


_SOURCE_HASHES: dict[type, str] = {}
logger = logging.getLogger(__name__)


def source_hash(cls: type) -> str:
    """A hash of the source of ``cls``'s classes defined outside melgenre ("" for none).

    What the feature cache adds to its key for a class of yours, so that editing its
    code misses the cache. A class whose source cannot be read (defined in an
    interactive session) counts by its name alone. Computed once per class object.
    """
    known = _SOURCE_HASHES.get(cls)  # two threads at once at worst compute it twice
    if known is not None:
        return known
    sources = []
    for klass in cls.__mro__:
        module = klass.__module__
        if module in ("builtins", "melgenre") or module.startswith("melgenre."):
            continue
        try:
            sources.append(inspect.getsource(klass))
        except (OSError, TypeError):
            logger.debug("No source for %s: cached features are keyed by its name", klass)
    digest = hashlib.blake2b("\n".join(sources).encode(), digest_size=8).hexdigest()
    _SOURCE_HASHES[cls] = digest if sources else ""
    return _SOURCE_HASHES[cls]


def import_components(name: str) -> None:
    """Import a module of the user's that registers components (``melgenre --import``).

    ``name`` is a dotted name or a ``.py`` file. The file's folder, or else the current
    directory, goes first on ``sys.path``, so that worker processes find the module by
    name too.

    Raises
    ------
    ConfigError
        No such file, or the import failed (the module's own error is in the message).
    """
    import importlib

    path = Path(name)
    if name.endswith(".py") or path.is_file():
        if not path.is_file():
            raise ConfigError(f"--import {name!r}: no such file.", parameter="import", value=name)
        folder, dotted = str(path.resolve().parent), path.stem
    else:
        folder, dotted = os.getcwd(), name
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        importlib.import_module(dotted)
    except Exception as exc:  # the user's module: any error it raises is theirs to read
        raise ConfigError(
            f"--import {name!r} failed: {type(exc).__name__}: {exc}",
            parameter="import",
            value=name,
        ) from exc
