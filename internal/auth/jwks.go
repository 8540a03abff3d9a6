package auth

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
)

// jwk is one JSON Web Key (RFC 8037 for the OKP/Ed25519 members).
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

type jwkSet struct {
	Keys []jwk `json:"keys"`
}

// maxJWKSSize bounds the JWKS response read by FetchJWKS; ours is ~150 bytes.
const maxJWKSSize = 64 << 10

func marshalJWKS(pub ed25519.PublicKey) []byte {
	b, err := json.Marshal(jwkSet{Keys: []jwk{{
		Kty: "OKP",
		Crv: "Ed25519",
		X:   base64.RawURLEncoding.EncodeToString(pub),
		Kid: KeyID(pub),
		Alg: "EdDSA",
		Use: "sig",
	}}})
	if err != nil {
		// Marshalling a struct of strings cannot fail.
		panic(err)
	}
	return b
}

// JWKS returns the JSON Web Key Set holding the issuer's public key, the body
// of GET /.well-known/jwks.json. It returns a fresh copy so a caller cannot
// change what later calls serve.
func (iss *Issuer) JWKS() []byte {
	return slices.Clone(iss.jwks)
}

// FetchJWKS gets the users service's public key from its JWKS endpoint at url
// (normally https://users…/.well-known/jwks.json). Services call it once at
// start-up and build a Verifier from the result; a nil client means
// http.DefaultClient, so bound the call with ctx.
//
// It returns the first Ed25519 signing key of the set; the users service
// publishes exactly one. Errors are plain wrapped errors for the start-up
// log, not user-facing.
func FetchJWKS(ctx context.Context, url string, client *http.Client) (ed25519.PublicKey, error) {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch jwks %s: status %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("fetch jwks %s: read body: %w", url, err)
	}
	if len(body) > maxJWKSSize {
		return nil, fmt.Errorf("fetch jwks %s: body larger than %d bytes", url, maxJWKSSize)
	}
	return parseJWKS(body)
}

func parseJWKS(body []byte) (ed25519.PublicKey, error) {
	var set jwkSet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("parse jwks: %w", err)
	}
	for _, k := range set.Keys {
		// alg and use are optional in a JWK; when present they must allow
		// EdDSA signatures, so an encryption key is never used to verify.
		if k.Kty != "OKP" || k.Crv != "Ed25519" ||
			(k.Alg != "" && k.Alg != "EdDSA") || (k.Use != "" && k.Use != "sig") {
			continue
		}
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil {
			return nil, fmt.Errorf("parse jwks: key %q: %w", k.Kid, err)
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("parse jwks: key %q: %d bytes, want %d", k.Kid, len(x), ed25519.PublicKeySize)
		}
		pub := ed25519.PublicKey(x)
		// The kid is derived from the key, so a mismatch means a corrupted
		// or hand-edited set; Verify would refuse every token anyway.
		if k.Kid != "" && k.Kid != KeyID(pub) {
			return nil, fmt.Errorf("parse jwks: key %q: kid does not match the key", k.Kid)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("parse jwks: no Ed25519 signing key in set")
}
