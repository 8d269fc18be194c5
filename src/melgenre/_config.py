"""The configuration protocol every melgenre component follows.

A component is a frozen, keyword-only dataclass: its fields *are* its
parameters, stored unchanged under their own names (scikit-learn's
``BaseEstimator`` rule), validated in ``__post_init__`` and never rewritten.
That gives, for free and consistently:

* ``get_config()``: the JSON-safe ``__init__`` arguments (Keras' convention);
* ``from_config(config)``: ``cls(**config)``, with a clear error when it fails;
* equality and hashing by class and parameters, and a readable ``repr``.

Subclasses that add parameters are declared the same way::

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class PCENFeaturizer(MelFeaturizer):
        gain: float = 0.98

and inherit ``get_config``/``from_config`` unchanged.
"""

from __future__ import annotations

import dataclasses
import json
import numbers
from typing import Any, TypeVar

from melgenre.errors import ConfigError, MelgenreError

__all__ = ["Component"]

_C = TypeVar("_C", bound="Component")


def _json_safe(name: str, value: Any) -> Any:
    """Return ``value`` as plain JSON types (numpy scalars become Python ones)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_json_safe(name, v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(name, v) for k, v in value.items()}
    raise ConfigError(
        f"The {name!r} parameter holds a {type(value).__name__}, which cannot be stored in "
        "a JSON config. Subclasses must keep parameters to numbers, strings, booleans, "
        "None, lists and dicts of those.",
        parameter=name,
        value=value,
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Component:
    """Base class of configurable melgenre components.

    Examples
    --------
    >>> import dataclasses
    >>> from melgenre import AudioLoader
    >>> loader = AudioLoader(sample_rate=16000)
    >>> config = loader.get_config()
    >>> config["sample_rate"]
    16000
    >>> AudioLoader.from_config(config) == loader
    True
    """

    def get_config(self) -> dict[str, Any]:
        """Return the parameters of this component as a JSON-safe dict.

        ``type(self).from_config(self.get_config())`` rebuilds an equal
        component.

        Returns
        -------
        config : dict
            One entry per ``__init__`` parameter, by name.
        """
        return {
            field.name: _json_safe(field.name, getattr(self, field.name))
            for field in dataclasses.fields(self)
            if field.init
        }

    @classmethod
    def from_config(cls: type[_C], config: dict[str, Any]) -> _C:
        """Rebuild a component from the output of :meth:`get_config`.

        Parameters
        ----------
        config : dict
            Parameters by name.

        Returns
        -------
        component : instance of ``cls``

        Raises
        ------
        ConfigError
            If ``config`` is not a dict, names unknown parameters, or holds an
            invalid value.
        """
        if not isinstance(config, dict):
            raise ConfigError(
                f"Error when deserializing class {cls.__name__!r}: expected a dict config, "
                f"got {type(config).__name__}.",
                value=config,
            )
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ConfigError(
                f"Error when deserializing class {cls.__name__!r} using config={config}: "
                f"unknown parameter(s) {unknown}. Expected some of {sorted(known)}.",
                parameter=unknown[0],
                value=config,
            )
        try:
            return cls(**config)
        except MelgenreError as exc:
            raise ConfigError(
                f"Error when deserializing class {cls.__name__!r} using config={config}: {exc}",
                parameter=getattr(exc, "parameter", None),
                value=config,
            ) from exc

    def to_json(self) -> str:
        """Return :meth:`get_config` as a JSON string (keys sorted)."""
        return json.dumps(self.get_config(), sort_keys=True)
