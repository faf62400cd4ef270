package stats

// The message body carries the send time so that the receiver can compute
// the latency without any shared state: "xb<step>:<unix ns> " + padding.
// Digits need no XML escaping, and the marker is easy to find with one
// bytes.Index in the raw stanza.

import "strconv"

// StampMarker starts every stamped body.
const StampMarker = "xb"

// AppendStamp appends the stamped body text for step (0 = unmeasured
// warm-up) and the send time ns, padded with 'x' to size bytes.
func AppendStamp(dst []byte, step int, ns int64, size int) []byte {
	start := len(dst)
	dst = append(dst, StampMarker...)
	dst = strconv.AppendInt(dst, int64(step), 10)
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, ns, 10)
	dst = append(dst, ' ')
	for len(dst)-start < size {
		dst = append(dst, 'x')
	}
	return dst
}

// ParseStamp reads a stamp at the start of b (the bytes right after the
// marker). ok is false when b does not hold a complete stamp.
func ParseStamp(b []byte) (step int, ns int64, ok bool) {
	i := 0
	step, i, ok = digits(b, i)
	if !ok || i >= len(b) || b[i] != ':' {
		return 0, 0, false
	}
	var v int
	v, i, ok = digits(b, i+1)
	if !ok || i >= len(b) || b[i] != ' ' {
		return 0, 0, false
	}
	return step, int64(v), true
}

// digits parses up to 19 decimal digits starting at i.
func digits(b []byte, i int) (v, end int, ok bool) {
	start := i
	for i < len(b) && i-start < 19 && b[i] >= '0' && b[i] <= '9' {
		v = v*10 + int(b[i]-'0')
		i++
	}
	return v, i, i > start
}
