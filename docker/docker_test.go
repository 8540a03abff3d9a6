// Package docker_test checks the images' Dockerfiles and the compose file
// as the tools that build and run them read them: BuildKit's own Dockerfile
// parser and compose-spec's loader (no Docker engine needed).
package docker_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// services are the images, with the port each listens on: the defaults of
// scripts/services.sh and the Kubernetes manifests.
var services = map[string]string{
	"catalog":      "8081",
	"embed-worker": "8082",
	"users":        "8083",
	"recs":         "8084",
	"web":          "8080",
}

var (
	goImage      = regexp.MustCompile(`^golang:1\.\d+\.\d+-[a-z]+$`)                                       // pinned by version
	runtimeImage = regexp.MustCompile(`^gcr\.io/distroless/static-debian\d+:nonroot@sha256:[0-9a-f]{64}$`) // pinned by digest
)

func TestDockerfiles(t *testing.T) {
	for svc, port := range services {
		t.Run(svc, func(t *testing.T) {
			stages := mustParse(t, filepath.Join(svc, "Dockerfile"))
			if len(stages) != 2 {
				t.Fatalf("%d stages, want 2: build, then run", len(stages))
			}
			build, run := stages[0], stages[1]
			if build.Name != "build" || !goImage.MatchString(build.BaseName) {
				t.Errorf("build stage %q FROM %q, want one named build on the official Go image pinned by version", build.Name, build.BaseName)
			}
			var compiles bool
			for _, c := range build.Commands {
				if r, ok := c.(*instructions.RunCommand); ok && strings.Contains(strings.Join(r.CmdLine, " "), "go build") {
					line := strings.Join(r.CmdLine, " ")
					compiles = strings.Contains(line, "-trimpath") && strings.Contains(line, "-X main.version=${VERSION}")
				}
			}
			if !compiles || !slices.Contains(envOf(build), "CGO_ENABLED=0") {
				t.Errorf("the build stage must build a static binary: CGO_ENABLED=0, -trimpath, the version stamped (-X main.version)")
			}

			if !runtimeImage.MatchString(run.BaseName) {
				t.Errorf("runtime FROM %q, want distroless static non-root pinned by digest", run.BaseName)
			}
			var user, entrypoint string
			var exposed []string
			labels := map[string]string{}
			for _, c := range run.Commands {
				switch c := c.(type) {
				case *instructions.RunCommand:
					t.Errorf("the runtime stage runs %q: it has no shell", c.String())
				case *instructions.UserCommand:
					user = c.User
				case *instructions.EntrypointCommand:
					if c.PrependShell {
						t.Errorf("ENTRYPOINT in shell form: the image has no shell")
					}
					entrypoint = strings.Join(c.CmdLine, " ")
				case *instructions.ExposeCommand:
					exposed = append(exposed, c.Ports...)
				case *instructions.LabelCommand:
					for _, kv := range c.Labels {
						labels[kv.Key] = kv.Value
					}
				}
			}
			if user != "65532:65532" && user != "65532" {
				t.Errorf("USER %q, want 65532 (distroless nonroot)", user)
			}
			if entrypoint != "/mediarec "+svc {
				t.Errorf("ENTRYPOINT %q, want [\"/mediarec\", %q]", entrypoint, svc)
			}
			if !slices.Equal(exposed, []string{port}) || !slices.Contains(envOf(run), "MEDIAREC_ADDR=0.0.0.0:"+port) {
				t.Errorf("EXPOSE %v and MEDIAREC_ADDR, want the service's port %s", exposed, port)
			}
			for _, key := range []string{"title", "description", "version", "revision"} {
				if labels["org.opencontainers.image."+key] == "" {
					t.Errorf("no org.opencontainers.image.%s label", key)
				}
			}
		})
	}
}

func mustParse(t *testing.T, path string) []instructions.Stage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatalf("instructions of %s: %v", path, err)
	}
	return stages
}

