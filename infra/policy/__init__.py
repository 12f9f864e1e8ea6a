"""The policy pack: the security baseline, enforced by
``pulumi preview --policy-pack infra/policy``.

:mod:`infra.policy.checks` holds the checks as pure functions; :mod:`infra.policy.pack` wraps
them as ``pulumi_policy`` policies; ``__main__.py`` serves them as a pack.
"""
