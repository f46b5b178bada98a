//go:build !linux

package main

// freeMemoryLazily is Linux-only (see lazyfree_linux.go).
func freeMemoryLazily() {}

func lazyFree() bool { return false }
