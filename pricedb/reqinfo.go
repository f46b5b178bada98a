package pricedb

import "context"

// requestInfo lets a handler hand its error cause to the request's single
// log line without writing a line of its own.
type requestInfo struct {
	err error
}

type infoKey struct{}

func withInfo(ctx context.Context, info *requestInfo) context.Context {
	return context.WithValue(ctx, infoKey{}, info)
}

func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(infoKey{}).(*requestInfo)
	return info
}
