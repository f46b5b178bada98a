package pricedb

import (
	"errors"
	"fmt"
)

// Errors returned by the pricedb package.
var (
	// ErrNotFound is returned when a provider has no price row.
	ErrNotFound = errors.New("price not found")
	// ErrInvalid is returned when a price row, a provider name or a seed
	// file breaks the rules; the error is a *FieldError naming the field.
	ErrInvalid = errors.New("invalid price")
	// ErrClosed is returned after Store.Close.
	ErrClosed = errors.New("price database closed")
)

// FieldError says which field of a price row is wrong and why. It unwraps
// to ErrInvalid.
type FieldError struct {
	// Field is the JSON name of the bad field, with a path for nested
	// values ("tiers[1].usd_per_gb", "extra.cdn"); empty when the input as
	// a whole is wrong (malformed JSON, empty body).
	Field string
	// Reason is a lowercase phrase saying what is wrong.
	Reason string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return "invalid price: " + e.Reason
	}
	return fmt.Sprintf("invalid price: field %q %s", e.Field, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
