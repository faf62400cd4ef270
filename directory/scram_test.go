package directory

import (
	"bytes"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"hash"
	"testing"

	"mellium.im/sasl"
)

// rfcExchange is a SCRAM exchange published in an RFC: the salted password
// derived from password must reproduce the client proof and the server
// signature printed there.
type rfcExchange struct {
	name, mech, password, salt string
	iterations                 int
	clientFirstBare            string
	serverFirst                string
	clientFinalNoProof         string
	proof, serverSignature     string
}

var rfcExchanges = []rfcExchange{
	{
		name: "RFC 5802 section 5", mech: MechSCRAMSHA1, password: "pencil",
		salt: "QSXCR+Q6sek8bf92", iterations: 4096,
		clientFirstBare:    "n=user,r=fyko+d2lbbFgONRv9qkxdawL",
		serverFirst:        "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
		clientFinalNoProof: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j",
		proof:              "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
		serverSignature:    "rmF9pqV8S7suAoZWja4dJRkFsKQ=",
	},
	{
		name: "RFC 7677 section 3", mech: MechSCRAMSHA256, password: "pencil",
		salt: "W22ZaJ0SNY7soEsUEjb6gQ==", iterations: 4096,
		clientFirstBare:    "n=user,r=rOprNGfwEbeRWgbNEkqO",
		serverFirst:        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		clientFinalNoProof: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
		proof:              "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		serverSignature:    "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
	},
}

func mac(h func() hash.Hash, key []byte, msg string) []byte {
	m := hmac.New(h, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func TestSCRAMRFCVectors(t *testing.T) {
	for _, tc := range rfcExchanges {
		t.Run(tc.name, func(t *testing.T) {
			h, err := scramHash(tc.mech)
			if err != nil {
				t.Fatal(err)
			}
			salt, _ := base64.StdEncoding.DecodeString(tc.salt)
			c := SCRAM{Salt: salt, Iterations: tc.iterations,
				Salted: sasl.SCRAMSaltPassword(h, []byte(tc.password), salt, tc.iterations)}
			auth := tc.clientFirstBare + "," + tc.serverFirst + "," + tc.clientFinalNoProof
			clientKey := mac(h, c.Salted, "Client Key")
			sum := h()
			sum.Write(clientKey)
			sig := mac(h, sum.Sum(nil), auth)
			proof := make([]byte, len(sig))
			for i := range sig {
				proof[i] = clientKey[i] ^ sig[i]
			}
			if got := base64.StdEncoding.EncodeToString(proof); got != tc.proof {
				t.Errorf("client proof %s, RFC says %s", got, tc.proof)
			}
			server := mac(h, mac(h, c.Salted, "Server Key"), auth)
			if got := base64.StdEncoding.EncodeToString(server); got != tc.serverSignature {
				t.Errorf("server signature %s, RFC says %s", got, tc.serverSignature)
			}
			if !VerifyPlain(c, tc.mech, tc.password) {
				t.Error("VerifyPlain refused the RFC password")
			}
			if VerifyPlain(c, tc.mech, "pencil2") {
				t.Error("VerifyPlain accepted a wrong password")
			}
		})
	}
}

func TestNewSCRAM(t *testing.T) {
	tests := []struct {
		name, mech, password string
		iterations           int
		wantErr              bool
		size                 int
	}{
		{name: "sha1", mech: MechSCRAMSHA1, password: "secret", iterations: 4096, size: 20},
		{name: "sha256", mech: MechSCRAMSHA256, password: "secret", iterations: 4096, size: 32},
		{name: "non-ascii", mech: MechSCRAMSHA256, password: "pässwörd ☃", iterations: 4096, size: 32},
		{name: "unknown mechanism", mech: "SCRAM-SHA-512", password: "x", iterations: 4096, wantErr: true},
		{name: "plain is not scram", mech: MechPlain, password: "x", iterations: 4096, wantErr: true},
		{name: "zero iterations", mech: MechSCRAMSHA1, password: "x", iterations: 0, wantErr: true},
		{name: "empty password", mech: MechSCRAMSHA1, password: "", iterations: 4096, wantErr: true},
		{name: "control character", mech: MechSCRAMSHA1, password: "a\x07b", iterations: 4096, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewSCRAM(tc.mech, tc.password, tc.iterations)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("NewSCRAM succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Salt) != SaltSize || len(c.Salted) != tc.size || c.Iterations != tc.iterations {
				t.Fatalf("salt %d bytes, salted %d bytes, %d iterations", len(c.Salt), len(c.Salted), c.Iterations)
			}
			if bytes.Contains(c.Salted, []byte(tc.password)) {
				t.Fatal("salted password contains the clear password")
			}
			if !VerifyPlain(c, tc.mech, tc.password) {
				t.Error("VerifyPlain refused the right password")
			}
			if VerifyPlain(c, tc.mech, tc.password+"x") {
				t.Error("VerifyPlain accepted a wrong password")
			}
			other, _ := NewSCRAM(tc.mech, tc.password, tc.iterations)
			if bytes.Equal(other.Salt, c.Salt) {
				t.Error("two credentials share a salt")
			}
		})
	}
}

func TestVerifyPlainRejectsBadRecords(t *testing.T) {
	good, err := NewSCRAM(MechSCRAMSHA256, "secret", 4096)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		c    SCRAM
		mech string
	}{
		{name: "empty record", c: SCRAM{}, mech: MechSCRAMSHA256},
		{name: "wrong mechanism", c: good, mech: MechSCRAMSHA1},
		{name: "unknown mechanism", c: good, mech: "X"},
		{name: "no iterations", c: SCRAM{Salt: good.Salt, Salted: good.Salted}, mech: MechSCRAMSHA256},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if VerifyPlain(tc.c, tc.mech, "secret") {
				t.Fatal("accepted")
			}
		})
	}
}