// envOf lists a stage's ENV settings as KEY=value.
func envOf(s instructions.Stage) []string {
	var out []string
	for _, c := range s.Commands {
		if e, ok := c.(*instructions.EnvCommand); ok {
			for _, kv := range e.Env {
				out = append(out, kv.Key+"="+kv.Value)
			}
		}
	}
	return out
}

func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for _, want := range []string{".git", "bin", "data"} {
		if !slices.Contains(lines, want) {
			t.Errorf(".dockerignore does not leave out %s", want)
		}
	}
}

// TestCompose loads the compose file as docker compose does (schema
// validation, interpolation, merge keys) and checks that it runs the five
// services from their Dockerfiles beside PostgreSQL, NATS with JetStream
// and Qdrant.
func TestCompose(t *testing.T) {
	load := func(env map[string]string) (*types.Project, error) {
		return loader.LoadWithContext(context.Background(), types.ConfigDetails{
			WorkingDir:  ".",
			ConfigFiles: []types.ConfigFile{{Filename: "compose.yaml"}},
			Environment: env,
		}, func(o *loader.Options) { o.SetProjectName("mediarec", true) })
	}
	if _, err := load(nil); err == nil || !strings.Contains(err.Error(), "MEDIAREC_ADMIN_TOKEN") {
		t.Errorf("without MEDIAREC_ADMIN_TOKEN: %v, want an error naming it", err)
	}
	p, err := load(map[string]string{"MEDIAREC_ADMIN_TOKEN": "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"postgres", "nats", "qdrant"} {
		if _, err := p.GetService(name); err != nil {
			t.Errorf("no %s service: %v", name, err)
		}
	}
	if nats, _ := p.GetService("nats"); !slices.Contains(nats.Command, "--jetstream") {
		t.Errorf("nats runs %v, want JetStream on", nats.Command)
	}
	for svc := range services {
		s, err := p.GetService(svc)
		if err != nil {
			t.Errorf("no %s service: %v", svc, err)
			continue
		}
		if s.Build == nil || s.Build.Dockerfile != "docker/"+svc+"/Dockerfile" {
			t.Errorf("%s builds %+v, want docker/%s/Dockerfile", svc, s.Build, svc)
		}
		if !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") {
			t.Errorf("%s: want a read-only root and every capability dropped", svc)
		}
		if svc != "web" && (s.Environment["NATS_URL"] == nil || *s.Environment["NATS_URL"] != "nats://nats:4222") {
			t.Errorf("%s: NATS_URL %v", svc, s.Environment["NATS_URL"])
		}
	}
	for svc, want := range map[string]string{"catalog": "mediarec_catalog", "users": "mediarec_users", "recs": "mediarec_recs"} {
		s, _ := p.GetService(svc)
		var dsn string
		for k, v := range s.Environment {
			if strings.HasSuffix(k, "_DATABASE_URL") && v != nil {
				dsn = *v
			}
		}
		if !strings.Contains(dsn, "@postgres:5432/"+want+"?") {
			t.Errorf("%s's database %q, want its own, %s", svc, dsn, want)
		}
	}
	web, _ := p.GetService("web")
	if len(web.Ports) != 1 || web.Ports[0].Target != 8080 {
		t.Errorf("web publishes %+v, want 8080", web.Ports)
	}
}

