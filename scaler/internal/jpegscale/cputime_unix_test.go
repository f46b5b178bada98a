//go:build unix

package jpegscale

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time this process has used, all threads: on a shared
// machine it moves far less with other people's load than wall time does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
