"""Redis hash backend plugin for Skick: ``Skick(dict_type="redis://host:6379/0")``.

Registered in the ``skick.hashes`` entry-point group for ``redis://`` and ``rediss://``;
Skick loads it by URL scheme, so applications rarely import this module.
"""

from .__about__ import __version__
from ._backend import DEFAULT_PREFIX, RedisHashBackend, RedisHashError, RedisHashTable

__all__ = [
    "DEFAULT_PREFIX",
    "RedisHashBackend",
    "RedisHashError",
    "RedisHashTable",
    "__version__",
]
