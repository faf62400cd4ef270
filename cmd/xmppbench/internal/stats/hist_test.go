package stats

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBucketRoundTrip(t *testing.T) {
	for _, v := range []uint64{0, 1, 1023, 1024, 1025, 2047, 2048, 4095, 4096, 123456, 1 << 40} {
		i := bucketOf(v)
		if hi := bucketHigh(i); hi < v {
			t.Errorf("bucketHigh(bucketOf(%d)) = %d < value", v, hi)
		}
		if i > 0 && bucketHigh(i-1) >= v {
			t.Errorf("value %d also fits bucket %d (high %d)", v, i-1, bucketHigh(i-1))
		}
	}
}

func TestQuantileAgainstExact(t *testing.T) {
	cases := []struct {
		name string
		gen  func(r *rand.Rand) uint64 // µs
	}{
		{"sub-ms exact", func(r *rand.Rand) uint64 { return r.Uint64N(1000) }},
		{"uniform to 1s", func(r *rand.Rand) uint64 { return r.Uint64N(1_000_000) }},
		{"exponential tail", func(r *rand.Rand) uint64 { return uint64(r.ExpFloat64() * 5000) }},
		{"bimodal", func(r *rand.Rand) uint64 {
			if r.IntN(100) == 0 {
				return 400_000 + r.Uint64N(100_000)
			}
			return 300 + r.Uint64N(200)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var h Hist
			vals := make([]uint64, 20000)
			for i := range vals {
				vals[i] = tc.gen(r)
				h.Record(time.Duration(vals[i]) * time.Microsecond)
			}
			for _, q := range []float64{0.5, 0.95, 0.99, 1} {
				want := ExactQuantile(vals, q)
				got := h.Quantile(q)
				// the bucket's upper edge: never below, at most 1/512 above
				if got < want || float64(got-want) > float64(want)/512+1 {
					t.Errorf("q=%v: got %d µs, exact %d µs", q, got, want)
				}
			}
			d := h.Dist()
			if d.Count != int64(len(vals)) || d.Max != float64(vals[len(vals)-1])/1000 || d.Min != float64(vals[0])/1000 {
				t.Errorf("dist %+v: count/min/max disagree with the data", d)
			}
		})
	}
}

func TestEmptyAndNegative(t *testing.T) {
	var h Hist
	if h.Dist() != nil || h.Quantile(0.5) != 0 {
		t.Fatal("empty histogram must have no distribution")
	}
	h.Record(-time.Second) // receiver clock behind the stamp: counts as 0
	if d := h.Dist(); d.Count != 1 || d.Max != 0 || d.Min != 0 {
		t.Fatalf("negative duration: %+v", d)
	}
}

func TestExactQuantileNearestRank(t *testing.T) {
	// summarize.py's pct: k = ceil(p/100*n) - 1
	vals := []uint64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, tc := range []struct {
		q    float64
		want uint64
	}{{0.5, 5}, {0.95, 10}, {0.1, 1}, {0.11, 2}, {0, 1}} {
		if got := ExactQuantile(vals, tc.q); got != tc.want {
			t.Errorf("q=%v: got %d want %d", tc.q, got, tc.want)
		}
	}
}

func TestStamp(t *testing.T) {
	cases := []struct {
		name string
		step int
		ns   int64
		size int
	}{
		{"warm-up", 0, 1764000000123456789, 64},
		{"step 12", 12, 1, 32},
		{"short size keeps stamp whole", 3, 1764000000123456789, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := AppendStamp([]byte("<body>"), tc.step, tc.ns, tc.size)
			body := b[len("<body>"):]
			if len(body) < tc.size {
				t.Fatalf("body %q shorter than %d", body, tc.size)
			}
			step, ns, ok := ParseStamp(body[len(StampMarker):])
			if !ok || step != tc.step || ns != tc.ns {
				t.Fatalf("ParseStamp(%q) = %d %d %v", body, step, ns, ok)
			}
		})
	}
	for _, bad := range []string{"", "1", "1:", "1:2", "a:2 ", "1:x ", "1;2 "} {
		if _, _, ok := ParseStamp([]byte(bad)); ok {
			t.Errorf("ParseStamp(%q) accepted", bad)
		}
	}
}
