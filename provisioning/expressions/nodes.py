"""The expression tree: small immutable nodes that keep where they came from in the text.

Positions are 0-based character offsets into the expression; ``end`` is exclusive. They are what
error messages and the portal's editor use to underline the offending part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


# The leaves of the tree: a name or a value, and where it stands in the text.
@dataclass(frozen=True, slots=True)
class _Named:
    name: str
    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class _Valued:
    value: object
    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class Attribute(_Named):
    """``[name]``: a source attribute, looked up case-insensitively."""


@dataclass(frozen=True, slots=True)
class String(_Valued):
    """``"text"`` with the backslash escapes already resolved."""

    value: str


@dataclass(frozen=True, slots=True)
class Number(_Valued):
    """Decimal (``12``, ``-10``, ``1.5``) or VB hex (``&HF``) literal."""

    value: int | float


@dataclass(frozen=True, slots=True)
class Boolean(_Valued):
    """The bare words ``True`` and ``False``."""

    value: bool


@dataclass(frozen=True, slots=True)
class Keyword(_Named):
    """A bare VB constant such as ``vbTextCompare`` (InStr's compare type)."""


@dataclass(frozen=True, slots=True)
class Empty:
    """A skipped optional argument: the gap in ``Replace([x], "a", , , "b", , )``."""

    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class Call:
    """``Name(arg, ...)``; ``depth`` is the nesting depth of calls below and including this one."""

    name: str
    args: tuple[Node, ...]
    pos: int
    end: int
    depth: int = 1

    @property
    def name_end(self) -> int:
        return self.pos + len(self.name)


@dataclass(frozen=True, slots=True)
class Comparison:
    """``left op right`` with op one of ``= <> < <= > >=`` (IIF / CBool conditions only)."""

    op: str
    left: Node
    right: Node
    pos: int
    end: int
    op_pos: int
    depth: int = 1


Node = Union[Attribute, String, Number, Boolean, Keyword, Empty, Call, Comparison]  # noqa: UP007

LITERALS = (String, Number, Boolean, Keyword)


def depth_of(node: Node) -> int:
    return node.depth if isinstance(node, Call | Comparison) else 0


def walk(node: Node):
    """Every node of the tree, parents first (iterative: trees can be a few hundred deep)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, Call):
            stack.extend(reversed(current.args))
        elif isinstance(current, Comparison):
            stack.extend((current.right, current.left))
