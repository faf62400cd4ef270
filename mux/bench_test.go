package mux

import (
	"context"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/xmppd/xmppd/mux/link"
)

// echoTarget is where a benchmark's clients connect: a plain TCP echo
// server ("direct") or the same echo behind a multiplexor ("mux").
func echoTarget(b *testing.B, viaMux bool) string {
	b.Helper()
	echo := func(c net.Conn) {
		defer c.Close()
		_, _ = io.Copy(c, c)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	if !viaMux {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go echo(c)
			}
		}()
		b.Cleanup(func() { ln.Close() })
		return ln.Addr().String()
	}
	srv := &link.Server{Peers: []link.Peer{{Name: "mux1", Secret: "s3cret"}}, Logger: quietLog(),
		Handle: func(c net.Conn, _ link.Meta) { echo(c) }}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	m := benchMux(b, ln.Addr().String())
	return m.PlainAddrs()[0].String()
}

func benchMux(b *testing.B, server string) *Mux {
	b.Helper()
	cfg := Default()
	cfg.Mux.Name, cfg.Mux.Secret, cfg.Mux.Server = "mux1", "s3cret", server
	cfg.Listen.Plain = []string{"127.0.0.1:0"}
	cfg.Stats.LogInterval = Duration{}
	m, err := New(cfg, quietLog())
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = m.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	waitFor(b, "link", m.Connected)
	return m
}

// BenchmarkBulk: one client streams 32 KiB chunks and reads them back.
func BenchmarkBulk(b *testing.B) {
	for _, via := range []string{"direct", "mux"} {
		b.Run(via, func(b *testing.B) {
			addr := echoTarget(b, via == "mux")
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			buf := make([]byte, 32<<10)
			back := make([]byte, len(buf))
			b.SetBytes(int64(len(buf)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, back); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStanzas: many clients each send a 300-byte stanza and wait for
// it to come back (a round trip per op, all clients in parallel).
func BenchmarkStanzas(b *testing.B) {
	for _, via := range []string{"direct", "mux"} {
		b.Run(via, func(b *testing.B) {
			addr := echoTarget(b, via == "mux")
			msg := make([]byte, 300)
			for i := range msg {
				msg[i] = 'x'
			}
			b.SetBytes(int64(len(msg)))
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				back := make([]byte, len(msg))
				for pb.Next() {
					if _, err := c.Write(msg); err != nil {
						b.Error(err)
						return
					}
					if _, err := io.ReadFull(c, back); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkIdleClientMemory measures heap+stack per idle client with 2000
// clients connected through a multiplexor, minus the same 2000 clients
// connected to a plain listener (the test's own sockets, the server side).
// Run with -benchtime=1x.
func BenchmarkIdleClientMemory(b *testing.B) {
	const n = 2000
	for i := 0; i < b.N; i++ {
		direct := idleCost(b, n, false)
		viaMux := idleCost(b, n, true)
		b.ReportMetric(float64(viaMux)/n, "B/client-total")
		b.ReportMetric(float64(viaMux-direct)/n, "B/client-mux")
	}
}

// idleCost returns the memory growth of n idle connections.
func idleCost(b *testing.B, n int, viaMux bool) int64 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var held []net.Conn
	var got atomic.Int64
	keep := func(c net.Conn) {
		mu.Lock()
		held = append(held, c)
		mu.Unlock()
		got.Add(1)
	}
	addr := ln.Addr().String()
	var m *Mux
	var srv *link.Server
	if viaMux {
		srv = &link.Server{Peers: []link.Peer{{Name: "mux1", Secret: "s3cret"}}, Logger: quietLog(),
			Handle: func(c net.Conn, _ link.Meta) { keep(c) }}
		go func() { _ = srv.Serve(ln) }()
		m = benchMux(b, addr)
		addr = m.PlainAddrs()[0].String()
	} else {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				keep(c)
			}
		}()
	}
	before := memInUse()
	clients := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		clients = append(clients, c)
	}
	waitFor(b, "all clients held", func() bool { return got.Load() == int64(n) })
	after := memInUse()
	for _, c := range clients {
		c.Close()
	}
	mu.Lock()
	for _, c := range held {
		c.Close()
	}
	mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
	runtime.KeepAlive(clients)
	return after - before
}

func memInUse() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse + ms.StackInuse)
}
