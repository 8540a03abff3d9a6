package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"mediarec/internal/natsbus/natstest"
)

// This file checks k8s/monitoring against the services: every metric that
// the alert rules and the dashboard query is exported, with every label
// and label value they use, by a running server after traffic.

// monitoringDir is k8s/monitoring, from this package's directory.
const monitoringDir = "../../k8s/monitoring"

// externalMetrics are queried by the monitoring but exported by others:
// kube-state-metrics' restart counter.
var externalMetrics = map[string]bool{"kube_pod_container_status_restarts_total": true}

// targetLabels are the labels Prometheus attaches to every series it
// scrapes through a ServiceMonitor; the services export none of them.
var targetLabels = map[string]bool{
	"namespace": true, "service": true, "pod": true, "container": true,
	"endpoint": true, "job": true, "instance": true,
}

// monitoring is what kustomize renders of k8s/monitoring: the PromQL of
// the alert rules and of the dashboard's panels and variables.
type monitoring struct {
	rules     map[string]string // alert → expression
	dashboard []string          // expressions and variable queries
	kinds     []string
}

func renderMonitoring(t *testing.T) monitoring {
	t.Helper()
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), monitoringDir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", monitoringDir, err)
	}
	mon := monitoring{rules: map[string]string{}}
	for _, r := range resMap.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		var obj struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
			Data map[string]string `json:"data"`
			Spec struct {
				Groups []struct {
					Rules []struct {
						Alert string `json:"alert"`
						Expr  string `json:"expr"`
					} `json:"rules"`
				} `json:"groups"`
				Endpoints []struct {
					Port string `json:"port"`
					Path string `json:"path"`
				} `json:"endpoints"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(y, &obj); err != nil {
			t.Fatalf("%s: %v", r.CurId(), err)
		}
		if obj.APIVersion != "v1" && obj.APIVersion != "monitoring.coreos.com/v1" {
			t.Fatalf("%s: apiVersion %s", r.CurId(), obj.APIVersion)
		}
		mon.kinds = append(mon.kinds, obj.Kind)
		switch obj.Kind {
		case "PrometheusRule":
			for _, g := range obj.Spec.Groups {
				for _, rule := range g.Rules {
					mon.rules[rule.Alert] = rule.Expr
				}
			}
		case "ServiceMonitor":
			if len(obj.Spec.Endpoints) != 1 || obj.Spec.Endpoints[0].Port != "http" || obj.Spec.Endpoints[0].Path != "/metrics" {
				t.Fatalf("ServiceMonitor endpoints %+v, want port http, path /metrics", obj.Spec.Endpoints)
			}
		case "ConfigMap":
			if obj.Metadata.Labels["grafana_dashboard"] != "1" {
				t.Fatalf("dashboard ConfigMap labels %v lack grafana_dashboard", obj.Metadata.Labels)
			}
			var dash any
			if err := json.Unmarshal([]byte(obj.Data["grafana-dashboard.json"]), &dash); err != nil {
				t.Fatalf("dashboard JSON: %v", err)
			}
			collectQueries(dash, &mon.dashboard)
		}
	}
	slices.Sort(mon.kinds)
	if want := []string{"ConfigMap", "PrometheusRule", "ServiceMonitor"}; !slices.Equal(mon.kinds, want) {
		t.Fatalf("k8s/monitoring renders %v, want %v", mon.kinds, want)
	}
	return mon
}

// collectQueries gathers the PromQL of a Grafana dashboard: every "expr",
// and every variable query that uses label_values.
func collectQueries(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if s, ok := v[k].(string); ok && (k == "expr" || strings.Contains(s, "label_values(")) {
				*out = append(*out, s)
				continue
			}
			collectQueries(v[k], out)
		}
	case []any:
		for _, e := range v {
			collectQueries(e, out)
		}
	}
}

var (
	// The services' metrics and the external ones start with these.
	metricRef    = regexp.MustCompile(`\b((?:mediarec|http|process|go|kube)_[a-zA-Z0-9_:]*)\s*(\{[^}]*\})?`)
	labelMatcher = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
	grouping     = regexp.MustCompile(`\b(?:by|without|on|ignoring)\s*\(([^)]*)\)`)
	labelValues  = regexp.MustCompile(`label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)`)
)

// need is what one expression asks of one metric: labels, and label values
// it matches exactly.
type need struct {
	labels map[string]bool
	values map[string]string
}

// needs reads what expr asks of each metric it names. A grouping label
// (by, on…) is asked of every metric of the expression.
func needs(expr string) map[string]need {
	out := map[string]need{}
	get := func(metric string) need {
		n, ok := out[metric]
		if !ok {
			n = need{labels: map[string]bool{}, values: map[string]string{}}
			out[metric] = n
		}
		return n
	}
	for _, m := range labelValues.FindAllStringSubmatch(expr, -1) {
		get(m[1]).labels[m[2]] = true
	}
	for _, m := range metricRef.FindAllStringSubmatch(expr, -1) {
		n := get(m[1])
		for _, lm := range labelMatcher.FindAllStringSubmatch(m[2], -1) {
			n.labels[lm[1]] = true
			if lm[2] == "=" && !strings.Contains(lm[3], "$") { // a dashboard variable is no fixed value
				n.values[lm[1]] = lm[3]
			}
		}
	}
	for _, g := range grouping.FindAllStringSubmatch(expr, -1) {
		for l := range strings.SplitSeq(g[1], ",") {
			if l = strings.TrimSpace(l); l != "" {
				for metric := range out {
					out[metric].labels[l] = true
				}
			}
		}
	}
	return out
}

// exported is what the services' /metrics hold: per series name (a
// histogram's _bucket, _sum and _count included), the label sets.
type exported map[string][]map[string]string

func (e exported) add(families map[string]*dto.MetricFamily) {
	for name, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if f.GetType() != dto.MetricType_HISTOGRAM {
				e[name] = append(e[name], labels)
				continue
			}
			e[name+"_sum"] = append(e[name+"_sum"], labels)
			e[name+"_count"] = append(e[name+"_count"], labels)
			for _, b := range m.GetHistogram().GetBucket() {
				bl := maps.Clone(labels)
				bl["le"] = fmt.Sprint(b.GetUpperBound())
				e[name+"_bucket"] = append(e[name+"_bucket"], bl)
			}
		}
	}
}

// check returns what of n the series of metric lack.
func (e exported) check(metric string, n need) error {
	series, ok := e[metric]
	if !ok {
		return fmt.Errorf("%s is not exported", metric)
	}
	for l := range n.labels {
		if targetLabels[l] {
			continue
		}
		if !slices.ContainsFunc(series, func(s map[string]string) bool { _, ok := s[l]; return ok }) {
			return fmt.Errorf("%s has no label %s (series: %v)", metric, l, series)
		}
	}
	for l, v := range n.values {
		if targetLabels[l] {
			continue
		}
		if !slices.ContainsFunc(series, func(s map[string]string) bool { return s[l] == v }) {
			return fmt.Errorf("%s has no series with %s=%q (series: %v)", metric, l, v, series)
		}
	}
	return nil
}

// scrape reads a service's /metrics.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s/metrics: %d %s", base, res.StatusCode, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parse %s/metrics: %v", base, err)
	}
	return families
}

// makeTraffic drives what the dashboard shows through base: items created
// and embedded, a user who registers, gets a cold start, sets tags, likes
// (twice: the users' item cache answers the second), gets recommendations
// from the content path (twice: the tag vectors are cached the second
// time), searches and asks for similar items.
func makeTraffic(t *testing.T, base string) {
	t.Helper()
	var lines strings.Builder
	for i, it := range []struct{ typ, title, tags string }{
		{"movie", "Voyage to the Stars", `"space","astronauts"`},
		{"documentary", "Astronauts at Work", `"space","astronauts"`},
		{"book", "Letters from Orbit", `"space"`},
		{"podcast", "Baking Hour", `"cooking"`},
	} {
		fmt.Fprintf(&lines, `{"external_id":"m-%d","type":%q,"title":%q,"tags":[%s]}`+"\n", i, it.typ, it.title, it.tags)
	}
	postItems(t, base, lines.String(), 4, 0)
	waitEmbedded(t, base, 4, time.Minute)
	first := findItem(t, base, "Voyage")

	var reg struct{ Token string }
	if st := call(t, "POST", base+"/v1/auth/register", "", `{"email":"watcher@example.com","password":"long enough","display_name":"W"}`, &reg); st != 201 {
		t.Fatalf("register: %d", st)
	}
	if st := call(t, "GET", base+"/v1/recommendations?limit=3", reg.Token, "", nil); st != 200 {
		t.Fatalf("cold start: %d", st)
	}
	if st := call(t, "PUT", base+"/v1/me/preferences", reg.Token, `{"tags":["space"],"media_types":[]}`, nil); st != 200 {
		t.Fatalf("preferences: %d", st)
	}
	for range 2 {
		if st := call(t, "POST", base+"/v1/me/feedback", reg.Token, fmt.Sprintf(`{"item_id":%d,"kind":"like"}`, first), nil); st != 201 && st != 200 {
			t.Fatalf("like: %d", st)
		}
	}
	// Recommendations follow the like once recs has read its event.
	natstest.CheckFor(t, 30*time.Second, func() error {
		var page recsAnswer
		if st := call(t, "GET", base+"/v1/recommendations?limit=3", reg.Token, "", &page); st != 200 {
			return fmt.Errorf("recommendations: %d", st)
		}
		if len(page.Items) == 0 || page.Items[0].Reason.Kind == "popular" {
			return fmt.Errorf("recommendations still a cold start: %+v", page)
		}
		return nil
	})
	for _, path := range []string{
		"/v1/search?q=" + url.QueryEscape("a documentary about astronauts"),
		fmt.Sprintf("/v1/items/%d/similar", first),
		"/v1/items/999999", // a 404
	} {
		if st := call(t, "GET", base+path, "", "", nil); st != 200 && st != 404 {
			t.Fatalf("GET %s: %d", path, st)
		}
	}
}

// TestMonitoringMetricsExported runs the services all in one process and
// apart (as Kubernetes runs them), makes traffic, scrapes each service's
// /metrics and checks that every metric k8s/monitoring's alerts and
// dashboard query is exported by one of them with the labels and label
// values the queries use.
func TestMonitoringMetricsExported(t *testing.T) {
	mon := renderMonitoring(t)
	if len(mon.rules) < 5 || len(mon.dashboard) < 10 {
		t.Fatalf("%d alert rules and %d dashboard queries rendered", len(mon.rules), len(mon.dashboard))
	}
	for _, alert := range []string{"MediarecHighErrorRate", "MediarecHighLatency", "MediarecEmbedLag", "MediarecEmbeddingsFailing", "MediarecPodRestarting"} {
		if mon.rules[alert] == "" {
			t.Fatalf("no alert %s in %v", alert, slices.Sorted(maps.Keys(mon.rules)))
		}
	}
	queries := slices.Concat(slices.Sorted(maps.Values(mon.rules)), mon.dashboard)

	deployments := []struct {
		name  string
		start func(t *testing.T) (front string, services []string)
	}{
		{"all in one", func(t *testing.T) (string, []string) {
			m := MustRunMain(t, nil)
			return m.URL(), []string{m.URL()}
		}},
		{"apart", startApart},
	}
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			front, services := d.start(t)
			makeTraffic(t, front)
			got := exported{}
			for _, s := range services {
				got.add(scrape(t, s))
			}
			for _, q := range queries {
				for metric, n := range needs(q) {
					if externalMetrics[metric] {
						continue
					}
					if err := got.check(metric, n); err != nil {
						t.Errorf("%s\n  in %s", err, strings.Join(strings.Fields(q), " "))
					}
				}
			}
		})
	}
}

// startApart runs the five services as separate servers of this process
// on one NATS server, each with its own data dir, registry and /metrics,
// and returns web's URL and every service's.
func startApart(t *testing.T) (string, []string) {
	t.Helper()
	ns := mustRunNATS(t, -1, t.TempDir())
	bus := map[string]string{"NATS_URL": ns.URL(), "NATS_NAMESPACE": "apart"}
	with := func(extra map[string]string) map[string]string {
		env := maps.Clone(bus)
		maps.Copy(env, extra)
		return env
	}
	cat := mustRunCommand(t, "catalog", bus, io.Discard)
	users := mustRunCommand(t, "users", with(map[string]string{"CATALOG_URL": cat.URL()}), io.Discard)
	worker := mustRunCommand(t, "embed-worker", bus, io.Discard)
	rec := mustRunCommand(t, "recs", with(map[string]string{"USERS_URL": users.URL()}), io.Discard)
	web := mustRunCommand(t, "web", with(map[string]string{"CATALOG_URL": cat.URL(), "USERS_URL": users.URL(), "RECS_URL": rec.URL()}), io.Discard)
	all := []*Main{cat, users, worker, rec, web}
	natstest.CheckFor(t, time.Minute, func() error {
		for _, m := range all {
			if code, body := httpGet(m.URL()+"/readyz", ""); code != http.StatusOK {
				return fmt.Errorf("%s /readyz: %d %s", m.name, code, body)
			}
		}
		return nil
	})
	urls := make([]string, len(all))
	for i, m := range all {
		urls[i] = m.URL()
	}
	return web.URL(), urls
}

// TestMonitoringQueries checks the reading of PromQL the test above relies
// on.
func TestMonitoringQueries(t *testing.T) {
	tests := []struct {
		name, expr string
		want       map[string]need
	}{
		{
			"matchers and grouping",
			`sum by (namespace, service) (rate(http_requests_total{status=~"5.."}[5m])) / sum by (namespace, service) (rate(http_requests_total[5m]))`,
			map[string]need{"http_requests_total": {labels: map[string]bool{"status": true, "namespace": true, "service": true}, values: map[string]string{}}},
		},
		{
			"exact value and histogram",
			`histogram_quantile(0.99, sum by (store, le) (rate(mediarec_ann_search_seconds_bucket{namespace="$namespace", store="local"}[5m])))`,
			map[string]need{"mediarec_ann_search_seconds_bucket": {labels: map[string]bool{"store": true, "le": true, "namespace": true}, values: map[string]string{"store": "local"}}},
		},
		{
			"variable query",
			`label_values(http_requests_total, namespace)`,
			map[string]need{"http_requests_total": {labels: map[string]bool{"namespace": true}, values: map[string]string{}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := needs(tt.expr)
			if len(got) != len(tt.want) {
				t.Fatalf("needs = %+v, want %+v", got, tt.want)
			}
			for metric, w := range tt.want {
				g := got[metric]
				if !maps.Equal(g.labels, w.labels) || !maps.Equal(g.values, w.values) {
					t.Fatalf("%s: needs %+v, want %+v", metric, g, w)
				}
			}
		})
	}
}
