package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadComposeFile loads the compose file at path with compose-go, its
// directory as the working directory, interpolated, normalised and checked.
func loadComposeFile(t *testing.T, path string) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{path},
		cli.WithName(composeProjectName),
		cli.WithWorkingDirectory(filepath.Dir(path)),
		cli.WithEnv(nil),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(false),
	)
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	p, err := cli.ProjectFromOptions(context.Background(), opts)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return p
}

// rootsOnSharedVolume returns why a sharedwrite service's --root is not the
// directory where the named volume "shared" is mounted in its container, or
// nil. The scenario test runs the scripts with a directory of its own for
// both, so it cannot tell; in Docker such a replica would write in its own
// container, and all but the init service would find no volume.
func rootsOnSharedVolume(p *types.Project) []string {
	var bad []string
	for _, name := range append([]string{"init"}, replicas...) {
		s := p.Services[name]
		target := ""
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Source == "shared" {
				target = v.Target
			}
		}
		var roots []string
		argv := append(append([]string{}, s.Entrypoint...), s.Command...)
		for i, a := range argv {
			if a == "--root" && i+1 < len(argv) {
				roots = append(roots, argv[i+1])
			}
		}
		if name != "init" {
			// The script names the root "$DATA".
			if d := s.Environment["DATA"]; d != nil {
				roots = []string{*d}
			} else {
				roots = []string{""}
			}
		}
		if len(roots) == 0 {
			bad = append(bad, fmt.Sprintf("%s: no --root", name))
		}
		for _, r := range roots {
			if target == "" || filepath.Clean(r) != filepath.Clean(target) {
				bad = append(bad, fmt.Sprintf("%s: root %q; the shared volume is at %q", name, r, target))
			}
		}
	}
	return bad
}

// TestComposeRootsAreTheSharedVolume checks that every sharedwrite service
// of docker-compose.yml works on the shared volume's mount point, and that
// the check refuses a file where one does not.
func TestComposeRootsAreTheSharedVolume(t *testing.T) {
	if bad := rootsOnSharedVolume(loadCompose(t)); len(bad) > 0 {
		t.Errorf("docker-compose.yml: %s", strings.Join(bad, "; "))
	}

	orig, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new string }{
		{"replica root elsewhere", "DATA: /data", "DATA: /srv"},
		{"volume mounted elsewhere", "- shared:/data", "- shared:/srv"},
		{"init root elsewhere", `"--root", "/data"`, `"--root", "/srv"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Count(string(orig), tc.old) == 0 {
				t.Fatalf("docker-compose.yml has no %q to change", tc.old)
			}
			path := filepath.Join(t.TempDir(), "docker-compose.yml")
			if err := os.WriteFile(path, []byte(strings.Replace(string(orig), tc.old, tc.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			if bad := rootsOnSharedVolume(loadComposeFile(t, path)); len(bad) == 0 {
				t.Errorf("with %q for %q: no service refused; want the mismatch found", tc.new, tc.old)
			}
		})
	}
}
