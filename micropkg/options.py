"""What a resolution is asked to do, beside where it reads from: :class:`Options`.

One object for the choices ``install()`` and ``resolve()`` pass to the
resolver (deps, pre-releases, reinstall, keep_going, constraints,
only_binary), made once per call beside its :class:`~micropkg.session.Session`.
"""

from __future__ import annotations

from collections.abc import Iterable

from .value import Value

__all__ = ["Options"]


class Options(Value):
    """What a resolution is asked to do, beside where it reads from. Immutable by convention."""

    __slots__ = ("deps", "pre", "reinstall", "keep_going", "constraints", "only_binary")

    def __init__(
        self,
        deps: bool = True,
        pre: bool = False,
        reinstall: bool = False,
        keep_going: bool = False,
        constraints: tuple[str, ...] = (),
        # pip's --only-binary :all:: sdists are never candidates (nothing is built).
        only_binary: bool = False,
    ) -> None:
        self.deps = deps
        self.pre = pre
        self.reinstall = reinstall
        self.keep_going = keep_going
        self.constraints = constraints
        self.only_binary = only_binary

    def as_dict(self) -> dict[str, object]:
        """The options by name, in the order of the parameters (the tree cache's key hashes them)."""
        return {
            "deps": self.deps, "pre": self.pre, "reinstall": self.reinstall, "keep_going": self.keep_going,
            "constraints": self.constraints, "only_binary": self.only_binary,
        }

    def with_requirements_file(self, constraints: Iterable[str], pre: bool) -> Options:
        """These options with a requirements file's constraints added and its ``--pre`` applied."""
        return Options(
            self.deps, self.pre or pre, self.reinstall, self.keep_going, (*self.constraints, *constraints), self.only_binary,
        )
