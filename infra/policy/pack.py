"""The checks of :mod:`infra.policy.checks` as mandatory ``pulumi_policy`` policies.

Building the policy objects here is side-effect free; only ``PolicyPack(...)`` (in
``__main__.py``) starts the analyzer's gRPC server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.policy import checks

PACK_NAME: Final = "todo-platform-baseline"

ResourceValidation = Callable[[ResourceValidationArgs, ReportViolation], None]

DESCRIPTIONS: Final[dict[str, str]] = {
    "pods-run-as-non-root": "Containers run as a non-root user.",
    "read-only-root-filesystem": "Containers have a read-only root filesystem.",
    "no-privilege-escalation": "No privilege escalation, not privileged, all capabilities dropped.",
    "resource-requests-and-limits": "Containers request and limit CPU and memory.",
    "no-latest-images": "Images are pinned to a tag other than latest, or to a digest.",
    "no-plaintext-secrets-in-env": "Secret-looking env vars come from Secrets, not literals.",
    "dapr-annotations-on-app-workloads": "App workloads carry the Dapr sidecar annotations.",
    "network-policy-present": "Namespaces with app workloads have a default-deny NetworkPolicy.",
}


def resource_validation(check: checks.ResourceCheck) -> ResourceValidation:
    """Adapt a pure check to the policy callback signature."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in check(args.resource_type, args.props):
            report_violation(message, None)

    return validate


def validate_network_policies(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    resources = [(r.resource_type, r.props) for r in args.resources]
    for message in checks.check_network_policies(resources):
        report_violation(message, None)


def policies() -> list[Policy]:
    mandatory = EnforcementLevel.MANDATORY
    found: list[Policy] = [
        ResourceValidationPolicy(
            name=name,
            description=DESCRIPTIONS[name],
            validate=resource_validation(check),
            enforcement_level=mandatory,
        )
        for name, check in checks.RESOURCE_CHECKS.items()
    ]
    found.append(
        StackValidationPolicy(
            name="network-policy-present",
            description=DESCRIPTIONS["network-policy-present"],
            validate=validate_network_policies,
            enforcement_level=mandatory,
        )
    )
    return found
