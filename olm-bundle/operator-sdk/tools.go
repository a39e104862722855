//go:build tools

// Package tools pins operator-sdk's module graph: `npm run bundle -- validate`
// (olm-bundle/tools/operator-sdk.ts) builds operator-sdk from this module with
// `go build -mod=readonly`, so go.mod and go.sum fix every module it is built from.
// docs/adr/0010-olm-bundle-validation-with-operator-sdk.md explains why.
package tools

import (
	_ "github.com/operator-framework/operator-sdk/cmd/operator-sdk"
)
