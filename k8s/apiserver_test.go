//go:build linux

package k8s_test

// TestManifestsOnAPIServer checks the kustomize overlays against a real
// Kubernetes control plane: etcd, kube-apiserver and kube-controller-manager
// v1.37.2, started here on loopback ports and stopped when the test ends.
// kube-apiserver and kube-controller-manager come from
// scripts/k8s-testenv/build.sh (built once from the Go module proxy into a
// cache outside the clone); etcd is Debian's etcd-server package. There is no
// kubelet and no scheduler: Pods stay Pending, which is all this test needs.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const (
	k8sVersion   = "v1.37.2"
	etcdBinary   = "/usr/bin/etcd"
	fieldManager = "mediarec-manifest-test"

	// waitTimeout bounds every wait for the control plane or a controller;
	// pollInterval is how often a wait looks again.
	waitTimeout  = 3 * time.Minute
	pollInterval = 250 * time.Millisecond
)

// controllers is what kube-controller-manager runs: enough for Deployments,
// ReplicaSets, StatefulSets, HPAs and PDBs, plus the default ServiceAccount
// and ResourceQuota status that Pod admission depends on.
var controllers = []string{
	"deployment-controller",
	"replicaset-controller",
	"statefulset-controller",
	"horizontal-pod-autoscaler-controller",
	"disruption-controller",
	"serviceaccount-controller",
	"resourcequota-controller",
}

var (
	gvrPods         = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	gvrNamespaces   = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	gvrDeployments  = appsv1.SchemeGroupVersion.WithResource("deployments")
	gvrReplicaSets  = appsv1.SchemeGroupVersion.WithResource("replicasets")
	gvrStatefulSets = appsv1.SchemeGroupVersion.WithResource("statefulsets")
	gvrHPAs         = autoscalingv2.SchemeGroupVersion.WithResource("horizontalpodautoscalers")
	gvrPDBs         = policyv1.SchemeGroupVersion.WithResource("poddisruptionbudgets")
)

func TestManifestsOnAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd, kube-apiserver and kube-controller-manager; skipped with -short")
	}
	binDir := testenvDir()
	for _, b := range []string{"kube-apiserver", "kube-controller-manager"} {
		if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
			missingPrerequisite(t, "%s %s is not in %s: run scripts/k8s-testenv/build.sh first "+
				"(a cold build takes about 18 minutes on 2 cores; the binaries are cached there afterwards)", b, k8sVersion, binDir)
		}
	}
	if _, err := os.Stat(etcdBinary); err != nil {
		missingPrerequisite(t, "%s not found: apt-get install -y etcd-server", etcdBinary)
	}

	rendered := map[string][]*unstructured.Unstructured{}
	overlays := []string{"dev", "prod"}
	for _, o := range overlays {
		rendered[o] = renderOverlay(t, filepath.Join("overlays", o))
	}

	started := time.Now()
	cp := startControlPlane(t, binDir)
	t.Logf("control plane %s up in %s (etcd %s, kube-apiserver %s)",
		k8sVersion, time.Since(started).Round(time.Millisecond), cp.etcdURL, cp.config.Host)
	c := newCluster(t, cp)
	ctx := t.Context()

	// Namespaced objects in a missing namespace are refused even in a dry
	// run, so create every namespace that either overlay uses first.
	for _, ns := range c.namespacesOf(t, slices.Concat(rendered["dev"], rendered["prod"])) {
		nsObj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns},
		}}
		if _, err := c.dyn.Resource(gvrNamespaces).Apply(ctx, ns, nsObj, metav1.ApplyOptions{FieldManager: fieldManager + "-setup"}); err != nil {
			t.Fatalf("creating namespace %s: %v", ns, err)
		}
		t.Logf("namespace %s created", ns)
	}

	for _, o := range overlays {
		t.Run("dry-run/"+o, func(t *testing.T) {
			c.applyAll(t, rendered[o], true)
		})
	}
	if !t.Run("apply/dev", func(t *testing.T) {
		c.applyAll(t, rendered["dev"], false)
	}) {
		t.FailNow()
	}
	t.Run("controllers/dev", func(t *testing.T) {
		c.waitForControllers(t, rendered["dev"])
	})

	t.Run("refused/port-name-16-chars", func(t *testing.T) {
		const portName = "http-metrics-api"
		if len(portName) != 16 {
			t.Fatalf("port name %q has %d characters, want 16", portName, len(portName))
		}
		c.expectRefused(t, fmt.Sprintf(`
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken-port-name
  namespace: default
spec:
  replicas: 1
  selector:
    matchLabels: {app: broken-port-name}
  template:
    metadata:
      labels: {app: broken-port-name}
    spec:
      containers:
      - name: app
        image: registry.invalid/mediarec:test
        ports:
        - name: %s
          containerPort: 8080
`, portName), "spec.template.spec.containers[0].ports[0].name", portName)
	})
	t.Run("refused/pdb-min-and-max", func(t *testing.T) {
		c.expectRefused(t, `
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: broken-pdb
  namespace: default
spec:
  minAvailable: 1
  maxUnavailable: 1
  selector:
    matchLabels: {app: broken-pdb}
`, "minAvailable", "maxUnavailable")
	})
}

