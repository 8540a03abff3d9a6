package auth_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"mediarec"
	"mediarec/internal/auth"
	"mediarec/internal/auth/authtest"
)

const testIssuer = "mediarec-users"

// MustKey returns a fresh Ed25519 key pair.
func MustKey(tb testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return pub, priv
}

// validClaims returns the claims the issuer would write for user 42.
func validClaims() jwt.MapClaims { return authtest.Claims(42, testIssuer, nil) }

// with returns validClaims with changes; a nil value deletes the claim.
func with(changes map[string]any) jwt.MapClaims { return authtest.Claims(42, testIssuer, changes) }

// rawToken builds a token by hand, for headers the library refuses to sign.
func rawToken(tb testing.TB, header map[string]any, claims jwt.MapClaims, sig string) string {
	tb.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(p) + "." + sig
}

// flip changes one byte of the segment i of token, keeping it valid base64url.
func flip(token string, seg int) string {
	parts := strings.Split(token, ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[seg])
	b[len(b)/2] ^= 0x01
	parts[seg] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

// nonCanonical sets an unused low bit of the signature's last base64url
// character: lenient decoders read the same 64 bytes, so without strict
// decoding one token would have several accepted spellings.
func nonCanonical(token string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, token[len(token)-1])
	return token[:len(token)-1] + string(alphabet[i|1])
}

