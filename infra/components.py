"""What every component of infra/ shares: the ``(name, args, opts)`` convention's options.

A component is called as ``Component(name, args, opts)``: ``args`` a frozen dataclass of what
it builds, ``opts`` the caller's :class:`pulumi.ResourceOptions`, whose ``depends_on`` says what
the component comes after. Its children are created with :func:`child_opts`, so each of them
waits for that too (Pulumi does not pass a component's ``depends_on`` on to its children).
:class:`Component` is that convention once: a subclass names its type and builds its children.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import pulumi

ArgsT = TypeVar("ArgsT")
# What a component registers as its outputs (``register_outputs``).
Outputs = Mapping[str, Any]


def waits_for(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """The resources ``opts`` says a component comes after (its ``depends_on``)."""
    depends_on = opts.depends_on if opts is not None else None
    if depends_on is None:
        return []
    if isinstance(depends_on, pulumi.Resource):
        return [depends_on]
    resources = list(depends_on) if isinstance(depends_on, Sequence) else [depends_on]
    if not all(isinstance(resource, pulumi.Resource) for resource in resources):
        # An Output of resources would be known only later; the children are created now.
        raise TypeError("a component's depends_on must list resources, not Outputs of them")
    return [resource for resource in resources if isinstance(resource, pulumi.Resource)]


def child_opts(
    parent: pulumi.Resource,
    provider: pulumi.ProviderResource | None = None,
    depends_on: Sequence[pulumi.Resource] = (),
    *,
    slow: str | None = None,
) -> pulumi.ResourceOptions:
    """Options of a child resource: parented, on ``provider`` (else the parent's), after
    ``depends_on``; ``slow`` (e.g. ``"20m"``) is how long its create or update may take."""
    timeouts = pulumi.CustomTimeouts(create=slow, update=slow) if slow else None
    return pulumi.ResourceOptions(
        parent=parent, provider=provider, depends_on=list(depends_on), custom_timeouts=timeouts
    )


class Component(pulumi.ComponentResource, Generic[ArgsT], metaclass=ABCMeta):
    """A component of the ``(name, args, opts)`` convention.

    A subclass sets :attr:`TYPE` and creates its children in :meth:`_build`, which returns the
    outputs to register (a component that never registers them shows as still being created).
    """

    # The Pulumi type token (``todo:<layer>:<Name>``). It is part of every child's URN:
    # changing it makes `pulumi up` on an existing stack replace everything below it.
    TYPE: ClassVar[str]

    def __init__(self, name: str, args: ArgsT, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(self.TYPE, name, None, opts)
        self.register_outputs(self._build(name, args, waits_for(opts)))

    @abstractmethod
    def _build(self, name: str, args: ArgsT, after: list[pulumi.Resource]) -> Outputs:
        """Create the children (each after ``after``, the caller's ``depends_on``)."""