// TestQdrantClusterCompose loads qdrant-cluster.yaml as docker compose does
// and checks the cluster TestQdrantCluster and .github/workflows/qdrant.yml
// expect: three peers of one pinned Qdrant release in cluster mode, the
// first starting the cluster and the others joining through it, each with
// its own volume, a health check that needs no tool the image lacks, and
// gRPC and REST published on loopback (6334/6333, 6344/6343, 6354/6353),
// never the unauthenticated peer-to-peer port.
func TestQdrantClusterCompose(t *testing.T) {
	load := func(env map[string]string) *types.Project {
		t.Helper()
		p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
			WorkingDir:  ".",
			ConfigFiles: []types.ConfigFile{{Filename: "qdrant-cluster.yaml"}},
			Environment: env,
		})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := load(map[string]string{"QDRANT_IMAGE": "qdrant/qdrant:v1.15.5"}); p.Services["qdrant-2"].Image != "qdrant/qdrant:v1.15.5" {
		t.Errorf("QDRANT_IMAGE does not choose the image: %q", p.Services["qdrant-2"].Image)
	}
	p := load(nil)
	if p.Name != "mediarec-qdrant" {
		t.Errorf("project %q, want mediarec-qdrant whatever the directory (the workflow stops a peer by service name)", p.Name)
	}
	if len(p.Services) != 3 {
		t.Errorf("services %v, want qdrant-1, qdrant-2, qdrant-3", p.ServiceNames())
	}
	pinned := regexp.MustCompile(`^qdrant/qdrant:v\d+\.\d+\.\d+$`)
	volumes := map[string]bool{}
	for i := 1; i <= 3; i++ {
		name := "qdrant-" + strconv.Itoa(i)
		s, err := p.GetService(name)
		if err != nil {
			t.Errorf("no %s: %v", name, err)
			continue
		}
		if !pinned.MatchString(s.Image) {
			t.Errorf("%s runs %q, want qdrant/qdrant pinned by release", name, s.Image)
		}
		for k, want := range map[string]string{"QDRANT__CLUSTER__ENABLED": "true", "QDRANT__CLUSTER__P2P__PORT": "6335"} {
			if v := s.Environment[k]; v == nil || *v != want {
				t.Errorf("%s: %s=%v, want %s", name, k, v, want)
			}
		}
		cmd := []string(s.Command)
		uri := slices.Index(cmd, "--uri")
		if len(cmd) == 0 || cmd[0] != "./entrypoint.sh" || uri < 0 || uri+1 >= len(cmd) || cmd[uri+1] != "http://"+name+":6335" {
			t.Errorf("%s runs %q, want ./entrypoint.sh --uri http://%s:6335", name, cmd, name)
		}
		boot := slices.Index(cmd, "--bootstrap")
		switch {
		case i == 1 && boot >= 0:
			t.Errorf("qdrant-1 runs %q: the first peer starts the cluster, it joins none", cmd)
		case i > 1 && (boot < 0 || boot+1 >= len(cmd) || cmd[boot+1] != "http://qdrant-1:6335"):
			t.Errorf("%s runs %q, want --bootstrap http://qdrant-1:6335", name, cmd)
		}
		if i > 1 {
			prev := "qdrant-" + strconv.Itoa(i-1)
			if d, ok := s.DependsOn[prev]; !ok || d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s starts before %s is healthy: %+v", name, prev, s.DependsOn)
			}
		}

		published := map[uint32]string{}
		for _, port := range s.Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("%s publishes %d on %q, want loopback only", name, port.Target, port.HostIP)
			}
			published[port.Target] = port.Published
		}
		want := map[uint32]string{6333: "63" + strconv.Itoa(i+2) + "3", 6334: "63" + strconv.Itoa(i+2) + "4"}
		if !maps.Equal(published, want) {
			t.Errorf("%s publishes %v (container port → host port), want %v", name, published, want)
		}

		hc := s.HealthCheck
		if hc == nil || hc.Disable {
			t.Errorf("%s has no health check", name)
		} else {
			test := strings.Join(hc.Test, " ")
			if !strings.Contains(test, "/readyz") || !strings.Contains(test, `"$code" = 200`) || strings.Contains(test, "curl") || strings.Contains(test, "wget") {
				t.Errorf("%s checks health with %q, want /readyz through bash (the image has no curl or wget)", name, hc.Test)
			}
		}
		var storage string
		for _, v := range s.Volumes {
			if v.Target == "/qdrant/storage" && v.Type == types.VolumeTypeVolume {
				storage = v.Source
			}
		}
		if storage == "" || volumes[storage] {
			t.Errorf("%s keeps its storage in %q, want a named volume of its own", name, storage)
		}
		volumes[storage] = true
	}
}
