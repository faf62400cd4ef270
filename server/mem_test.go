package server

import (
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"

	"github.com/xmppd/xmppd/conf"
)

// BenchmarkIdleSessionMemory logs in b.N sessions (initial presence sent)
// and reports the server's heap and stack growth per idle session. The
// clients live in the same process, so their own buffers are measured
// separately and subtracted.
func BenchmarkIdleSessionMemory(b *testing.B) {
	const n = 500
	s := startServer(b, func(c *conf.Config) { c.C2S.MaxResources = 1000 })
	var stack uint64
	measure := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		stack = m.StackInuse
		return m.HeapInuse + m.StackInuse
	}
	for i := 0; i < b.N; i++ {
		before := measure()
		stack0 := stack
		clients := make([]*testClient, n)
		for j := range clients {
			c := dialRaw(b, s.addr)
			c.login("alice", "pw", "r"+strconv.Itoa(i)+"-"+strconv.Itoa(j))
			c.presence()
			clients[j] = c
		}
		after := measure()
		b.ReportMetric(float64(stack-stack0)/n, "stack-B/session")
		// A client alone (decoder, bufio, conn) for comparison.
		cbefore := measure()
		extra := make([]*testClient, n)
		for j := range extra {
			extra[j] = &testClient{t: b}
			extra[j].conn = clients[j].conn
			extra[j].reset()
		}
		cafter := measure()
		perClient := float64(cafter-cbefore) / n
		b.ReportMetric(float64(after-before)/n-perClient, "server-B/session")
		if p := os.Getenv("XMPPD_HEAP_PROFILE"); p != "" {
			if f, err := os.Create(p); err == nil {
				_ = pprof.WriteHeapProfile(f)
				f.Close()
			}
		}
		for _, c := range clients {
			c.conn.Close()
		}
		runtime.KeepAlive(extra)
	}
}
