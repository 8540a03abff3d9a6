// Package auth issues and verifies the access tokens of mediarec.
//
// The users service holds an Ed25519 private key and signs short-lived JWTs
// with it (Issuer); every other service verifies them locally with only the
// public key (Verifier), so no service but the users service can mint a
// token and no request needs a round trip to verify one. The public key
// reaches the other services through config (ParsePublicKey) or once, at
// start-up, from the users service's JWKS endpoint (FetchJWKS).
package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// LoadOrCreateKey returns the Ed25519 private key stored as a PKCS#8 PEM file
// at path. When the file does not exist it generates a key and writes it
// there with mode 0600, so the embedded default keeps the same key across
// restarts and tokens issued before a restart stay valid.
//
// The file is written to a temporary file in the same directory and renamed
// into place, so a crash never leaves a truncated key that would fail every
// later start. Two processes creating the key at the same moment would each
// rename their own; the embedded default runs one users service per data
// dir, so that race is not guarded against.
func LoadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		key, err := parsePrivateKey(data)
		if err != nil {
			return nil, fmt.Errorf("load signing key %s: %w", path, err)
		}
		return key, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load signing key: %w", err)
	}

	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal signing key: %w", err)
	}
	if err := writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return nil, fmt.Errorf("write signing key %s: %w", path, err)
	}
	return key, nil
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory (rename is only atomic within one file system).
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	// 0700: the directory holds a secret; do not widen an existing one.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// CreateTemp opens with mode 0600, so the key is never readable by
	// others, not even between create and rename.
	f, err := os.CreateTemp(dir, ".signing-key-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	// Sync before rename: otherwise a power loss can leave the new name
	// pointing at an empty file.
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// Chmod explicitly in case the platform's CreateTemp mode ever differs.
	if err := os.Chmod(f.Name(), 0o600); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func parsePrivateKey(pemBytes []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("no PKCS#8 PEM block (PRIVATE KEY) found")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse PKCS#8: %w", err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, want Ed25519", k)
	}
	return key, nil
}

// ParsePublicKey parses a PEM "PUBLIC KEY" block (PKIX, as written by
// PublicKeyPEM or `openssl pkey -pubout`) holding an Ed25519 key. Services
// other than the users service get the verification key this way from
// their config.
func ParsePublicKey(pemBytes []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("parse public key: no PEM block (PUBLIC KEY) found")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("parse public key: key is %T, want Ed25519", k)
	}
	return pub, nil
}

// PublicKeyPEM encodes pub as a PEM "PUBLIC KEY" block, the form
// ParsePublicKey reads, so an operator can copy the users service's key
// into the other services' config.
func PublicKeyPEM(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// KeyID returns the key id ("kid") of pub: base64url of the first 8 bytes of
// its SHA-256. It is derived rather than configured so the issuer and every
// verifier agree on it without sharing anything but the key, and it changes
// when the key does, which lets a later key rotation tell keys apart.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:8])
}
