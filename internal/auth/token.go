package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"mediarec"
)

// Leeway is the clock skew tolerated when checking exp and iat, since
// services on different nodes never agree on the time exactly.
const Leeway = 30 * time.Second

// maxTokenLen bounds what Verify will parse. Our tokens are about 300
// bytes; refusing anything far larger keeps a hostile header from costing
// base64 and JSON decoding work.
const maxTokenLen = 4096

// errInvalidToken is the one error every verification failure returns. The
// library's error text is never shown: it would tell an attacker which check
// failed (signature, algorithm, expiry) and is not meant for users.
func errInvalidToken() error {
	return mediarec.Errorf(mediarec.EUNAUTHORIZED, "Invalid or expired token.")
}

// tokenClaims is the JWT payload: the registered claims plus the role.
type tokenClaims struct {
	jwt.RegisteredClaims
	Role mediarec.Role `json:"role"`
}

// Claims is what a verified token says about its bearer.
type Claims struct {
	UserID    int64
	Role      mediarec.Role
	ExpiresAt time.Time
}

// Issuer signs access tokens. Only the users service has one, because only it
// holds the private key. An Issuer is safe for concurrent use.
type Issuer struct {
	key    ed25519.PrivateKey
	kid    string
	issuer string
	ttl    time.Duration
	jwks   []byte
}

// NewIssuer returns an Issuer that signs with key, names itself issuer in the
// iss claim and makes tokens valid for ttl. Keep ttl short (minutes): a
// token cannot be revoked before it expires, only refused by a caller that
// looks the user up.
func NewIssuer(key ed25519.PrivateKey, issuer string, ttl time.Duration) *Issuer {
	pub := key.Public().(ed25519.PublicKey)
	return &Issuer{
		key:    key,
		kid:    KeyID(pub),
		issuer: issuer,
		ttl:    ttl,
		jwks:   marshalJWKS(pub),
	}
}

// Issue returns a signed token for the user and the time it expires. The
// expiry is truncated to whole seconds, as exp carries it, so expiresAt is
// exactly what verifiers will enforce.
func (iss *Issuer) Issue(userID int64, role mediarec.Role) (token string, expiresAt time.Time, err error) {
	// These are programming errors of the caller, not bad input: the users
	// service only issues tokens for accounts it has just loaded.
	if userID <= 0 {
		return "", time.Time{}, fmt.Errorf("issue token: invalid user id %d", userID)
	}
	if !role.Valid() {
		return "", time.Time{}, fmt.Errorf("issue token: invalid role %q", role)
	}

	now := time.Now().Truncate(time.Second)
	expiresAt = now.Add(iss.ttl)
	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   strconv.FormatInt(userID, 10),
			Issuer:    iss.issuer,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(expiresAt),
			// jti makes every token unique, so a future deny list or an
			// audit log can name one token.
			ID: rand.Text(),
		},
		Role: role,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = iss.kid
	token, err = t.SignedString(iss.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return token, expiresAt, nil
}

// Verifier checks access tokens with the issuer's public key. Every service
// has one. A Verifier is safe for concurrent use.
type Verifier struct {
	pub    ed25519.PublicKey
	kid    string
	parser *jwt.Parser
	cache  *verifiedCache
}

// NewVerifier returns a Verifier that accepts only tokens signed by the
// private half of pub and issued by issuer.
func NewVerifier(pub ed25519.PublicKey, issuer string) *Verifier {
	return &Verifier{
		pub: pub,
		kid: KeyID(pub),
		parser: jwt.NewParser(
			// Pinning the algorithm is what defeats "alg: none" and the
			// HS256-with-the-public-key confusion: the header never chooses
			// how the signature is checked.
			jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
			jwt.WithIssuer(issuer),
			// Without this a token lacking exp would never expire.
			jwt.WithExpirationRequired(),
			// A token issued in the future is forged or from a badly skewed
			// clock; either way it must not be trusted.
			jwt.WithIssuedAt(),
			jwt.WithLeeway(Leeway),
			// Refuse non-canonical base64 so one token has one encoding.
			jwt.WithStrictDecoding(),
		),
		cache: newVerifiedCache(),
	}
}

// Verify checks token and returns its claims. Every failure returns an
// EUNAUTHORIZED error with the message "Invalid or expired token.".
//
// Verify knows nothing about accounts: a token of a deleted user, or of a
// user whose role has since changed, stays valid until it expires. Callers
// that must refuse those (the HTTP layer) look the user up by Claims.UserID
// and treat ENOTFOUND as EUNAUTHORIZED.
//
// A token that passed once is remembered (a bounded cache keyed by the whole
// token) until it expires, so a client's later requests skip the signature
// check.
func (v *Verifier) Verify(token string) (Claims, error) {
	if token == "" || len(token) > maxTokenLen {
		return Claims{}, errInvalidToken()
	}
	now := time.Now()
	if claims, ok := v.cache.get(token, now); ok {
		return claims, nil
	}
	var c tokenClaims
	if _, err := v.parser.ParseWithClaims(token, &c, v.keyFunc); err != nil {
		return Claims{}, errInvalidToken()
	}

	// The signature proves we wrote these values, but check them anyway so
	// that a bug in the issuer cannot hand out an unusable identity.
	id, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != c.Subject {
		return Claims{}, errInvalidToken()
	}
	if !c.Role.Valid() {
		return Claims{}, errInvalidToken()
	}
	claims := Claims{UserID: id, Role: c.Role, ExpiresAt: c.ExpiresAt.Time}
	v.cache.put(token, claims, now)
	return claims, nil
}

// keyFunc returns the one public key, after checking the header names it.
func (v *Verifier) keyFunc(t *jwt.Token) (any, error) {
	// WithValidMethods already checks the alg name; checking the type too
	// means a method registered later under the same name cannot slip in.
	if _, ok := t.Method.(*jwt.SigningMethodEd25519); !ok {
		return nil, errors.New("unexpected signing method")
	}
	// We always set kid; a missing or different one means the token was not
	// made by this issuer's current key.
	if kid, _ := t.Header["kid"].(string); kid != v.kid {
		return nil, errors.New("unknown key id")
	}
	return v.pub, nil
}
