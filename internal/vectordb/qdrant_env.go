package vectordb

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// QdrantConfigFromEnv reads the adapter's settings from the QDRANT_*
// environment variables (README "Configuration"), naming every malformed
// one in the error; Check then validates the settings together. An unset
// QDRANT_URL leaves URL empty: the caller then does not use Qdrant at all.
func QdrantConfigFromEnv(getenv func(string) string) (QdrantConfig, error) {
	cfg := QdrantConfig{
		URL:           getenv("QDRANT_URL"),
		APIKey:        getenv("QDRANT_API_KEY"),
		CAFile:        getenv("QDRANT_CA_FILE"),
		WriteOrdering: getenv("QDRANT_WRITE_ORDERING"),
		Quantization:  getenv("QDRANT_QUANTIZATION"),
	}
	var errs []error
	uint64s := []struct {
		key string
		dst *uint64
	}{
		{"QDRANT_HNSW_M", &cfg.HNSWM},
		{"QDRANT_HNSW_EF_CONSTRUCT", &cfg.HNSWEfConstruct},
		{"QDRANT_HNSW_EF", &cfg.HNSWEf},
		{"QDRANT_INDEXING_THRESHOLD", &cfg.IndexingThreshold},
	}
	for _, f := range uint64s {
		if v := getenv(f.key); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q is not a whole number", f.key, v))
			}
			*f.dst = n
		}
	}
	uint32s := []struct {
		key string
		dst *uint32
	}{
		{"QDRANT_SHARDS", &cfg.ShardNumber},
		{"QDRANT_REPLICATION_FACTOR", &cfg.ReplicationFactor},
		{"QDRANT_WRITE_CONSISTENCY", &cfg.WriteConsistencyFactor},
	}
	for _, f := range uint32s {
		if v := getenv(f.key); v != "" {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || n == 0 {
				errs = append(errs, fmt.Errorf("%s=%q is not a positive whole number", f.key, v))
			}
			*f.dst = uint32(n)
		}
	}
	if v := getenv("QDRANT_RETRIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("QDRANT_RETRIES=%q is not a whole number of 0 or more", v))
		}
		// 0 asks for none here; the struct's 0 means the default.
		cfg.Retries = n
		if n == 0 {
			cfg.Retries = -1
		}
	}
	if v := getenv("QDRANT_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			errs = append(errs, fmt.Errorf("QDRANT_TIMEOUT=%q is not a duration of a second or more, such as 10s", v))
		}
		cfg.Timeout = d
	}
	if v := getenv("QDRANT_ON_DISK"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("QDRANT_ON_DISK=%q: want true or false", v))
		}
		cfg.OnDisk = b
	}
	switch v := getenv("QDRANT_TLS_MIN_VERSION"); v {
	case "":
	case "1.2":
		cfg.TLSMinVersion = tls.VersionTLS12
	case "1.3":
		cfg.TLSMinVersion = tls.VersionTLS13
	default:
		errs = append(errs, fmt.Errorf("QDRANT_TLS_MIN_VERSION=%q: want 1.2 or 1.3", v))
	}
	return cfg, errors.Join(errs...)
}

// Check refuses what NewQdrant would, without connecting.
func (cfg QdrantConfig) Check() error {
	if _, err := qdrantClientConfig(cfg); err != nil {
		return err
	}
	if _, err := qdrantCreateTemplate(cfg); err != nil {
		return err
	}
	_, err := qdrantOrdering(cfg.WriteOrdering)
	return err
}