// TestSCRAMWithMellium runs the real mellium SCRAM client and server over
// credentials made by NewSCRAM, as the server's SASL step will.
func TestSCRAMWithMellium(t *testing.T) {
	tests := []struct {
		name           string
		mech           sasl.Mechanism
		stored, client string
		wantOK         bool
	}{
		{"sha1 right", sasl.ScramSha1, "secret", "secret", true},
		{"sha256 right", sasl.ScramSha256, "secret", "secret", true},
		{"sha256 wrong", sasl.ScramSha256, "secret", "Secret", false},
		{"sha1 wrong", sasl.ScramSha1, "secret", "secre", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewSCRAM(tc.mech.Name, tc.stored, 4096)
			if err != nil {
				t.Fatal(err)
			}
			fetch := func(user, _ []byte, mech string) ([]byte, []byte, int64, error) {
				if string(user) != "juliet" || mech != tc.mech.Name {
					return nil, nil, 0, errors.New("unexpected lookup")
				}
				return c.Salt, c.Salted, int64(c.Iterations), nil
			}
			server := sasl.NewServer(tc.mech, nil, sasl.SaltedCredentials(fetch))
			client := sasl.NewClient(tc.mech, sasl.Credentials(func() ([]byte, []byte, []byte) {
				return []byte("juliet"), []byte(tc.client), nil
			}))
			if ok := negotiate(client, server); ok != tc.wantOK {
				t.Fatalf("negotiation succeeded: %v, want %v", ok, tc.wantOK)
			}
		})
	}
}

// negotiate plays client against server until one side fails or both finish.
func negotiate(client, server *sasl.Negotiator) bool {
	_, msg, err := client.Step(nil)
	if err != nil {
		return false
	}
	for range 5 {
		more, resp, err := server.Step(msg)
		if err != nil {
			return false
		}
		cmore, cmsg, err := client.Step(resp)
		if err != nil {
			return false
		}
		if !more && !cmore {
			return true
		}
		msg = cmsg
	}
	return false
}
