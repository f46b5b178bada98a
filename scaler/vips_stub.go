//go:build !vips

package scaler

import "image"

func resizeVips(src []byte, width, quality int, lim Limits) (Result, error) {
	return Result{}, ErrNoVips
}

func vipsPixels(src []byte, info Info, width int) (image.Image, error) {
	return nil, ErrNoVips
}
