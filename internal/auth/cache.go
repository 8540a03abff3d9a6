package auth

import (
	"strings"
	"sync"
	"time"
)

// verifiedCacheSize bounds the tokens a Verifier remembers. Only tokens that
// passed every check enter the cache, so a client sending garbage cannot
// fill it; a few thousand covers the active sessions of one replica.
const verifiedCacheSize = 4096

// verifiedCache remembers the claims of tokens that passed verification, so
// that a client sending the same token on every request pays for the
// Ed25519 check and the JSON decoding once instead of per request. A hit is
// keyed by the whole token, signature included, so it proves exactly what a
// fresh verification would; only the expiry can change with time, and it is
// checked on every hit.
type verifiedCache struct {
	mu     sync.RWMutex
	claims map[string]Claims
}

func newVerifiedCache() *verifiedCache {
	return &verifiedCache{claims: make(map[string]Claims, verifiedCacheSize)}
}

// get returns the claims of token if it was verified before and, allowing
// Leeway as the parser does, has not expired since.
func (c *verifiedCache) get(token string, now time.Time) (Claims, bool) {
	c.mu.RLock()
	claims, ok := c.claims[token]
	c.mu.RUnlock()
	if !ok {
		return Claims{}, false
	}
	if now.After(claims.ExpiresAt.Add(Leeway)) {
		c.mu.Lock()
		delete(c.claims, token)
		c.mu.Unlock()
		return Claims{}, false
	}
	return claims, true
}

// put remembers a verified token. When the cache is full it first drops
// expired tokens, then, if still full, arbitrary ones (map order is
// unspecified): losing an entry only costs one more verification.
func (c *verifiedCache) put(token string, claims Claims, now time.Time) {
	// The caller's string may point into a buffer the HTTP server reuses.
	token = strings.Clone(token)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.claims) >= verifiedCacheSize {
		for k, v := range c.claims {
			if now.After(v.ExpiresAt.Add(Leeway)) {
				delete(c.claims, k)
			}
		}
		for k := range c.claims {
			if len(c.claims) < verifiedCacheSize*3/4 {
				break
			}
			delete(c.claims, k)
		}
	}
	c.claims[token] = claims
}
