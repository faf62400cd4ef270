package server

import "time"

// workerIdle is how long a pooled worker waits for work before it exits.
const workerIdle = 5 * time.Second

// deepJobs hands work to an idle pooled worker.
var deepJobs = make(chan func())

// runDeep runs f on a pooled worker goroutine. Work with deep call stacks
// (negotiation: TLS, PBKDF2, SQLite; IQs and presence: storage) runs
// there rather than on the goroutine that stays blocked reading a stream,
// whose stack should stay small (see session.serve). A worker keeps its
// grown stack between jobs, so a new login does not pay for growing a
// fresh goroutine's stack from its starting size again. When no worker
// is idle a new one starts: the pool is never a queue.
func runDeep(f func()) {
	select {
	case deepJobs <- f:
	default:
		go deepWorker(f)
	}
}

func deepWorker(f func()) {
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		f()
		t.Reset(workerIdle)
		select {
		case f = <-deepJobs:
		case <-t.C:
			return
		}
	}
}