// testenvDir is where scripts/k8s-testenv/build.sh puts the binaries.
func testenvDir() string {
	if d := os.Getenv("K8S_TESTENV_DIR"); d != "" {
		return d
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "mediarec", "k8s-testenv", k8sVersion)
}

// missingPrerequisite skips the test on a developer's machine and fails it in
// CI, whose script builds and installs the prerequisites first.
func missingPrerequisite(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// renderOverlay is `kustomize build dir` through kustomize's Go API.
func renderOverlay(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	opts := krusty.MakeDefaultOptions()
	// Emit objects in the order `kustomize build` and `kubectl apply -k`
	// use (Namespaces, ServiceAccounts and ConfigMaps before workloads)
	// unless the kustomization sets sortOptions.
	opts.Reorder = krusty.ReorderOptionUnspecified
	resMap, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var objs []*unstructured.Unstructured
	for _, r := range resMap.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatalf("%s: %s: %v", dir, r.CurId(), err)
		}
		objs = append(objs, decodeObject(t, y))
	}
	if len(objs) == 0 {
		t.Fatalf("kustomize build %s: no objects", dir)
	}
	return objs
}

func decodeObject(t *testing.T, y []byte) *unstructured.Unstructured {
	t.Helper()
	j, err := utilyaml.ToJSON(y)
	if err != nil {
		t.Fatalf("yaml: %v\n%s", err, y)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatalf("decoding object: %v\n%s", err, y)
	}
	return u
}

func describe(u *unstructured.Unstructured) string {
	s := u.GetAPIVersion() + " " + u.GetKind() + " "
	if ns := u.GetNamespace(); ns != "" {
		s += ns + "/"
	}
	return s + u.GetName()
}

// ---------------------------------------------------------------------------
// Talking to the API server.

type cluster struct {
	cp     *controlPlane
	dyn    dynamic.Interface
	mapper meta.RESTMapper
	served map[string]bool // API groups the server serves ("" is core)
}

func newCluster(t *testing.T, cp *controlPlane) *cluster {
	t.Helper()
	disco, err := discovery.NewDiscoveryClientForConfig(cp.config)
	if err != nil {
		t.Fatal(err)
	}
	v, err := disco.ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	if v.GitVersion != k8sVersion {
		t.Fatalf("server reports version %q, want %q (rebuild with scripts/k8s-testenv/build.sh)", v.GitVersion, k8sVersion)
	}
	groups, err := disco.ServerGroups()
	if err != nil {
		t.Fatalf("server groups: %v", err)
	}
	served := map[string]bool{}
	for _, g := range groups.Groups {
		served[g.Name] = true
	}
	dyn, err := dynamic.NewForConfig(cp.config)
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{
		cp:     cp,
		dyn:    dyn,
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco)),
		served: served,
	}
}

// errNotServed marks an object whose API group the server does not serve:
// a custom resource (ServiceMonitor, PrometheusRule, ScaledObject, …) whose
// CRD is not installed on this bare control plane.
var errNotServed = errors.New("API group not served")

// resourceFor returns the client for u's kind and namespace.
func (c *cluster) resourceFor(u *unstructured.Unstructured) (dynamic.ResourceInterface, bool, error) {
	gvk := u.GroupVersionKind()
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		if meta.IsNoMatchError(err) && !c.served[gvk.Group] {
			return nil, false, fmt.Errorf("%w: %s", errNotServed, gvk.GroupVersion())
		}
		// A built-in group without this kind or version (a typo, or a
		// removed version such as policy/v1beta1) is a real error.
		return nil, false, err
	}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		return c.dyn.Resource(m.Resource), false, nil
	}
	ns := u.GetNamespace()
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	return c.dyn.Resource(m.Resource).Namespace(ns), true, nil
}

