package router

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxPricesBytes bounds a /v1/prices answer.
const maxPricesBytes = 4 << 20

type pricesJSON struct {
	Providers []json.RawMessage `json:"providers"`
	Version   json.Number       `json:"version"`
}

// PollPrices fetches the price list once. An unchanged list (304) costs
// the service nothing and changes nothing here.
func (rt *Router) PollPrices(ctx context.Context) error {
	if rt.cfg.PriceInfo == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, rt.cfg.ProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, trimSlash(rt.cfg.PriceInfo)+"/v1/prices", nil)
	if err != nil {
		return fmt.Errorf("poll prices: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	cur := rt.prices.Load()
	if cur.etag != "" {
		req.Header.Set("If-None-Match", cur.etag)
	}
	resp, err := rt.client.Do(req)
	if err != nil {
		return fmt.Errorf("poll prices: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return nil
	case http.StatusOK:
	default:
		return fmt.Errorf("poll prices: %w %d", ErrUnexpectedStatus, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPricesBytes))
	if err != nil {
		return fmt.Errorf("poll prices: read: %w", err)
	}
	pt, err := parsePrices(body)
	if err != nil {
		return fmt.Errorf("poll prices: %w", err)
	}
	pt.etag = resp.Header.Get("ETag")
	rt.setPrices(pt)
	rt.log.Info("prices updated", "version", pt.version, "providers", len(pt.rows))
	return nil
}

func parsePrices(body []byte) (*priceTable, error) {
	var pj pricesJSON
	if err := json.Unmarshal(body, &pj); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	pt := &priceTable{rows: make(map[string]*Price, len(pj.Providers))}
	if v, err := pj.Version.Int64(); err == nil {
		pt.version = v
	}
	for _, raw := range pj.Providers {
		p := &Price{}
		if err := json.Unmarshal(raw, p); err != nil {
			return nil, fmt.Errorf("decode row: %w", err)
		}
		if p.Provider == "" {
			continue
		}
		var compact bytes.Buffer
		if json.Compact(&compact, raw) == nil {
			p.Raw = compact.Bytes()
		}
		pt.rows[p.Provider] = p
	}
	return pt, nil
}

// setPrices installs pt and gives every known server its provider's row.
func (rt *Router) setPrices(pt *priceTable) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.prices.Store(pt)
	for _, s := range rt.table.Load().servers {
		s.price.Store(pt.rows[s.Provider])
	}
}

func (rt *Router) priceLoop(ctx context.Context) {
	if rt.cfg.PriceInfo == "" {
		return
	}
	tk := time.NewTicker(rt.cfg.PriceInterval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			if err := rt.PollPrices(ctx); err != nil && ctx.Err() == nil {
				rt.log.Warn("price poll", "err", err)
			}
		}
	}
}
