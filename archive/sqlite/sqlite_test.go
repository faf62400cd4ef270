package sqlite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xmppd/xmppd/archive"
)

func openTest(t testing.TB, path string) *Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), FileName)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func bodies(t *testing.T, s *Store, user string) []string {
	t.Helper()
	msgs, err := s.Fetch(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.Stanza))
	}
	return out
}

func TestOffline(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "")
	const juliet, romeo = "juliet@capulet.lit", "romeo@montague.lit"
	steps := []struct {
		name    string
		op      func() error
		wantErr error
		user    string
		want    []string
	}{
		{"empty", func() error { return nil }, nil, juliet, nil},
		{"store one", func() error { return s.Store(ctx, juliet, []byte("<m1/>"), 3) }, nil, juliet, []string{"<m1/>"}},
		{"oldest first", func() error {
			return errors.Join(s.Store(ctx, juliet, []byte("<m2/>"), 3), s.Store(ctx, juliet, []byte("<m3/>"), 3))
		}, nil, juliet, []string{"<m1/>", "<m2/>", "<m3/>"}},
		{"quota full", func() error { return s.Store(ctx, juliet, []byte("<m4/>"), 3) }, archive.ErrQuota, juliet, []string{"<m1/>", "<m2/>", "<m3/>"}},
		{"quota zero", func() error { return s.Store(ctx, romeo, []byte("<r/>"), 0) }, archive.ErrQuota, romeo, nil},
		{"other user", func() error { return s.Store(ctx, romeo, []byte("<r1/>"), 3) }, nil, romeo, []string{"<r1/>"}},
		{"delete delivered", func() error {
			msgs, err := s.Fetch(ctx, juliet)
			if err != nil {
				return err
			}
			return s.Delete(ctx, juliet, []int64{msgs[0].ID, msgs[2].ID})
		}, nil, juliet, []string{"<m2/>"}},
		{"delete ignores other users' ids", func() error {
			msgs, err := s.Fetch(ctx, romeo)
			if err != nil {
				return err
			}
			return s.Delete(ctx, juliet, []int64{msgs[0].ID})
		}, nil, romeo, []string{"<r1/>"}},
		{"room again after delete", func() error { return s.Store(ctx, juliet, []byte("<m5/>"), 2) }, nil, juliet, []string{"<m2/>", "<m5/>"}},
		{"delete user", func() error { return s.DeleteUser(ctx, juliet) }, nil, juliet, nil},
		{"delete user keeps others", func() error { return nil }, nil, romeo, []string{"<r1/>"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			err := st.op()
			if st.wantErr == nil && err != nil || st.wantErr != nil && !errors.Is(err, st.wantErr) {
				t.Fatalf("got error %v, want %v", err, st.wantErr)
			}
			if got := bodies(t, s, st.user); !slices.Equal(got, st.want) {
				t.Fatalf("queue of %s = %v, want %v", st.user, got, st.want)
			}
			if n, err := s.Count(ctx, st.user); err != nil || n != len(st.want) {
				t.Fatalf("Count = %d, %v; want %d", n, err, len(st.want))
			}
		})
	}
}

func TestStamp(t *testing.T) {
	s := openTest(t, "")
	before := time.Now().Add(-time.Millisecond)
	if err := s.Store(context.Background(), "a@b.lit", []byte("<m/>"), 10); err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Fetch(context.Background(), "a@b.lit")
	if err != nil || len(msgs) != 1 {
		t.Fatal(msgs, err)
	}
	if st := msgs[0].Stamp; st.Before(before) || st.After(time.Now()) || st.Location() != time.UTC {
		t.Fatalf("stamp %v not the time of Store in UTC", st)
	}
}