// namespacesOf lists the namespaces that objs live in or declare.
func (c *cluster) namespacesOf(t *testing.T, objs []*unstructured.Unstructured) []string {
	t.Helper()
	set := map[string]bool{}
	for _, u := range objs {
		if u.GetAPIVersion() == "v1" && u.GetKind() == "Namespace" {
			set[u.GetName()] = true
			continue
		}
		_, namespaced, err := c.resourceFor(u)
		if errors.Is(err, errNotServed) {
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", describe(u), err)
		}
		if namespaced {
			ns := u.GetNamespace()
			if ns == "" {
				ns = metav1.NamespaceDefault
			}
			set[ns] = true
		}
	}
	var out []string
	for ns := range set {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}

// apply is a server-side apply of u (kubectl apply --server-side
// [--dry-run=server]).
func (c *cluster) apply(ctx context.Context, u *unstructured.Unstructured, dryRun bool) error {
	ri, _, err := c.resourceFor(u)
	if err != nil {
		return err
	}
	opts := metav1.ApplyOptions{FieldManager: fieldManager, Force: true}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err = ri.Apply(ctx, u.GetName(), u, opts)
	return err
}

func (c *cluster) applyAll(t *testing.T, objs []*unstructured.Unstructured, dryRun bool) {
	t.Helper()
	mode := "applied"
	if dryRun {
		mode = "accepted (dry run)"
	}
	var applied, skipped int
	for _, u := range objs {
		err := c.apply(t.Context(), u, dryRun)
		switch {
		case errors.Is(err, errNotServed):
			skipped++
			t.Logf("skipped  %s: custom resource, its CRD is not installed on this API server", describe(u))
		case err != nil:
			t.Errorf("refused  %s: %v", describe(u), err)
		default:
			applied++
			t.Logf("%s %s", mode, describe(u))
		}
	}
	t.Logf("%d of %d objects %s, %d skipped", applied, len(objs), mode, skipped)
}

// expectRefused applies manifest for real and requires the server to refuse it
// as invalid with a message that mentions each of wants.
func (c *cluster) expectRefused(t *testing.T, manifest string, wants ...string) {
	t.Helper()
	u := decodeObject(t, []byte(manifest))
	err := c.apply(t.Context(), u, false)
	if err == nil {
		t.Fatalf("%s was accepted, want it refused", describe(u))
	}
	t.Logf("server refused %s: %v", describe(u), err)
	if !apierrors.IsInvalid(err) {
		t.Errorf("want an Invalid (422) error, got reason %q", apierrors.ReasonForError(err))
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("server message does not mention %q", w)
		}
	}
	ri, _, _ := c.resourceFor(u)
	if _, err := ri.Get(t.Context(), u.GetName(), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after the refusal, get %s: %v, want NotFound", describe(u), err)
	}
}

// ---------------------------------------------------------------------------
// Waiting for the controllers.

// check reports whether one object has reached what the test waits for, and
// a one-line status either way.
type check struct {
	what string
	fn   func(ctx context.Context) (bool, string, error)
}

func (c *cluster) waitForControllers(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	var checks []check
	for _, u := range objs {
		ns, name := u.GetNamespace(), u.GetName()
		if ns == "" {
			ns = metav1.NamespaceDefault
		}
		switch u.GroupVersionKind().GroupKind() {
		case appsv1.SchemeGroupVersion.WithKind("Deployment").GroupKind():
			checks = append(checks, check{describe(u), func(ctx context.Context) (bool, string, error) {
				return c.deploymentHasPods(ctx, ns, name)
			}})
		case appsv1.SchemeGroupVersion.WithKind("StatefulSet").GroupKind():
			checks = append(checks, check{describe(u), func(ctx context.Context) (bool, string, error) {
				return c.statefulSetHasPods(ctx, ns, name)
			}})
		case autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler").GroupKind():
			checks = append(checks, check{describe(u), func(ctx context.Context) (bool, string, error) {
				return c.hpaAccepted(ctx, ns, name)
			}})
		case policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget").GroupKind():
			checks = append(checks, check{describe(u), func(ctx context.Context) (bool, string, error) {
				return c.pdbComputed(ctx, ns, name)
			}})
		}
	}
	if len(checks) == 0 {
		t.Fatal("the overlay has no Deployment, StatefulSet, HPA or PDB to wait for")
	}

	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	status := make([]string, len(checks))
	done := make([]bool, len(checks))
	for {
		for i, ch := range checks {
			if done[i] {
				continue
			}
			ok, s, err := ch.fn(ctx)
			if err != nil && ctx.Err() == nil {
				s = "error: " + err.Error()
			}
			if ok {
				done[i] = true
				t.Logf("ready after %5s  %s: %s", time.Since(start).Round(10*time.Millisecond), ch.what, s)
			}
			status[i] = s
		}
		if !slices.Contains(done, false) {
			return
		}
		if err := c.cp.exited(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
			for i, ch := range checks {
				if !done[i] {
					t.Errorf("not ready after %s: %s: %s", waitTimeout, ch.what, status[i])
				}
			}
			return
		case <-time.After(pollInterval):
		}
	}
}

