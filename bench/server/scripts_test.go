package server

import (
	"os/exec"
	"testing"
)

// TestScripts_Parse checks that the benchmark scripts parse: they run
// only by hand or from the Taskfile, so nothing else would notice.
func TestScripts_Parse(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("the scripts need bash: %v", err)
	}
	for _, script := range []string{"run.sh", "ab.sh", "../lib.sh", "../../router/bench/run.sh"} {
		if out, err := exec.Command(bash, "-n", script).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", script, err, out)
		}
	}
}
