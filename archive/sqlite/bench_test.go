package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
)

var benchStanza = []byte(`<message from='romeo@montague.lit/orchard' to='juliet@capulet.lit' type='chat' id='x1'><body>Wherefore art thou?</body></message>`)

// BenchmarkOfflineStore measures durable stores (one fsync per commit)
// from one sender and from 64 concurrent senders, with group commit and
// with one transaction per Store (maxBatch 1), to show what batching buys.
func BenchmarkOfflineStore(b *testing.B) {
	for _, bc := range []struct {
		name     string
		maxBatch int
		senders  int // goroutines per GOMAXPROCS; 0 for one serial sender
	}{
		{"serial", defaultMaxBatch, 0},
		{"parallel64/batched", defaultMaxBatch, 32},
		{"parallel64/unbatched", 1, 32},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := open(filepath.Join(b.TempDir(), FileName), bc.maxBatch)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			var n atomic.Int64
			b.ReportAllocs()
			b.SetBytes(int64(len(benchStanza)))
			if bc.senders == 0 {
				for b.Loop() {
					if err := s.Store(ctx, "juliet@capulet.lit", benchStanza, 1<<30); err != nil {
						b.Fatal(err)
					}
				}
				return
			}
			b.SetParallelism(bc.senders)
			before := s.commits.Load()
			b.RunParallel(func(pb *testing.PB) {
				user := fmt.Sprintf("u%d@capulet.lit", n.Add(1))
				for pb.Next() {
					if err := s.Store(ctx, user, benchStanza, 1<<30); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/float64(s.commits.Load()-before), "msgs/commit")
		})
	}
}

// BenchmarkFetchDelete is a login that finds 10 offline messages: fetch
// them, then delete them once delivered.
func BenchmarkFetchDelete(b *testing.B) {
	s := openTest(b, "")
	ctx := context.Background()
	ids := make([]int64, 0, 10)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for range 10 {
			if err := s.Store(ctx, "juliet@capulet.lit", benchStanza, 1000); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		msgs, err := s.Fetch(ctx, "juliet@capulet.lit")
		if err != nil || len(msgs) != 10 {
			b.Fatal(len(msgs), err)
		}
		ids = ids[:0]
		for _, m := range msgs {
			ids = append(ids, m.ID)
		}
		if err := s.Delete(ctx, "juliet@capulet.lit", ids); err != nil {
			b.Fatal(err)
		}
	}
}
