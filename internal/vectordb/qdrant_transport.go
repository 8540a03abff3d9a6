package vectordb

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"
	"google.golang.org/grpc/resolver"
)

const (
	// qdrantDefaultPort is Qdrant's gRPC port.
	qdrantDefaultPort = 6334
	// qdrantRESTPort is Qdrant's REST port, which the Go client cannot
	// speak: pointed there, every call would fail with a transport error
	// that does not say why.
	qdrantRESTPort = 6333
	// qdrantScheme names the resolver that hands grpc-go every configured
	// node, so that several URLs make one balanced connection.
	qdrantScheme = "mediarec-qdrant"
)

// qdrantEndpoints is QdrantConfig.URL parsed: one or more nodes, all over
// TLS or none.
type qdrantEndpoints struct {
	hosts  []string // host:port
	names  []string // host, for the TLS handshake
	useTLS bool
}

// parseQdrantURLs reads a comma-separated list of gRPC endpoints:
// http://host:6334, https://host:6334 for TLS, or host:port; empty means
// localhost:6334.
func parseQdrantURLs(list string) (qdrantEndpoints, error) {
	var ep qdrantEndpoints
	raws := strings.Split(list, ",")
	if strings.TrimSpace(list) == "" {
		raws = []string{"http://localhost"}
	}
	for i, raw := range raws {
		host, port, useTLS, err := parseQdrantURL(strings.TrimSpace(raw))
		if err != nil {
			return ep, err
		}
		if i > 0 && useTLS != ep.useTLS {
			return ep, errors.New("qdrant urls: use https for every node or for none")
		}
		ep.useTLS = useTLS
		ep.hosts = append(ep.hosts, net.JoinHostPort(host, strconv.Itoa(port)))
		ep.names = append(ep.names, host)
	}
	return ep, nil
}

func parseQdrantURL(raw string) (host string, port int, useTLS bool, err error) {
	if raw == "" {
		return "", 0, false, errors.New("qdrant url: empty entry in the list")
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", 0, false, fmt.Errorf("qdrant url: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", 0, false, fmt.Errorf("qdrant url %q: scheme must be http or https", u.Redacted())
	case u.Hostname() == "":
		return "", 0, false, fmt.Errorf("qdrant url %q: no host", u.Redacted())
	case strings.Trim(u.Path, "/") != "":
		return "", 0, false, fmt.Errorf("qdrant url %q: gRPC takes no path", u.Redacted())
	}
	port = qdrantDefaultPort
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return "", 0, false, fmt.Errorf("qdrant url %q: bad port", u.Redacted())
		}
	}
	if port == qdrantRESTPort {
		return "", 0, false, fmt.Errorf("qdrant url %q: 6333 is Qdrant's REST port; mediarec speaks gRPC, on port 6334 unless the server moved it", u.Redacted())
	}
	return u.Hostname(), port, u.Scheme == "https", nil
}

// qdrantTLS is the TLS configuration of https endpoints: the system's roots
// or those of caFile, and TLS 1.3 unless minVersion lowers it to 1.2 (for a
// proxy in front of Qdrant that stops at 1.2).
func qdrantTLS(caFile string, minVersion uint16) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13}
	switch minVersion {
	case 0, tls.VersionTLS13:
	case tls.VersionTLS12:
		cfg.MinVersion = tls.VersionTLS12
	default:
		return nil, fmt.Errorf("qdrant: minimum TLS version must be 1.2 or 1.3")
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("qdrant CA file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("qdrant CA file %s: no PEM certificate in it", caFile)
		}
	}
	return cfg, nil
}

// qdrantClientConfig is what qdrant.NewClient takes for cfg. Several nodes
// go through one connection balanced round robin over them: a node that
// stops answering is skipped until it is back, and a call it failed is
// retried on another (see Qdrant.call).
func qdrantClientConfig(cfg QdrantConfig) (*qdrant.Config, error) {
	ep, err := parseQdrantURLs(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.CAFile != "" && !ep.useTLS {
		return nil, errors.New("qdrant: a CA file is for https URLs, and these are http")
	}
	opts := []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(qdrantMaxRecv))}
	host, port := ep.names[0], qdrantDefaultPort
	if _, p, err := net.SplitHostPort(ep.hosts[0]); err == nil {
		port, _ = strconv.Atoi(p)
	}
	if len(ep.hosts) > 1 {
		addrs := make([]resolver.Address, len(ep.hosts))
		for i, h := range ep.hosts {
			addrs[i] = resolver.Address{Addr: h, ServerName: ep.names[i]}
		}
		// The client dials "<Host>:<Port>"; this host makes that a target
		// of the static resolver, which ignores the rest.
		host = qdrantScheme + ":///nodes"
		opts = append(opts,
			grpc.WithResolvers(staticResolver{addrs: addrs}),
			grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`))
	}
	c := &qdrant.Config{
		Host:   host,
		Port:   port,
		APIKey: cfg.APIKey,
		UseTLS: ep.useTLS,
		// The client's check calls the server from the constructor and
		// only logs; Ping checks the version instead.
		SkipCompatibilityCheck: true,
		GrpcOptions:            append(opts, cfg.DialOptions...),
	}
	if ep.useTLS {
		if c.TLSConfig, err = qdrantTLS(cfg.CAFile, cfg.TLSMinVersion); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// staticResolver resolves every target to the configured nodes.
type staticResolver struct{ addrs []resolver.Address }

func (r staticResolver) Build(_ resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	if err := cc.UpdateState(resolver.State{Addresses: r.addrs}); err != nil {
		return nil, fmt.Errorf("qdrant nodes: %w", err)
	}
	return staticResolver{}, nil
}

func (staticResolver) Scheme() string                        { return qdrantScheme }
func (staticResolver) ResolveNow(resolver.ResolveNowOptions) {}
func (staticResolver) Close()                                {}

// Supported server versions: the oldest the adapter is tested against.
// Newer 1.x servers are accepted; the gRPC API only grows within a major
// version.
const (
	qdrantMinMajor = 1
	qdrantMinMinor = 15
)

// checkQdrantVersion refuses a server older than the adapter supports.
func checkQdrantVersion(v string) error {
	parsed, err := qdrant.ParseVersion(v)
	if err != nil {
		return fmt.Errorf("qdrant reports version %q: %w", v, err)
	}
	if parsed.Major != qdrantMinMajor || parsed.Minor < qdrantMinMinor {
		return fmt.Errorf("qdrant %s is not supported: mediarec needs %d.%d or a later %d.x", v, qdrantMinMajor, qdrantMinMinor, qdrantMinMajor)
	}
	return nil
}