func getTyped[T any](ctx context.Context, ri dynamic.ResourceInterface, name string) (*T, error) {
	u, err := ri.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ownedBy lists the objects of gvr in ns whose controller is one of owners.
func (c *cluster) ownedBy(ctx context.Context, gvr schema.GroupVersionResource, ns string, owners ...types.UID) ([]unstructured.Unstructured, error) {
	list, err := c.dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []unstructured.Unstructured
	for _, item := range list.Items {
		if ref := metav1.GetControllerOf(&item); ref != nil && slices.Contains(owners, ref.UID) {
			out = append(out, item)
		}
	}
	return out, nil
}

func replicasOr1(r *int32) int {
	if r == nil {
		return 1
	}
	return int(*r)
}

// deploymentHasPods: the Deployment has a ReplicaSet, and the ReplicaSets own
// as many Pods as the Deployment wants (Pending: there is no kubelet).
func (c *cluster) deploymentHasPods(ctx context.Context, ns, name string) (bool, string, error) {
	d, err := getTyped[appsv1.Deployment](ctx, c.dyn.Resource(gvrDeployments).Namespace(ns), name)
	if err != nil {
		return false, "", err
	}
	rss, err := c.ownedBy(ctx, gvrReplicaSets, ns, d.UID)
	if err != nil {
		return false, "", err
	}
	if len(rss) == 0 {
		return false, "no ReplicaSet yet", nil
	}
	var uids []types.UID
	var names []string
	for _, rs := range rss {
		uids = append(uids, rs.GetUID())
		names = append(names, rs.GetName())
	}
	pods, err := c.ownedBy(ctx, gvrPods, ns, uids...)
	if err != nil {
		return false, "", err
	}
	want := replicasOr1(d.Spec.Replicas)
	s := fmt.Sprintf("ReplicaSet %s, %d/%d Pods %s", strings.Join(names, ","), len(pods), want, podPhases(pods))
	return len(pods) >= want, s, nil
}

// statefulSetHasPods: the StatefulSet owns Pods (with the default OrderedReady
// policy only pod 0 is created, since it never becomes Ready here).
func (c *cluster) statefulSetHasPods(ctx context.Context, ns, name string) (bool, string, error) {
	s, err := getTyped[appsv1.StatefulSet](ctx, c.dyn.Resource(gvrStatefulSets).Namespace(ns), name)
	if err != nil {
		return false, "", err
	}
	pods, err := c.ownedBy(ctx, gvrPods, ns, s.UID)
	if err != nil {
		return false, "", err
	}
	want := min(replicasOr1(s.Spec.Replicas), 1)
	if s.Spec.PodManagementPolicy == appsv1.ParallelPodManagement {
		want = replicasOr1(s.Spec.Replicas)
	}
	var names []string
	for _, p := range pods {
		names = append(names, p.GetName())
	}
	sort.Strings(names)
	return len(pods) >= want, fmt.Sprintf("%d Pods [%s] %s (replicas %d)",
		len(pods), strings.Join(names, " "), podPhases(pods), replicasOr1(s.Spec.Replicas)), nil
}

func podPhases(pods []unstructured.Unstructured) string {
	count := map[string]int{}
	for _, p := range pods {
		phase, _, _ := unstructured.NestedString(p.Object, "status", "phase")
		count[phase]++
	}
	var parts []string
	for phase, n := range count {
		parts = append(parts, fmt.Sprintf("%s=%d", phase, n))
	}
	sort.Strings(parts)
	return "(" + strings.Join(parts, " ") + ")"
}

// hpaAccepted: the HPA controller has processed the HPA and could read its
// target's scale (AbleToScale=True). Metrics are unavailable here, so
// ScalingActive is expected to be False.
func (c *cluster) hpaAccepted(ctx context.Context, ns, name string) (bool, string, error) {
	h, err := getTyped[autoscalingv2.HorizontalPodAutoscaler](ctx, c.dyn.Resource(gvrHPAs).Namespace(ns), name)
	if err != nil {
		return false, "", err
	}
	if len(h.Status.Conditions) == 0 {
		return false, "no status conditions yet", nil
	}
	var parts []string
	able := false
	for _, cond := range h.Status.Conditions {
		parts = append(parts, fmt.Sprintf("%s=%s(%s)", cond.Type, cond.Status, cond.Reason))
		if cond.Type == autoscalingv2.AbleToScale && cond.Status == "True" {
			able = true
		}
	}
	s := fmt.Sprintf("target %s/%s, replicas %d..%d, %s", h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name,
		replicasOr1(h.Spec.MinReplicas), h.Spec.MaxReplicas, strings.Join(parts, " "))
	return able, s, nil
}

// pdbComputed: the disruption controller has computed the PDB's status for
// its current generation, and the selector matches Pods.
func (c *cluster) pdbComputed(ctx context.Context, ns, name string) (bool, string, error) {
	p, err := getTyped[policyv1.PodDisruptionBudget](ctx, c.dyn.Resource(gvrPDBs).Namespace(ns), name)
	if err != nil {
		return false, "", err
	}
	if p.Status.ObservedGeneration == 0 || p.Status.ObservedGeneration < p.Generation {
		return false, "status not computed yet", nil
	}
	s := fmt.Sprintf("observedGeneration %d, expectedPods %d, currentHealthy %d, desiredHealthy %d, disruptionsAllowed %d",
		p.Status.ObservedGeneration, p.Status.ExpectedPods, p.Status.CurrentHealthy, p.Status.DesiredHealthy, p.Status.DisruptionsAllowed)
	if p.Status.ExpectedPods == 0 {
		// Either the Pods are not there yet, or the selector matches none.
		sel, _ := json.Marshal(p.Spec.Selector)
		return false, s + ", selector " + string(sel) + " matches no Pods", nil
	}
	return true, s, nil
}

// ---------------------------------------------------------------------------
// Starting the control plane.

type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
}

