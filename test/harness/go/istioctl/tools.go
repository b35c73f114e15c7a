//go:build tools

// Package tools pins istioctl (Istio 1.30.3) for the test harness.
package tools

import _ "istio.io/istio/istioctl/cmd/istioctl"
