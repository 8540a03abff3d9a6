package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/propagation"

	"mediarec"
)

// Upstream is a service that web forwards requests to, served by one or
// more replicas.
//
// Balancing and retries are fasthttp's HostClient: it spreads new
// connections round-robin over the replicas (so it balances connections, not
// single requests) and resends an idempotent request whose connection failed.
// Around it, dial moves on from a replica that refuses, and retryPolicy keeps
// anything else from being resent once it may have reached a replica.
type Upstream struct {
	// Logger receives the cause of every failed forward, with the request
	// id. NewUpstream sets slog.Default(); give it the service's logger.
	Logger *slog.Logger

	name    string
	addrs   []string // host:port, one per replica
	bases   []string // http://host:port, one per replica
	host    string   // Host header sent upstream
	timeout time.Duration
	client  *fasthttp.HostClient // forwards, over all replicas
	probes  *fasthttp.Client     // readiness, one replica at a time
}

// NewUpstream returns an upstream named name (a service: "catalog", "users",
// "recs") served by the replicas at baseURLs, each http://host:port. Every
// forwarded request, retries included, must finish within timeout.
func NewUpstream(name string, baseURLs []string, timeout time.Duration) (*Upstream, error) {
	if name == "" {
		return nil, errors.New("upstream: empty name")
	}
	if len(baseURLs) == 0 {
		return nil, fmt.Errorf("upstream %s: no base URL", name)
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("upstream %s: timeout %s is not positive", name, timeout)
	}
	addrs := make([]string, len(baseURLs))
	bases := make([]string, len(baseURLs))
	for i, raw := range baseURLs {
		addr, err := parseBaseURL(raw)
		if err != nil {
			return nil, fmt.Errorf("upstream %s: %w", name, err)
		}
		addrs[i], bases[i] = addr, "http://"+addr
	}
	u := &Upstream{
		Logger:  slog.Default(),
		name:    name,
		addrs:   addrs,
		bases:   bases,
		host:    addrs[0],
		timeout: timeout,
		probes:  &fasthttp.Client{DialDualStack: true, NoDefaultUserAgentHeader: true},
	}
	u.client = &fasthttp.HostClient{
		Addr: strings.Join(addrs, ","),
		Dial: u.dial,
		// The browser's User-Agent passes through; add none of ours.
		NoDefaultUserAgentHeader: true,
		RetryIf:                  func(req *fasthttp.Request) bool { return idempotent(req.Header.Method()) },
		Transport:                retryPolicy{},
		// Wait for a busy pool rather than fail at once under load.
		MaxConnWaitTimeout: timeout,
		// fasthttp's default 10s is well under the upstreams' 2 minute
		// IdleTimeout (NewApp), so a replica rarely closes a connection
		// this client is about to reuse for a POST it cannot resend.
		MaxIdleConnDuration: fasthttp.DefaultMaxIdleConnDuration,
	}
	return u, nil
}

// dial connects to addr, the replica HostClient picked, or when addr refuses,
// to the first replica after it that accepts. HostClient does try the next
// address when a dial fails, but concurrent dials share its round-robin
// counter, so under load one dial can draw the dead replica every time, and
// its first dial tries a single address. A refused dial is quick and sends
// nothing, so walking the list here costs little.
func (u *Upstream) dial(addr string) (net.Conn, error) {
	timeout := min(u.timeout, fasthttp.DefaultDialTimeout)
	conn, err := fasthttp.DialDualStackTimeout(addr, timeout)
	if err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		return conn, err
	}
	errs := []error{err}
	start := slices.Index(u.addrs, addr)
	for i := 1; i < len(u.addrs); i++ {
		next := u.addrs[(start+i)%len(u.addrs)]
		if next == addr {
			continue
		}
		conn, err := fasthttp.DialDualStackTimeout(next, timeout)
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// parseBaseURL returns the host:port of an http://host:port URL.
func parseBaseURL(raw string) (string, error) {
	bad := fmt.Errorf("base URL %q: want http://host:port", raw)
	u, err := url.Parse(raw)
	if err != nil {
		return "", bad
	}
	if u.Scheme != "http" || u.Opaque != "" || u.User != nil || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(u.Host, ",") {
		return "", bad
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" {
		return "", bad
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", bad
	}
	return u.Host, nil
}

// Name returns the service name the upstream was created with.
func (u *Upstream) Name() string { return u.name }

// Forward returns a handler that sends the request to u and answers with the
// upstream's status, headers and body. When no replica answers in time it
// returns EUNAVAILABLE and logs the cause.
func Forward(u *Upstream) fiber.Handler {
	return func(c *fiber.Ctx) error {
		req := fasthttp.AcquireRequest()
		resp := fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)

		in := c.Request()
		in.CopyTo(req) // method, URI, headers and body
		// The path goes up as the front routed it: normalised by fasthttp.
		req.URI().SetScheme("http")
		req.URI().SetHost(u.host)
		stripHopByHop(&req.Header)
		// The front has already read the whole body, so any expectation is met.
		req.Header.Del(fiber.HeaderExpect)

		id := requestID(c)
		req.Header.Set(fiber.HeaderXRequestID, id)
		peer := c.Context().RemoteIP().String()
		if prior := in.Header.Peek(fiber.HeaderXForwardedFor); len(prior) > 0 {
			peer = string(prior) + ", " + peer
		}
		req.Header.Set(fiber.HeaderXForwardedFor, peer)
		req.Header.Set(fiber.HeaderXForwardedProto, c.Protocol())
		req.Header.Set(fiber.HeaderXForwardedHost, c.Hostname())
		// The upstream's span is a child of this request's (the caller's
		// traceparent, copied above, names this one's parent).
		propagation.TraceContext{}.Inject(c.UserContext(), requestHeaders{&req.Header})

		deadline := time.Now().Add(u.timeout)
		if d, ok := c.UserContext().Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		if err := u.client.DoDeadline(req, resp, deadline); err != nil {
			u.Logger.LogAttrs(c.UserContext(), slog.LevelWarn, "upstream request failed",
				slog.String("request_id", id), slog.String("upstream", u.name),
				slog.String("method", c.Method()), slog.String("path", c.Path()),
				slog.String("error", err.Error()))
			return mediarec.Errorf(mediarec.EUNAVAILABLE, "The %s service is unavailable; try again shortly.", u.name)
		}

		stripHopByHop(&resp.Header)
		copyResponse(c.Response(), resp)
		return nil
	}
}

