//go:build !linux

package scaler

import "time"

// TCPInfo reports ok false: only Linux exposes TCP_INFO with a delivery
// rate, and Estimator falls back to timing responses elsewhere.
func TCPInfo(fd uintptr) (deliveryRate uint64, rtt time.Duration, ok bool) {
	return 0, 0, false
}
