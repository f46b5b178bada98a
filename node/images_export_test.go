package node

import "metacdn/scaler"

// HoldResizeSlots takes every resize slot of n, as long resizes in
// progress would, until release is called.
func HoldResizeSlots(n *Node) (release func()) {
	l := n.images.limiter
	held := 0
	for l.TryAcquire() {
		held++
	}
	return func() {
		for range held {
			l.Release()
		}
	}
}

// ImageEstimate is what n knows of client's link.
func ImageEstimate(n *Node, client string) scaler.Estimate {
	return n.images.est.Estimate(client)
}

// KickImageSweep is what storage's OnAppend would call: sweep now.
func KickImageSweep(n *Node) { n.images.kick() }

// HoldDecodeMemory takes all but free bytes of n's decode budget.
func HoldDecodeMemory(n *Node, free int64) (release func()) {
	b := n.images.budget
	held := b.Total() - b.InUse() - free
	if err := b.TryTake(held); err != nil {
		panic(err)
	}
	return func() { b.Give(held) }
}
