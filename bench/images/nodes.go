package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"metacdn/node"
)

// startNode starts an in-process node on a loopback port with its data in
// dir.
func startNode(id, dir string, mutate func(*node.Config)) (*node.Node, error) {
	cfg := node.DefaultConfig()
	cfg.ID = id
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = dir
	cfg.HeartbeatInterval = 200 * time.Millisecond
	cfg.Images.SweepInterval = 100 * time.Millisecond
	if mutate != nil {
		mutate(&cfg)
	}
	return node.Start(context.Background(), cfg, nil)
}

var client = &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}

// Answer is one timed HTTP exchange.
type Answer struct {
	Status int
	Header http.Header
	Bytes  int64
	Time   time.Duration // request sent to last byte read
}

func do(method, url string, body []byte, headers ...string) (Answer, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return Answer{}, err
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	t0 := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return Answer{}, err
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	a := Answer{Status: res.StatusCode, Header: res.Header, Bytes: n, Time: time.Since(t0)}
	if err != nil {
		return a, err
	}
	if res.StatusCode >= 300 && res.StatusCode != http.StatusNotModified {
		return a, fmt.Errorf("%s %s: %s", method, url, res.Status)
	}
	return a, nil
}

func put(base, key, contentType string, body []byte) error {
	_, err := do(http.MethodPut, base+"/v1/objects/"+key, body, "Content-Type", contentType)
	return err
}

// variantList is GET /v1/variants/{key}.
type variantList struct {
	Original struct{ Width, Height int }
	Variants []struct {
		Width       int
		Bytes       int64
		Precomputed bool
	}
}

func listVariants(base, key string) (variantList, error) {
	res, err := client.Get(base + "/v1/variants/" + key)
	if err != nil {
		return variantList{}, err
	}
	defer res.Body.Close()
	var vl variantList
	err = json.NewDecoder(res.Body).Decode(&vl)
	return vl, err
}

// waitPrecomputed polls until key has want precomputed variants.
func waitPrecomputed(base, key string, want int) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		vl, err := listVariants(base, key)
		if err == nil {
			got := 0
			for _, v := range vl.Variants {
				if v.Precomputed {
					got++
				}
			}
			if got >= want {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: variants not precomputed in 2 minutes", key)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metricSum adds up every series of a metric on a node's /metrics.
func metricSum(base, name string) (float64, error) {
	res, err := client.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum, nil
}
