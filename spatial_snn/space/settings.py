"""Tables of settings: every key of a parameter dataclass with its default, unit, bounds and meaning.

A frozen parameter dataclass declares each key with :func:`setting`, which
puts a :class:`Key` in the field's metadata; the field's default is the
key's default. That one declaration is read three ways, so a key is
described in one place only:

* validation: :func:`check` (called from ``__post_init__``) tests every
  key's bounds and choices and raises one ``ValueError`` naming the key, what
  was expected and what was given; checks that relate two keys stay in the
  dataclass;
* size limits: ``Key.limit`` is an upper bound that a scenario may lift with
  ``allow_large = true`` (:data:`spatial_snn.runs.scenarios.LIMITS` is made
  from it);
* documentation: :func:`keys_of` lists the table, :func:`document` appends it
  to the class docstring, and ``python -m spatial_snn.runs.scenario_doc``
  writes ``docs/scenarios.md`` from the tables of every scenario section.

The module is in the lowest layer (it imports nothing of the package) so that
the dataclasses of every layer can declare their keys with it; higher layers
read those tables, never the reverse.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from numbers import Integral, Real

__all__ = ["Key", "check", "document", "keys_of", "setting"]

_META = "spatial_snn.key"


@dataclass(frozen=True)
class Key:
    """One key of a settings table (its default is the dataclass field's).

    Parameters
    ----------
    meaning : str
        What the key does, one or two sentences.
    unit : str
        Unit of the value ("" for none), e.g. ``"s"``, ``"1/s"``, ``"episodes"``.
    low, high : float or None
        Bounds of a number (None: unbounded on that side); a number must be finite.
    low_open, high_open : bool
        Whether ``low`` / ``high`` are excluded.
    integer : bool
        The value is an integer.
    choices : tuple or None
        The allowed values (strings), instead of bounds.
    limit : int or None
        An upper bound that ``allow_large = true`` lifts (a size: a typo must
        not start a run that never ends); checked by the scenario, not here.
    """

    meaning: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    choices: tuple | None = None
    limit: int | None = None

    def expected(self) -> str:
        """What a valid value is, in words (the middle of an error message)."""
        if self.choices is not None:
            return f"one of {self.choices}"
        kind = "an integer" if self.integer else "a value"
        if self.low is not None and self.high is not None:
            if self.integer and not (self.low_open or self.high_open):
                return f"an integer in {_num(self.low)}..{_num(self.high)}"
            return (
                f"{kind} in {'(' if self.low_open else '['}{_num(self.low)}, "
                f"{_num(self.high)}{')' if self.high_open else ']'}"
            )
        if self.low is not None:
            return f"{kind if self.integer else 'a finite value'} {'>' if self.low_open else '>='} {_num(self.low)}"
        if self.high is not None:
            return f"{kind if self.integer else 'a finite value'} {'<' if self.high_open else '<='} {_num(self.high)}"
        return "a number" if not self.integer else "an integer"

    def bounds(self) -> str:
        """The bounds in mathematical notation ("" if none), e.g. ``[0, 1]``, ``>= 1``, ``one of a, b``."""
        if self.choices is not None:
            return "one of " + ", ".join(f"`{c}`" for c in self.choices)
        text = self.expected().removeprefix("an integer").removeprefix("a finite value").removeprefix("a value")
        text = text.strip().removeprefix("in ")
        return "" if text in ("", "a number") else text

    def admits(self, value) -> bool:
        """Whether ``value`` lies within the bounds and choices (None is checked by the caller)."""
        if self.choices is not None:
            return value in self.choices
        if self.low is None and self.high is None and not self.integer:
            return True
        if isinstance(value, bool) or not isinstance(value, Real):
            return False
        if self.integer and not isinstance(value, Integral):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (self.high is not None and (value >= self.high if self.high_open else value > self.high))


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def setting(default, meaning: str, unit: str = "", *, factory=None, **bounds):
    """A dataclass field with its :class:`Key`: ``x: int = setting(10, "what it does", "episodes", low=1)``.

    ``factory`` makes a mutable default (e.g. ``dict``) instead of ``default``.
    """
    meta = {_META: Key(meaning, unit, **bounds)}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def key_of(f: dataclasses.Field) -> Key | None:
    """The :class:`Key` of a dataclass field, None if it was not declared with :func:`setting`."""
    return f.metadata.get(_META)


def keys_of(cls) -> list[tuple[str, object, Key]]:
    """``(name, default, Key)`` of every field of ``cls`` declared with :func:`setting`, in order."""
    out = []
    for f in dataclasses.fields(cls):
        key = key_of(f)
        if key is None:
            continue
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default
        out.append((f.name, default, key))
    return out


def check(obj, prefix: str) -> None:
    """Check every declared key of ``obj`` against its bounds and choices.

    A key whose default is None may be None. Raises one ``ValueError``
    ``"{prefix}.{name}: expected ..., got ..."`` for the first key out of bounds.
    """
    for name, default, key in keys_of(type(obj)):
        value = getattr(obj, name)
        if value is None and default is None:
            continue
        if not key.admits(value):
            none = " or none" if default is None else ""
            raise ValueError(f"{prefix}.{name}: expected {key.expected()}{none}, got {value!r}")


def document(cls):
    """Class decorator: append the table of keys to the class docstring (for ``help()``)."""
    lines = ["", "Keys (defaults; bounds; :mod:`spatial_snn.space.settings`)", "-" * 59]
    for name, default, key in keys_of(cls):
        unit = f", {key.unit}" if key.unit else ""
        bounds = f"; {key.bounds()}" if key.bounds() else ""
        lines += [f"{name} : default {default!r}{unit}{bounds}", f"    {key.meaning}"]
    doc = (cls.__doc__ or "").rstrip()
    rest = [line for line in doc.splitlines()[1:] if line.strip()]
    indent = min((len(line) - len(line.lstrip()) for line in rest), default=0) * " "
    cls.__doc__ = doc + "\n" + "\n".join(indent + line if line else line for line in lines) + "\n"
    return cls
