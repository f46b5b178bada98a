package main

import (
	"os"
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
// (68-89 MiB with it, 68-87 without).
//
// The runtime reads madvdontneed only as the process starts, and a
// //go:debug line cannot set it, so the server execs itself with the
// setting added. A GODEBUG that already names madvdontneed is left as
// it is: that is how an operator keeps the runtime's default.
func freeMemoryLazily() {
	godebug, ok := os.LookupEnv("GODEBUG")
	for _, kv := range strings.Split(godebug, ",") {
		if k, _, _ := strings.Cut(kv, "="); strings.TrimSpace(k) == "madvdontneed" {
			return
		}
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
	// The program's own path, not /proc/self/exe: the process takes its
	// name (what ps and pkill see) from the file run. Exec returns only
	// if it failed (say the file was removed since); the server then
	// runs with the runtime's default.
	self, err := os.Executable()
	if err != nil {
		return
	}
	_ = syscall.Exec(self, os.Args, env)
}
