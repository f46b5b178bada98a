package scaler

import (
	"image/png"
	"sync"
)

// pngPool reuses the PNG encoder's zlib writer and row buffers across
// concurrent encodes.
type pngPool struct{ p sync.Pool }

func (pp *pngPool) Get() *png.EncoderBuffer {
	b, _ := pp.p.Get().(*png.EncoderBuffer)
	return b
}

func (pp *pngPool) Put(b *png.EncoderBuffer) { pp.p.Put(b) }
