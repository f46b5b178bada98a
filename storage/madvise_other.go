//go:build !linux

package storage

// willNeed is a no-op where storage does not advise the kernel.
func willNeed(v []byte, from, to int) {}

var adviseReads = false
