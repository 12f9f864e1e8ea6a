"""Oracle Kubernetes Engine: network, basic cluster, Arm node pool and OCIR repositories.

Laid out after Oracle's reference topology "public API endpoint, private workers, public load
balancers" with the flannel overlay, sized so the defaults stay inside the always-free tier
(4 Ampere A1 OCPUs and 24 GB in total, a basic cluster, free gateways).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

import pulumi
import pulumi_oci as oci

from infra.app_names import APP_IMAGES
from infra.cloud.base import Allocatable, CloudCluster, NodePoolSpec, RegistryAccess
from infra.cloud.ingress_service import IngressService
from infra.cloud.kubeconfig import with_oci_profile
from infra.cloud.shapes import NodeArch
from infra.components import Component, Outputs, child_opts

# Per node: kube-proxy, flannel, the OCI block-volume CSI node plugin and proxymux.
SYSTEM_DAEMONS: Final = Allocatable(cpu_millicores=150, memory_mib=250)
STORAGE_CLASS: Final = "oci-bv"
# OCI block volumes are 50 GB to 32 TB; the CSI driver provisions a smaller claim at 50 GB
# (https://docs.oracle.com/iaas/Content/ContEng/Tasks/contengcreatingpersistentvolumeclaim_topic-Provisioning_PVCs_on_BV.htm).
MIN_VOLUME_GB: Final = 50
# The OCI cloud controller creates a fixed 100 Mbps load balancer unless a Service asks for the
# flexible shape; Always Free covers one flexible load balancer at 10 Mbps (the minimum).
# Annotations: https://docs.oracle.com/iaas/Content/ContEng/Tasks/contengcreatingloadbalancers-subtopic.htm
# ("Specifying Flexible Load Balancer Shapes"); bounds: ShapeDetails.minimumBandwidthInMbps,
# "between 10 and the maximumBandwidthInMbps" (OCI Load Balancing API).
LB_BANDWIDTH_MBPS: Final = 10
INGRESS_SERVICE: Final = IngressService(
    annotations={
        "oci.oraclecloud.com/load-balancer-type": "lb",
        "service.beta.kubernetes.io/oci-load-balancer-shape": "flexible",
        "service.beta.kubernetes.io/oci-load-balancer-shape-flex-min": str(LB_BANDWIDTH_MBPS),
        "service.beta.kubernetes.io/oci-load-balancer-shape-flex-max": str(LB_BANDWIDTH_MBPS),
    }
)

TCP: Final = "6"
ICMP: Final = "1"
ALL: Final = "all"
ANYWHERE: Final = "0.0.0.0/0"
NODE_PORTS: Final = (30000, 32767)
KUBE_PROXY_HEALTH: Final = 10256
API_PORT: Final = 6443
CONTROL_PLANE_PORT: Final = 12250  # workers to the OKE control plane (proxymux)

_RuleArgs = TypeVar("_RuleArgs")


class OkeLookupError(LookupError):
    """An OCI catalogue lookup (node image, service gateway target) found nothing usable."""


@dataclass(frozen=True)
class OkeNetworkLayout:
    """Address plan of the VCN; pods and services live on the flannel overlay."""

    vcn_cidr: str = "10.0.0.0/16"
    api_cidr: str = "10.0.0.0/28"
    nodes_cidr: str = "10.0.10.0/24"
    lbs_cidr: str = "10.0.20.0/24"
    pods_cidr: str = "10.244.0.0/16"
    services_cidr: str = "10.96.0.0/16"


@dataclass(frozen=True)
class SecurityRule:
    """One stateful security-list rule; ``peer`` is a CIDR or the service gateway's target."""

    description: str
    peer: str
    protocol: str
    ports: tuple[int, int] | None = None
    icmp: tuple[int, int] | None = None
    service_peer: bool = False


@dataclass(frozen=True)
class SecurityRules:
    ingress: tuple[SecurityRule, ...]
    egress: tuple[SecurityRule, ...]


# ICMP type 3 code 4 ("fragmentation needed") keeps path-MTU discovery working.
_PATH_MTU: Final = (3, 4)


