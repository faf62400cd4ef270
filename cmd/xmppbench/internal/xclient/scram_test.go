package xclient

import (
	"errors"
	"strings"
	"testing"
)

// scramVector is one exchange from an RFC (user "user", password "pencil").
type scramVector struct {
	name, mech, nonce                  string
	serverFirst, clientFinal, serverFn string
}

var scramVectors = []scramVector{
	{
		name: "RFC 5802 section 5", mech: "SCRAM-SHA-1", nonce: "fyko+d2lbbFgONRv9qkxdawL",
		serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
		clientFinal: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
		serverFn:    "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
	},
	{
		name: "RFC 7677 section 3", mech: "SCRAM-SHA-256", nonce: "rOprNGfwEbeRWgbNEkqO",
		serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		serverFn:    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
	},
}

// exchange runs one client exchange against a vector and checks the
// server-final message serverFinal (the vector's, or a forged one).
func exchange(t *testing.T, v scramVector, useCache bool, serverFinal string) error {
	t.Helper()
	s, err := newSCRAM(v.mech, "user", "pencil", v.nonce, useCache)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(s.first()), "n,,n=user,r="+v.nonce; got != want {
		t.Fatalf("client-first %q, want %q", got, want)
	}
	final, err := s.final([]byte(v.serverFirst))
	if err != nil {
		t.Fatalf("final: %v", err)
	}
	if string(final) != v.clientFinal {
		t.Fatalf("client-final %q, want %q", final, v.clientFinal)
	}
	return s.verify([]byte(serverFinal))
}

// forgetSCRAMKeys empties the process-wide key cache, so that a test
// counting derivations does not depend on what ran before it in the same
// process (another test, or an earlier round of go test -count=N).
func forgetSCRAMKeys() {
	cache.mu.Lock()
	clear(cache.m)
	cache.mu.Unlock()
}

func TestSCRAMVectors(t *testing.T) {
	for _, v := range scramVectors {
		t.Run(v.name, func(t *testing.T) {
			forgetSCRAMKeys()
			// Without the cache, then twice with it: the first derives and
			// stores the keys, the second takes them from the cache and
			// must produce the same proof.
			for i, useCache := range []bool{false, true, true} {
				p0, c0 := SCRAMCounts()
				if err := exchange(t, v, useCache, v.serverFn); err != nil {
					t.Fatalf("run %d: verify: %v", i, err)
				}
				p1, c1 := SCRAMCounts()
				wantCached := int64(0)
				if i == 2 {
					wantCached = 1
				}
				if p1-p0 != 1-wantCached || c1-c0 != wantCached {
					t.Fatalf("run %d: pbkdf2 +%d cached +%d, want +%d +%d", i, p1-p0, c1-c0, 1-wantCached, wantCached)
				}
			}
		})
	}
}

func TestSCRAMRejects(t *testing.T) {
	v := scramVectors[1]
	sig := strings.TrimPrefix(v.serverFn, "v=")
	bad := []byte(sig)
	bad[3] ^= 1 // still base64, another signature
	cases := []struct {
		name, serverFinal string
	}{
		{"wrong signature", "v=" + string(bad)},
		{"signature of the other vector", scramVectors[0].serverFn},
		{"server error", "e=invalid-proof"},
		{"empty server-final", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := exchange(t, v, true, tc.serverFinal)
			if !errors.Is(err, ErrAuth) {
				t.Fatalf("verify(%q) = %v, want ErrAuth", tc.serverFinal, err)
			}
		})
	}
}

func TestSCRAMServerFirstRejected(t *testing.T) {
	cases := []struct{ name, serverFirst string }{
		{"nonce not prefixed by ours", "r=XXXXNGfwEbeRWgbNEkqO%hvYDpWUa2,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"},
		{"no nonce", "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"},
		{"no salt", "r=rOprNGfwEbeRWgbNEkqO%hv,i=4096"},
		{"zero iterations", "r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0"},
		{"reserved m", "m=x,r=rOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := newSCRAM("SCRAM-SHA-256", "user", "pencil", "rOprNGfwEbeRWgbNEkqO", true)
			if err != nil {
				t.Fatal(err)
			}
			s.first()
			if _, err := s.final([]byte(tc.serverFirst)); !errors.Is(err, ErrAuth) {
				t.Fatalf("final(%q) = %v, want ErrAuth", tc.serverFirst, err)
			}
		})
	}
}

func TestSCRAMFirstMessage(t *testing.T) {
	cases := []struct{ user, want string }{
		{"user", "n,,n=user,r=abc"},
		{"a,b=c", "n,,n=a=2Cb=3Dc,r=abc"},
		{"==,", "n,,n==3D=3D=2C,r=abc"},
	}
	for _, tc := range cases {
		s, err := newSCRAM("SCRAM-SHA-1", tc.user, "pw", "abc", false)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(s.first()); got != tc.want {
			t.Errorf("first(%q) = %q, want %q", tc.user, got, tc.want)
		}
	}
	s, err := newSCRAM("SCRAM-SHA-256", "u", "pw", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.nonce) < 16 || strings.Contains(s.nonce, ",") {
		t.Errorf("random nonce %q", s.nonce)
	}
}

// BenchmarkSCRAMClient is the client's CPU per SCRAM-SHA-256 exchange
// (RFC 7677's vector, 4096 iterations) with and without the cache.
func BenchmarkSCRAMClient(b *testing.B) {
	v := scramVectors[1]
	for _, useCache := range []bool{false, true} {
		b.Run(map[bool]string{false: "pbkdf2", true: "cached"}[useCache], func(b *testing.B) {
			for b.Loop() {
				s, err := newSCRAM(v.mech, "user", "pencil", v.nonce, useCache)
				if err != nil {
					b.Fatal(err)
				}
				s.first()
				if _, err := s.final([]byte(v.serverFirst)); err != nil {
					b.Fatal(err)
				}
				if err := s.verify([]byte(v.serverFn)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
