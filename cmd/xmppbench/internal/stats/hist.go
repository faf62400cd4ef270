// Package stats holds the latency histogram and percentile code of xmppbench,
// the load generator for XMPP (RFC 6120/6121) servers.
//
// The histogram is log-linear (like HdrHistogram): values below 1024 µs are
// exact, larger ones keep 10 significant bits, so a percentile is off by at
// most 1/512 (0.2 %). Recording is one atomic add, so thousands of reader
// goroutines record without a lock.
package stats

import (
	"math"
	"math/bits"
	"sort"
	"sync/atomic"
	"time"
)

const (
	subBits    = 9                  // mantissa bits kept above the exact range
	subCount   = 1 << (subBits + 1) // 1024: values below this are exact
	maxExp     = 40                 // covers 2^50 µs, far beyond any run
	numBuckets = subCount + maxExp*(subCount/2)
)

// Hist is a concurrent log-linear histogram of durations at µs resolution.
// The zero value is ready to use.
type Hist struct {
	counts [numBuckets]atomic.Uint64
	n      atomic.Uint64
	sumUS  atomic.Uint64
	maxUS  atomic.Uint64
	minUS  atomic.Uint64 // stored as min+1 so that zero means "unset"
}

// bucketOf maps a value in µs to its bucket index.
func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	e := bits.Len64(v) - (subBits + 1) // >= 1
	idx := subCount + (e-1)*(subCount/2) + int(v>>uint(e)) - subCount/2
	if idx >= numBuckets {
		return numBuckets - 1
	}
	return idx
}

// bucketHigh is the largest value in µs that falls into bucket i.
func bucketHigh(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	j := i - subCount
	e := j/(subCount/2) + 1
	m := uint64(j%(subCount/2) + subCount/2)
	return (m+1)<<uint(e) - 1
}

// Record adds one duration; negative durations (clock skew) count as zero.
func (h *Hist) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d / time.Microsecond)
	}
	h.counts[bucketOf(v)].Add(1)
	h.n.Add(1)
	h.sumUS.Add(v)
	for {
		m := h.maxUS.Load()
		if v <= m || h.maxUS.CompareAndSwap(m, v) {
			break
		}
	}
	for {
		m := h.minUS.Load()
		if (m != 0 && v+1 >= m) || h.minUS.CompareAndSwap(m, v+1) {
			break
		}
	}
}

// Count is the number of recorded values.
func (h *Hist) Count() uint64 { return h.n.Load() }

// Quantile returns the value at quantile q (0..1) in µs with the
// nearest-rank rule (the same as summarize.py's pct: the ceil(q*n)-th
// smallest value), reported as the upper edge of its bucket and never above
// the exact maximum.
func (h *Hist) Quantile(q float64) uint64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i].Load()
		if cum >= rank {
			return min(bucketHigh(i), h.maxUS.Load())
		}
	}
	return h.maxUS.Load()
}

// Dist is the JSON form of a distribution in milliseconds, with the field
// names of /work/shared/bench/lib/summarize.py's dist().
type Dist struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
	Min   float64 `json:"min"`
}

// Dist summarises the histogram; nil when it is empty.
func (h *Hist) Dist() *Dist {
	n := h.n.Load()
	if n == 0 {
		return nil
	}
	ms := func(us uint64) float64 { return round3(float64(us) / 1000) }
	return &Dist{
		Count: int64(n),
		Mean:  round3(float64(h.sumUS.Load()) / float64(n) / 1000),
		P50:   ms(h.Quantile(0.50)),
		P95:   ms(h.Quantile(0.95)),
		P99:   ms(h.Quantile(0.99)),
		Max:   ms(h.maxUS.Load()),
		Min:   ms(h.minUS.Load() - 1),
	}
}

// ExactQuantile is the nearest-rank quantile of a slice (sorted in place);
// tests compare the histogram against it.
func ExactQuantile(vals []uint64, q float64) uint64 {
	if len(vals) == 0 {
		return 0
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	k := int(math.Ceil(q*float64(len(vals)))) - 1
	k = max(0, min(len(vals)-1, k))
	return vals[k]
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
