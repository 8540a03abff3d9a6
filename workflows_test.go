package mediarec_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// TestWorkflows lints .github/workflows with actionlint, the version pinned
// by go.mod's tool directive (it runs shellcheck on the run: scripts when
// shellcheck is installed, and skips that part otherwise), and checks what
// STYLE.md "Deployment files" asks of a workflow and what actionlint cannot
// know: that CI runs the README's test command.
func TestWorkflows(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(".github", "workflows", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no workflows in .github/workflows")
	}

	t.Run("actionlint", func(t *testing.T) {
		cmd := exec.Command("go", append([]string{"tool", "actionlint", "-no-color"}, files...)...)
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go tool actionlint: %v\n%s", err, out)
		}
	})

	workflows := map[string]*actionlint.Workflow{}
	sources := map[string][]byte{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		wf, errs := actionlint.Parse(src)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", f, errs[0])
		}
		workflows[f], sources[f] = wf, src
	}

	t.Run("ci runs the README's test command", func(t *testing.T) {
		want := readmeTestCommand(t)
		f := filepath.Join(".github", "workflows", "ci.yml")
		wf, ok := workflows[f]
		if !ok {
			t.Fatalf("%s is missing", f)
		}
		job, ok := wf.Jobs["test"]
		if !ok {
			t.Fatalf("%s: no job named test", f)
		}
		var runs, firstLines []string
		for _, s := range job.Steps {
			if r, ok := s.Exec.(*actionlint.ExecRun); ok && r.Run != nil {
				run := strings.TrimSpace(r.Run.Value)
				runs = append(runs, run)
				first, _, _ := strings.Cut(run, "\n")
				firstLines = append(firstLines, first)
			}
		}
		if !slices.Contains(runs, want) {
			t.Errorf("%s: job test has no step that runs exactly %q (the README's test command); its run steps begin: %q", f, want, firstLines)
		}
		// Without CI=true a missing PostgreSQL, NATS or data set skips
		// tests instead of failing them.
		if v := envValue(job.Env, "CI"); v != "true" {
			t.Errorf("%s: job test sets CI=%q, want true", f, v)
		}
		if job.Services == nil || job.Services.Value["postgres"] == nil {
			t.Errorf("%s: job test has no postgres service container", f)
		}
	})

	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			checkWorkflow(t, f, workflows[f], sources[f])
		})
	}
}

// readmeTestCommand returns the second command of the README's first code
// block, the one its opening lines call the test command.
func readmeTestCommand(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var commands []string
	inBlock := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			if inBlock {
				break
			}
			inBlock = true
			continue
		}
		if !inBlock {
			continue
		}
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			commands = append(commands, line)
		}
	}
	if len(commands) < 2 {
		t.Fatalf("README.md: the first code block has %d commands, want the test command second: %q", len(commands), commands)
	}
	return commands[1]
}

func envValue(env *actionlint.Env, name string) string {
	if env == nil {
		return ""
	}
	for _, v := range env.Vars {
		if v.Name != nil && v.Name.Value == name && v.Value != nil {
			return v.Value.Value
		}
	}
	return ""
}

var (
	// pinnedAction is owner/repo[/path]@<full commit SHA>.
	pinnedAction = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$`)
	// versionComment is the release the SHA was taken from: "# v1.2.3".
	versionComment = regexp.MustCompile(`#\s*v\d+(\.\d+)*\b`)
)

// checkWorkflow applies STYLE.md "Deployment files": actions pinned by full
// commit SHA with the tag in a comment, permissions declared per job (and
// none by default), concurrency, a timeout on every job that runs steps,
// and Go caches keyed by go.sum.
func checkWorkflow(t *testing.T, file string, wf *actionlint.Workflow, src []byte) {
	lines := strings.Split(string(src), "\n")
	at := func(p *actionlint.Pos) string {
		if p == nil {
			return file
		}
		return file + ":" + strconv.Itoa(p.Line)
	}
	checkUses := func(uses *actionlint.String) {
		v := uses.Value
		switch {
		case strings.HasPrefix(v, "./"):
			return // this repository's own reusable workflow or action
		case strings.HasPrefix(v, "docker://"):
			if !strings.Contains(v, "@sha256:") {
				t.Errorf("%s: %s is not pinned by digest", at(uses.Pos), v)
			}
			return
		case !pinnedAction.MatchString(v):
			t.Errorf("%s: %s is not pinned by a full commit SHA", at(uses.Pos), v)
			return
		}
		if uses.Pos == nil || uses.Pos.Line < 1 || uses.Pos.Line > len(lines) {
			t.Errorf("%s: %s: no source line", file, v)
			return
		}
		line := lines[uses.Pos.Line-1]
		i := strings.Index(line, v)
		if i < 0 || !versionComment.MatchString(line[i+len(v):]) {
			t.Errorf("%s: %s has no \"# vX.Y.Z\" comment naming its release", at(uses.Pos), v)
		}
	}

	if wf.Permissions == nil {
		t.Errorf("%s: no top-level permissions (want permissions: {} and each job asking for its own)", file)
	}
	if wf.Concurrency == nil {
		t.Errorf("%s: no top-level concurrency group", file)
	}
	for id, job := range wf.Jobs {
		if job.Permissions == nil {
			t.Errorf("%s: job %s declares no permissions", at(job.Pos), id)
		}
		if job.WorkflowCall != nil {
			if job.WorkflowCall.Uses != nil {
				checkUses(job.WorkflowCall.Uses)
			}
			continue // a call has no steps and cannot set timeout-minutes
		}
		if job.TimeoutMinutes == nil {
			t.Errorf("%s: job %s has no timeout-minutes", at(job.Pos), id)
		}
		for _, s := range job.Steps {
			a, ok := s.Exec.(*actionlint.ExecAction)
			if !ok || a.Uses == nil {
				continue
			}
			checkUses(a.Uses)
			if strings.HasPrefix(a.Uses.Value, "actions/setup-go@") {
				if in := a.Inputs["cache-dependency-path"]; in == nil || in.Value == nil || !strings.Contains(in.Value.Value, "go.sum") {
					t.Errorf("%s: actions/setup-go without cache-dependency-path: go.sum", at(a.Uses.Pos))
				}
				if in := a.Inputs["go-version-file"]; in == nil || in.Value == nil || in.Value.Value != "go.mod" {
					t.Errorf("%s: actions/setup-go without go-version-file: go.mod", at(a.Uses.Pos))
				}
			}
		}
	}
}