def api_endpoint_rules(
    layout: OkeNetworkLayout, allowed_cidrs: Sequence[str], services_cidr: str
) -> SecurityRules:
    """The Kubernetes API endpoint subnet: operators and workers in, workers and OCI out."""
    operators = tuple(
        SecurityRule(f"kubectl and Pulumi from {cidr}", cidr, TCP, (API_PORT, API_PORT))
        for cidr in allowed_cidrs
    )
    return SecurityRules(
        ingress=(
            *operators,
            SecurityRule("workers to the API", layout.nodes_cidr, TCP, (API_PORT, API_PORT)),
            SecurityRule(
                "workers to the control plane",
                layout.nodes_cidr,
                TCP,
                (CONTROL_PLANE_PORT, CONTROL_PLANE_PORT),
            ),
            SecurityRule("path MTU discovery", layout.nodes_cidr, ICMP, icmp=_PATH_MTU),
        ),
        egress=(
            SecurityRule(
                "control plane to OCI services", services_cidr, TCP, (443, 443), None, True
            ),
            SecurityRule("control plane to the workers", layout.nodes_cidr, TCP),
            SecurityRule("path MTU discovery", layout.nodes_cidr, ICMP, icmp=_PATH_MTU),
        ),
    )


def node_rules(layout: OkeNetworkLayout, services_cidr: str) -> SecurityRules:
    """The worker subnet: pod traffic between nodes, the control plane and the load balancers."""
    return SecurityRules(
        ingress=(
            SecurityRule("pods across workers", layout.nodes_cidr, ALL),
            SecurityRule("control plane to the workers", layout.api_cidr, TCP),
            SecurityRule("path MTU discovery", ANYWHERE, ICMP, icmp=_PATH_MTU),
            SecurityRule("load balancers to node ports", layout.lbs_cidr, TCP, NODE_PORTS),
            SecurityRule(
                "load balancer health checks",
                layout.lbs_cidr,
                TCP,
                (KUBE_PROXY_HEALTH, KUBE_PROXY_HEALTH),
            ),
        ),
        egress=(
            SecurityRule("pods across workers", layout.nodes_cidr, ALL),
            SecurityRule("workers to the API", layout.api_cidr, TCP, (API_PORT, API_PORT)),
            SecurityRule(
                "workers to the control plane",
                layout.api_cidr,
                TCP,
                (CONTROL_PLANE_PORT, CONTROL_PLANE_PORT),
            ),
            SecurityRule("path MTU discovery", layout.api_cidr, ICMP, icmp=_PATH_MTU),
            SecurityRule("workers to OCI services (OCIR)", services_cidr, TCP, None, None, True),
            # Images from public registries, ACME, webhooks: out through the NAT gateway.
            SecurityRule("workers to the internet", ANYWHERE, ALL),
        ),
    )


def load_balancer_rules(layout: OkeNetworkLayout) -> SecurityRules:
    """The load-balancer subnet: HTTP(S) from anywhere, on to the workers' node ports."""
    return SecurityRules(
        ingress=(
            SecurityRule("HTTP from anywhere", ANYWHERE, TCP, (80, 80)),
            SecurityRule("HTTPS from anywhere", ANYWHERE, TCP, (443, 443)),
        ),
        egress=(
            SecurityRule("to node ports", layout.nodes_cidr, TCP, NODE_PORTS),
            SecurityRule(
                "health checks", layout.nodes_cidr, TCP, (KUBE_PROXY_HEALTH, KUBE_PROXY_HEALTH)
            ),
        ),
    )


_ALL_SERVICES = re.compile(r"^All .+ Services In Oracle Services Network$")


def all_services(services: Sequence[Any]) -> Any:
    """The "All <region> Services In Oracle Services Network" entry of ``core.get_services``."""
    for service in services:
        if _ALL_SERVICES.match(service.name):
            return service
    raise OkeLookupError("no 'All ... Services In Oracle Services Network' service in this region")


def select_node_image(sources: Sequence[Any], arch: NodeArch, kubernetes_version: str) -> str:
    """Newest OKE Oracle Linux image for the architecture and Kubernetes version.

    Image names look like ``Oracle-Linux-8.10-aarch64-2025.06.17-0-OKE-1.33.1-812``; the date
    in the name sorts newest last. GPU images are never picked for a general-purpose pool.
    """
    version = kubernetes_version.removeprefix("v")
    candidates = [
        source
        for source in sources
        if source.source_type.upper() == "IMAGE"
        and f"OKE-{version}-" in source.source_name
        and "GPU" not in source.source_name
        and ("aarch64" in source.source_name) == (arch == "arm64")
    ]
    if not candidates:
        raise OkeLookupError(
            f"no OKE node image for Kubernetes {kubernetes_version} on {arch}; "
            "pick a kubernetesVersion OKE currently offers "
            "(oci ce node-pool-options get --node-pool-option-id all)"
        )
    return str(max(candidates, key=lambda source: source.source_name).image_id)


