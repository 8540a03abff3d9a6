// Package k8s_test validates the Kubernetes manifests offline: it renders
// k8s/overlays/dev and k8s/overlays/prod with kustomize's Go API, decodes
// every object strictly against the Kubernetes API types (an unknown field
// is an error, as it is for `kubectl apply --validate=strict`), and checks
// what the API server does not: probes, resources, security, selectors,
// references, network policies and routes. TestChecksCatchBreakage breaks
// each rule once to show that its check can fail.
package k8s_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/distribution/reference"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// operatorSecret is a Secret that k8s/overlays/prod references but does not
// contain: the operator creates it before the first apply (k8s/README.md).
type operatorSecret struct {
	keys     []string // the keys the manifests read from it
	optional bool     // referenced with optional: true
}

// operatorSecrets lists the Secrets that prod expects to exist. Each is
// named in k8s/README.md (TestOperatorSecretsDocumented).
var operatorSecrets = map[string]operatorSecret{
	"catalog-credentials":      {keys: []string{"CATALOG_DATABASE_URL", "MEDIAREC_ADMIN_TOKEN"}},
	"users-credentials":        {keys: []string{"USERS_DATABASE_URL"}},
	"users-signing-key":        {keys: []string{"ed25519.pem"}},
	"recs-credentials":         {keys: []string{"RECS_DATABASE_URL"}},
	"embed-worker-credentials": {keys: []string{"OPENAI_API_KEY"}, optional: true},
	"postgres-credentials":     {keys: []string{"POSTGRES_PASSWORD"}},
	"mediarec-tls":             {keys: []string{"tls.crt", "tls.key"}},
}

// The recommended labels (STYLE.md): every object carries them, selectors
// use the first two only.
const (
	labelName     = "app.kubernetes.io/name"
	labelInstance = "app.kubernetes.io/instance"
)

var recommendedLabels = []string{labelName, labelInstance, "app.kubernetes.io/component", "app.kubernetes.io/part-of", "app.kubernetes.io/version"}

// depImages pins the dependencies' images, by version.
var depImages = map[string]string{
	"postgres": "postgres:15.10-bookworm",
	"nats":     "nats:2.10.22-alpine",
	"qdrant":   "qdrant/qdrant:v1.15.0",
}

// services are the mediarec services and the port each listens on.
var services = map[string]int32{"web": 8080, "catalog": 8081, "embed-worker": 8082, "users": 8083, "recs": 8084}

// overlays are the rendered targets, relative to this directory.
var overlays = []struct {
	name, dir string
	prod      bool
}{
	{"dev", "overlays/dev", false},
	{"prod", "overlays/prod", true},
}

// unregistered lists the kinds that client-go's scheme does not know and
// that the manifests may use, each with a strict decoder of its own.
var unregistered = map[schema.GroupVersionKind]func([]byte) (metav1.Object, error){
	{Group: "keda.sh", Version: "v1alpha1", Kind: "ScaledObject"}: func(doc []byte) (metav1.Object, error) {
		var so scaledObject
		if err := strictYAML(doc, &so); err != nil {
			return nil, err
		}
		return &so, nil
	},
}