// TestConcurrentQuota: many Stores racing for the last places of one queue
// land in shared transactions; exactly quota of them may win, and the
// losers must not undo the winners' messages.
func TestConcurrentQuota(t *testing.T) {
	s := openTest(t, "")
	const quota, n = 10, 60
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		user := "busy@b.lit"
		if i%2 == 1 {
			user = fmt.Sprintf("u%d@b.lit", i)
		}
		wg.Go(func() { errs[i] = s.Store(context.Background(), user, fmt.Appendf(nil, "<m%d/>", i), quota) })
	}
	wg.Wait()
	ok, full := 0, 0
	for i, err := range errs {
		switch {
		case err == nil && i%2 == 0:
			ok++
		case errors.Is(err, archive.ErrQuota) && i%2 == 0:
			full++
		case err != nil:
			t.Errorf("store %d: %v", i, err)
		}
	}
	if ok != quota || full != n/2-quota {
		t.Fatalf("%d stored and %d refused on the busy queue; want %d and %d", ok, full, quota, n/2-quota)
	}
	if c, _ := s.Count(context.Background(), "busy@b.lit"); c != quota {
		t.Fatalf("busy queue holds %d", c)
	}
	for i := 1; i < n; i += 2 {
		if c, _ := s.Count(context.Background(), fmt.Sprintf("u%d@b.lit", i)); c != 1 {
			t.Fatalf("u%d holds %d messages, want 1", i, c)
		}
	}
}

func TestClose(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Store(context.Background(), "a@b.lit", []byte("<m/>"), 10); !errors.Is(err, ErrClosed) {
		t.Fatalf("Store after Close: %v", err)
	}
}

func TestCanceledBeforeWrite(t *testing.T) {
	s := openTest(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Store(ctx, "a@b.lit", []byte("<m/>"), 10); !errors.Is(err, context.Canceled) {
		t.Fatalf("Store with a canceled context: %v", err)
	}
	if n, _ := s.Count(context.Background(), "a@b.lit"); n != 0 {
		t.Fatalf("a canceled Store left %d messages", n)
	}
}

// childEnv names the archive a re-executed test binary writes into.
const childEnv = "XMPPD_ARCHIVE_KILL_CHILD"

// TestSurvivesSIGKILL re-runs this test binary as a child that keeps one
// goroutine writing, stores 20 messages concurrently, reports them stored
// and at once kills itself with SIGKILL: a Store that answered before its
// commit was durable would lose messages here. Everything the child
// reported must be there afterwards, and the file must open cleanly.
func TestSurvivesSIGKILL(t *testing.T) {
	if path := os.Getenv(childEnv); path != "" {
		killChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), FileName)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSurvivesSIGKILL$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var stored []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(sc.Text(), "stored "); ok {
			stored = append(stored, m)
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL", err)
	}
	if len(stored) != 20 {
		t.Fatalf("child reported %d stored messages, want 20", len(stored))
	}
	s := openTest(t, path)
	got := bodies(t, s, "juliet@capulet.lit")
	for _, m := range stored {
		if !slices.Contains(got, m) {
			t.Errorf("%s was reported stored but is gone after kill -9", m)
		}
	}
}

// killChild is the child side of TestSurvivesSIGKILL.
func killChild(path string) {
	s, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// Keep the writer busy so that the kill lands in the middle of a commit.
	go func() {
		for i := 0; ; i++ {
			if err := s.Store(context.Background(), "romeo@montague.lit", fmt.Appendf(nil, "<more n='%d'/>", i), 1000000); err != nil {
				fail(err)
			}
		}
	}()
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range 20 {
		wg.Go(func() {
			m := fmt.Sprintf("<message id='m%d'/>", i)
			if err := s.Store(context.Background(), "juliet@capulet.lit", []byte(m), 1000000); err != nil {
				fail(err)
			}
			mu.Lock()
			fmt.Printf("stored %s\n", m) // os.Stdout is unbuffered
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := syscall.Kill(os.Getpid(), syscall.SIGKILL); err != nil {
		fail(err)
	}
	select {} // SIGKILL cannot be caught; this is never reached
}