@dataclass(frozen=True)
class _RuleArgsTypes(Generic[_RuleArgs]):
    """The SDK's argument types for one direction of security-list rules.

    Ingress and egress rules carry the same fields but for the peer's name (``source`` or
    ``destination``), and each direction has option types of its own.
    """

    rule: Callable[..., _RuleArgs]
    tcp_options: Callable[..., Any]
    icmp_options: Callable[..., Any]
    peer: str


_INGRESS: Final = _RuleArgsTypes(
    oci.core.SecurityListIngressSecurityRuleArgs,
    oci.core.SecurityListIngressSecurityRuleTcpOptionsArgs,
    oci.core.SecurityListIngressSecurityRuleIcmpOptionsArgs,
    "source",
)
_EGRESS: Final = _RuleArgsTypes(
    oci.core.SecurityListEgressSecurityRuleArgs,
    oci.core.SecurityListEgressSecurityRuleTcpOptionsArgs,
    oci.core.SecurityListEgressSecurityRuleIcmpOptionsArgs,
    "destination",
)


def _rule_args(rule: SecurityRule, types: _RuleArgsTypes[_RuleArgs]) -> _RuleArgs:
    """``rule`` as the SDK's stateful security-list rule of ``types``' direction."""
    return types.rule(
        description=rule.description,
        protocol=rule.protocol,
        stateless=False,
        tcp_options=(
            types.tcp_options(min=rule.ports[0], max=rule.ports[1]) if rule.ports else None
        ),
        icmp_options=(
            types.icmp_options(type=rule.icmp[0], code=rule.icmp[1]) if rule.icmp else None
        ),
        **{
            types.peer: rule.peer,
            f"{types.peer}_type": "SERVICE_CIDR_BLOCK" if rule.service_peer else "CIDR_BLOCK",
        },
    )


def _route(
    description: str, gateway_id: pulumi.Input[str], services_cidr: pulumi.Input[str] | None = None
) -> oci.core.RouteTableRouteRuleArgs:
    """A route through a gateway: to anywhere, or with ``services_cidr`` to the OCI services
    the service gateway reaches."""
    return oci.core.RouteTableRouteRuleArgs(
        description=description,
        destination=ANYWHERE if services_cidr is None else services_cidr,
        destination_type="CIDR_BLOCK" if services_cidr is None else "SERVICE_CIDR_BLOCK",
        network_entity_id=gateway_id,
    )


@dataclass(frozen=True)
class OkeNetworkArgs:
    compartment_ocid: str
    api_allowed_cidrs: tuple[str, ...]
    layout: OkeNetworkLayout = OkeNetworkLayout()


class OkeNetwork(Component[OkeNetworkArgs]):
    """VCN with internet, NAT and service gateways, route tables, security lists and subnets."""

    TYPE = "todo:cloud:OkeNetwork"

    vcn_id: pulumi.Output[str]
    api_subnet_id: pulumi.Output[str]
    nodes_subnet_id: pulumi.Output[str]
    lbs_subnet_id: pulumi.Output[str]

    def _build(self, name: str, args: OkeNetworkArgs, after: list[pulumi.Resource]) -> Outputs:
        child = child_opts(self)
        compartment, layout = args.compartment_ocid, args.layout
        vcn = oci.core.Vcn(
            f"{name}-vcn",
            compartment_id=compartment,
            cidr_blocks=[layout.vcn_cidr],
            display_name=f"{name}-vcn",
            dns_label="todovcn",
            opts=child,
        )

        def in_vcn(display_name: str) -> dict[str, Any]:
            """Where each of the VCN's gateways, route tables, security lists and subnets goes."""
            return {
                "compartment_id": compartment,
                "vcn_id": vcn.id,
                "display_name": f"{name}-{display_name}",
                "opts": child,
            }

        internet = oci.core.InternetGateway(f"{name}-igw", enabled=True, **in_vcn("igw"))
        nat = oci.core.NatGateway(f"{name}-nat", **in_vcn("nat"))
        service = oci.core.get_services_output(opts=pulumi.InvokeOptions(parent=self)).apply(
            lambda result: all_services(result.services)
        )
        service_gateway = oci.core.ServiceGateway(
            f"{name}-sgw",
            services=[oci.core.ServiceGatewayServiceArgs(service_id=service.id)],
            **in_vcn("sgw"),
        )
        services_cidr: pulumi.Output[str] = service.cidr_block

        def route_table(
            tier: str, rules: list[oci.core.RouteTableRouteRuleArgs]
        ) -> oci.core.RouteTable:
            return oci.core.RouteTable(f"{name}-{tier}-rt", route_rules=rules, **in_vcn(tier))

        public_routes = route_table(
            "public", [_route("internet through the internet gateway", internet.id)]
        )
        private_routes = route_table(
            "private",
            [
                _route("internet through the NAT gateway", nat.id),
                _route(
                    "OCI services (OCIR, Object Storage) via the service gateway",
                    service_gateway.id,
                    services_cidr,
                ),
            ],
        )

        def security_list(tier: str, rules: pulumi.Output[SecurityRules]) -> oci.core.SecurityList:
            return oci.core.SecurityList(
                f"{name}-{tier}-sl",
                ingress_security_rules=rules.apply(
                    lambda r: [_rule_args(rule, _INGRESS) for rule in r.ingress]
                ),
                egress_security_rules=rules.apply(
                    lambda r: [_rule_args(rule, _EGRESS) for rule in r.egress]
                ),
                **in_vcn(tier),
            )

        api_list = security_list(
            "api",
            services_cidr.apply(
                lambda cidr: api_endpoint_rules(layout, args.api_allowed_cidrs, cidr)
            ),
        )
        nodes_list = security_list(
            "nodes", services_cidr.apply(lambda cidr: node_rules(layout, cidr))
        )
        lbs_list = security_list("lbs", pulumi.Output.from_input(load_balancer_rules(layout)))

        def subnet(
            tier: str,
            cidr: str,
            routes: oci.core.RouteTable,
            rules: oci.core.SecurityList,
            public: bool,
        ) -> oci.core.Subnet:
            return oci.core.Subnet(
                f"{name}-{tier}",
                cidr_block=cidr,
                dns_label=tier,
                prohibit_public_ip_on_vnic=not public,
                route_table_id=routes.id,
                security_list_ids=[rules.id],
                **in_vcn(tier),
            )

        self.vcn_id = vcn.id
        self.api_subnet_id = subnet("api", layout.api_cidr, public_routes, api_list, True).id
        self.nodes_subnet_id = subnet(
            "nodes", layout.nodes_cidr, private_routes, nodes_list, False
        ).id
        self.lbs_subnet_id = subnet("lbs", layout.lbs_cidr, public_routes, lbs_list, True).id
        return {
            "vcnId": self.vcn_id,
            "apiSubnetId": self.api_subnet_id,
            "nodesSubnetId": self.nodes_subnet_id,
            "lbsSubnetId": self.lbs_subnet_id,
        }


