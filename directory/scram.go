package directory

import (
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"hash"

	"golang.org/x/text/secure/precis"
	"mellium.im/sasl"
)

// SASL mechanism names the directory stores credentials for (RFC 5802,
// RFC 7677) and the clear-text one it can verify (RFC 4616).
const (
	MechSCRAMSHA1   = "SCRAM-SHA-1"
	MechSCRAMSHA256 = "SCRAM-SHA-256"
	MechPlain       = "PLAIN"
)

// SaltSize is the length of the random salt of new credentials.
const SaltSize = 16

// scramHash returns the hash of a SCRAM mechanism.
func scramHash(mech string) (func() hash.Hash, error) {
	switch mech {
	case MechSCRAMSHA1:
		return sha1.New, nil
	case MechSCRAMSHA256:
		return sha256.New, nil
	}
	return nil, fmt.Errorf("directory: %q is not a SCRAM mechanism: %w", mech, ErrNoCredentials)
}

// NormalizePassword prepares a password as clients do before salting it:
// the PRECIS OpaqueString profile (RFC 8265), successor of the SASLprep that
// RFC 5802 names. ASCII passwords are unchanged; an empty password or one
// with control characters is refused.
func NormalizePassword(password string) (string, error) {
	p, err := precis.OpaqueString.String(password)
	if err != nil {
		return "", fmt.Errorf("directory: password: %w", err)
	}
	return p, nil
}

// NewSCRAM salts password for mech with a fresh random salt, so that the
// clear password never needs to be stored (RFC 5802 section 3).
func NewSCRAM(mech, password string, iterations int) (SCRAM, error) {
	h, err := scramHash(mech)
	if err != nil {
		return SCRAM{}, err
	}
	if iterations < 1 {
		return SCRAM{}, fmt.Errorf("directory: %d SCRAM iterations", iterations)
	}
	password, err = NormalizePassword(password)
	if err != nil {
		return SCRAM{}, err
	}
	salt := make([]byte, SaltSize)
	if _, err := rand.Read(salt); err != nil {
		return SCRAM{}, fmt.Errorf("directory: salt: %w", err)
	}
	return SCRAM{
		Salt:       salt,
		Salted:     sasl.SCRAMSaltPassword(h, []byte(password), salt, iterations),
		Iterations: iterations,
	}, nil
}

// VerifyPlain reports whether password is the one c was salted from, for
// SASL PLAIN against stored SCRAM credentials. The comparison takes the same
// time wherever the first differing byte is.
func VerifyPlain(c SCRAM, mech, password string) bool {
	h, err := scramHash(mech)
	if err != nil || c.Iterations < 1 || len(c.Salted) == 0 {
		return false
	}
	password, err = NormalizePassword(password)
	if err != nil {
		return false
	}
	got := sasl.SCRAMSaltPassword(h, []byte(password), c.Salt, c.Iterations)
	return subtle.ConstantTimeCompare(got, c.Salted) == 1
}
