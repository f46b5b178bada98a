package node

import (
	"net/http"

	"metacdn/scaler"
	"metacdn/storage"
)

// chooseAuto picks the width of a ?w=auto answer with scaler.Choose, and
// reports whether the answer may be kept by shared caches.
//
// When the client sends ECT (Chromium sends it with Downlink and RTT once
// asked by Accept-CH), the choice reads ECT and Save-Data alone: the
// answer is then a function of the URL and the two headers named in
// Vary, so a cache in front keys on four classes instead of every
// Downlink figure, at the price of a coarser rate. Without ECT the raw
// hints or the server's estimate of this client decide, and the answer
// is private.
func (s *imageService) chooseAuto(r *http.Request, obj storage.Object, info scaler.Info) (scaler.Choice, bool) {
	h := scaler.ParseHints(r.Header.Get)
	public := true
	switch {
	case h.SaveData:
		h = scaler.Hints{SaveData: true}
	case h.ECT != "":
		h = scaler.Hints{ECT: h.ECT}
	default:
		public = false
	}
	client := clientKey(r)
	// What this connection delivered so far (an HTML page, earlier
	// images) counts before the choice is made.
	if cs, sc, ok := rawConn(r); ok {
		s.learnTCP(client, cs, readTCP(sc))
	}
	widths, sizes := s.autoCandidates(obj.SHA256, info)
	c := scaler.Choose(h, s.est.Estimate(client), widths, info.Width, scaler.ChooseConfig{
		TargetTime:   s.cfg.AutoTarget,
		OrigHeight:   info.Height,
		OrigBytes:    obj.Size,
		VariantBytes: sizes,
	})
	return c, public
}

// autoCandidates lists the widths ?w=auto may pick below the original's
// and the encoded sizes known of them. In precompute mode only the
// variants stored are candidates; otherwise the configured widths are,
// made on request if need be, so that the choices stay few and cacheable.
func (s *imageService) autoCandidates(sha string, info scaler.Info) ([]int, map[int]int64) {
	vs, err := s.db.Variants(sha)
	if err != nil {
		s.log.Warn("list variants", "sha256", sha, "err", err)
	}
	sizes := make(map[int]int64, len(vs))
	var pre []int
	for _, v := range vs {
		sizes[v.Width] = v.Bytes
		if v.Precomputed {
			pre = append(pre, v.Width)
		}
	}
	if s.cfg.Scale == ScalePrecompute {
		return pre, sizes
	}
	return scaler.Widths(info.Width, s.cfg.Widths), sizes
}
