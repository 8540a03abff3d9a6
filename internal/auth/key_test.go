package auth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"mediarec/internal/auth"
)

func TestLoadOrCreateKey(t *testing.T) {
	t.Run("create then reload", func(t *testing.T) {
		dir := t.TempDir()
		// A missing parent directory is created: the data dir may be new.
		path := filepath.Join(dir, "keys", "signing.pem")

		key, err := auth.LoadOrCreateKey(path)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Fatalf("key file mode = %v, want 0600", mode)
		}
		// No temporary file is left beside the key.
		entries, err := os.ReadDir(filepath.Dir(path))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Fatalf("dir holds %d entries, want only the key", len(entries))
		}

		again, err := auth.LoadOrCreateKey(path)
		if err != nil {
			t.Fatal(err)
		}
		if !key.Equal(again) {
			t.Fatal("reloaded key differs from the created one")
		}
	})

	t.Run("reads a key written by openssl-style PKCS#8", func(t *testing.T) {
		_, priv := MustKey(t)
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "k.pem")
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := auth.LoadOrCreateKey(path)
		if err != nil {
			t.Fatal(err)
		}
		if !priv.Equal(got) {
			t.Fatal("loaded key differs")
		}
	})

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{name: "empty file", data: nil},
		{name: "not PEM", data: []byte("hello")},
		{name: "wrong PEM type", data: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2, 3}})},
		{name: "corrupt PKCS#8", data: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}})},
		{name: "ECDSA key", data: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})},
	} {
		// A bad key file must stop the start rather than be replaced: a new
		// key would silently invalidate every token already issued.
		t.Run("refuses "+tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k.pem")
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := auth.LoadOrCreateKey(path); err == nil {
				t.Fatal("want error")
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(after) != string(tt.data) {
				t.Fatal("bad key file was overwritten")
			}
		})
	}
}

func TestParsePublicKey(t *testing.T) {
	pub, priv := MustKey(t)
	pubPEM, err := auth.PublicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	got, err := auth.ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(got) {
		t.Fatal("round-tripped public key differs")
	}

	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{name: "empty", data: nil},
		{name: "private key", data: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})},
		{name: "corrupt", data: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}})},
		{name: "ECDSA key", data: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecDER})},
	} {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			if _, err := auth.ParsePublicKey(tt.data); err == nil {
				t.Fatal("want error")
			}
		})
	}
}
