"""The expression tree: small immutable nodes that keep where they came from in the text.

Positions are 0-based character offsets into the expression; ``end`` is exclusive. They are what
error messages and the portal's editor use to underline the offending part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True, slots=True)
class Attribute:
    """``[name]``: a source attribute, looked up case-insensitively."""

    name: str
    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class String:
    """``"text"`` with the backslash escapes already resolved."""

    value: str
    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class Number:
    """Decimal (``12``, ``-10``, ``1.5``) or VB hex (``&HF``) literal."""

    value: int | float
    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class Boolean:
    """The bare words ``True`` and ``False``."""

    value: bool
    pos: int
    end: int


@dataclass(frozen=True, slots=True)
class Keyword:
    """A bare VB constant such as ``vbTextCompare`` (InStr's compare type)."""

    name: str
    pos: int
    end: int


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
