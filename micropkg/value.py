"""Equality, hashing and a dataclass-style repr for plain classes, written once.

What an install imports holds no dataclass: ``@dataclass`` generates the source
of its methods and compiles it with ``exec`` when the class is created, ~1.5 ms
per class in a fresh Pyodide 314. :class:`Value`'s methods are ordinary
functions, shared by every class that uses them; each class keeps its own
``__init__`` (hot: some are built thousands of times).

A class's fields are its ``__slots__``, in order (the order of its
constructor's parameters, which its repr shows: keep the two alike), or the
names in a class attribute ``_fields`` when some slots are not fields (a cache,
a handle). Equality is a dataclass's: same class, equal fields.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, ClassVar

__all__ = ["MutableValue", "Value"]


def _no_fields(_: object) -> tuple[()]:
    return ()


class Value:
    """Equal when of the same class with equal fields; hashed over the fields. Immutable by
    convention: a class whose fields change is a :class:`MutableValue`."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    # The fields' values, by operator.attrgetter (made once per class, in C): a tuple,
    # or the bare value when there is one field. A staticmethod, so that it is not bound.
    _values: ClassVar[staticmethod[[Any], Any]] = staticmethod(_no_fields)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_fields" not in cls.__dict__:
            slots = cls.__dict__.get("__slots__", ())
            cls._fields = (slots,) if isinstance(slots, str) else tuple(slots)
        cls._values = staticmethod(attrgetter(*cls._fields) if cls._fields else _no_fields)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        values = self._values
        return values(self) == values(other)

    def __hash__(self) -> int:
        return hash(self._values(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({shown})"


class MutableValue(Value):
    """A :class:`Value` whose fields may change: equality as a Value's, and unhashable, as a
    class that defines ``__eq__`` without ``__hash__`` is."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]
