// Package oracle answers, for a set of Kubernetes and Istio objects and a list of calls, what
// Istio 1.30's own config generation programs into Envoy for each call. It is built as a test
// binary (`go test -c`) because Istio's fake discovery server (pilot/test/xds) and traffic
// simulation (pilot/pkg/simulation) take a *testing.T; see oracle_test.go for the protocol.
package oracle
