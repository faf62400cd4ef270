package xclient

// SCRAM client (RFC 5802, RFC 7677) without channel binding (gs2 header
// "n,,"), with a process-wide cache of the keys derived from the salted
// password, as real clients (Conversations, Gajim, Dino) keep one per
// account: PBKDF2 runs only when the server sends a salt or an iteration
// count not seen before for that user and password.

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // SCRAM-SHA-1 is RFC 5802's mechanism
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// scramKey identifies one derivation of the salted password.
type scramKey struct {
	mech, user, pass, salt string
	iter                   int
}

// scramKeys are what the exchange needs from SaltedPassword.
type scramKeys struct {
	client, stored, server []byte // ClientKey, StoredKey = H(ClientKey), ServerKey
}

// scramCache is concurrency-safe; entries are added once a login verified
// the server's signature with them.
type scramCache struct {
	mu     sync.RWMutex
	m      map[scramKey]scramKeys
	pbkdf2 atomic.Int64 // SCRAM logins that derived the keys (PBKDF2)
	cached atomic.Int64 // SCRAM logins that found them in the cache
}

// cache is shared by every session of the process.
var cache = &scramCache{m: map[scramKey]scramKeys{}}

// SCRAMCounts reports how many SCRAM logins of this process computed
// PBKDF2 (with or without the cache) and how many took the keys from the
// cache. Callers take differences for one step or one run.
func SCRAMCounts() (pbkdf2, cached int64) {
	return cache.pbkdf2.Load(), cache.cached.Load()
}

func (c *scramCache) get(k scramKey) (scramKeys, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *scramCache) put(k scramKey, v scramKeys) {
	c.mu.Lock()
	c.m[k] = v
	c.mu.Unlock()
}

// scramHash returns the hash function of a SCRAM mechanism.
func scramHash(mech string) (func() hash.Hash, bool) {
	switch mech {
	case "SCRAM-SHA-1":
		return sha1.New, true
	case "SCRAM-SHA-256":
		return sha256.New, true
	}
	return nil, false
}

// scram is one client exchange: first, final, verify.
type scram struct {
	mech      string
	h         func() hash.Hash
	user      string
	pass      string
	nonce     string // client nonce
	useCache  bool
	firstBare string
	key       scramKey
	keys      scramKeys
	fresh     bool   // keys were derived in this exchange
	serverSig []byte // expected ServerSignature, set by final
}

// newSCRAM starts an exchange; nonce "" draws a random client nonce.
func newSCRAM(mech, user, pass, nonce string, useCache bool) (*scram, error) {
	h, ok := scramHash(mech)
	if !ok {
		return nil, fmt.Errorf("xclient: scram: unknown mechanism %s", mech)
	}
	if nonce == "" {
		b := make([]byte, 18)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("xclient: scram: nonce: %w", err)
		}
		nonce = base64.RawStdEncoding.EncodeToString(b)
	}
	return &scram{mech: mech, h: h, user: user, pass: pass, nonce: nonce, useCache: useCache}, nil
}

// scramName escapes a username for n= (RFC 5802 section 5.1).
func scramName(u string) string {
	return strings.ReplaceAll(strings.ReplaceAll(u, "=", "=3D"), ",", "=2C")
}

// first is the client-first-message.
func (s *scram) first() []byte {
	s.firstBare = "n=" + scramName(s.user) + ",r=" + s.nonce
	return []byte("n,," + s.firstBare)
}

// serverFirst holds the parsed server-first-message.
type serverFirst struct {
	nonce string
	salt  []byte
	iter  int
}

func parseServerFirst(msg []byte) (serverFirst, error) {
	var sf serverFirst
	for _, f := range strings.Split(string(msg), ",") {
		if len(f) < 2 || f[1] != '=' {
			return sf, fmt.Errorf("bad attribute %q", f)
		}
		v := f[2:]
		switch f[0] {
		case 'm':
			return sf, errors.New("server sent reserved attribute m")
		case 'r':
			sf.nonce = v
		case 's':
			salt, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return sf, fmt.Errorf("salt: %w", err)
			}
			sf.salt = salt
		case 'i':
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return sf, fmt.Errorf("iteration count %q", v)
			}
			sf.iter = n
		}
	}
	switch {
	case sf.nonce == "":
		return sf, errors.New("no nonce")
	case len(sf.salt) == 0:
		return sf, errors.New("empty salt")
	case sf.iter == 0:
		return sf, errors.New("no iteration count")
	}
	return sf, nil
}

// final answers the server-first-message with the client-final-message.
func (s *scram) final(msg []byte) ([]byte, error) {
	sf, err := parseServerFirst(msg)
	if err != nil {
		return nil, fmt.Errorf("%w: scram server-first: %w", ErrAuth, err)
	}
	if !strings.HasPrefix(sf.nonce, s.nonce) {
		return nil, fmt.Errorf("%w: scram: server nonce does not start with the client nonce", ErrAuth)
	}
	if err := s.deriveKeys(sf.salt, sf.iter); err != nil {
		return nil, err
	}
	withoutProof := "c=biws,r=" + sf.nonce // biws = base64("n,,")
	authMsg := []byte(s.firstBare + "," + string(msg) + "," + withoutProof)
	clientSig := s.mac(s.keys.stored, authMsg)
	proof := make([]byte, len(clientSig))
	for i := range proof {
		proof[i] = s.keys.client[i] ^ clientSig[i]
	}
	s.serverSig = s.mac(s.keys.server, authMsg)
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

// deriveKeys takes the keys from the cache or runs PBKDF2.
func (s *scram) deriveKeys(salt []byte, iter int) error {
	s.key = scramKey{mech: s.mech, user: s.user, pass: s.pass, salt: string(salt), iter: iter}
	if s.useCache {
		if k, ok := cache.get(s.key); ok {
			s.keys = k
			cache.cached.Add(1)
			return nil
		}
	}
	salted, err := pbkdf2.Key(s.h, s.pass, salt, iter, s.h().Size())
	if err != nil {
		return fmt.Errorf("xclient: scram: pbkdf2: %w", err)
	}
	cache.pbkdf2.Add(1)
	s.fresh = true
	s.keys.client = s.mac(salted, []byte("Client Key"))
	st := s.h()
	st.Write(s.keys.client)
	s.keys.stored = st.Sum(nil)
	s.keys.server = s.mac(salted, []byte("Server Key"))
	return nil
}

func (s *scram) mac(key, msg []byte) []byte {
	m := hmac.New(s.h, key)
	m.Write(msg)
	return m.Sum(nil)
}

// verify checks the server-final-message "v=ServerSignature" and, when it
// matches, keeps freshly derived keys in the cache.
func (s *scram) verify(msg []byte) error {
	if s.serverSig == nil {
		return fmt.Errorf("%w: scram: server-final before server-first", ErrAuth)
	}
	msg = bytes.TrimSpace(msg)
	if bytes.HasPrefix(msg, []byte("e=")) {
		return fmt.Errorf("%w: scram: server error %s", ErrAuth, msg[2:])
	}
	want := "v=" + base64.StdEncoding.EncodeToString(s.serverSig)
	if !hmac.Equal(msg, []byte(want)) {
		return fmt.Errorf("%w: scram: server signature mismatch", ErrAuth)
	}
	if s.useCache && s.fresh {
		cache.put(s.key, s.keys)
	}
	return nil
}
