"""Cloud foundations: one cluster + registry component per provider (OKE, AKS, GKE, local),
all ending in the same :class:`infra.cloud.base.ClusterOutputs`."""
