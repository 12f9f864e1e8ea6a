// Wrapper module for the etcd server: go.etcd.io/etcd/server/v3 has `replace` lines to its
// sibling modules, so it cannot be built with `go install module@version`; requiring it from a
// module of our own resolves those siblings at the versions its go.mod names.
module todo-platform/devtools/gomod/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 v3.6.17