@dataclass(frozen=True)
class OcirRegistryArgs:
    compartment_ocid: str
    region: str
    user_ocid: str
    registry_username: str
    images: tuple[str, ...] = APP_IMAGES


class OcirRegistry(Component[OcirRegistryArgs]):
    """A private OCIR repository per image and an auth token the cluster pulls with."""

    TYPE = "todo:cloud:OcirRegistry"

    server: pulumi.Output[str]
    username: pulumi.Output[str]
    password: pulumi.Output[str]

    def _build(self, name: str, args: OcirRegistryArgs, after: list[pulumi.Resource]) -> Outputs:
        namespace = oci.objectstorage.get_namespace_output(
            compartment_id=args.compartment_ocid, opts=pulumi.InvokeOptions(parent=self)
        ).namespace
        repositories = [
            oci.artifacts.ContainerRepository(
                f"{name}-{image}",
                compartment_id=args.compartment_ocid,
                display_name=image,
                is_public=False,
                is_immutable=False,
                opts=child_opts(self),
            )
            for image in args.images
        ]
        token = oci.identity.AuthToken(
            f"{name}-pull-token",
            user_id=args.user_ocid,
            description=f"{name}: image pulls by the cluster",
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["token"]),
        )
        # Repositories live under the tenancy's Object Storage namespace:
        # <region>.ocir.io/<namespace>/<image>.
        # The server resolves only once the repositories exist, so nothing (a push by the
        # program, a pull by the nodes) reaches OCIR first and makes it auto-create a repository
        # in the root compartment.
        created = pulumi.Output.all(*[repository.id for repository in repositories])
        self.server = pulumi.Output.all(
            created, pulumi.Output.concat(args.region, ".ocir.io/", namespace)
        ).apply(lambda values: str(values[1]))
        self.username = pulumi.Output.concat(namespace, "/", args.registry_username)
        self.password = pulumi.Output.secret(token.token.apply(lambda value: value or ""))
        return {"server": self.server, "username": self.username}


@dataclass(frozen=True)
class OkeClusterArgs:
    region: str
    compartment_ocid: str
    user_ocid: str
    registry_username: str
    kubernetes_version: str  # "v1.33.1": OKE takes exact patch versions
    node_pool: NodePoolSpec
    ocpus_per_node: int
    memory_gb_per_node: int
    api_allowed_cidrs: tuple[str, ...]
    # Credentials come from this profile of ~/.oci/config (or the OCI_* environment in CI).
    config_profile: str = "DEFAULT"
    availability_domain: str | None = None  # None: the region's first
    layout: OkeNetworkLayout = OkeNetworkLayout()


