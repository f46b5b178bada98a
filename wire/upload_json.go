package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
)

// decodeUploadJSON parses a JSON UploadRequest into m as protojson does,
// except that it decodes the content field itself, into buf (grown as
// needed and returned for reuse): m.Content then points into it.
//
// The content, base64, is nearly all of an upload message, and protojson
// spent most of a JSON upload's server time on it: scanning the 5.6 MB
// string rune by rune (22% of the server's CPU in a profile), looking for
// URL-safe characters with strings.IndexAny (12%), and decoding (12%).
// Here the string's end is found with bytes.IndexByte and the base64
// decoded straight; the rest of the message, with the content emptied,
// still goes through protojson, which checks it as strictly as before.
// Anything unusual about the content (an escape in it, no string, a second
// content key, an escaped key) leaves the whole line to protojson.
// FuzzDecodeUploadJSON checks it against protojson.Unmarshal.
func decodeUploadJSON(line []byte, m *UploadRequest, buf []byte) ([]byte, error) {
	start, end, ok := jsonContentString(line)
	if !ok {
		if err := protojson.Unmarshal(line, m); err != nil {
			return buf, fmt.Errorf("%w: json: %v", ErrMalformed, err)
		}
		return buf, nil
	}
	// The rest of the message, with "content":"" in place of the value.
	rest := make([]byte, 0, len(line)-(end-start))
	rest = append(append(rest, line[:start]...), line[end:]...)
	if err := protojson.Unmarshal(rest, m); err != nil {
		return buf, fmt.Errorf("%w: json: %v", ErrMalformed, err)
	}
	content, err := decodeBase64(line[start:end], buf)
	if err != nil {
		return buf, fmt.Errorf("%w: json: content: %v", ErrMalformed, err)
	}
	m.Content = content
	if cap(content) > cap(buf) {
		buf = content[:0]
	}
	return buf, nil
}

// decodeBase64 decodes s into buf as protojson reads a bytes field:
// standard or URL-safe alphabet, padded or not.
func decodeBase64(s, buf []byte) ([]byte, error) {
	enc := base64.StdEncoding
	if bytes.IndexByte(s, '-') >= 0 || bytes.IndexByte(s, '_') >= 0 {
		enc = base64.URLEncoding
	}
	if len(s)%4 != 0 {
		enc = enc.WithPadding(base64.NoPadding)
	}
	n := enc.DecodedLen(len(s))
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	n, err := enc.Decode(buf[:n], s)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// jsonContentString finds the value of the top-level "content" key of the
// JSON object in b when it is a string with no escape in it, and returns
// the bounds of its inside. ok is false for anything else, or when the
// object is not plain enough to be sure: an escaped key, a second
// "content", malformed JSON.
func jsonContentString(b []byte) (start, end int, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return 0, 0, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return 0, 0, false
	}
	found := false
	for {
		// A key.
		if i >= len(b) || b[i] != '"' {
			return 0, 0, false
		}
		k := bytes.IndexByte(b[i+1:], '"')
		if k < 0 {
			return 0, 0, false
		}
		key := b[i+1 : i+1+k]
		if bytes.IndexByte(key, '\\') >= 0 {
			return 0, 0, false
		}
		i = skipSpace(b, i+k+2)
		if i >= len(b) || b[i] != ':' {
			return 0, 0, false
		}
		i = skipSpace(b, i+1)
		if string(key) == "content" {
			if found || i >= len(b) || b[i] != '"' {
				return 0, 0, false
			}
			e := bytes.IndexByte(b[i+1:], '"')
			if e < 0 {
				return 0, 0, false
			}
			// An escape is for protojson to read; so are CR and LF, which
			// base64 skips but a JSON string may not hold.
			if v := b[i+1 : i+1+e]; bytes.IndexByte(v, '\\') >= 0 || bytes.IndexByte(v, '\r') >= 0 || bytes.IndexByte(v, '\n') >= 0 {
				return 0, 0, false
			}
			start, end, found = i+1, i+1+e, true
			i += e + 2
		} else if i = skipJSONValue(b, i); i < 0 {
			return 0, 0, false
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return 0, 0, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return start, end, found
		default:
			return 0, 0, false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipJSONValue returns the index just past the JSON value at b[i], or -1.
// It only needs to find the value's end: protojson checks the value.
func skipJSONValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipJSONString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				if i = skipJSONString(b, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	default:
		// A number, true, false or null: up to the next delimiter.
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
			i++
		}
		return i
	}
}

// skipJSONString returns the index just past the string starting at b[i].
func skipJSONString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// appendUploadJSON appends u as one JSON line, as json.Marshal writes it
// but with the content first, base64-encoded straight into b: json.Marshal
// encoded a 4 MiB content into a buffer of its own and copied the result
// out again. u's content is left out of it for the length of the call, so
// u must not be read by another goroutine meanwhile.
func appendUploadJSON(b []byte, u *UploadRequest) ([]byte, error) {
	content := u.Content
	u.Content = nil
	rest, err := json.Marshal(u)
	u.Content = content
	if err != nil {
		return b, err
	}
	b = append(b, `{"content":"`...)
	b = base64.StdEncoding.AppendEncode(b, content)
	b = append(b, '"')
	if len(rest) > 2 { // more than {}
		b = append(append(b, ','), rest[1:]...)
	} else {
		b = append(b, '}')
	}
	return append(b, '\n'), nil
}
