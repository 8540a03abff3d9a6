package auth_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"mediarec"
	"mediarec/internal/auth"
)

func TestIssuer_JWKS(t *testing.T) {
	pub, priv := MustKey(t)
	iss := auth.NewIssuer(priv, testIssuer, time.Minute)

	var got map[string]any
	if err := json.Unmarshal(iss.JWKS(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"keys": []any{map[string]any{
		"kty": "OKP",
		"crv": "Ed25519",
		"x":   base64.RawURLEncoding.EncodeToString(pub),
		"kid": auth.KeyID(pub),
		"alg": "EdDSA",
		"use": "sig",
	}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("JWKS (-want +got):\n%s", diff)
	}

	// Callers get a copy: scribbling on one must not change what is served.
	b := iss.JWKS()
	b[0] = 'X'
	if iss.JWKS()[0] != '{' {
		t.Fatal("JWKS returned shared bytes")
	}
}

// MustServe serves body with status at the JWKS path and returns its URL.
func MustServe(tb testing.TB, status int, body []byte) string {
	tb.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv.URL + "/.well-known/jwks.json"
}

func TestFetchJWKS(t *testing.T) {
	pub, priv := MustKey(t)
	otherPub, _ := MustKey(t)
	iss := auth.NewIssuer(priv, testIssuer, time.Minute)
	ctx := context.Background()

	t.Run("verifier from fetched key accepts issued tokens", func(t *testing.T) {
		url := MustServe(t, http.StatusOK, iss.JWKS())
		got, err := auth.FetchJWKS(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !pub.Equal(got) {
			t.Fatal("fetched key differs")
		}
		v := auth.NewVerifier(got, testIssuer)
		token, exp, err := iss.Issue(42, mediarec.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		claims, err := v.Verify(token)
		if err != nil {
			t.Fatal(err)
		}
		want := auth.Claims{UserID: 42, Role: mediarec.RoleAdmin, ExpiresAt: exp}
		if diff := cmp.Diff(want, claims); diff != "" {
			t.Fatalf("claims (-want +got):\n%s", diff)
		}
	})

	t.Run("skips keys that are not Ed25519 signing keys", func(t *testing.T) {
		body, _ := json.Marshal(map[string]any{"keys": []any{
			map[string]any{"kty": "RSA", "n": "AQAB", "e": "AQAB"},
			map[string]any{"kty": "OKP", "crv": "X25519", "x": base64.RawURLEncoding.EncodeToString(otherPub)},
			map[string]any{"kty": "OKP", "crv": "Ed25519", "use": "enc", "x": base64.RawURLEncoding.EncodeToString(otherPub)},
			map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)},
		}})
		got, err := auth.FetchJWKS(ctx, MustServe(t, http.StatusOK, body), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !pub.Equal(got) {
			t.Fatal("picked the wrong key")
		}
	})

	okp := func(x []byte, kid string) []byte {
		b, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{
			"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(x), "kid": kid,
		}}})
		return b
	}
	for _, tt := range []struct {
		name   string
		status int
		body   []byte
	}{
		{name: "server error", status: http.StatusInternalServerError, body: iss.JWKS()},
		{name: "not found", status: http.StatusNotFound, body: nil},
		{name: "not JSON", status: http.StatusOK, body: []byte("<html>")},
		{name: "empty set", status: http.StatusOK, body: []byte(`{"keys":[]}`)},
		{name: "short x", status: http.StatusOK, body: okp(pub[:16], "")},
		{name: "kid of another key", status: http.StatusOK, body: okp(pub, auth.KeyID(ed25519.PublicKey(otherPub)))},
		{name: "x not base64url", status: http.StatusOK, body: []byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"!!!"}]}`)},
		{name: "oversized body", status: http.StatusOK, body: make([]byte, 1<<20)},
	} {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			if _, err := auth.FetchJWKS(ctx, MustServe(t, tt.status, tt.body), nil); err == nil {
				t.Fatal("want error")
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		if _, err := auth.FetchJWKS(ctx, url, srv.Client()); err == nil {
			t.Fatal("want error")
		}
	})
}
