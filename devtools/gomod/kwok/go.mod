// Wrapper module for kwok (fake nodes and kubelets): a module of our own pins the version and
// lets the build tool treat every component alike.
module todo-platform/devtools/gomod/kwok

go 1.26.0

tool sigs.k8s.io/kwok/cmd/kwok

require sigs.k8s.io/kwok v0.8.0
