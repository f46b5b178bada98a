//go:build tools

// Package tools pins modules that metacdn's tests and benchmarks use, so that
// go mod tidy keeps them even before the code that imports them lands.
package tools

import (
	_ "github.com/Shopify/toxiproxy/v2"
	_ "github.com/anthonynsimon/bild/transform"
	_ "github.com/go-chi/chi/v5"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "go.etcd.io/bbolt"
	_ "golang.org/x/image/draw"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/term"
	_ "google.golang.org/protobuf/proto"
)
