"""What the identity running ``pulumi up`` must be allowed to do, per cloud: the built-in roles
(or OCI policy statements) docs/deploy.md lists, and which of the program's resources need more
than the usual "create things" role.

The grants are the trap: Azure's Contributor excludes ``Microsoft.Authorization/*/write`` and
GCP's Editor excludes ``*.setIamPolicy``, so a deployer with only those creates the cluster and
then fails on the role assignment or IAM binding. Neither provider's preview evaluates
permissions (it calls no dry-run API), so the roles are named here, in the docs, and in the
error a test checks the program's grants against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Grant:
    """A resource type that grants access, the permission creating it takes, and the built-in
    role of ours that carries that permission."""

    resource_type: str
    permission: str
    role: str


# https://learn.microsoft.com/azure/role-based-access-control/built-in-roles (Contributor:
# NotActions Microsoft.Authorization/*/Write; Role Based Access Control Administrator:
# Microsoft.Authorization/roleAssignments/write).
AKS_ROLES: Final = ("Contributor", "Role Based Access Control Administrator")
# https://cloud.google.com/iam/docs/understanding-roles (each role's permissions).
GKE_ROLES: Final = (
    "roles/container.admin",
    "roles/compute.networkAdmin",
    "roles/iam.serviceAccountAdmin",
    "roles/iam.serviceAccountUser",
    "roles/artifactregistry.admin",
    "roles/resourcemanager.projectIamAdmin",
)
# OCI has no built-in roles: policy statements for the deployer's group
# (https://docs.oracle.com/iaas/Content/ContEng/Concepts/contengpolicyconfig.htm).
OKE_POLICIES: Final = (
    "manage cluster-family in compartment <c>",
    "manage virtual-network-family in compartment <c>",
    "manage instance-family in compartment <c>",
    "manage repos in compartment <c>",
    "use tag-namespaces in compartment <c>",
    "inspect compartments in tenancy",
    "manage users in tenancy where target.user.id = '<ociUserOcid>'",
)

GRANTS: Final = (
    Grant(
        "azure-native:authorization:RoleAssignment",
        "Microsoft.Authorization/roleAssignments/write",
        "Role Based Access Control Administrator",
    ),
    Grant(
        "gcp:projects/iAMMember:IAMMember",
        "resourcemanager.projects.setIamPolicy",
        "roles/resourcemanager.projectIamAdmin",
    ),
    Grant(
        "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
        "artifactregistry.repositories.setIamPolicy",
        "roles/artifactregistry.admin",
    ),
    Grant(
        "oci:Identity/authToken:AuthToken",
        "manage users (the token's user)",
        "manage users in tenancy where target.user.id = '<ociUserOcid>'",
    ),
)
