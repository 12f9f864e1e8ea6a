// Wrapper module for the Kubernetes provider plugin (pulumi-resource-kubernetes 4.25.0). The
// provider's main package embeds two JSON files that the module zip lacks, so the build tool
// copies that package here and runs its generate.go beside it; the provider module replaces
// its SDK with ../sdk, pinned here at a served version that compiles with its pulumi/pkg/v3.
module todo-platform/devtools/gomod/pulumi-kubernetes

go 1.26.0

require github.com/pulumi/pulumi-kubernetes/provider/v4 v4.0.0-20260115033456-f47bc2d6f199

replace github.com/pulumi/pulumi-kubernetes/sdk/v4 => github.com/pulumi/pulumi-kubernetes/sdk/v4 v4.22.2
