package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat;
// it is 100 on every Linux this runs on.
const clockTicks = 100

// CPUTime returns the user+system CPU time process pid used so far, with
// the 10 ms resolution of /proc/PID/stat.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu time: %w", err)
	}
	// The command name may hold spaces; the fields after it are fixed.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("cpu time: malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu time: short /proc/%d/stat", pid)
	}
	// After ")" come state(3) ... utime(14) stime(15): indexes 11 and 12.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cpu time: malformed /proc/%d/stat", pid)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// SchedTime returns the CPU time of pid summed over its threads from
// /proc/PID/task/TID/schedstat, in nanoseconds: far finer than the 10 ms
// ticks of CPUTime, which a single small upload would not reach. A
// thread that exited takes its time with it; Go keeps its threads.
func SchedTime(pid int) (time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("sched time: %w", err)
	}
	var sum int64
	for _, e := range ents {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/schedstat")
		if err != nil {
			continue // the thread just exited
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("sched time: %s: %w", e.Name(), err)
		}
		sum += v
	}
	return time.Duration(sum), nil
}

// RssAnon returns the anonymous resident memory of pid in bytes: the Go
// heap and stacks, without the page cache of the mmapped bbolt file that
// VmRSS would also count.
func RssAnon(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("rss: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("rss: %q: %w", line, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("rss: no RssAnon in /proc/%d/status", pid)
}

// PeakSampler samples RssAnon of a process every few milliseconds and
// keeps the largest value: Linux keeps a peak only for the whole RSS.
type PeakSampler struct {
	once sync.Once
	pid  int
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	peak int64
}

// StartPeakSampler starts sampling pid every interval.
func StartPeakSampler(pid int, interval time.Duration) *PeakSampler {
	s := &PeakSampler{pid: pid, stop: make(chan struct{})}
	s.sample()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *PeakSampler) sample() {
	v, err := RssAnon(s.pid)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.peak = max(s.peak, v)
	s.mu.Unlock()
}

// Stop samples once more, stops and returns the peak in bytes. Later
// calls return the same peak.
func (s *PeakSampler) Stop() int64 {
	s.once.Do(func() {
		close(s.stop)
		s.wg.Wait()
		s.sample()
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// LoadAvg returns the 1-minute load average, to tell a quiet machine from
// a busy one in the results.
func LoadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