// scaledObject is the part of KEDA's ScaledObject the manifests use;
// decoding rejects any other field, as the strict scheme does.
type scaledObject struct {
	APIVersion        string `json:"apiVersion"`
	Kind              string `json:"kind"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ScaleTargetRef struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Name       string `json:"name"`
		} `json:"scaleTargetRef"`
		MinReplicaCount *int32 `json:"minReplicaCount"`
		MaxReplicaCount *int32 `json:"maxReplicaCount"`
		PollingInterval *int32 `json:"pollingInterval"`
		CooldownPeriod  *int32 `json:"cooldownPeriod"`
		Triggers        []struct {
			Type     string            `json:"type"`
			Metadata map[string]string `json:"metadata"`
		} `json:"triggers"`
	} `json:"spec"`
}

func strictYAML(doc []byte, v any) error {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// bundle is one rendered overlay, decoded.
type bundle struct {
	prod      bool
	namespace string

	namespaces      []*corev1.Namespace
	deployments     []*appsv1.Deployment
	statefulSets    []*appsv1.StatefulSet
	jobs            []*batchv1.Job
	services        []*corev1.Service
	configMaps      []*corev1.ConfigMap
	secrets         []*corev1.Secret
	serviceAccounts []*corev1.ServiceAccount
	pdbs            []*policyv1.PodDisruptionBudget
	hpas            []*autoscalingv2.HorizontalPodAutoscaler
	netpols         []*networkingv1.NetworkPolicy
	ingresses       []*networkingv1.Ingress
	scaledObjects   []*scaledObject
}

// render runs kustomize on dir, as `kubectl apply -k` would, and returns
// one YAML document per object.
func render(dir string) ([][]byte, error) {
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, err
	}
	var docs [][]byte
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.CurId(), err)
		}
		docs = append(docs, y)
	}
	return docs, nil
}

var (
	renderMu sync.Mutex
	rendered = map[string][][]byte{}
)

// renderOnce renders each overlay once per test binary.
func renderOnce(t *testing.T, dir string) [][]byte {
	t.Helper()
	renderMu.Lock()
	defer renderMu.Unlock()
	if docs, ok := rendered[dir]; ok {
		return docs
	}
	docs, err := render(dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	rendered[dir] = docs
	return docs
}

// decode decodes every document strictly; each problem is an error.
func decode(docs [][]byte, prod bool) (*bundle, []string) {
	codec := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme,
		kjson.SerializerOptions{Yaml: true, Strict: true})
	b := &bundle{prod: prod}
	var problems []string
	for _, doc := range docs {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			problems = append(problems, fmt.Sprintf("decode: %v", err))
			continue
		}
		gvk := tm.GroupVersionKind()
		obj, _, err := codec.Decode(doc, nil, nil)
		if runtime.IsNotRegisteredError(err) {
			dec, ok := unregistered[gvk]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: a kind client-go's scheme does not know, and not listed in unregistered", gvk))
				continue
			}
			o, err := dec(doc)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: strict decoding: %v", gvk, err))
				continue
			}
			b.scaledObjects = append(b.scaledObjects, o.(*scaledObject))
			continue
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: strict decoding: %v", gvk, err))
			continue
		}
		switch o := obj.(type) {
		case *corev1.Namespace:
			b.namespaces = append(b.namespaces, o)
		case *appsv1.Deployment:
			b.deployments = append(b.deployments, o)
		case *appsv1.StatefulSet:
			b.statefulSets = append(b.statefulSets, o)
		case *batchv1.Job:
			b.jobs = append(b.jobs, o)
		case *corev1.Service:
			b.services = append(b.services, o)
		case *corev1.ConfigMap:
			b.configMaps = append(b.configMaps, o)
		case *corev1.Secret:
			b.secrets = append(b.secrets, o)
		case *corev1.ServiceAccount:
			b.serviceAccounts = append(b.serviceAccounts, o)
		case *policyv1.PodDisruptionBudget:
			b.pdbs = append(b.pdbs, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			b.hpas = append(b.hpas, o)
		case *networkingv1.NetworkPolicy:
			b.netpols = append(b.netpols, o)
		case *networkingv1.Ingress:
			b.ingresses = append(b.ingresses, o)
		default:
			problems = append(problems, fmt.Sprintf("%s: no check knows this kind: add it to decode and to the rules", gvk))
		}
	}
	for _, o := range b.objects() {
		if o.meta.GetNamespace() != "" {
			b.namespace = o.meta.GetNamespace()
			break
		}
	}
	return b, problems
}

// object is any rendered object, for the checks that apply to all.
type object struct {
	kind string
	meta metav1.Object
}

func (o object) String() string { return o.kind + " " + o.meta.GetName() }

func (b *bundle) objects() []object {
	var out []object
	add := func(kind string, m metav1.Object) { out = append(out, object{kind, m}) }
	for _, o := range b.namespaces {
		add("Namespace", o)
	}
	for _, o := range b.deployments {
		add("Deployment", o)
	}
	for _, o := range b.statefulSets {
		add("StatefulSet", o)
	}
	for _, o := range b.jobs {
		add("Job", o)
	}
	for _, o := range b.services {
		add("Service", o)
	}
	for _, o := range b.configMaps {
		add("ConfigMap", o)
	}
	for _, o := range b.secrets {
		add("Secret", o)
	}
	for _, o := range b.serviceAccounts {
		add("ServiceAccount", o)
	}
	for _, o := range b.pdbs {
		add("PodDisruptionBudget", o)
	}
	for _, o := range b.hpas {
		add("HorizontalPodAutoscaler", o)
	}
	for _, o := range b.netpols {
		add("NetworkPolicy", o)
	}
	for _, o := range b.ingresses {
		add("Ingress", o)
	}
	for _, o := range b.scaledObjects {
		add("ScaledObject", o)
	}
	return out
}

// workload is anything that makes Pods.
type workload struct {
	kind, name string
	selector   *metav1.LabelSelector
	template   *corev1.PodTemplateSpec
}

func (w workload) String() string { return w.kind + " " + w.name }

func (b *bundle) workloads() []workload {
	var out []workload
	for _, d := range b.deployments {
		out = append(out, workload{"Deployment", d.Name, d.Spec.Selector, &d.Spec.Template})
	}
	for _, s := range b.statefulSets {
		out = append(out, workload{"StatefulSet", s.Name, s.Spec.Selector, &s.Spec.Template})
	}
	for _, j := range b.jobs {
		out = append(out, workload{"Job", j.Name, j.Spec.Selector, &j.Spec.Template})
	}
	return out
}

// workloadNamed finds the workload whose Pods are labelled name.
func (b *bundle) workloadNamed(name string) (workload, bool) {
	for _, w := range b.workloads() {
		if w.template.Labels[labelName] == name {
			return w, true
		}
	}
	return workload{}, false
}

func find[T metav1.Object](list []T, name string) T {
	for _, o := range list {
		if o.GetName() == name {
			return o
		}
	}
	var zero T
	return zero
}

// findGenerated finds a ConfigMap or Secret by the name in the base, before
// kustomize appended its hash.
func findGenerated[T metav1.Object](list []T, name string) T {
	for _, o := range list {
		if o.GetName() == name || strings.HasPrefix(o.GetName(), name+"-") && len(o.GetName()) == len(name)+11 {
			return o
		}
	}
	var zero T
	return zero
}

func selects(sel *metav1.LabelSelector, l map[string]string) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || s.Empty() {
		return false
	}
	return s.Matches(labels.Set(l))
}

func isMediarec(image string) bool { return strings.Contains(image, "/mediarec-") }

// rule is one check over a rendered overlay; it returns what breaks it.
type rule struct {
	name string
	fn   func(b *bundle) []string
}

var rules = []rule{
	{"labels", checkLabels},
	{"containers", checkContainers},
	{"pods", checkPods},
	{"images", checkImages},
	{"services", checkServices},
	{"disruption budgets", checkPDBs},
	{"autoscalers", checkAutoscalers},
	{"references", checkReferences},
	{"no secrets in config", checkNoSecretsInConfig},
	{"config", checkConfig},
	{"network policies", checkNetworkPolicies},
	{"ingress", checkIngress},
	{"sizes", checkDependencies},
	{"migration", checkMigration},
}

func runChecks(b *bundle) []string {
	var all []string
	for _, c := range rules {
		for _, p := range c.fn(b) {
			all = append(all, c.name+": "+p)
		}
	}
	return all
}

func TestOverlays(t *testing.T) {
	for _, o := range overlays {
		t.Run(o.name, func(t *testing.T) {
			b, problems := decode(renderOnce(t, o.dir), o.prod)
			for _, p := range problems {
				t.Error(p)
			}
			if t.Failed() {
				t.FailNow()
			}
			if len(b.deployments) != len(services) {
				t.Errorf("%d Deployments, want one per service (%d)", len(b.deployments), len(services))
			}
			if b.namespace == "" {
				t.Error("no object has a namespace: the overlay must set one")
			}
			for _, c := range rules {
				t.Run(c.name, func(t *testing.T) {
					for _, p := range c.fn(b) {
						t.Error(p)
					}
				})
			}
		})
	}
}

// TestKEDAComponent adds k8s/keda to the prod overlay's app folder, as
// k8s/README.md says, and checks the result like the overlays.
func TestKEDAComponent(t *testing.T) {
	root := copyTree(t)
	app := filepath.Join(root, "overlays", "prod", "app", "kustomization.yaml")
	appendFile(t, app, "\ncomponents:\n  - ../../../keda\n")
	docs, err := render(filepath.Join(root, "overlays", "prod"))
	if err != nil {
		t.Fatal(err)
	}
	b, problems := decode(docs, true)
	for _, p := range problems {
		t.Error(p)
	}
	if len(b.scaledObjects) != 1 {
		t.Fatalf("%d ScaledObjects, want 1", len(b.scaledObjects))
	}
	if h := find(b.hpas, "embed-worker"); h != nil {
		t.Error("the worker's HPA is still there beside the ScaledObject")
	}
	if h := find(b.hpas, "recs"); h == nil {
		t.Error("the component removed recs' HPA too")
	}
	for _, p := range runChecks(b) {
		t.Error(p)
	}
}

// TestPortNameTooLongFails renders the dev overlay with one port name of 16
// characters, which the API server would refuse: the offline validation
// must refuse it too.
func TestPortNameTooLongFails(t *testing.T) {
	b := renderPatched(t, "overlays/dev", `
- op: replace
  path: /spec/template/spec/containers/0/ports/0/name
  value: http-catalog-api
`, "Deployment", "catalog")
	want := `port name "http-catalog-api"`
	problems := runChecks(b)
	if !containsProblem(problems, want) {
		t.Fatalf("no problem mentions %s; got:\n%s", want, strings.Join(problems, "\n"))
	}
}

// TestUnknownFieldFails shows that decoding is strict: a misspelt field
// would be dropped by a lenient decoder and the probe lost.
func TestUnknownFieldFails(t *testing.T) {
	root := copyTree(t)
	overlay := filepath.Join(root, "overlays", "dev", "app", "kustomization.yaml")
	appendFile(t, overlay, `
  - target:
      kind: Deployment
      name: web
    patch: |-
      - op: add
        path: /spec/template/spec/containers/0/readinessProbe/httpGet/pathh
        value: /readyz
`)
	docs, err := render(filepath.Join(root, "overlays", "dev"))
	if err != nil {
		t.Fatal(err)
	}
	_, problems := decode(docs, false)
	if !containsProblem(problems, `unknown field "spec.template.spec.containers[0].readinessProbe.httpGet.pathh"`) {
		t.Fatalf("decoding accepted an unknown field; problems: %q", problems)
	}
}

// renderPatched renders a copy of the overlay at dir with a JSON patch
// applied to one object, and decodes it.
func renderPatched(t *testing.T, dir, patch, kind, name string) *bundle {
	t.Helper()
	root := copyTree(t)
	k := filepath.Join(root, dir, "app", "kustomization.yaml")
	var indented strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(patch), "\n") {
		indented.WriteString("      " + line + "\n")
	}
	appendFile(t, k, fmt.Sprintf("\n  - target:\n      kind: %s\n      name: %s\n    patch: |-\n%s", kind, name, indented.String()))
	docs, err := render(filepath.Join(root, dir))
	if err != nil {
		t.Fatal(err)
	}
	b, problems := decode(docs, strings.Contains(dir, "prod"))
	for _, p := range problems {
		t.Error(p)
	}
	return b
}

// copyTree copies the manifests (not the Go files) to a temporary directory
// and returns its copy of this directory.
func copyTree(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "k8s")
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, path), 0o755)
		}
		if strings.HasSuffix(path, ".go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, path), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// appendFile appends text to a kustomization whose last key is patches
// (or adds a key).
func appendFile(t *testing.T, path, text string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	if strings.HasPrefix(text, "\n  - target:") {
		// Insert the patch at the end of the patches list.
		i := strings.Index(s, "\npatches:\n")
		if i < 0 {
			t.Fatalf("%s has no patches", path)
		}
		rest := s[i+len("\npatches:\n"):]
		end := len(rest)
		if m := regexp.MustCompile(`(?m)^\S`).FindStringIndex(rest); m != nil {
			end = m[0]
		}
		s = s[:i+len("\npatches:\n")] + strings.TrimRight(rest[:end], "\n") + text + "\n" + rest[end:]
	} else {
		s += text
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func containsProblem(problems []string, want string) bool {
	for _, p := range problems {
		if strings.Contains(p, want) {
			return true
		}
	}
	return false
}

// TestOperatorSecretsDocumented keeps operatorSecrets and k8s/README.md
// together, and the list free of names prod no longer uses.
func TestOperatorSecretsDocumented(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	b, problems := decode(renderOnce(t, "overlays/prod"), true)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	used := map[string]bool{}
	for _, r := range b.references() {
		if r.kind == "Secret" {
			used[r.name] = true
		}
	}
	for name, s := range operatorSecrets {
		if !bytes.Contains(readme, []byte("`"+name+"`")) {
			t.Errorf("k8s/README.md does not name the operator's Secret `%s`", name)
		}
		for _, k := range s.keys {
			if !bytes.Contains(readme, []byte(k)) {
				t.Errorf("k8s/README.md does not name the key %s of %s", k, name)
			}
		}
		if !used[name] {
			t.Errorf("prod no longer references the operator's Secret %s: drop it from operatorSecrets and the README", name)
		}
	}
}

func checkLabels(b *bundle) []string {
	var p []string
	for _, o := range b.objects() {
		for _, k := range recommendedLabels {
			if o.meta.GetLabels()[k] == "" {
				p = append(p, fmt.Sprintf("%s: no label %s", o, k))
			}
		}
	}
	nameInstance := func(what string, sel *metav1.LabelSelector) {
		if sel == nil {
			p = append(p, what+": no selector")
			return
		}
		keys := make([]string, 0, len(sel.MatchLabels))
		for k := range sel.MatchLabels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if !slices.Equal(keys, []string{labelInstance, labelName}) || len(sel.MatchExpressions) > 0 {
			p = append(p, fmt.Sprintf("%s: selector %v, want app.kubernetes.io/name and /instance only", what, keys))
		}
	}
	for _, w := range b.workloads() {
		for _, k := range recommendedLabels {
			if w.template.Labels[k] == "" {
				p = append(p, fmt.Sprintf("%s: Pod template has no label %s", w, k))
			}
		}
		if w.kind == "Job" {
			continue // the API server writes a Job's selector
		}
		nameInstance(w.String(), w.selector)
		if !selects(w.selector, w.template.Labels) {
			p = append(p, fmt.Sprintf("%s: the selector does not select its own Pods", w))
		}
	}
	for _, s := range b.services {
		nameInstance("Service "+s.Name, &metav1.LabelSelector{MatchLabels: s.Spec.Selector})
	}
	for _, d := range b.pdbs {
		nameInstance("PodDisruptionBudget "+d.Name, d.Spec.Selector)
	}
	for _, n := range b.netpols {
		nameInstance("NetworkPolicy "+n.Name, &n.Spec.PodSelector)
		for _, peer := range policyPeers(n) {
			if peer.PodSelector != nil && peer.NamespaceSelector == nil {
				nameInstance("NetworkPolicy "+n.Name+" peer", peer.PodSelector)
			}
		}
	}
	return p
}

type namedContainer struct {
	workload
	c    *corev1.Container
	init bool
}

func (b *bundle) containers() []namedContainer {
	var out []namedContainer
	for _, w := range b.workloads() {
		for i := range w.template.Spec.InitContainers {
			out = append(out, namedContainer{w, &w.template.Spec.InitContainers[i], true})
		}
		for i := range w.template.Spec.Containers {
			out = append(out, namedContainer{w, &w.template.Spec.Containers[i], false})
		}
	}
	return out
}

func checkContainers(b *bundle) []string {
	var p []string
	for _, nc := range b.containers() {
		c, spec := nc.c, &nc.template.Spec
		where := fmt.Sprintf("%s container %s", nc.workload, c.Name)

		// Resources: memory limit = request, CPU request without a limit.
		req, lim := c.Resources.Requests, c.Resources.Limits
		if req.Cpu().IsZero() {
			p = append(p, where+": no CPU request")
		}
		if req.Memory().IsZero() {
			p = append(p, where+": no memory request")
		}
		if _, ok := lim[corev1.ResourceMemory]; !ok {
			p = append(p, where+": no memory limit")
		} else if lim.Memory().Cmp(*req.Memory()) != 0 {
			p = append(p, fmt.Sprintf("%s: memory limit %s != request %s", where, lim.Memory(), req.Memory()))
		}
		if _, ok := lim[corev1.ResourceCPU]; ok {
			p = append(p, where+": a CPU limit (STYLE.md: requests only, unless the overlay says why)")
		}

		// Security, container fields first, the Pod's as the default.
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		psc := spec.SecurityContext
		if psc == nil {
			psc = &corev1.PodSecurityContext{}
		}
		nonRoot := sc.RunAsNonRoot
		if nonRoot == nil {
			nonRoot = psc.RunAsNonRoot
		}
		if nonRoot == nil || !*nonRoot {
			p = append(p, where+": runAsNonRoot is not true")
		}
		uid := sc.RunAsUser
		if uid == nil {
			uid = psc.RunAsUser
		}
		switch {
		case uid == nil || *uid == 0:
			p = append(p, where+": runAsUser is not set to a non-root uid")
		case isMediarec(c.Image) && *uid != 65532:
			p = append(p, fmt.Sprintf("%s: runAsUser %d, the image's user is 65532", where, *uid))
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			p = append(p, where+": readOnlyRootFilesystem is not true")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			p = append(p, where+": allowPrivilegeEscalation is not false")
		}
		if sc.Privileged != nil && *sc.Privileged {
			p = append(p, where+": privileged")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			p = append(p, where+": capabilities must drop ALL and add none")
		}
		seccomp := sc.SeccompProfile
		if seccomp == nil {
			seccomp = psc.SeccompProfile
		}
		if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
			p = append(p, where+": seccompProfile is not RuntimeDefault")
		}

		// Port names: what the API server checks (IANA_SVC_NAME, at most
		// 15 characters), unique in the Pod.
		for _, port := range c.Ports {
			if port.Name == "" {
				p = append(p, fmt.Sprintf("%s: port %d has no name", where, port.ContainerPort))
			}
			for _, msg := range validation.IsValidPortName(port.Name) {
				p = append(p, fmt.Sprintf("%s: port name %q: %s", where, port.Name, msg))
			}
		}

		// Probes: a Job's container exits, it has none.
		if nc.kind == "Job" || nc.init {
			continue
		}
		probes := []struct {
			kind  string
			probe *corev1.Probe
			path  string
		}{
			{"liveness", c.LivenessProbe, "/healthz"},
			{"readiness", c.ReadinessProbe, "/readyz"},
			{"startup", c.StartupProbe, "/healthz"},
		}
		for _, pr := range probes {
			if pr.probe == nil {
				p = append(p, fmt.Sprintf("%s: no %s probe", where, pr.kind))
				continue
			}
			h := pr.probe.HTTPGet
			if isMediarec(c.Image) {
				if h == nil || h.Path != pr.path {
					p = append(p, fmt.Sprintf("%s: the %s probe must GET %s", where, pr.kind, pr.path))
				}
			} else if h == nil && pr.probe.Exec == nil && pr.probe.TCPSocket == nil && pr.probe.GRPC == nil {
				p = append(p, fmt.Sprintf("%s: the %s probe has no handler", where, pr.kind))
			}
			if h != nil && !hasPort(c, h.Port) {
				p = append(p, fmt.Sprintf("%s: the %s probe's port %s is none of the container's", where, pr.kind, h.Port.String()))
			}
		}
	}
	return p
}

func hasPort(c *corev1.Container, port intstr.IntOrString) bool {
	for _, p := range c.Ports {
		if port.Type == intstr.String && p.Name == port.StrVal || port.Type == intstr.Int && p.ContainerPort == port.IntVal {
			return true
		}
	}
	return false
}

func checkPods(b *bundle) []string {
	var p []string
	for _, w := range b.workloads() {
		spec := &w.template.Spec
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			p = append(p, fmt.Sprintf("%s: automountServiceAccountToken is not false", w))
		}
		sa := find(b.serviceAccounts, spec.ServiceAccountName)
		switch {
		case spec.ServiceAccountName == "" || spec.ServiceAccountName == "default":
			p = append(p, fmt.Sprintf("%s: runs as the default ServiceAccount", w))
		case sa == nil:
			p = append(p, fmt.Sprintf("%s: ServiceAccount %s is not in the output", w, spec.ServiceAccountName))
		case sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken:
			p = append(p, fmt.Sprintf("ServiceAccount %s: automountServiceAccountToken is not false", sa.Name))
		}
		if spec.HostNetwork || spec.HostPID || spec.HostIPC {
			p = append(p, fmt.Sprintf("%s: shares a host namespace", w))
		}
		for _, v := range spec.Volumes {
			if v.HostPath != nil {
				p = append(p, fmt.Sprintf("%s: hostPath volume %s", w, v.Name))
			}
		}
		if w.kind == "Job" {
			continue // one Pod at a time
		}
		if len(spec.TopologySpreadConstraints) == 0 {
			p = append(p, fmt.Sprintf("%s: no topologySpreadConstraints", w))
		}
		for _, tsc := range spec.TopologySpreadConstraints {
			if !selects(tsc.LabelSelector, w.template.Labels) {
				p = append(p, fmt.Sprintf("%s: topology spread on %s does not select its own Pods", w, tsc.TopologyKey))
			}
		}
	}
	return p
}

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func checkImages(b *bundle) []string {
	var p []string
	for _, nc := range b.containers() {
		where := fmt.Sprintf("%s container %s", nc.workload, nc.c.Name)
		ref, err := reference.ParseNormalizedNamed(nc.c.Image)
		if err != nil {
			p = append(p, fmt.Sprintf("%s: image %q: %v", where, nc.c.Image, err))
			continue
		}
		tagged, hasTag := ref.(reference.Tagged)
		digested, hasDigest := ref.(reference.Digested)
		if !hasTag && !hasDigest {
			p = append(p, fmt.Sprintf("%s: image %s has neither tag nor digest", where, nc.c.Image))
		}
		if hasTag && tagged.Tag() == "latest" {
			p = append(p, fmt.Sprintf("%s: image %s is tagged latest", where, nc.c.Image))
		}
		if hasDigest && !digestRE.MatchString(digested.Digest().String()) {
			p = append(p, fmt.Sprintf("%s: image %s: digest is not sha256:<64 hex>", where, nc.c.Image))
		}
		if isMediarec(nc.c.Image) {
			if b.prod && !hasDigest {
				p = append(p, fmt.Sprintf("%s: image %s is not pinned by digest in prod", where, nc.c.Image))
			}
			if !b.prod && (!hasTag || tagged.Tag() != "dev") {
				p = append(p, fmt.Sprintf("%s: image %s: dev runs the images tagged dev", where, nc.c.Image))
			}
		} else if want, ok := depImages[nc.template.Labels[labelName]]; !ok || nc.c.Image != want {
			p = append(p, fmt.Sprintf("%s: image %s, want the pinned %q", where, nc.c.Image, want))
		}
	}
	return p
}

func checkServices(b *bundle) []string {
	var p []string
	for _, d := range b.deployments {
		var by []string
		for _, s := range b.services {
			if selects(&metav1.LabelSelector{MatchLabels: s.Spec.Selector}, d.Spec.Template.Labels) {
				by = append(by, s.Name)
			}
		}
		if len(by) != 1 {
			p = append(p, fmt.Sprintf("Deployment %s: selected by %d Services %v, want exactly one", d.Name, len(by), by))
		}
	}
	for _, s := range b.services {
		var selected []workload
		for _, w := range b.workloads() {
			if w.kind != "Job" && selects(&metav1.LabelSelector{MatchLabels: s.Spec.Selector}, w.template.Labels) {
				selected = append(selected, w)
			}
		}
		if len(selected) == 0 {
			p = append(p, fmt.Sprintf("Service %s: selects no Pods", s.Name))
		}
		for _, port := range s.Spec.Ports {
			for _, w := range selected {
				if !podHasPort(w.template, port.TargetPort, port.Protocol) {
					p = append(p, fmt.Sprintf("Service %s: targetPort %s is no port of %s", s.Name, port.TargetPort.String(), w))
				}
			}
		}
	}
	for _, st := range b.statefulSets {
		s := find(b.services, st.Spec.ServiceName)
		if s == nil || s.Spec.ClusterIP != corev1.ClusterIPNone || !selects(&metav1.LabelSelector{MatchLabels: s.Spec.Selector}, st.Spec.Template.Labels) {
			p = append(p, fmt.Sprintf("StatefulSet %s: serviceName %q is not a headless Service selecting it", st.Name, st.Spec.ServiceName))
		}
		for _, pvc := range st.Spec.VolumeClaimTemplates {
			if pvc.Spec.Resources.Requests.Storage().IsZero() {
				p = append(p, fmt.Sprintf("StatefulSet %s: volume claim %s requests no storage", st.Name, pvc.Name))
			}
		}
	}
	return p
}

func podHasPort(t *corev1.PodTemplateSpec, port intstr.IntOrString, proto corev1.Protocol) bool {
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	for i := range t.Spec.Containers {
		for _, cp := range t.Spec.Containers[i].Ports {
			pp := cp.Protocol
			if pp == "" {
				pp = corev1.ProtocolTCP
			}
			if pp == proto && (port.Type == intstr.String && cp.Name == port.StrVal || port.Type == intstr.Int && cp.ContainerPort == port.IntVal) {
				return true
			}
		}
	}
	return false
}

func checkPDBs(b *bundle) []string {
	var p []string
	for _, d := range b.deployments {
		var by []string
		for _, pdb := range b.pdbs {
			if selects(pdb.Spec.Selector, d.Spec.Template.Labels) {
				by = append(by, pdb.Name)
			}
		}
		if len(by) != 1 {
			p = append(p, fmt.Sprintf("Deployment %s: selected by %d PodDisruptionBudgets %v, want exactly one", d.Name, len(by), by))
		}
	}
	for _, pdb := range b.pdbs {
		n := 0
		for _, w := range b.workloads() {
			if selects(pdb.Spec.Selector, w.template.Labels) {
				n++
			}
		}
		if n == 0 {
			p = append(p, fmt.Sprintf("PodDisruptionBudget %s: selects no Pods", pdb.Name))
		}
		if pdb.Spec.MinAvailable == nil && pdb.Spec.MaxUnavailable == nil {
			p = append(p, fmt.Sprintf("PodDisruptionBudget %s: neither minAvailable nor maxUnavailable", pdb.Name))
		}
	}
	return p
}

func checkAutoscalers(b *bundle) []string {
	var p []string
	scaled := map[string][]string{}
	for _, h := range b.hpas {
		ref := h.Spec.ScaleTargetRef
		where := "HorizontalPodAutoscaler " + h.Name
		d := find(b.deployments, ref.Name)
		if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || d == nil {
			p = append(p, fmt.Sprintf("%s: targets %s %s %s, which is not in the output", where, ref.APIVersion, ref.Kind, ref.Name))
			continue
		}
		scaled[d.Name] = append(scaled[d.Name], where)
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 1 || *h.Spec.MinReplicas > h.Spec.MaxReplicas {
			p = append(p, where+": minReplicas must be set, at least 1 and at most maxReplicas")
		}
		cpu := false
		for _, m := range h.Spec.Metrics {
			if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU &&
				m.Resource.Target.Type == autoscalingv2.UtilizationMetricType && m.Resource.Target.AverageUtilization != nil {
				cpu = true
			}
		}
		if !cpu {
			p = append(p, where+": no CPU utilisation target")
		}
	}
	for _, so := range b.scaledObjects {
		where := "ScaledObject " + so.Name
		if so.APIVersion != "keda.sh/v1alpha1" {
			p = append(p, where+": apiVersion "+so.APIVersion)
		}
		ref := so.Spec.ScaleTargetRef
		d := find(b.deployments, ref.Name)
		if d == nil || (ref.Kind != "" && ref.Kind != "Deployment") {
			p = append(p, fmt.Sprintf("%s: targets %s %s, which is not in the output", where, ref.Kind, ref.Name))
			continue
		}
		scaled[d.Name] = append(scaled[d.Name], where)
		if so.Spec.MinReplicaCount == nil || so.Spec.MaxReplicaCount == nil || *so.Spec.MinReplicaCount < 1 || *so.Spec.MinReplicaCount > *so.Spec.MaxReplicaCount {
			p = append(p, where+": minReplicaCount must be set, at least 1 and at most maxReplicaCount")
		}
		if len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].Type != "nats-jetstream" {
			p = append(p, where+": want one nats-jetstream trigger")
			continue
		}
		md := so.Spec.Triggers[0].Metadata
		if md["stream"] != "EMBED_JOBS" || md["consumer"] != "embed-workers" {
			p = append(p, fmt.Sprintf("%s: stream %q consumer %q, want EMBED_JOBS and embed-workers (internal/natsbus)", where, md["stream"], md["consumer"]))
		}
		if n, err := strconv.Atoi(md["lagThreshold"]); err != nil || n < 1 {
			p = append(p, where+": lagThreshold is not a positive number")
		}
		// KEDA runs in its own namespace: the address must be the Service's
		// full name, in this namespace, on its monitoring port.
		host, port, err := net.SplitHostPort(md["natsServerMonitoringEndpoint"])
		svc, ns, ok := strings.Cut(host, ".")
		if err != nil || !ok || ns != b.namespace+".svc.cluster.local" || !serviceHasPort(find(b.services, svc), port) {
			p = append(p, fmt.Sprintf("%s: natsServerMonitoringEndpoint %q is not <service>.%s.svc.cluster.local:<port> of a Service here", where, md["natsServerMonitoringEndpoint"], b.namespace))
		}
	}
	for name, by := range scaled {
		if len(by) > 1 {
			p = append(p, fmt.Sprintf("Deployment %s: scaled by %d autoscalers %v, which fight", name, len(by), by))
		}
		if d := find(b.deployments, name); d.Spec.Replicas != nil {
			p = append(p, fmt.Sprintf("Deployment %s: sets replicas, which each apply would reset under %v", name, by))
		}
	}
	return p
}

func serviceHasPort(s *corev1.Service, port string) bool {
	if s == nil {
		return false
	}
	for _, sp := range s.Spec.Ports {
		if strconv.Itoa(int(sp.Port)) == port {
			return true
		}
	}
	return false
}

// ref is a reference to a ConfigMap or Secret, or one of its keys.
type ref struct {
	from      string
	kind      string // ConfigMap or Secret
	name, key string
	optional  bool
}

func (b *bundle) references() []ref {
	var out []ref
	opt := func(o *bool) bool { return o != nil && *o }
	for _, nc := range b.containers() {
		from := fmt.Sprintf("%s container %s", nc.workload, nc.c.Name)
		for _, e := range nc.c.EnvFrom {
			if e.ConfigMapRef != nil {
				out = append(out, ref{from, "ConfigMap", e.ConfigMapRef.Name, "", opt(e.ConfigMapRef.Optional)})
			}
			if e.SecretRef != nil {
				out = append(out, ref{from, "Secret", e.SecretRef.Name, "", opt(e.SecretRef.Optional)})
			}
		}
		for _, e := range nc.c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				out = append(out, ref{from, "ConfigMap", r.Name, r.Key, opt(r.Optional)})
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				out = append(out, ref{from, "Secret", r.Name, r.Key, opt(r.Optional)})
			}
		}
	}
	for _, w := range b.workloads() {
		for _, v := range w.template.Spec.Volumes {
			from := fmt.Sprintf("%s volume %s", w, v.Name)
			if s := v.Secret; s != nil {
				if len(s.Items) == 0 {
					out = append(out, ref{from, "Secret", s.SecretName, "", opt(s.Optional)})
				}
				for _, it := range s.Items {
					out = append(out, ref{from, "Secret", s.SecretName, it.Key, opt(s.Optional)})
				}
			}
			if c := v.ConfigMap; c != nil {
				if len(c.Items) == 0 {
					out = append(out, ref{from, "ConfigMap", c.Name, "", opt(c.Optional)})
				}
				for _, it := range c.Items {
					out = append(out, ref{from, "ConfigMap", c.Name, it.Key, opt(c.Optional)})
				}
			}
			if pr := v.Projected; pr != nil {
				for _, src := range pr.Sources {
					if src.Secret != nil {
						out = append(out, ref{from, "Secret", src.Secret.Name, "", opt(src.Secret.Optional)})
					}
					if src.ConfigMap != nil {
						out = append(out, ref{from, "ConfigMap", src.ConfigMap.Name, "", opt(src.ConfigMap.Optional)})
					}
				}
			}
		}
	}
	for _, ing := range b.ingresses {
		for _, tls := range ing.Spec.TLS {
			out = append(out, ref{"Ingress " + ing.Name + " TLS", "Secret", tls.SecretName, "tls.crt", false})
		}
	}
	return out
}

func checkReferences(b *bundle) []string {
	var p []string
	for _, r := range b.references() {
		var keys map[string]bool
		switch r.kind {
		case "ConfigMap":
			if cm := find(b.configMaps, r.name); cm != nil {
				keys = map[string]bool{}
				for k := range cm.Data {
					keys[k] = true
				}
				for k := range cm.BinaryData {
					keys[k] = true
				}
			}
		case "Secret":
			if s := find(b.secrets, r.name); s != nil {
				keys = map[string]bool{}
				for k := range s.Data {
					keys[k] = true
				}
				for k := range s.StringData {
					keys[k] = true
				}
			}
		}
		if keys == nil {
			if doc, ok := operatorSecrets[r.name]; ok && b.prod && r.kind == "Secret" {
				if r.key != "" && !slices.Contains(doc.keys, r.key) {
					p = append(p, fmt.Sprintf("%s: reads key %s of the operator's Secret %s, which k8s/README.md does not list", r.from, r.key, r.name))
				}
				if doc.optional != r.optional {
					p = append(p, fmt.Sprintf("%s: Secret %s optional=%v, documented optional=%v", r.from, r.name, r.optional, doc.optional))
				}
				continue
			}
			if r.optional {
				continue
			}
			p = append(p, fmt.Sprintf("%s: %s %s is not in the output nor a documented operator-created Secret", r.from, r.kind, r.name))
			continue
		}
		if r.key != "" && !keys[r.key] {
			p = append(p, fmt.Sprintf("%s: %s %s has no key %s", r.from, r.kind, r.name, r.key))
		}
	}
	return p
}

var secretName = regexp.MustCompile(`(?i)(TOKEN|PASSWORD|PASSWD|SECRET|CREDENTIAL|PRIVATE|API_KEY|_KEY$|^KEY$)`)

// secretValue tells what in a value is secret, or "".
func secretValue(v string) string {
	if strings.Contains(v, "PRIVATE KEY") {
		return "a private key"
	}
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		if u, err := url.Parse(f); err == nil && u.User != nil {
			if _, ok := u.User.Password(); ok {
				return "a URL with a password"
			}
		}
	}
	return ""
}

func checkNoSecretsInConfig(b *bundle) []string {
	var p []string
	for _, cm := range b.configMaps {
		for k, v := range cm.Data {
			if secretName.MatchString(k) {
				p = append(p, fmt.Sprintf("ConfigMap %s: key %s names a secret: put it in the service's Secret", cm.Name, k))
			}
			if what := secretValue(v); what != "" {
				p = append(p, fmt.Sprintf("ConfigMap %s: key %s holds %s: put it in the service's Secret", cm.Name, k, what))
			}
		}
	}
	// Literal env values are in the manifest too. A *_KEY may name a file
	// mounted from a Secret (MEDIAREC_SIGNING_KEY).
	for _, nc := range b.containers() {
		for _, e := range nc.c.Env {
			if e.ValueFrom != nil {
				continue
			}
			where := fmt.Sprintf("%s container %s: env %s", nc.workload, nc.c.Name, e.Name)
			if what := secretValue(e.Value); what != "" {
				p = append(p, fmt.Sprintf("%s holds %s", where, what))
			}
			if secretName.MatchString(e.Name) && !secretFile(nc, e.Value) {
				p = append(p, where+" names a secret but is a literal, not a file from a Secret")
			}
		}
	}
	return p
}

// secretFile tells whether path lies in a volume mounted from a Secret.
func secretFile(nc namedContainer, path string) bool {
	for _, m := range nc.c.VolumeMounts {
		if !strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/") {
			continue
		}
		for _, v := range nc.template.Spec.Volumes {
			if v.Name == m.Name && v.Secret != nil {
				return true
			}
		}
	}
	return false
}

// envOf returns the variables a container gets from its env and envFrom
// (ConfigMaps and rendered Secrets).
func (b *bundle) envOf(c *corev1.Container) map[string]string {
	env := map[string]string{}
	for _, e := range c.EnvFrom {
		if e.ConfigMapRef != nil {
			if cm := find(b.configMaps, e.ConfigMapRef.Name); cm != nil {
				for k, v := range cm.Data {
					env[e.Prefix+k] = v
				}
			}
		}
		if e.SecretRef != nil {
			if s := find(b.secrets, e.SecretRef.Name); s != nil {
				for k, v := range s.Data {
					env[e.Prefix+k] = string(v)
				}
			}
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
		} else if r := e.ValueFrom.SecretKeyRef; r != nil {
			if s := find(b.secrets, r.Name); s != nil {
				env[e.Name] = string(s.Data[r.Key])
			}
		}
	}
	return env
}

func (b *bundle) container(service string) *corev1.Container {
	w, ok := b.workloadNamed(service)
	if !ok || len(w.template.Spec.Containers) == 0 {
		return nil
	}
	return &w.template.Spec.Containers[0]
}

// checkConfig checks that the settings agree with the manifests: the
// address each service listens on is its container port, each URL names a
// Service and port that exist, and the embedder is configured alike.
func checkConfig(b *bundle) []string {
	var p []string
	for svc, port := range services {
		c := b.container(svc)
		if c == nil {
			p = append(p, "no Pods for the service "+svc)
			continue
		}
		env := b.envOf(c)
		_, addrPort, err := net.SplitHostPort(env["MEDIAREC_ADDR"])
		if err != nil || addrPort != strconv.Itoa(int(port)) || !hasPort(c, intstr.FromInt32(port)) {
			p = append(p, fmt.Sprintf("%s: MEDIAREC_ADDR %q, container ports %v, want both on %d", svc, env["MEDIAREC_ADDR"], c.Ports, port))
		}
		if env["MEDIAREC_DATA_DIR"] == "" || !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == env["MEDIAREC_DATA_DIR"] }) {
			p = append(p, fmt.Sprintf("%s: MEDIAREC_DATA_DIR %q is not a mounted volume (the root file system is read-only)", svc, env["MEDIAREC_DATA_DIR"]))
		}
	}
	// Every in-cluster URL, in ConfigMaps and in rendered Secrets.
	values := map[string]string{}
	for _, cm := range b.configMaps {
		for k, v := range cm.Data {
			values["ConfigMap "+cm.Name+" "+k] = v
		}
	}
	for _, s := range b.secrets {
		for k, v := range s.Data {
			values["Secret "+s.Name+" "+k] = string(v)
		}
	}
	for where, v := range values {
		for _, f := range strings.Split(v, ",") {
			u, err := url.Parse(strings.TrimSpace(f))
			if err != nil || u.Scheme == "" || u.Host == "" || strings.Contains(u.Hostname(), ".") {
				continue // not a URL, or outside the namespace
			}
			if !serviceHasPort(find(b.services, u.Hostname()), u.Port()) {
				p = append(p, fmt.Sprintf("%s: %s names no Service port here", where, redact(u)))
			}
		}
	}
	// catalog, recs and the workers must agree on the embedding model.
	embedder := []string{"OPENAI_BASE_URL", "EMBEDDING_MODEL", "EMBEDDING_DIMENSIONS"}
	var first map[string]string
	for _, svc := range []string{"catalog", "recs", "embed-worker"} {
		c := b.container(svc)
		if c == nil {
			continue
		}
		env := b.envOf(c)
		if first == nil {
			first = env
			continue
		}
		for _, k := range embedder {
			if env[k] != first[k] {
				p = append(p, fmt.Sprintf("%s: %s %q, catalog's is %q: catalog, recs and the workers must name the same model", svc, k, env[k], first[k]))
			}
		}
	}
	if !b.prod {
		p = append(p, checkDevCredentials(b)...)
	}
	return p
}

func redact(u *url.URL) string {
	if u.User != nil {
		u = &url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	}
	return u.String()
}

// checkDevCredentials checks that the dev Secrets work together: the
// database URLs carry the password PostgreSQL is given, and the signing
// key is an Ed25519 key.
func checkDevCredentials(b *bundle) []string {
	var p []string
	pg := findGenerated(b.secrets, "postgres-credentials")
	if pg == nil {
		return []string{"dev has no postgres-credentials Secret"}
	}
	password := string(pg.Data["POSTGRES_PASSWORD"])
	for _, key := range []string{"CATALOG_DATABASE_URL", "USERS_DATABASE_URL", "RECS_DATABASE_URL"} {
		found := false
		for _, s := range b.secrets {
			v, ok := s.Data[key]
			if !ok {
				continue
			}
			found = true
			u, err := url.Parse(string(v))
			got, _ := u.User.Password()
			if err != nil || got != password {
				p = append(p, fmt.Sprintf("Secret %s: %s's password is not postgres-credentials' POSTGRES_PASSWORD", s.Name, key))
			}
		}
		if !found {
			p = append(p, "dev: no Secret holds "+key)
		}
	}
	sk := findGenerated(b.secrets, "users-signing-key")
	if sk == nil {
		return append(p, "dev has no users-signing-key Secret")
	}
	block, _ := pem.Decode(sk.Data["ed25519.pem"])
	if block == nil {
		return append(p, "users-signing-key: ed25519.pem holds no PEM block")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if _, ok := key.(ed25519.PrivateKey); err != nil || !ok {
		p = append(p, fmt.Sprintf("users-signing-key: ed25519.pem is not a PKCS#8 Ed25519 key (%v)", err))
	}
	return p
}

func policyPeers(n *networkingv1.NetworkPolicy) []networkingv1.NetworkPolicyPeer {
	var out []networkingv1.NetworkPolicyPeer
	for _, r := range n.Spec.Ingress {
		out = append(out, r.From...)
	}
	for _, r := range n.Spec.Egress {
		out = append(out, r.To...)
	}
	return out
}

// matches applies a selector the way NetworkPolicies do: empty selects all.
func matches(sel *metav1.LabelSelector, l map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(labels.Set(l))
}

// endpoint is one end of a connection: Pods of this namespace, Pods of
// another namespace, or an address outside the cluster.
type endpoint struct {
	name   string
	ns     string // "" outside the cluster
	labels map[string]string
	ip     netip.Addr
	pod    *corev1.PodTemplateSpec // for named ports, in this namespace
}

// endpoint resolves "web" (the Pods named web), "ns:ingress-nginx" (any
// Pod there), "dns" (kube-dns) and "internet".
func (b *bundle) endpoint(spec string) (endpoint, bool) {
	switch {
	case spec == "internet":
		return endpoint{name: spec, ip: netip.MustParseAddr("203.0.113.7")}, true
	case spec == "dns":
		return endpoint{name: spec, ns: "kube-system", labels: map[string]string{"k8s-app": "kube-dns"}}, true
	case strings.HasPrefix(spec, "ns:"):
		return endpoint{name: spec, ns: strings.TrimPrefix(spec, "ns:"), labels: map[string]string{}}, true
	}
	w, ok := b.workloadNamed(spec)
	if !ok {
		return endpoint{}, false
	}
	return endpoint{name: spec, ns: b.namespace, labels: w.template.Labels, pod: w.template}, true
}

// denies returns who refuses a connection from src to dst on port, or "".
func (b *bundle) denies(src, dst endpoint, port int32, proto corev1.Protocol) string {
	if src.ns == b.namespace && !b.policiesAllow(src, dst, dst, port, proto, networkingv1.PolicyTypeEgress) {
		return "the egress policy of " + src.name
	}
	if dst.ns == b.namespace && !b.policiesAllow(dst, src, dst, port, proto, networkingv1.PolicyTypeIngress) {
		return "the ingress policy of " + dst.name
	}
	return ""
}

// policiesAllow tells whether the policies selecting self let it talk to
// other (typ Egress) or hear from it (Ingress). Pods no policy of that type
// selects are open.
func (b *bundle) policiesAllow(self, other, dst endpoint, port int32, proto corev1.Protocol, typ networkingv1.PolicyType) bool {
	selected := false
	for _, n := range b.netpols {
		if !matches(&n.Spec.PodSelector, self.labels) || !hasPolicyType(n, typ) {
			continue
		}
		selected = true
		type rule struct {
			peers []networkingv1.NetworkPolicyPeer
			ports []networkingv1.NetworkPolicyPort
		}
		var rules []rule
		if typ == networkingv1.PolicyTypeIngress {
			for _, r := range n.Spec.Ingress {
				rules = append(rules, rule{r.From, r.Ports})
			}
		} else {
			for _, r := range n.Spec.Egress {
				rules = append(rules, rule{r.To, r.Ports})
			}
		}
		for _, r := range rules {
			if peersMatch(r.peers, other, b.namespace) && portsMatch(r.ports, port, proto, dst) {
				return true
			}
		}
	}
	return !selected
}

func hasPolicyType(n *networkingv1.NetworkPolicy, typ networkingv1.PolicyType) bool {
	if len(n.Spec.PolicyTypes) == 0 {
		return typ == networkingv1.PolicyTypeIngress || len(n.Spec.Egress) > 0
	}
	return slices.Contains(n.Spec.PolicyTypes, typ)
}

func peersMatch(peers []networkingv1.NetworkPolicyPeer, e endpoint, ns string) bool {
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		switch {
		case p.IPBlock != nil:
			if !e.ip.IsValid() {
				continue
			}
			if pre, err := netip.ParsePrefix(p.IPBlock.CIDR); err != nil || !pre.Contains(e.ip) {
				continue
			}
			excluded := slices.ContainsFunc(p.IPBlock.Except, func(c string) bool {
				pre, err := netip.ParsePrefix(c)
				return err == nil && pre.Contains(e.ip)
			})
			if !excluded {
				return true
			}
		case p.NamespaceSelector != nil:
			if e.ns != "" && matches(p.NamespaceSelector, map[string]string{"kubernetes.io/metadata.name": e.ns}) &&
				(p.PodSelector == nil || matches(p.PodSelector, e.labels)) {
				return true
			}
		case p.PodSelector != nil:
			if e.ns == ns && matches(p.PodSelector, e.labels) {
				return true
			}
		}
	}
	return false
}

func portsMatch(ports []networkingv1.NetworkPolicyPort, port int32, proto corev1.Protocol, dst endpoint) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		pp := corev1.ProtocolTCP
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if pp != proto {
			continue
		}
		switch {
		case p.Port == nil:
			return true
		case p.Port.Type == intstr.Int:
			end := p.Port.IntVal
			if p.EndPort != nil {
				end = *p.EndPort
			}
			if port >= p.Port.IntVal && port <= end {
				return true
			}
		case dst.pod != nil:
			if podHasPort(dst.pod, *p.Port, proto) && podHasPort(dst.pod, intstr.FromInt32(port), proto) {
				for _, c := range dst.pod.Spec.Containers {
					for _, cp := range c.Ports {
						if cp.Name == p.Port.StrVal && cp.ContainerPort == port {
							return true
						}
					}
				}
			}
		}
	}
	return false
}

// call is a connection between two endpoints (see bundle.endpoint).
type call struct {
	from, to string
	port     int32
	proto    corev1.Protocol
}

// requiredCalls are the calls the system makes (DESIGN.md, the brief of
// issue 2): the policies must let each through.
func requiredCalls() []call {
	tcp := corev1.ProtocolTCP
	calls := []call{
		{"web", "catalog", 8081, tcp}, {"web", "users", 8083, tcp}, {"web", "recs", 8084, tcp},
		{"users", "catalog", 8081, tcp}, {"catalog", "users", 8083, tcp}, {"recs", "users", 8083, tcp},
		{"nats", "nats", 6222, tcp}, {"qdrant", "qdrant", 6335, tcp},
		{"ns:keda", "nats", 8222, tcp}, {"ns:monitoring", "nats", 8222, tcp}, {"ns:monitoring", "qdrant", 6333, tcp},
	}
	for _, s := range []string{"catalog", "users", "recs", "migrate"} {
		calls = append(calls, call{s, "postgres", 5432, tcp})
	}
	for _, s := range []string{"catalog", "users", "recs", "embed-worker"} {
		calls = append(calls, call{s, "nats", 4222, tcp})
	}
	for _, s := range []string{"catalog", "recs", "embed-worker"} {
		calls = append(calls, call{s, "qdrant", 6334, tcp}, call{s, "internet", 443, tcp})
	}
	for _, s := range []string{"web", "catalog", "users", "recs"} {
		calls = append(calls, call{"ns:ingress-nginx", s, services[s], tcp})
	}
	for s, port := range services {
		calls = append(calls, call{"ns:monitoring", s, port, tcp})
	}
	for _, s := range []string{"web", "catalog", "users", "recs", "embed-worker", "migrate"} {
		calls = append(calls, call{s, "dns", 53, corev1.ProtocolUDP}, call{s, "dns", 53, tcp})
	}
	return calls
}

// forbiddenCalls are calls nothing needs: the policies must refuse them.
var forbiddenCalls = []call{
	{"web", "postgres", 5432, corev1.ProtocolTCP},
	{"web", "nats", 4222, corev1.ProtocolTCP},
	{"web", "qdrant", 6334, corev1.ProtocolTCP},
	{"web", "internet", 443, corev1.ProtocolTCP},
	{"users", "qdrant", 6334, corev1.ProtocolTCP},
	{"users", "internet", 443, corev1.ProtocolTCP},
	{"recs", "catalog", 8081, corev1.ProtocolTCP},
	{"embed-worker", "postgres", 5432, corev1.ProtocolTCP},
	{"embed-worker", "internet", 80, corev1.ProtocolTCP},
	{"embed-worker", "catalog", 8081, corev1.ProtocolTCP},
	{"migrate", "nats", 4222, corev1.ProtocolTCP},
	{"migrate", "internet", 443, corev1.ProtocolTCP},
	{"ns:ingress-nginx", "embed-worker", 8082, corev1.ProtocolTCP},
	{"ns:ingress-nginx", "postgres", 5432, corev1.ProtocolTCP},
	{"ns:ingress-nginx", "nats", 4222, corev1.ProtocolTCP},
	{"ns:default", "catalog", 8081, corev1.ProtocolTCP},
	{"ns:default", "postgres", 5432, corev1.ProtocolTCP},
}

func checkNetworkPolicies(b *bundle) []string {
	var p []string
	for _, n := range b.netpols {
		if !slices.ContainsFunc(b.workloads(), func(w workload) bool { return matches(&n.Spec.PodSelector, w.template.Labels) }) {
			p = append(p, fmt.Sprintf("NetworkPolicy %s: its podSelector selects no Pods", n.Name))
		}
		for _, peer := range policyPeers(n) {
			if peer.PodSelector == nil || peer.NamespaceSelector != nil {
				continue
			}
			if !slices.ContainsFunc(b.workloads(), func(w workload) bool { return matches(peer.PodSelector, w.template.Labels) }) {
				p = append(p, fmt.Sprintf("NetworkPolicy %s: the peer %v selects no Pods", n.Name, peer.PodSelector.MatchLabels))
			}
		}
	}
	// Every Pod has an ingress policy; the mediarec Pods an egress one too.
	for _, w := range b.workloads() {
		var types []networkingv1.PolicyType
		for _, n := range b.netpols {
			if matches(&n.Spec.PodSelector, w.template.Labels) {
				for _, typ := range []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress} {
					if hasPolicyType(n, typ) {
						types = append(types, typ)
					}
				}
			}
		}
		if !slices.Contains(types, networkingv1.PolicyTypeIngress) {
			p = append(p, fmt.Sprintf("%s: no NetworkPolicy restricts its ingress", w))
		}
		_, isService := services[w.template.Labels[labelName]]
		if (isService || w.kind == "Job") && !slices.Contains(types, networkingv1.PolicyTypeEgress) {
			p = append(p, fmt.Sprintf("%s: no NetworkPolicy restricts its egress", w))
		}
	}
	try := func(c call) (string, bool) {
		src, ok1 := b.endpoint(c.from)
		dst, ok2 := b.endpoint(c.to)
		if !ok1 || !ok2 {
			return "", false
		}
		return b.denies(src, dst, c.port, c.proto), true
	}
	for _, c := range requiredCalls() {
		who, ok := try(c)
		switch {
		case !ok:
			p = append(p, fmt.Sprintf("%s -> %s: no such Pods", c.from, c.to))
		case who != "":
			p = append(p, fmt.Sprintf("%s -> %s:%d/%s is needed but %s refuses it", c.from, c.to, c.port, c.proto, who))
		}
	}
	for _, c := range forbiddenCalls {
		if who, ok := try(c); ok && who == "" {
			p = append(p, fmt.Sprintf("%s -> %s:%d/%s is not needed but allowed", c.from, c.to, c.port, c.proto))
		}
	}
	return p
}

// routes are where the Ingress must send each path: straight to the
// service that answers it, or to web where pathType Prefix/Exact cannot
// tell (web forwards by the same table, cmd/mediarec/services.go).
var routes = []struct{ path, service string }{
	{"/", "web"},
	{"/assets/app.js", "web"},
	{"/v1/items", "catalog"},
	{"/v1/items/batch", "catalog"},
	{"/v1/items/by-external-id/movielens:1", "catalog"},
	{"/v1/items/42", "web"},
	{"/v1/items/42/similar", "web"},
	{"/v1/search", "recs"},
	{"/v1/recommendations", "recs"},
	{"/v1/admin/embedding", "catalog"},
	{"/v1/admin/reembed", "catalog"},
	{"/v1/auth/login", "users"},
	{"/v1/auth/register", "users"},
	{"/v1/me", "users"},
	{"/v1/me/feedback/42", "users"},
	{"/v1/meh", "web"},
	{"/.well-known/jwks.json", "users"},
}

// route picks the backend of path as the Ingress spec says: an Exact match
// first, then the longest Prefix match by path elements.
func route(ing *networkingv1.Ingress, path string) string {
	best, bestLen := "", -1
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, hp := range r.HTTP.Paths {
			if hp.Backend.Service == nil || hp.PathType == nil {
				continue
			}
			switch *hp.PathType {
			case networkingv1.PathTypeExact:
				if hp.Path == path {
					return hp.Backend.Service.Name
				}
			case networkingv1.PathTypePrefix:
				prefix := strings.TrimSuffix(hp.Path, "/")
				if (prefix == "" || path == prefix || strings.HasPrefix(path, prefix+"/")) && len(prefix) > bestLen {
					best, bestLen = hp.Backend.Service.Name, len(prefix)
				}
			}
		}
	}
	return best
}

func checkIngress(b *bundle) []string {
	if len(b.ingresses) != 1 {
		return []string{fmt.Sprintf("%d Ingresses, want 1", len(b.ingresses))}
	}
	var p []string
	ing := b.ingresses[0]
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName == "" {
		p = append(p, "Ingress "+ing.Name+": no ingressClassName")
	}
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		for _, hp := range r.HTTP.Paths {
			where := fmt.Sprintf("Ingress %s path %s", ing.Name, hp.Path)
			if hp.PathType == nil || (*hp.PathType != networkingv1.PathTypePrefix && *hp.PathType != networkingv1.PathTypeExact) {
				p = append(p, where+": pathType must be Prefix or Exact (ImplementationSpecific differs between controllers)")
			}
			be := hp.Backend.Service
			if be == nil {
				p = append(p, where+": no Service backend")
				continue
			}
			s := find(b.services, be.Name)
			if s == nil || !slices.ContainsFunc(s.Spec.Ports, func(sp corev1.ServicePort) bool {
				return be.Port.Name != "" && sp.Name == be.Port.Name || be.Port.Number != 0 && sp.Port == be.Port.Number
			}) {
				p = append(p, fmt.Sprintf("%s: Service %s has no port %s%d", where, be.Name, be.Port.Name, be.Port.Number))
			}
		}
	}
	for _, r := range routes {
		if got := route(ing, r.path); got != r.service {
			p = append(p, fmt.Sprintf("Ingress %s: %s goes to %q, want %s", ing.Name, r.path, got, r.service))
		}
	}
	if b.prod {
		if len(ing.Spec.Rules) == 0 || ing.Spec.Rules[0].Host == "" {
			p = append(p, "Ingress "+ing.Name+": prod answers on its public host only")
		} else if !slices.ContainsFunc(ing.Spec.TLS, func(t networkingv1.IngressTLS) bool { return slices.Contains(t.Hosts, ing.Spec.Rules[0].Host) }) {
			p = append(p, "Ingress "+ing.Name+": no TLS for "+ing.Spec.Rules[0].Host)
		}
	}
	return p
}

// checkDependencies checks the size of each overlay: one of everything in
// dev; in prod, replicas of each service and NATS and Qdrant as 3-node
// clusters.
func checkDependencies(b *bundle) []string {
	var p []string
	want := map[string]int32{"postgres": 1, "nats": 1, "qdrant": 1}
	if b.prod {
		want["nats"], want["qdrant"] = 3, 3
	}
	for name, n := range want {
		st := find(b.statefulSets, name)
		if st == nil {
			p = append(p, "no StatefulSet "+name)
			continue
		}
		if st.Spec.Replicas == nil || *st.Spec.Replicas != n {
			p = append(p, fmt.Sprintf("StatefulSet %s: replicas %v, want %d", name, st.Spec.Replicas, n))
		}
		c := st.Spec.Template.Spec.Containers[0]
		switch name {
		case "nats":
			args := strings.Join(c.Args, " ")
			if !strings.Contains(args, "--jetstream") || !strings.Contains(args, "--name=$(POD_NAME)") {
				p = append(p, "StatefulSet nats: JetStream needs --jetstream and a stable --name=$(POD_NAME)")
			}
			var routes []string
			for i := range n {
				routes = append(routes, fmt.Sprintf("nats://nats-%d.%s:6222", i, st.Spec.ServiceName))
			}
			hasRoutes := slices.Contains(c.Args, "--routes="+strings.Join(routes, ","))
			if n > 1 && (!hasRoutes || !strings.Contains(args, "--cluster_name=")) {
				p = append(p, fmt.Sprintf("StatefulSet nats: %d servers need --cluster_name and --routes=%s", n, strings.Join(routes, ",")))
			}
			if n == 1 && strings.Contains(args, "--routes") {
				p = append(p, "StatefulSet nats: routes to servers that do not exist")
			}
		case "qdrant":
			cluster := slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "QDRANT__CLUSTER__ENABLED" && e.Value == "true" })
			bootstrap := strings.Contains(strings.Join(c.Args, " "), "--bootstrap")
			if n > 1 && (!cluster || !bootstrap) {
				p = append(p, "StatefulSet qdrant: several peers need QDRANT__CLUSTER__ENABLED=true and --bootstrap")
			}
			if n == 1 && cluster {
				p = append(p, "StatefulSet qdrant: cluster mode with one peer")
			}
		}
	}
	autoscaled := map[string]int32{}
	for _, h := range b.hpas {
		if h.Spec.MinReplicas != nil {
			autoscaled[h.Spec.ScaleTargetRef.Name] = *h.Spec.MinReplicas
		}
	}
	for _, so := range b.scaledObjects {
		if so.Spec.MinReplicaCount != nil {
			autoscaled[so.Spec.ScaleTargetRef.Name] = *so.Spec.MinReplicaCount
		}
	}
	for _, d := range b.deployments {
		n, ok := autoscaled[d.Name]
		if !ok && d.Spec.Replicas != nil {
			n = *d.Spec.Replicas
		}
		if !b.prod && n != 1 {
			p = append(p, fmt.Sprintf("Deployment %s: %d replicas in dev, want 1", d.Name, n))
		}
		if b.prod && n < 2 {
			p = append(p, fmt.Sprintf("Deployment %s: %d replicas in prod, want at least 2", d.Name, n))
		}
	}
	return p
}

func checkMigration(b *bundle) []string {
	j := find(b.jobs, "migrate")
	if j == nil || len(j.Spec.Template.Spec.Containers) != 1 {
		return []string{"no Job migrate with one container"}
	}
	var p []string
	c := j.Spec.Template.Spec.Containers[0]
	if !isMediarec(c.Image) || !slices.Equal(c.Command, []string{"/mediarec", "migrate"}) {
		p = append(p, fmt.Sprintf("Job migrate: runs %s %v, want a mediarec image with command /mediarec migrate (the entrypoint runs a service)", c.Image, c.Command))
	}
	for _, k := range []string{"CATALOG_DATABASE_URL", "USERS_DATABASE_URL", "RECS_DATABASE_URL"} {
		if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
			return e.Name == k && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil
		}) {
			p = append(p, "Job migrate: "+k+" does not come from a Secret")
		}
	}
	if rp := j.Spec.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyNever && rp != corev1.RestartPolicyOnFailure {
		p = append(p, "Job migrate: restartPolicy "+string(rp))
	}
	if j.Spec.BackoffLimit == nil || j.Spec.ActiveDeadlineSeconds == nil {
		p = append(p, "Job migrate: set backoffLimit and activeDeadlineSeconds, or a failing migration retries for ever")
	}
	return p
}

// breakage is one deliberate mistake and the problem a check must report.
type breakage struct {
	name   string
	prod   bool
	mutate func(b *bundle)
	want   string
}

func deployment(b *bundle, name string) *appsv1.Deployment { return find(b.deployments, name) }

func mainContainer(b *bundle, name string) *corev1.Container {
	return &find(b.deployments, name).Spec.Template.Spec.Containers[0]
}

func ptr[T any](v T) *T { return &v }

var breakages = []breakage{
	{name: "liveness probe on /readyz", mutate: func(b *bundle) {
		mainContainer(b, "catalog").LivenessProbe.HTTPGet.Path = "/readyz"
	}, want: "Deployment catalog container catalog: the liveness probe must GET /healthz"},
	{name: "no readiness probe", mutate: func(b *bundle) {
		mainContainer(b, "recs").ReadinessProbe = nil
	}, want: "Deployment recs container recs: no readiness probe"},
	{name: "no startup probe", mutate: func(b *bundle) {
		mainContainer(b, "web").StartupProbe = nil
	}, want: "Deployment web container web: no startup probe"},
	{name: "dependency without liveness probe", mutate: func(b *bundle) {
		find(b.statefulSets, "postgres").Spec.Template.Spec.Containers[0].LivenessProbe = nil
	}, want: "StatefulSet postgres container postgres: no liveness probe"},
	{name: "probe on a port the container lacks", mutate: func(b *bundle) {
		mainContainer(b, "users").StartupProbe.HTTPGet.Port = intstr.FromString("metrics")
	}, want: "the startup probe's port metrics is none of the container's"},
	{name: "memory limit above request", mutate: func(b *bundle) {
		mainContainer(b, "users").Resources.Limits[corev1.ResourceMemory] = resourceMust("1Gi")
	}, want: "Deployment users container users: memory limit 1Gi != request"},
	{name: "no memory limit", mutate: func(b *bundle) {
		delete(find(b.statefulSets, "nats").Spec.Template.Spec.Containers[0].Resources.Limits, corev1.ResourceMemory)
	}, want: "StatefulSet nats container nats: no memory limit"},
	{name: "no CPU request", mutate: func(b *bundle) {
		delete(find(b.jobs, "migrate").Spec.Template.Spec.Containers[0].Resources.Requests, corev1.ResourceCPU)
	}, want: "Job migrate container migrate: no CPU request"},
	{name: "CPU limit", mutate: func(b *bundle) {
		mainContainer(b, "embed-worker").Resources.Limits[corev1.ResourceCPU] = resourceMust("1")
	}, want: "Deployment embed-worker container embed-worker: a CPU limit"},
	{name: "runs as root", mutate: func(b *bundle) {
		d := deployment(b, "catalog")
		d.Spec.Template.Spec.SecurityContext.RunAsUser = ptr(int64(0))
		d.Spec.Template.Spec.Containers[0].SecurityContext.RunAsUser = nil
	}, want: "Deployment catalog container catalog: runAsUser is not set to a non-root uid"},
	{name: "runAsNonRoot false", mutate: func(b *bundle) {
		d := find(b.statefulSets, "qdrant")
		d.Spec.Template.Spec.Containers[0].SecurityContext.RunAsNonRoot = ptr(false)
	}, want: "StatefulSet qdrant container qdrant: runAsNonRoot is not true"},
	{name: "another uid than the image's", mutate: func(b *bundle) {
		mainContainer(b, "web").SecurityContext.RunAsUser = ptr(int64(1000))
	}, want: "runAsUser 1000, the image's user is 65532"},
	{name: "writable root file system", mutate: func(b *bundle) {
		mainContainer(b, "recs").SecurityContext.ReadOnlyRootFilesystem = ptr(false)
	}, want: "Deployment recs container recs: readOnlyRootFilesystem is not true"},
	{name: "privilege escalation", mutate: func(b *bundle) {
		mainContainer(b, "users").SecurityContext.AllowPrivilegeEscalation = nil
	}, want: "Deployment users container users: allowPrivilegeEscalation is not false"},
	{name: "capabilities kept", mutate: func(b *bundle) {
		mainContainer(b, "web").SecurityContext.Capabilities.Drop = nil
	}, want: "Deployment web container web: capabilities must drop ALL"},
	{name: "no seccomp profile", mutate: func(b *bundle) {
		d := deployment(b, "web")
		d.Spec.Template.Spec.SecurityContext.SeccompProfile = nil
		d.Spec.Template.Spec.Containers[0].SecurityContext.SeccompProfile = nil
	}, want: "Deployment web container web: seccompProfile is not RuntimeDefault"},
	{name: "port name of 16 characters", mutate: func(b *bundle) {
		mainContainer(b, "recs").Ports[0].Name = "http-recs-public"
	}, want: `port name "http-recs-public": must be no more than 15 characters`},
	{name: "service account token mounted", mutate: func(b *bundle) {
		find(b.serviceAccounts, "catalog").AutomountServiceAccountToken = nil
	}, want: "ServiceAccount catalog: automountServiceAccountToken is not false"},
	{name: "default service account", mutate: func(b *bundle) {
		deployment(b, "web").Spec.Template.Spec.ServiceAccountName = ""
	}, want: "Deployment web: runs as the default ServiceAccount"},
	{name: "no topology spread", mutate: func(b *bundle) {
		deployment(b, "users").Spec.Template.Spec.TopologySpreadConstraints = nil
	}, want: "Deployment users: no topologySpreadConstraints"},
	{name: "latest tag", mutate: func(b *bundle) {
		mainContainer(b, "web").Image = "ghcr.io/owner/mediarec-web:latest"
	}, want: "is tagged latest"},
	{name: "no tag", mutate: func(b *bundle) {
		find(b.statefulSets, "nats").Spec.Template.Spec.Containers[0].Image = "nats"
	}, want: "image nats has neither tag nor digest"},
	{name: "dependency on another version", mutate: func(b *bundle) {
		find(b.statefulSets, "postgres").Spec.Template.Spec.Containers[0].Image = "postgres:16"
	}, want: `image postgres:16, want the pinned "postgres:15.10-bookworm"`},
	{name: "prod image by tag", prod: true, mutate: func(b *bundle) {
		mainContainer(b, "catalog").Image = "ghcr.io/owner/mediarec-catalog:1.0.0"
	}, want: "is not pinned by digest in prod"},
	{name: "prod digest too short", prod: true, mutate: func(b *bundle) {
		mainContainer(b, "users").Image = "ghcr.io/owner/mediarec-users@sha512:" + strings.Repeat("ab", 64)
	}, want: "digest is not sha256:<64 hex>"},
	{name: "two Services select one Deployment", mutate: func(b *bundle) {
		s := find(b.services, "web").DeepCopy()
		s.Name = "web-public"
		b.services = append(b.services, s)
	}, want: "Deployment web: selected by 2 Services [web web-public], want exactly one"},
	{name: "no Service", mutate: func(b *bundle) {
		b.services = slices.DeleteFunc(b.services, func(s *corev1.Service) bool { return s.Name == "embed-worker" })
	}, want: "Deployment embed-worker: selected by 0 Services"},
	{name: "targetPort names no container port", mutate: func(b *bundle) {
		find(b.services, "catalog").Spec.Ports[0].TargetPort = intstr.FromString("web")
	}, want: "Service catalog: targetPort web is no port of Deployment catalog"},
	{name: "Service selects nothing", mutate: func(b *bundle) {
		find(b.services, "qdrant").Spec.Selector[labelName] = "qdrnat"
	}, want: "Service qdrant: selects no Pods"},
	{name: "two PDBs select one Deployment", mutate: func(b *bundle) {
		pdb := find(b.pdbs, "recs").DeepCopy()
		pdb.Name = "recs-extra"
		b.pdbs = append(b.pdbs, pdb)
	}, want: "Deployment recs: selected by 2 PodDisruptionBudgets"},
	{name: "no PDB", mutate: func(b *bundle) {
		b.pdbs = slices.DeleteFunc(b.pdbs, func(p *policyv1.PodDisruptionBudget) bool { return p.Name == "users" })
	}, want: "Deployment users: selected by 0 PodDisruptionBudgets"},
	{name: "HPA targets a missing Deployment", mutate: func(b *bundle) {
		find(b.hpas, "recs").Spec.ScaleTargetRef.Name = "recommender"
	}, want: "HorizontalPodAutoscaler recs: targets apps/v1 Deployment recommender, which is not in the output"},
	{name: "replicas beside an HPA", mutate: func(b *bundle) {
		deployment(b, "embed-worker").Spec.Replicas = ptr(int32(3))
	}, want: "Deployment embed-worker: sets replicas"},
	{name: "HPA not on CPU", mutate: func(b *bundle) {
		find(b.hpas, "recs").Spec.Metrics = nil
	}, want: "HorizontalPodAutoscaler recs: no CPU utilisation target"},
	{name: "missing ConfigMap", mutate: func(b *bundle) {
		b.configMaps = slices.DeleteFunc(b.configMaps, func(c *corev1.ConfigMap) bool { return strings.HasPrefix(c.Name, "catalog-config-") })
	}, want: "Deployment catalog container catalog: ConfigMap catalog-config-"},
	{name: "missing Secret in dev", mutate: func(b *bundle) {
		b.secrets = slices.DeleteFunc(b.secrets, func(s *corev1.Secret) bool { return strings.HasPrefix(s.Name, "users-credentials-") })
	}, want: "is not in the output nor a documented operator-created Secret"},
	{name: "missing key", mutate: func(b *bundle) {
		delete(findGenerated(b.secrets, "recs-credentials").Data, "RECS_DATABASE_URL")
	}, want: "Job migrate container migrate: Secret recs-credentials-"},
	{name: "undocumented Secret in prod", prod: true, mutate: func(b *bundle) {
		mainContainer(b, "catalog").EnvFrom[1].SecretRef.Name = "catalog-secrets"
	}, want: "Secret catalog-secrets is not in the output nor a documented operator-created Secret"},
	{name: "undocumented key of an operator Secret", prod: true, mutate: func(b *bundle) {
		find(b.jobs, "migrate").Spec.Template.Spec.Containers[0].Env[0].ValueFrom.SecretKeyRef.Key = "DATABASE_URL"
	}, want: "reads key DATABASE_URL of the operator's Secret catalog-credentials"},
	{name: "undocumented TLS Secret", prod: true, mutate: func(b *bundle) {
		b.ingresses[0].Spec.TLS[0].SecretName = "www-tls"
	}, want: "Ingress mediarec TLS: Secret www-tls is not in the output"},
	{name: "token in a ConfigMap", mutate: func(b *bundle) {
		findGenerated(b.configMaps, "catalog-config").Data["MEDIAREC_ADMIN_TOKEN"] = "t"
	}, want: "key MEDIAREC_ADMIN_TOKEN names a secret"},
	{name: "password in a ConfigMap URL", mutate: func(b *bundle) {
		findGenerated(b.configMaps, "recs-config").Data["RECS_DATABASE_URL"] = "postgres://u:pw@postgres:5432/r"
	}, want: "key RECS_DATABASE_URL holds a URL with a password"},
	{name: "key as a literal env value", mutate: func(b *bundle) {
		c := mainContainer(b, "embed-worker")
		c.Env = append(c.Env, corev1.EnvVar{Name: "OPENAI_API_KEY", Value: "sk-123"})
	}, want: "env OPENAI_API_KEY names a secret but is a literal"},
	{name: "MEDIAREC_ADDR off the container port", mutate: func(b *bundle) {
		findGenerated(b.configMaps, "users-config").Data["MEDIAREC_ADDR"] = "0.0.0.0:9090"
	}, want: `users: MEDIAREC_ADDR "0.0.0.0:9090"`},
	{name: "data dir not mounted", mutate: func(b *bundle) {
		findGenerated(b.configMaps, "web-config").Data["MEDIAREC_DATA_DIR"] = "/var/lib/mediarec"
	}, want: `web: MEDIAREC_DATA_DIR "/var/lib/mediarec" is not a mounted volume`},
	{name: "URL to a Service that does not exist", mutate: func(b *bundle) {
		findGenerated(b.configMaps, "recs-config").Data["USERS_URL"] = "http://user:8083"
	}, want: "USERS_URL: http://user:8083 names no Service port here"},
	{name: "embedders differ", mutate: func(b *bundle) {
		findGenerated(b.configMaps, "embed-worker-config").Data["OPENAI_BASE_URL"] = "https://api.openai.com/v1"
	}, want: `embed-worker: OPENAI_BASE_URL "https://api.openai.com/v1", catalog's is ""`},
	{name: "dev password differs", mutate: func(b *bundle) {
		findGenerated(b.secrets, "users-credentials").Data["USERS_DATABASE_URL"] = []byte("postgres://postgres:other@postgres:5432/mediarec_users")
	}, want: "USERS_DATABASE_URL's password is not postgres-credentials' POSTGRES_PASSWORD"},
	{name: "signing key not Ed25519", mutate: func(b *bundle) {
		findGenerated(b.secrets, "users-signing-key").Data["ed25519.pem"] = []byte("not a key")
	}, want: "users-signing-key: ed25519.pem holds no PEM block"},
	{name: "label missing", mutate: func(b *bundle) {
		delete(find(b.services, "users").Labels, "app.kubernetes.io/part-of")
	}, want: "Service users: no label app.kubernetes.io/part-of"},
	{name: "version in a selector", mutate: func(b *bundle) {
		d := deployment(b, "web")
		d.Spec.Selector.MatchLabels["app.kubernetes.io/version"] = d.Spec.Template.Labels["app.kubernetes.io/version"]
	}, want: "Deployment web: selector [app.kubernetes.io/instance app.kubernetes.io/name app.kubernetes.io/version]"},
	{name: "NetworkPolicy selects nothing", mutate: func(b *bundle) {
		find(b.netpols, "web").Spec.PodSelector.MatchLabels[labelName] = "www"
	}, want: "NetworkPolicy web: its podSelector selects no Pods"},
	{name: "NetworkPolicy peer selects nothing", mutate: func(b *bundle) {
		find(b.netpols, "postgres").Spec.Ingress[0].From[0].PodSelector.MatchLabels[labelName] = "catalogue"
	}, want: "NetworkPolicy postgres: the peer map[app.kubernetes.io/instance:mediarec app.kubernetes.io/name:catalogue] selects no Pods"},
	{name: "needed call refused", mutate: func(b *bundle) {
		n := find(b.netpols, "recs")
		n.Spec.Egress = slices.DeleteFunc(n.Spec.Egress, func(r networkingv1.NetworkPolicyEgressRule) bool {
			return len(r.To) > 0 && r.To[0].PodSelector != nil && r.To[0].PodSelector.MatchLabels[labelName] == "nats"
		})
	}, want: "recs -> nats:4222/TCP is needed but the egress policy of recs refuses it"},
	{name: "needed call refused by the other side", mutate: func(b *bundle) {
		find(b.netpols, "qdrant").Spec.Ingress[0].Ports[0].Port = ptr(intstr.FromInt32(6333))
	}, want: "embed-worker -> qdrant:6334/TCP is needed but the ingress policy of qdrant refuses it"},
	{name: "call nothing needs allowed", mutate: func(b *bundle) {
		n := find(b.netpols, "web")
		n.Spec.Egress = append(n.Spec.Egress, networkingv1.NetworkPolicyEgressRule{})
		find(b.netpols, "postgres").Spec.Ingress[0].From = nil
	}, want: "web -> postgres:5432/TCP is not needed but allowed"},
	{name: "Pod without a policy", mutate: func(b *bundle) {
		b.netpols = slices.DeleteFunc(b.netpols, func(n *networkingv1.NetworkPolicy) bool { return n.Name == "migrate" })
	}, want: "Job migrate: no NetworkPolicy restricts its ingress"},
	{name: "route to the wrong service", mutate: func(b *bundle) {
		for i, hp := range b.ingresses[0].Spec.Rules[0].HTTP.Paths {
			if hp.Path == "/v1/search" {
				b.ingresses[0].Spec.Rules[0].HTTP.Paths[i].Backend.Service.Name = "catalog"
			}
		}
	}, want: "Ingress mediarec: /v1/search goes to \"catalog\", want recs"},
	{name: "similar items routed to catalog", mutate: func(b *bundle) {
		paths := &b.ingresses[0].Spec.Rules[0].HTTP.Paths
		*paths = slices.DeleteFunc(*paths, func(hp networkingv1.HTTPIngressPath) bool {
			return hp.Path == "/v1/items" && *hp.PathType == networkingv1.PathTypePrefix
		})
		*paths = append(*paths, networkingv1.HTTPIngressPath{Path: "/v1/items/", PathType: ptr(networkingv1.PathTypePrefix),
			Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "catalog", Port: networkingv1.ServiceBackendPort{Name: "http"}}}})
	}, want: "/v1/items/42/similar goes to \"catalog\", want web"},
	{name: "Ingress backend port missing", mutate: func(b *bundle) {
		b.ingresses[0].Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Name = "https"
	}, want: "has no port https"},
	{name: "prod without TLS", prod: true, mutate: func(b *bundle) {
		b.ingresses[0].Spec.TLS = nil
	}, want: "Ingress mediarec: no TLS for"},
	{name: "prod NATS on one node", prod: true, mutate: func(b *bundle) {
		find(b.statefulSets, "nats").Spec.Replicas = ptr(int32(1))
	}, want: "StatefulSet nats: replicas"},
	{name: "prod NATS without routes", prod: true, mutate: func(b *bundle) {
		c := &find(b.statefulSets, "nats").Spec.Template.Spec.Containers[0]
		c.Args = slices.DeleteFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--routes=") })
	}, want: "StatefulSet nats: 3 servers need --cluster_name and --routes="},
	{name: "prod Qdrant without cluster mode", prod: true, mutate: func(b *bundle) {
		c := &find(b.statefulSets, "qdrant").Spec.Template.Spec.Containers[0]
		c.Env = slices.DeleteFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "QDRANT__CLUSTER__ENABLED" })
	}, want: "StatefulSet qdrant: several peers need QDRANT__CLUSTER__ENABLED=true"},
	{name: "prod service on one replica", prod: true, mutate: func(b *bundle) {
		deployment(b, "users").Spec.Replicas = ptr(int32(1))
	}, want: "Deployment users: 1 replicas in prod, want at least 2"},
	{name: "dev service on two replicas", mutate: func(b *bundle) {
		find(b.hpas, "recs").Spec.MinReplicas = ptr(int32(2))
	}, want: "Deployment recs: 2 replicas in dev, want 1"},
	{name: "StatefulSet without headless Service", mutate: func(b *bundle) {
		find(b.services, "nats-headless").Spec.ClusterIP = ""
	}, want: `StatefulSet nats: serviceName "nats-headless" is not a headless Service selecting it`},
	{name: "migration runs the catalog", mutate: func(b *bundle) {
		find(b.jobs, "migrate").Spec.Template.Spec.Containers[0].Command = nil
	}, want: "Job migrate: runs ghcr.io/owner/mediarec-catalog:dev [], want a mediarec image with command /mediarec migrate"},
	{name: "migration without a database", mutate: func(b *bundle) {
		c := &find(b.jobs, "migrate").Spec.Template.Spec.Containers[0]
		c.Env = c.Env[:2]
	}, want: "Job migrate: RECS_DATABASE_URL does not come from a Secret"},
}

func resourceMust(s string) resource.Quantity { return resource.MustParse(s) }

// TestChecksCatchBreakage breaks each rule once on a fresh decode of an
// overlay: the checks must report it. The overlays themselves pass
// (TestOverlays), so each reported problem comes from the breakage.
func TestChecksCatchBreakage(t *testing.T) {
	for _, bk := range breakages {
		t.Run(bk.name, func(t *testing.T) {
			dir := "overlays/dev"
			if bk.prod {
				dir = "overlays/prod"
			}
			b, problems := decode(renderOnce(t, dir), bk.prod)
			if len(problems) > 0 {
				t.Fatal(problems)
			}
			bk.mutate(b)
			got := runChecks(b)
			if !containsProblem(got, bk.want) {
				t.Errorf("no problem contains %q; got:\n%s", bk.want, strings.Join(got, "\n"))
			}
		})
	}
}
