//go:build tools

// Package tools pins the module graph of operator-sdk and of opm, the operator-registry release
// operator-sdk v1.42.2 itself requires: `npm run bundle -- validate` (olm-bundle/tools/operator-sdk.ts)
// builds both from this module with `go build -mod=readonly`, so go.mod and go.sum fix every module
// they are built from. docs/adr/0010-olm-bundle-validation-with-operator-sdk.md explains why.
package tools

import (
	_ "github.com/operator-framework/operator-registry/cmd/opm"
	_ "github.com/operator-framework/operator-sdk/cmd/operator-sdk"
)
