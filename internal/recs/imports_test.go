package recs_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestServiceBoundaries keeps the services apart in the code as they are
// in a deployment: recs learns of the catalog and the users only through
// their events, so it imports neither service's package (nor their HTTP
// clients), and they import nothing of recs.
func TestServiceBoundaries(t *testing.T) {
	tests := []struct {
		pkg       string
		forbidden []string
	}{
		{"mediarec/internal/recs", []string{"mediarec/internal/catalog", "mediarec/internal/users"}},
		{"mediarec/internal/catalog", []string{"mediarec/internal/recs", "mediarec/internal/users"}},
		{"mediarec/internal/users", []string{"mediarec/internal/recs", "mediarec/internal/catalog"}},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", tt.pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list: %v\n%s", err, out)
			}
			deps := strings.Fields(string(out))
			for _, d := range deps {
				for _, f := range tt.forbidden {
					if d == f || strings.HasPrefix(d, f+"/") {
						t.Errorf("%s depends on %s", tt.pkg, d)
					}
				}
			}
		})
	}
}
