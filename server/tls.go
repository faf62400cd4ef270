package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/xmppd/xmppd/conf"
)

// TLSConfig builds the TLS configuration from cfg. With no certificate
// configured, a self-signed one for the hosted domains (and their service
// domains) is generated in <data_dir>/tls on first start and reused.
func TLSConfig(cfg *conf.Config, log *slog.Logger) (*tls.Config, error) {
	certFile, keyFile := cfg.TLS.Cert, cfg.TLS.Key
	if certFile == "" {
		dir := filepath.Join(cfg.Server.DataDir, "tls")
		certFile = filepath.Join(dir, cfg.Server.Domains[0]+".crt")
		keyFile = filepath.Join(dir, cfg.Server.Domains[0]+".key")
		if err := ensureSelfSigned(cfg, certFile, keyFile); err != nil {
			return nil, err
		}
		log.Info("using a self-signed certificate; configure [tls] cert and key for production", "cert", certFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("server: tls: %w", err)
	}
	min := uint16(tls.VersionTLS12)
	if cfg.TLS.MinVersion == "1.3" {
		min = tls.VersionTLS13
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: min}, nil
}

func ensureSelfSigned(cfg *conf.Config, certFile, keyFile string) error {
	if b, err := os.ReadFile(certFile); err == nil {
		if blk, _ := pem.Decode(b); blk != nil {
			if c, err := x509.ParseCertificate(blk.Bytes); err == nil && time.Now().Add(24*time.Hour).Before(c.NotAfter) {
				if _, err := os.Stat(keyFile); err == nil {
					return nil
				}
			}
		}
	}
	names := append([]string(nil), cfg.Server.Domains...)
	for _, s := range []string{cfg.Services.Conference, cfg.Services.PubSub} {
		if s != "" {
			names = append(names, s)
		}
	}
	certPEM, keyPEM, err := SelfSigned(names, 365*24*time.Hour)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return fmt.Errorf("server: tls: %w", err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return fmt.Errorf("server: tls: %w", err)
	}
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		return fmt.Errorf("server: tls: %w", err)
	}
	return nil
}

// SelfSigned returns a PEM certificate and key (ECDSA P-256) for names.
func SelfSigned(names []string, valid time.Duration) (certPEM, keyPEM []byte, err error) {
	if len(names) == 0 {
		return nil, nil, errors.New("server: tls: no names")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("server: tls: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, fmt.Errorf("server: tls: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{"xmppd self-signed"}},
		DNSNames:              names,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(valid),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("server: tls: %w", err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("server: tls: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
}