class OkeCluster(CloudCluster[OkeClusterArgs]):
    """OKE basic cluster on its own VCN, with a flexible-shape node pool and OCIR."""

    TYPE = "todo:cloud:OkeCluster"

    def _build(self, name: str, args: OkeClusterArgs, after: list[pulumi.Resource]) -> Outputs:
        child, invoke = self._provider_options(
            lambda opts: oci.Provider(
                f"{name}-oci",
                region=args.region,
                config_file_profile=args.config_profile,
                opts=opts,
            )
        )
        network = OkeNetwork(
            f"{name}-network",
            OkeNetworkArgs(args.compartment_ocid, args.api_allowed_cidrs, args.layout),
            opts=child,
        )
        cluster = oci.containerengine.Cluster(
            f"{name}-cluster",
            name=name,
            compartment_id=args.compartment_ocid,
            kubernetes_version=args.kubernetes_version,
            vcn_id=network.vcn_id,
            # Basic clusters carry no control-plane fee; enhanced ones do.
            type="BASIC_CLUSTER",
            endpoint_config={"subnet_id": network.api_subnet_id, "is_public_ip_enabled": True},
            cluster_pod_network_options=[{"cni_type": "FLANNEL_OVERLAY"}],
            options={
                "service_lb_subnet_ids": [network.lbs_subnet_id],
                "kubernetes_network_config": {
                    "pods_cidr": args.layout.pods_cidr,
                    "services_cidr": args.layout.services_cidr,
                },
                "add_ons": {"is_kubernetes_dashboard_enabled": False, "is_tiller_enabled": False},
            },
            opts=child,
        )
        availability_domain: pulumi.Output[str] = (
            pulumi.Output.from_input(args.availability_domain)
            if args.availability_domain
            else oci.identity.get_availability_domains_output(
                compartment_id=args.compartment_ocid, opts=invoke
            ).apply(lambda result: str(result.availability_domains[0].name))
        )
        arch = args.node_pool.size.arch
        image_id = oci.containerengine.get_node_pool_option_output(
            node_pool_option_id="all",
            compartment_id=args.compartment_ocid,
            node_pool_k8s_version=args.kubernetes_version,
            node_pool_os_arch="AARCH64" if arch == "arm64" else "X86_64",
            opts=invoke,
        ).apply(lambda options: select_node_image(options.sources, arch, args.kubernetes_version))
        node_pool = oci.containerengine.NodePool(
            f"{name}-nodes",
            name=f"{name}-nodes",
            cluster_id=cluster.id,
            compartment_id=args.compartment_ocid,
            kubernetes_version=args.kubernetes_version,
            node_shape=args.node_pool.shape,
            node_shape_config={
                "ocpus": args.ocpus_per_node,
                "memory_in_gbs": args.memory_gb_per_node,
            },
            node_source_details={
                "source_type": "IMAGE",
                "image_id": image_id,
                "boot_volume_size_in_gbs": str(args.node_pool.disk_gb),
            },
            node_config_details={
                "size": args.node_pool.count,
                "placement_configs": [
                    {
                        "availability_domain": availability_domain,
                        "subnet_id": network.nodes_subnet_id,
                    }
                ],
                "node_pool_pod_network_option_details": {"cni_type": "FLANNEL_OVERLAY"},
            },
            initial_node_labels=[{"key": "todo-platform/pool", "value": "default"}],
            opts=child,
        )
        registry = OcirRegistry(
            f"{name}-registry",
            OcirRegistryArgs(
                args.compartment_ocid, args.region, args.user_ocid, args.registry_username
            ),
            opts=child,
        )
        # The kubeconfig OKE generates authenticates with `oci ce cluster generate-token`.
        kubeconfig: pulumi.Output[str] = pulumi.Output.secret(
            oci.containerengine.get_cluster_kube_config_output(
                cluster_id=cluster.id,
                endpoint="PUBLIC_ENDPOINT",
                token_version="2.0.0",  # noqa: S106 (the kubeconfig format, not a secret)
                opts=invoke,
            ).content.apply(lambda content: with_oci_profile(content, args.config_profile))
        )
        return self._complete_managed(
            name,
            cluster,
            kubeconfig=kubeconfig,
            pool=args.node_pool,
            system_daemons=SYSTEM_DAEMONS,
            storage_class=STORAGE_CLASS,
            ingress_service=INGRESS_SERVICE,
            registry=RegistryAccess(registry.server, registry.username, registry.password),
            ready=[node_pool],
        )
