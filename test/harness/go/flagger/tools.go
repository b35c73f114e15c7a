//go:build tools

// Package tools pins the Flagger command the benchmarks build (npm run bench -- delivery): the
// side-by-side anchor for the operator, never a test or package dependency.
package tools

import _ "github.com/fluxcd/flagger/cmd/flagger"
