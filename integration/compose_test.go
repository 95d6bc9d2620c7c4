package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// composeProjectName is fixed so the test never depends on the checkout's
// directory name; the environment is empty so nothing from the caller's shell
// is interpolated into the file.
const composeProjectName = "sharedwrite-compose-test"

var replicas = []string{"replica-1", "replica-2", "replica-3"}

func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	return loadComposeFile(t, filepath.Join("..", "docker-compose.yml"))
}

func TestComposeServices(t *testing.T) {
	p := loadCompose(t)
	if p.Name != composeProjectName {
		t.Errorf("project name: got %q; want %q", p.Name, composeProjectName)
	}
	want := append([]string{"redis", "init"}, replicas...)
	got := p.ServiceNames()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("services: got %v; want %v", got, want)
	}

	redis := p.Services["redis"]
	if redis.HealthCheck == nil || len(redis.HealthCheck.Test) == 0 || redis.HealthCheck.Disable {
		t.Fatalf("redis healthcheck: got %+v; want a test command", redis.HealthCheck)
	}
	if hc := strings.Join(redis.HealthCheck.Test, " "); !strings.Contains(hc, "redis-cli ping") {
		t.Errorf("redis healthcheck test: got %q; want it to run redis-cli ping", hc)
	}

	// Every sharedwrite service: built from the Dockerfile, pointed at the compose
	// Redis, with the shared named volume.
	for _, name := range append([]string{"init"}, replicas...) {
		t.Run(name, func(t *testing.T) {
			s := p.Services[name]
			if s.Build == nil {
				t.Errorf("build: got none; want the repository's Dockerfile")
			}
			if v := s.Environment["SHAREDWRITE_REDIS"]; v == nil || *v != "redis://redis:6379" {
				t.Errorf("SHAREDWRITE_REDIS: got %v; want redis://redis:6379", v)
			}
			if !mountsShared(s) {
				t.Errorf("volumes: got %+v; want the named volume \"shared\" at /data", s.Volumes)
			}
		})
	}
	if _, ok := p.Volumes["shared"]; !ok {
		t.Errorf("top-level volumes: got %v; want \"shared\"", p.VolumeNames())
	}

	t.Run("depends_on", func(t *testing.T) {
		checks := []struct {
			service, on, condition string
		}{
			{"init", "redis", types.ServiceConditionHealthy},
		}
		for _, r := range replicas {
			checks = append(checks,
				struct{ service, on, condition string }{r, "redis", types.ServiceConditionHealthy},
				struct{ service, on, condition string }{r, "init", types.ServiceConditionCompletedSuccessfully})
		}
		for _, c := range checks {
			dep, ok := p.Services[c.service].DependsOn[c.on]
			if !ok {
				t.Errorf("%s depends_on %s: missing", c.service, c.on)
				continue
			}
			if dep.Condition != c.condition {
				t.Errorf("%s depends_on %s: got condition %q; want %q", c.service, c.on, dep.Condition, c.condition)
			}
		}
	})

	t.Run("commands", func(t *testing.T) {
		init := p.Services["init"]
		if got, want := strings.Join(append(slices.Clone(init.Entrypoint), init.Command...), " "), "sharedwrite --root /data init-volume"; got != want {
			t.Errorf("init command: got %q; want %q", got, want)
		}
		for _, r := range replicas {
			script := replicaScript(t, p, r)
			for _, want := range []string{
				`sharedwrite --root "$DATA" init config.json -- `,
				`sharedwrite --root "$DATA" update counter -- `,
				`read -r n || true; echo $(( ${n:-0} + 1 ))`,
				`"$UPDATES"`,
				`cat "$DATA/counter"`,
			} {
				if !strings.Contains(script, want) {
					t.Errorf("%s script: got %q; want it to contain %q", r, script, want)
				}
			}
			if u := p.Services[r].Environment["UPDATES"]; u == nil {
				t.Errorf("%s UPDATES: got none; want a count", r)
			} else if n, err := strconv.Atoi(*u); err != nil || n < 1 {
				t.Errorf("%s UPDATES: got %q; want a positive count", r, *u)
			}
		}
	})
}

func mountsShared(s types.ServiceConfig) bool {
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeVolume && v.Source == "shared" && v.Target == "/data" && !v.ReadOnly {
			return true
		}
	}
	return false
}

// replicaScript returns the shell script a replica runs (entrypoint sh -ec).
func replicaScript(t *testing.T, p *types.Project, name string) string {
	t.Helper()
	s := p.Services[name]
	if got := strings.Join(s.Entrypoint, " "); got != "/bin/sh -ec" {
		t.Fatalf("%s entrypoint: got %q; want \"/bin/sh -ec\"", name, got)
	}
	if len(s.Command) != 1 {
		t.Fatalf("%s command: got %d arguments; want one script", name, len(s.Command))
	}
	return s.Command[0]
}

// TestComposeScenario runs what the compose file runs, without Docker: the init
// service's command, then the three replicas' scripts at once, with the built
// CLI on PATH, a real redis-server and a directory standing in for the volume.
func TestComposeScenario(t *testing.T) {
	p := loadCompose(t)
	redis := testrig.StartRedis(t)
	bin := buildCLI(t)
	data := t.TempDir()
	const updates = 15

	env := append(os.Environ(),
		"PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"SHAREDWRITE_REDIS="+redis.URL(),
		"DATA="+data,
		"UPDATES="+strconv.Itoa(updates),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	init := p.Services["init"]
	argv := append(slices.Clone(init.Entrypoint), init.Command...)
	for i, a := range argv {
		switch a {
		case "/data":
			argv[i] = data
		case "sharedwrite":
			argv[i] = bin
		}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("init service %q: %v\n%s", argv, err, out)
	}

	var wg sync.WaitGroup
	outs := make([]bytes.Buffer, len(replicas))
	errs := make([]error, len(replicas))
	for i, r := range replicas {
		script := replicaScript(t, p, r)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := exec.CommandContext(ctx, "/bin/sh", "-ec", script)
			c.Env = env
			c.Stdout = &outs[i]
			c.Stderr = &outs[i]
			errs[i] = c.Run()
		}()
	}
	wg.Wait()
	for i, r := range replicas {
		if errs[i] != nil {
			t.Errorf("%s: %v\n%s", r, errs[i], outs[i].String())
		}
	}
	if t.Failed() {
		return
	}
	counter, err := os.ReadFile(filepath.Join(data, "counter"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(counter)), strconv.Itoa(updates*len(replicas)); got != want {
		t.Errorf("counter: got %s; want %s", got, want)
	}
	// Each replica printed the config (the same content: one generator won)
	// first, then its view of the counter.
	var configs []string
	for i := range replicas {
		first, _, _ := strings.Cut(outs[i].String(), "\n")
		configs = append(configs, first)
	}
	for i := range configs {
		if !strings.Contains(configs[i], "created_by") || configs[i] != configs[0] {
			t.Errorf("config printed by %s: got %q; want the same created_by line as %s (%q)", replicas[i], configs[i], replicas[0], configs[0])
		}
	}
	final := fmt.Sprintf("counter after my %d updates: %d", updates, updates*len(replicas))
	seen := false
	for i := range outs {
		seen = seen || strings.Contains(outs[i].String(), final)
	}
	if !seen {
		t.Errorf("no replica printed %q (the last one to finish sees every update)", final)
	}
}

// buildCLI builds cmd/sharedwrite into a temporary directory.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin, err := testrig.BuildCLI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}
