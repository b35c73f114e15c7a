package oracle

// The oracle speaks JSON lines: one request per stdin line, one answer per stdout line. It reads
// requests only when run as `oracle -test.run '^TestOracle$'` with CDK8S_MESH_ORACLE=1, so that
// `go test` of this module alone never waits on stdin.
//
// Request: {"id": "…", "kube": "<Services, Pods, EndpointSlices as YAML>",
//           "config": "<Istio objects as YAML>", "calls": [Call…]}
// Answer:  {"id": "…", "results": [Result…]} or {"id": "…", "error": "…"}

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	rbachttp "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/pkg/simulation"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pilot/test/xdstest"
	istiolog "istio.io/istio/pkg/log"
)

// Proxy is the Envoy a call is made from (outbound, gateway) or to (inbound).
type Proxy struct {
	// "sidecar" or "router" (an ingress gateway).
	Type      string            `json:"type"`
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	IP        string            `json:"ip"`
	Labels    map[string]string `json:"labels"`
}

// Call is one request as the simulation sends it.
type Call struct {
	Proxy Proxy `json:"proxy"`
	// "outbound" (iptables to 15001), "inbound" (to 15006) or "gateway".
	Mode    string            `json:"mode"`
	Address string            `json:"address"`
	Port    int               `json:"port"`
	Host    string            `json:"host"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	// "plaintext", "tls" or "mtls".
	TLS string `json:"tls"`
}

type WeightedCluster struct {
	Name   string `json:"name"`
	Weight uint32 `json:"weight"`
}

type Fault struct {
	DelayMs      *int64   `json:"delayMs,omitempty"`
	DelayPercent *float64 `json:"delayPercent,omitempty"`
	AbortStatus  *uint32  `json:"abortStatus,omitempty"`
	AbortPercent *float64 `json:"abortPercent,omitempty"`
}

type Retry struct {
	Attempts      uint32 `json:"attempts"`
	PerTryTimeout *int64 `json:"perTryTimeoutMs,omitempty"`
	RetryOn       string `json:"retryOn"`
}

type Mirror struct {
	Cluster string  `json:"cluster"`
	Percent float64 `json:"percent"`
}

type RbacPolicies struct {
	// "ALLOW", "DENY", "LOG"; a shadow (dry-run) filter is not listed.
	Action   string   `json:"action"`
	Policies []string `json:"policies"`
}

type Result struct {
	Error       string            `json:"error,omitempty"`
	Listener    string            `json:"listener,omitempty"`
	FilterChain string            `json:"filterChain,omitempty"`
	RouteConfig string            `json:"routeConfig,omitempty"`
	VirtualHost string            `json:"virtualHost,omitempty"`
	Route       string            `json:"route,omitempty"`
	RouteIndex  int               `json:"routeIndex"`
	Config      string            `json:"config,omitempty"`
	Clusters    []WeightedCluster `json:"clusters,omitempty"`
	Fault       *Fault            `json:"fault,omitempty"`
	TimeoutMs   *int64            `json:"timeoutMs,omitempty"`
	Retry       *Retry            `json:"retry,omitempty"`
	Mirrors     []Mirror          `json:"mirrors,omitempty"`
	Redirect    string            `json:"redirect,omitempty"`
	Direct      uint32            `json:"directResponse,omitempty"`
	Rbac        []RbacPolicies    `json:"rbac,omitempty"`
}

type Request struct {
	ID     string `json:"id"`
	Kube   string `json:"kube"`
	Config string `json:"config"`
	Calls  []Call `json:"calls"`
}

type Answer struct {
	ID      string   `json:"id"`
	Results []Result `json:"results,omitempty"`
	Error   string   `json:"error,omitempty"`
}

func TestOracle(t *testing.T) {
	if os.Getenv("CDK8S_MESH_ORACLE") != "1" {
		t.Skip("the oracle answers requests on stdin only with CDK8S_MESH_ORACLE=1")
	}
	for _, s := range istiolog.Scopes() {
		s.SetOutputLevel(istiolog.NoneLevel)
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, `{"ready":true}`)
	out.Flush()
	n := 0
	for in.Scan() {
		var req Request
		var ans Answer
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			ans = Answer{Error: "request is not JSON: " + err.Error()}
		} else {
			ans = Answer{ID: req.ID}
			n++
			// A subtest per mesh: a Fatal inside Istio's helpers ends only this mesh, and its
			// Cleanup stops the fake discovery server before the next one starts.
			ok := t.Run(fmt.Sprintf("mesh-%d", n), func(t *testing.T) {
				ans.Results = answer(t, req)
			})
			if !ok && ans.Results == nil {
				ans.Error = "Istio's config generation failed for this mesh (see the oracle's stdout)"
			}
		}
		b, _ := json.Marshal(ans)
		// Keep answers on their own lines, apart from anything the testing package prints.
		fmt.Fprintf(out, "\n%s\n", b)
		out.Flush()
	}
}

func answer(t *testing.T, req Request) []Result {
	configs, _, err := crd.ParseInputs(req.Config)
	if err != nil {
		t.Fatalf("reading the Istio objects: %v", err)
	}
	// As the Kubernetes config store does: short hosts resolve to <name>.<namespace>.svc.<domain>.
	for i := range configs {
		configs[i].Domain = "cluster.local"
	}
	s := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{
		KubernetesObjectString: req.Kube,
		Configs:                configs,
	})
	sims := map[string]*simulation.Simulation{}
	proxies := map[string]*model.Proxy{}
	results := make([]Result, 0, len(req.Calls))
	for _, c := range req.Calls {
		key := c.Proxy.Type + "/" + c.Proxy.Namespace + "/" + c.Proxy.Name + "/" + c.Proxy.IP
		sim := sims[key]
		if sim == nil {
			p := &model.Proxy{
				ID:              c.Proxy.Name + "." + c.Proxy.Namespace,
				IPAddresses:     []string{c.Proxy.IP},
				ConfigNamespace: c.Proxy.Namespace,
				Labels:          c.Proxy.Labels,
				Metadata:        &model.NodeMetadata{Labels: c.Proxy.Labels, Namespace: c.Proxy.Namespace},
			}
			if c.Proxy.Type == "router" {
				p.Type = model.Router
			}
			proxies[key] = s.SetupProxy(p)
			sim = simulation.NewSimulation(t, s, proxies[key])
			sims[key] = sim
		}
		results = append(results, run(t, sim, c))
	}
	return results
}

func run(t *testing.T, sim *simulation.Simulation, c Call) Result {
	headers := http.Header{}
	for k, v := range c.Headers {
		headers.Set(k, v)
	}
	mode := simulation.CallModeOutbound
	switch c.Mode {
	case "inbound":
		mode = simulation.CallModeInbound
	case "gateway":
		mode = simulation.CallModeGateway
	}
	tlsMode := simulation.Plaintext
	switch c.TLS {
	case "tls":
		tlsMode = simulation.TLS
	case "mtls":
		tlsMode = simulation.MTLS
	}
	path := c.Path
	if path == "" {
		path = "/"
	}
	call := simulation.Call{
		Address:    c.Address,
		Port:       c.Port,
		Path:       path,
		Protocol:   simulation.HTTP,
		TLS:        tlsMode,
		HostHeader: c.Host,
		Headers:    headers,
		CallMode:   mode,
	}
	r := sim.Run(call)
	res := Result{
		Listener:    r.ListenerMatched,
		FilterChain: r.FilterChainMatched,
		RouteConfig: r.RouteConfigMatched,
		VirtualHost: r.VirtualHostMatched,
		RouteIndex:  -1,
	}
	// The simulation matches routes by path only; everything past the virtual host is read here
	// from the generated route, matched as Envoy matches (path, headers, query parameters).
	if r.Error != nil && r.Error != simulation.ErrNoRoute {
		res.Error = r.Error.Error()
	}
	if mode == simulation.CallModeInbound {
		// Inbound: whether the filter chain accepts the connection, and the RBAC it enforces.
		if r.Error == nil {
			res.Rbac = rbacOf(t, sim, c, call)
		}
		return res
	}
	if res.Error != "" || r.VirtualHostMatched == "" {
		if res.Error == "" && r.ClusterMatched != "" {
			res.Clusters = []WeightedCluster{{Name: r.ClusterMatched, Weight: 100}}
		}
		return res
	}
	vh := virtualHost(sim, r.RouteConfigMatched, r.VirtualHostMatched)
	if vh == nil {
		res.Error = "virtual host " + r.VirtualHostMatched + " not found in route config " + r.RouteConfigMatched
		return res
	}
	method := c.Method
	if method == "" {
		method = "GET"
	}
	idx := matchRoute(vh, method, path, c.Host, headers)
	if idx < 0 {
		res.Error = simulation.ErrNoRoute.Error()
		return res
	}
	rt := vh.Routes[idx]
	res.RouteIndex = idx
	res.Route = rt.Name
	if md := rt.GetMetadata().GetFilterMetadata()["istio"]; md != nil {
		res.Config = md.GetFields()["config"].GetStringValue()
	}
	switch a := rt.Action.(type) {
	case *route.Route_Route:
		if cl := a.Route.GetCluster(); cl != "" {
			res.Clusters = []WeightedCluster{{Name: cl, Weight: 100}}
		}
		for _, wc := range a.Route.GetWeightedClusters().GetClusters() {
			res.Clusters = append(res.Clusters, WeightedCluster{Name: wc.Name, Weight: wc.GetWeight().GetValue()})
		}
		res.TimeoutMs = ms(a.Route.Timeout)
		if rp := a.Route.RetryPolicy; rp != nil {
			res.Retry = &Retry{Attempts: rp.GetNumRetries().GetValue(), PerTryTimeout: ms(rp.PerTryTimeout), RetryOn: rp.RetryOn}
		}
		for _, m := range a.Route.RequestMirrorPolicies {
			res.Mirrors = append(res.Mirrors, Mirror{Cluster: m.Cluster, Percent: fraction(m.GetRuntimeFraction().GetDefaultValue())})
		}
	case *route.Route_Redirect:
		res.Redirect = fmt.Sprintf("%v", a.Redirect)
	case *route.Route_DirectResponse:
		res.Direct = a.DirectResponse.Status
	}
	if any := rt.TypedPerFilterConfig["envoy.filters.http.fault"]; any != nil {
		f := &faultv3.HTTPFault{}
		if err := any.UnmarshalTo(f); err == nil {
			out := &Fault{}
			if d := f.Delay; d != nil {
				out.DelayMs = ms(d.GetFixedDelay())
				p := faultFraction(d.Percentage)
				out.DelayPercent = &p
			}
			if a := f.Abort; a != nil {
				st := a.GetHttpStatus()
				out.AbortStatus = &st
				p := faultFraction(a.Percentage)
				out.AbortPercent = &p
			}
			res.Fault = out
		}
	}
	return res
}

func ms(d *durationpb.Duration) *int64 {
	if d == nil {
		return nil
	}
	v := d.AsDuration().Milliseconds()
	return &v
}

// fraction is an Envoy FractionalPercent as a percentage.
func fraction(p *typev3.FractionalPercent) float64 {
	if p == nil {
		return 100
	}
	switch p.Denominator {
	case typev3.FractionalPercent_TEN_THOUSAND:
		return float64(p.Numerator) / 100
	case typev3.FractionalPercent_MILLION:
		return float64(p.Numerator) / 10000
	}
	return float64(p.Numerator)
}

// faultFraction is a fault's percentage: Envoy reads an unset one as 0 (numerator 0).
func faultFraction(p *typev3.FractionalPercent) float64 {
	if p == nil {
		return 0
	}
	return fraction(p)
}

func virtualHost(sim *simulation.Simulation, rc, vh string) *route.VirtualHost {
	cfg := xdstest.ExtractRouteConfigurations(sim.Routes)[rc]
	for _, v := range cfg.GetVirtualHosts() {
		if v.Name == vh {
			return v
		}
	}
	return nil
}

// matchRoute is Envoy's route matching: the first route whose path, headers and query
// parameters all match. Regexes are RE2 (Go's regexp) over the whole value, as Envoy's safe_regex.
func matchRoute(vh *route.VirtualHost, method, rawPath, host string, headers http.Header) int {
	path, query, _ := strings.Cut(rawPath, "?")
	q, _ := url.ParseQuery(query)
	for i, r := range vh.Routes {
		m := r.Match
		ok := true
		switch pt := m.GetPathSpecifier().(type) {
		case *route.RouteMatch_Prefix:
			ok = hasPrefix(path, pt.Prefix, m.GetCaseSensitive())
		case *route.RouteMatch_PathSeparatedPrefix:
			ok = path == pt.PathSeparatedPrefix || strings.HasPrefix(path, strings.TrimSuffix(pt.PathSeparatedPrefix, "/")+"/")
		case *route.RouteMatch_Path:
			ok = eq(path, pt.Path, m.GetCaseSensitive())
		case *route.RouteMatch_SafeRegex:
			ok = fullRegex(pt.SafeRegex.GetRegex(), path)
		}
		for _, h := range m.Headers {
			if !ok {
				break
			}
			var val *string
			switch strings.ToLower(h.Name) {
			case ":method":
				val = &method
			case ":authority", "host":
				val = &host
			case ":path":
				val = &rawPath
			default:
				if vs, found := headers[http.CanonicalHeaderKey(h.Name)]; found {
					v := strings.Join(vs, ",")
					val = &v
				}
			}
			ok = headerMatches(h, val)
		}
		for _, qp := range m.QueryParameters {
			if !ok {
				break
			}
			vs, found := q[qp.Name]
			switch {
			case qp.GetPresentMatch():
				ok = found
			case qp.GetStringMatch() != nil:
				ok = found && stringMatches(qp.GetStringMatch(), vs[0])
			default:
				ok = found
			}
		}
		if ok && m.RuntimeFraction != nil {
			// A runtime fraction under 100% is a probabilistic match; Istio uses none for HTTP routes.
			ok = fraction(m.RuntimeFraction.GetDefaultValue()) >= 100
		}
		if ok {
			return i
		}
	}
	return -1
}

func hasPrefix(s, p string, cs *wrapperspb.BoolValue) bool {
	if cs != nil && !cs.GetValue() {
		return strings.HasPrefix(strings.ToLower(s), strings.ToLower(p))
	}
	return strings.HasPrefix(s, p)
}

func eq(s, p string, cs *wrapperspb.BoolValue) bool {
	if cs != nil && !cs.GetValue() {
		return strings.EqualFold(s, p)
	}
	return s == p
}

func fullRegex(re, v string) bool {
	r, err := regexp.Compile("^(?:" + re + ")$")
	return err == nil && r.MatchString(v)
}

func headerMatches(h *route.HeaderMatcher, val *string) bool {
	var ok bool
	switch {
	case h.GetPresentMatch():
		ok = val != nil
	case h.GetStringMatch() != nil:
		ok = val != nil && stringMatches(h.GetStringMatch(), *val)
	case h.GetExactMatch() != "":
		ok = val != nil && *val == h.GetExactMatch()
	case h.GetPrefixMatch() != "":
		ok = val != nil && strings.HasPrefix(*val, h.GetPrefixMatch())
	case h.GetSafeRegexMatch() != nil:
		ok = val != nil && fullRegex(h.GetSafeRegexMatch().GetRegex(), *val)
	default:
		ok = val != nil
	}
	if h.InvertMatch {
		// Envoy: an inverted matcher also matches a missing header unless treat_missing… is set.
		if val == nil {
			return !h.TreatMissingHeaderAsEmpty || !ok
		}
		return !ok
	}
	return ok
}

func stringMatches(m *matcher.StringMatcher, v string) bool {
	if m.IgnoreCase {
		v = strings.ToLower(v)
	}
	low := func(s string) string {
		if m.IgnoreCase {
			return strings.ToLower(s)
		}
		return s
	}
	switch p := m.MatchPattern.(type) {
	case *matcher.StringMatcher_Exact:
		return v == low(p.Exact)
	case *matcher.StringMatcher_Prefix:
		return strings.HasPrefix(v, low(p.Prefix))
	case *matcher.StringMatcher_Suffix:
		return strings.HasSuffix(v, low(p.Suffix))
	case *matcher.StringMatcher_Contains:
		return strings.Contains(v, low(p.Contains))
	case *matcher.StringMatcher_SafeRegex:
		return fullRegex(p.SafeRegex.GetRegex(), v)
	}
	return false
}

// rbacOf lists the RBAC policies of the inbound filter chain the call matched: the policies Istio
// generated from the AuthorizationPolicies that apply to this workload, by action.
func rbacOf(t *testing.T, sim *simulation.Simulation, c Call, call simulation.Call) []RbacPolicies {
	l := xdstest.ExtractListener(model.VirtualInboundListenerName, sim.Listeners)
	if l == nil {
		return nil
	}
	r := sim.Run(call)
	var out []RbacPolicies
	for _, fc := range l.FilterChains {
		if fc.Name != r.FilterChainMatched {
			continue
		}
		h := xdstest.ExtractHTTPConnectionManager(t, fc)
		if h == nil {
			continue
		}
		out = append(out, rbacFilters(h)...)
		break
	}
	return out
}

func rbacFilters(h *hcm.HttpConnectionManager) []RbacPolicies {
	var out []RbacPolicies
	for _, f := range h.HttpFilters {
		if f.Name != "envoy.filters.http.rbac" {
			continue
		}
		cfg := &rbachttp.RBAC{}
		if err := f.GetTypedConfig().UnmarshalTo(cfg); err != nil || cfg.Rules == nil {
			continue
		}
		names := make([]string, 0, len(cfg.Rules.Policies))
		for n := range cfg.Rules.Policies {
			names = append(names, n)
		}
		sort.Strings(names)
		out = append(out, RbacPolicies{Action: cfg.Rules.Action.String(), Policies: names})
	}
	return out
}