func TestVerifier_Verify(t *testing.T) {
	pub, priv := MustKey(t)
	_, otherPriv := MustKey(t)
	otherPub := otherPriv.Public().(ed25519.PublicKey)
	kid := auth.KeyID(pub)
	iss := auth.NewIssuer(priv, testIssuer, 15*time.Minute)
	v := auth.NewVerifier(pub, testIssuer)

	userToken, userExp, err := iss.Issue(42, mediarec.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	adminToken, adminExp, err := iss.Issue(7, mediarec.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := auth.PublicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	hour := time.Hour
	// Fixed claims for the positive hand-signed cases, so the wanted expiry
	// cannot drift by a second from the signed one.
	control := validClaims()
	nearlyExpired := with(map[string]any{"exp": time.Now().Add(-10 * time.Second).Unix()})

	// privilegeEscalation keeps the user token's header and signature but
	// swaps in a payload that says admin.
	parts := strings.Split(userToken, ".")
	adminPayload, _ := json.Marshal(with(map[string]any{"role": "admin"}))
	privilegeEscalation := parts[0] + "." + base64.RawURLEncoding.EncodeToString(adminPayload) + "." + parts[2]

	tests := []struct {
		name  string
		token string
		want  *auth.Claims // nil: must be refused with EUNAUTHORIZED
	}{
		{name: "issued user token", token: userToken,
			want: &auth.Claims{UserID: 42, Role: mediarec.RoleUser, ExpiresAt: userExp}},
		{name: "issued admin token", token: adminToken,
			want: &auth.Claims{UserID: 7, Role: mediarec.RoleAdmin, ExpiresAt: adminExp}},
		// The control proves the hand-built cases below fail for the one
		// thing they change, not for how the test builds tokens.
		{name: "hand-signed control", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, kid, control),
			want: &auth.Claims{UserID: 42, Role: mediarec.RoleUser, ExpiresAt: time.Unix(control["exp"].(int64), 0)}},
		{name: "expired within leeway", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, kid, nearlyExpired),
			want: &auth.Claims{UserID: 42, Role: mediarec.RoleUser, ExpiresAt: time.Unix(nearlyExpired["exp"].(int64), 0)}},

		// Time.
		{name: "expired", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, kid,
			with(map[string]any{"iat": time.Now().Add(-2 * hour).Unix(), "exp": time.Now().Add(-hour).Unix()}))},
		{name: "expired just past leeway", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, kid,
			with(map[string]any{"exp": time.Now().Add(-auth.Leeway - 5*time.Second).Unix()}))},
		{name: "missing exp", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, kid, with(map[string]any{"exp": nil}))},
		{name: "exp not a number", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, kid, with(map[string]any{"exp": "tomorrow"}))},
		{name: "iat far in future", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, kid,
			with(map[string]any{"iat": time.Now().Add(hour).Unix(), "exp": time.Now().Add(2 * hour).Unix()}))},
		{name: "nbf far in future", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, kid,
			with(map[string]any{"nbf": time.Now().Add(hour).Unix()}))},

		// Signature.
		{name: "signature byte flipped", token: flip(userToken, 2)},
		{name: "payload byte flipped", token: flip(userToken, 1)},
		{name: "role changed to admin, old signature", token: privilegeEscalation},
		{name: "signature removed", token: parts[0] + "." + parts[1] + "."},
		{name: "signed by another key, our kid", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, otherPriv, kid, validClaims())},
		{name: "signed by another key, its kid", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, otherPriv, auth.KeyID(otherPub), validClaims())},
		{name: "missing kid", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, "", validClaims())},
		{name: "unknown kid", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, "nope", validClaims())},

		// Algorithm.
		{name: "alg none", token: rawToken(t, map[string]any{"alg": "none", "typ": "JWT"}, validClaims(), "")},
		{name: "alg none with kid", token: rawToken(t, map[string]any{"alg": "none", "typ": "JWT", "kid": kid}, validClaims(), "")},
		{name: "alg None", token: rawToken(t, map[string]any{"alg": "None", "typ": "JWT", "kid": kid}, validClaims(), "")},
		{name: "alg missing", token: rawToken(t, map[string]any{"typ": "JWT", "kid": kid}, validClaims(), "")},
		{name: "HS256 keyed with raw public key", token: authtest.MustSign(t, jwt.SigningMethodHS256, []byte(pub), kid, validClaims())},
		{name: "HS256 keyed with public key PEM", token: authtest.MustSign(t, jwt.SigningMethodHS256, pubPEM, kid, validClaims())},
		{name: "RS256 header, garbage signature", token: rawToken(t, map[string]any{"alg": "RS256", "typ": "JWT", "kid": kid},
			validClaims(), base64.RawURLEncoding.EncodeToString([]byte("garbage")))},
		{name: "EdDSA header, all-zero signature", token: rawToken(t, map[string]any{"alg": "EdDSA", "kid": kid},
			validClaims(), base64.RawURLEncoding.EncodeToString(make([]byte, ed25519.SignatureSize)))},

		// Claims.
		{name: "wrong issuer", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, kid, with(map[string]any{"iss": "evil"}))},
		{name: "missing issuer", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, kid, with(map[string]any{"iss": nil}))},
		{name: "sub not a number", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, kid, with(map[string]any{"sub": "alice"}))},
		{name: "sub missing", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, kid, with(map[string]any{"sub": nil}))},
		{name: "sub zero", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, kid, with(map[string]any{"sub": "0"}))},
		{name: "sub negative", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, kid, with(map[string]any{"sub": "-42"}))},
		{name: "sub non-canonical", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, kid, with(map[string]any{"sub": "+042"}))},
		{name: "sub overflows int64", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, kid, with(map[string]any{"sub": "9223372036854775808"}))},
		{name: "sub as JSON number", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, kid, with(map[string]any{"sub": 42}))},
		{name: "unknown role", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, kid, with(map[string]any{"role": "root"}))},
		{name: "role in other case", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, kid, with(map[string]any{"role": "Admin"}))},
		{name: "role missing", token: authtest.MustSign(t, jwt.SigningMethodEdDSA, priv, kid, with(map[string]any{"role": nil}))},

		// Shape.
		{name: "empty string", token: ""},
		{name: "truncated", token: userToken[:len(userToken)/2]},
		{name: "last character dropped", token: userToken[:len(userToken)-1]},
		{name: "two segments", token: parts[0] + "." + parts[1]},
		{name: "extra segment", token: userToken + ".AAAA"},
		{name: "extra empty segment", token: userToken + "."},
		{name: "padded signature", token: userToken + "=="},
		{name: "non-canonical base64 signature", token: nonCanonical(userToken)},
		{name: "bearer prefix left on", token: "Bearer " + userToken},
		{name: "garbage", token: "not.a.jwt"},
		{name: "oversized", token: userToken + strings.Repeat("A", 8192)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(tt.token)
			if tt.want != nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if diff := cmp.Diff(*tt.want, got); diff != "" {
					t.Fatalf("claims (-want +got):\n%s", diff)
				}
				return
			}
			if code := mediarec.ErrorCode(err); code != mediarec.EUNAUTHORIZED {
				t.Fatalf("code = %q (err %v), want %q", code, err, mediarec.EUNAUTHORIZED)
			}
			// The message reaches clients: it must not leak which check failed.
			if msg := mediarec.ErrorMessage(err); msg != "Invalid or expired token." {
				t.Fatalf("message = %q", msg)
			}
			if diff := cmp.Diff(auth.Claims{}, got); diff != "" {
				t.Fatalf("claims returned with error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIssuer_Issue(t *testing.T) {
	pub, priv := MustKey(t)
	iss := auth.NewIssuer(priv, testIssuer, 15*time.Minute)

	t.Run("header and claims", func(t *testing.T) {
		before := time.Now()
		token, exp, err := iss.Issue(42, mediarec.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		if exp.Before(before.Add(15*time.Minute-time.Second)) || exp.After(time.Now().Add(15*time.Minute)) {
			t.Fatalf("expiresAt = %v, want about 15m from now", exp)
		}
		parts := strings.Split(token, ".")
		var header, payload map[string]any
		for i, dst := range []*map[string]any{&header, &payload} {
			b, err := base64.RawURLEncoding.DecodeString(parts[i])
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, dst); err != nil {
				t.Fatal(err)
			}
		}
		wantHeader := map[string]any{"alg": "EdDSA", "typ": "JWT", "kid": auth.KeyID(pub)}
		if diff := cmp.Diff(wantHeader, header); diff != "" {
			t.Fatalf("header (-want +got):\n%s", diff)
		}
		for _, k := range []string{"sub", "role", "iss", "iat", "exp", "jti"} {
			if _, ok := payload[k]; !ok {
				t.Errorf("payload lacks %q: %v", k, payload)
			}
		}
		if payload["sub"] != "42" || payload["role"] != "admin" || payload["iss"] != testIssuer {
			t.Errorf("payload = %v", payload)
		}
		if payload["exp"] != float64(exp.Unix()) {
			t.Errorf("exp = %v, want %d", payload["exp"], exp.Unix())
		}
	})

	t.Run("jti unique", func(t *testing.T) {
		seen := map[string]bool{}
		for range 100 {
			token, _, err := iss.Issue(1, mediarec.RoleUser)
			if err != nil {
				t.Fatal(err)
			}
			var c jwt.RegisteredClaims
			if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
				t.Fatal(err)
			}
			if c.ID == "" || seen[c.ID] {
				t.Fatalf("jti %q empty or repeated", c.ID)
			}
			seen[c.ID] = true
		}
	})

	for _, tt := range []struct {
		name string
		id   int64
		role mediarec.Role
	}{
		{name: "zero id", id: 0, role: mediarec.RoleUser},
		{name: "negative id", id: -1, role: mediarec.RoleUser},
		{name: "unknown role", id: 1, role: "root"},
		{name: "empty role", id: 1, role: ""},
	} {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			if token, _, err := iss.Issue(tt.id, tt.role); err == nil {
				t.Fatalf("Issue(%d, %q) = %q, want error", tt.id, tt.role, token)
			}
		})
	}
}

// TestVerifier_Concurrent runs the shared parser from many goroutines, since
// every request handler of a service uses the same Verifier.
func TestVerifier_Concurrent(t *testing.T) {
	pub, priv := MustKey(t)
	iss := auth.NewIssuer(priv, testIssuer, time.Minute)
	v := auth.NewVerifier(pub, testIssuer)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for range 20 {
				token, _, err := iss.Issue(int64(i+1), mediarec.RoleUser)
				if err != nil {
					t.Error(err)
					return
				}
				c, err := v.Verify(token)
				if err != nil || c.UserID != int64(i+1) {
					t.Errorf("Verify = %+v, %v", c, err)
					return
				}
				if _, err := v.Verify(flip(token, 2)); mediarec.ErrorCode(err) != mediarec.EUNAUTHORIZED {
					t.Errorf("flipped token: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}