type controlPlane struct {
	dir     string
	etcdURL string
	config  *rest.Config
	procs   []*process
}

// startControlPlane starts etcd, kube-apiserver and kube-controller-manager on
// free loopback ports with certificates, keys and configuration in a
// temporary directory, waits until the API server is ready, and stops all
// three when the test ends.
func startControlPlane(t *testing.T, binDir string) *controlPlane {
	t.Helper()
	dir := t.TempDir()
	cp := &controlPlane{dir: dir}
	t.Cleanup(cp.stop)
	// Cleanups run last-in first-out: this one, before the processes stop.
	t.Cleanup(func() {
		if t.Failed() {
			cp.dumpLogs(t)
		}
	})

	// etcd.
	clientPort, peerPort := freePort(t), freePort(t)
	cp.etcdURL = "http://127.0.0.1:" + clientPort
	peerURL := "http://127.0.0.1:" + peerPort
	etcd := cp.start(t, "etcd", etcdBinary,
		"--name=default",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+cp.etcdURL,
		"--advertise-client-urls="+cp.etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=default="+peerURL,
		"--log-level=warn",
		"--logger=zap",
	)
	cp.waitHTTP(t, etcd, cp.etcdURL+"/health", http.DefaultClient, `"health":"true"`)

	// Credentials: a CA and a serving certificate for 127.0.0.1, a key for
	// service-account tokens, and one superuser bearer token.
	caPEM, caCert, caKey := newCA(t)
	servingCert, servingKey := newServingCert(t, caCert, caKey)
	writeFile(t, dir, "ca.crt", caPEM)
	writeFile(t, dir, "serving.crt", servingCert)
	writeFile(t, dir, "serving.key", servingKey)
	saKey := newKey(t)
	writeFile(t, dir, "sa.key", pemKey(t, saKey))
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "sa.pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub}))
	token := randomHex(t, 16)
	writeFile(t, dir, "tokens.csv", []byte(token+",admin,admin,system:masters\n"))

	apiPort := freePort(t)
	apiserver := cp.start(t, "kube-apiserver", filepath.Join(binDir, "kube-apiserver"),
		"--etcd-servers="+cp.etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+apiPort,
		"--endpoint-reconciler-type=none",
		"--cert-dir="+filepath.Join(dir, "apiserver-certs"),
		"--tls-cert-file="+filepath.Join(dir, "serving.crt"),
		"--tls-private-key-file="+filepath.Join(dir, "serving.key"),
		"--token-auth-file="+filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(dir, "sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
		"--profiling=false",
		// Its size estimator polls the watch cache in a way etcd 3.4 keeps
		// answering with "Too large resource version", filling the log that
		// a failing test prints; it only tunes API priority and fairness.
		"--feature-gates=SizeBasedListCostEstimate=false",
	)

	cp.config = &rest.Config{
		Host:            "https://127.0.0.1:" + apiPort,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: caPEM},
		QPS:             100,
		Burst:           200,
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	httpc := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &bearer{token: token, rt: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	}
	cp.waitHTTP(t, apiserver, cp.config.Host+"/readyz", httpc, "ok")

	// The kubeconfig that kube-controller-manager (or a person debugging
	// with kubectl) uses.
	kubeconfig := filepath.Join(dir, "kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["testenv"] = &clientcmdapi.Cluster{Server: cp.config.Host, CertificateAuthorityData: caPEM}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts["testenv"] = &clientcmdapi.Context{Cluster: "testenv", AuthInfo: "admin"}
	kc.CurrentContext = "testenv"
	if err := clientcmd.WriteToFile(*kc, kubeconfig); err != nil {
		t.Fatal(err)
	}

	cp.start(t, "kube-controller-manager", filepath.Join(binDir, "kube-controller-manager"),
		"--kubeconfig="+kubeconfig,
		"--controllers="+strings.Join(controllers, ","),
		"--use-service-account-credentials=false",
		"--leader-elect=false",
		"--secure-port=0",
		"--horizontal-pod-autoscaler-sync-period=2s",
		"--profiling=false",
	)
	return cp
}

type bearer struct {
	token string
	rt    http.RoundTripper
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.rt.RoundTrip(r)
}

func (cp *controlPlane) start(t *testing.T, name, bin string, args ...string) *process {
	t.Helper()
	p := &process{name: name, log: filepath.Join(cp.dir, name+".log"), done: make(chan struct{})}
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = cp.dir
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	// If the test binary dies without running its cleanups (a -timeout
	// panic, a kill), take the servers down with it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	cp.procs = append(cp.procs, p)
	return p
}

// waitHTTP polls url until it answers 200 with a body containing want, or
// fails the test when p exits or waitTimeout passes.
func (cp *controlPlane) waitHTTP(t *testing.T, p *process, url string, c *http.Client, want string) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		resp, err := c.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte(want)) {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited while starting: %v", p.name, p.err)
		case <-deadline:
			t.Fatalf("%s not ready at %s after %s", p.name, url, waitTimeout)
		case <-time.After(pollInterval):
		}
	}
}

// exited reports the first process that is no longer running.
func (cp *controlPlane) exited() error {
	for _, p := range cp.procs {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: %v", p.name, p.err)
		default:
		}
	}
	return nil
}

// stop terminates the processes in reverse order of starting.
func (cp *controlPlane) stop() {
	for _, p := range slices.Backward(cp.procs) {
		select {
		case <-p.done:
			continue
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}

// dumpLogs logs the last lines of each component's log.
func (cp *controlPlane) dumpLogs(t *testing.T) {
	t.Helper()
	const keep = 40
	for _, p := range cp.procs {
		f, err := os.Open(p.log)
		if err != nil {
			continue
		}
		var lines []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if len(lines) > keep {
				lines = lines[1:]
			}
		}
		f.Close()
		state := "running"
		select {
		case <-p.done:
			state = fmt.Sprintf("exited: %v", p.err)
		default:
		}
		t.Logf("--- last %d lines of %s (%s):\n%s", len(lines), p.name, state, strings.Join(lines, "\n"))
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func writeFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pemKey(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func newCA(t *testing.T) ([]byte, *x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mediarec-k8s-testenv-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), cert, key
}

func newServingCert(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (certPEM, keyPEM []byte) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pemKey(t, key)
}