// copyResponse copies status, headers and body of an upstream answer over
// what the front has set so far (the request id, the same value).
func copyResponse(out, resp *fasthttp.Response) {
	out.SetStatusCode(resp.StatusCode())
	seen := map[string]bool{}
	resp.Header.VisitAll(func(k, v []byte) {
		// SetBody below sets the length of what the front sends.
		if bytes.EqualFold(k, []byte(fiber.HeaderContentLength)) {
			return
		}
		if seen[string(k)] {
			out.Header.AddBytesKV(k, v)
			return
		}
		seen[string(k)] = true
		out.Header.SetBytesKV(k, v)
	})
	out.SetBody(resp.Body())
	if n := resp.Header.ContentLength(); resp.SkipBody && n >= 0 {
		out.Header.SetContentLength(n) // HEAD: the length of the body not sent
	}
}

// hopByHop are the headers that describe one connection, not the message
// (RFC 9110, section 7.6.1); a proxy must not pass them on.
var hopByHop = []string{
	fiber.HeaderConnection, fiber.HeaderKeepAlive, fiber.HeaderTE, fiber.HeaderTrailer,
	fiber.HeaderTransferEncoding, fiber.HeaderUpgrade,
}

// header is what stripHopByHop needs of request and response headers.
type header interface {
	Peek(key string) []byte
	Del(key string)
	VisitAll(f func(key, value []byte))
}

// stripHopByHop deletes the hop-by-hop headers, every Proxy-* header and
// the headers that Connection names.
func stripHopByHop(h header) {
	var drop []string
	for _, name := range strings.Split(string(h.Peek(fiber.HeaderConnection)), ",") {
		if name = strings.TrimSpace(name); name != "" {
			drop = append(drop, name)
		}
	}
	h.VisitAll(func(k, _ []byte) {
		if len(k) >= len("Proxy-") && bytes.EqualFold(k[:len("Proxy-")], []byte("Proxy-")) {
			drop = append(drop, string(k))
		}
	})
	for _, name := range append(drop, hopByHop...) {
		h.Del(name)
	}
}

// idempotent reports whether a request with method may be sent twice.
func idempotent(method []byte) bool {
	switch string(method) {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodPut, fiber.MethodDelete, fiber.MethodOptions:
		return true
	}
	return false
}

// retryPolicy is the HostClient's transport: fasthttp's own, but it drops
// idle connections when a replica goes away and resends no non-idempotent
// request.
type retryPolicy struct{}

// RoundTrip implements fasthttp.RoundTripper.
func (retryPolicy) RoundTrip(hc *fasthttp.HostClient, req *fasthttp.Request, resp *fasthttp.Response) (bool, error) {
	retry, err := fasthttp.DefaultTransport.RoundTrip(hc, req, resp)
	if err == nil {
		return false, nil
	}
	if peerClosed(err) {
		// The replica behind this connection is likely gone, and then so is
		// every idle connection to it: drop them so that retries and the
		// next requests dial a replica that answers rather than try each
		// dead connection in turn.
		hc.CloseIdleConnections()
	}
	// HostClient.Do resends any request on io.EOF, whatever RetryIf says;
	// a POST may have been applied before its replica went away.
	return retry && idempotent(req.Header.Method()), err
}

// peerClosed reports whether err says the other end closed the connection.
func peerClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// Ready asks every replica's /readyz and returns nil as soon as one answers
// 200, or an error naming each replica's failure when none does.
func (u *Upstream) Ready(ctx context.Context) error {
	deadline := time.Now().Add(u.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	results := make(chan error, len(u.bases)) // buffered: late probes never block
	for _, base := range u.bases {
		go func() { results <- u.probe(base, deadline) }()
	}
	var errs []error
	for range u.bases {
		select {
		case err := <-results:
			if err == nil {
				return nil
			}
			errs = append(errs, err)
		case <-ctx.Done():
			return fmt.Errorf("%s readiness: %w", u.name, ctx.Err())
		}
	}
	return fmt.Errorf("%s: no replica is ready: %w", u.name, errors.Join(errs...))
}

func (u *Upstream) probe(base string, deadline time.Time) error {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(base + "/readyz")
	if err := u.probes.DoDeadline(req, resp, deadline); err != nil {
		return fmt.Errorf("GET %s/readyz: %w", base, err)
	}
	if resp.StatusCode() != fiber.StatusOK {
		return fmt.Errorf("GET %s/readyz: status %d", base, resp.StatusCode())
	}
	return nil
}
