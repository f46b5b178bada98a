package main

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// Why the server starts itself again, once, with GODEBUG=madvdontneed=0.
//
// The Go runtime gives heap memory it no longer needs back to the kernel
// with MADV_DONTNEED: the pages go, and the next use of that memory
// faults new ones in. An upload frees and allocates megabytes at every
// commit (bbolt copies each batch into page buffers it allocates and then
// drops), so a 64 MiB upload faulted about 1,350 pages back in. On a
// virtual machine whose balloon reports free memory to the host, as this
// project's machine does, each such fault is a trip to the host. With
// madvdontneed=0 the runtime uses MADV_FREE instead: the pages stay
// mapped until the kernel needs the memory. Measured with
// bench/server/ab.sh (docs/benchmarks.md, "The heap's pages kept"): 64 MiB
// Protobuf uploads 0.8-9.1% faster in six sets of rounds, and the
// server's peak RssAnon during TestServer_LargeUploadMemory no higher
// (68-89 MiB with it, 68-87 without). The price: freed pages count in
// the resident size until the kernel reclaims them, so an idle server's
// RSS stays near its peak.
//
// The runtime reads madvdontneed only as the process starts, and a
// //go:debug line cannot set it, so the server execs itself with the
// setting added. A GODEBUG that already names madvdontneed is left as
// it is: that is how an operator keeps the runtime's default.
func freeMemoryLazily() {
	godebug, ok := os.LookupEnv("GODEBUG")
	if _, named := madvdontneed(godebug); named {
		return
	}
	self := selfPath()
	if self == "" {
		return
	}
	if ok && godebug != "" {
		godebug += ","
	}
	godebug += "madvdontneed=0"
	env := []string{"GODEBUG=" + godebug}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GODEBUG=") {
			env = append(env, kv)
		}
	}
	// Exec returns only if it failed; the server then runs with the
	// runtime's default, and says so as it starts.
	_ = syscall.Exec(self, os.Args, env)
}

// selfPath is the path to exec this program by, or "" when there is none
// that is surely this program. The process takes its name (what ps and
// pkill see) from the file it runs, so the path it was started by comes
// first: a symlink keeps its own name. /proc/self/exe would rename it
// "exe", and os.Executable names the symlink's target. A path that no
// longer leads to this very file (the binary was replaced or removed
// since it started) is not used: the server then runs without the
// setting rather than run another build.
func selfPath() string {
	running, err := os.Stat("/proc/self/exe")
	if err != nil {
		return ""
	}
	var candidates []string
	if len(os.Args) > 0 {
		if p, err := exec.LookPath(os.Args[0]); err == nil {
			candidates = append(candidates, p)
		}
	}
	if p, err := os.Executable(); err == nil {
		candidates = append(candidates, p)
	}
	for _, p := range candidates {
		if st, err := os.Stat(p); err == nil && os.SameFile(st, running) {
			return p
		}
	}
	return ""
}

// madvdontneed is the value GODEBUG gives madvdontneed, and whether it
// names it at all, read as the runtime reads it (no spaces trimmed).
func madvdontneed(godebug string) (string, bool) {
	for _, kv := range strings.Split(godebug, ",") {
		if k, v, _ := strings.Cut(kv, "="); k == "madvdontneed" {
			return v, true
		}
	}
	return "", false
}

// lazyFree says whether the runtime frees memory lazily, for the log.
func lazyFree() bool {
	v, _ := madvdontneed(os.Getenv("GODEBUG"))
	return v == "0"
}
