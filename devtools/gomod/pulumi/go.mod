// Wrapper module for the Pulumi CLI: github.com/pulumi/pulumi/pkg/v3 replaces the SDK with a
// relative path and the clipboard module with a fork; the same replace lines, pointing at
// served versions, make it buildable outside the pulumi repository.
module todo-platform/devtools/gomod/pulumi

go 1.26.6

tool github.com/pulumi/pulumi/pkg/v3/cmd/pulumi

require github.com/pulumi/pulumi/pkg/v3 v3.274.1

replace github.com/pulumi/pulumi/sdk/v3 => github.com/pulumi/pulumi/sdk/v3 v3.274.1

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
