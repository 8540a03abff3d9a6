package config

import (
	"flag"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string // substring; empty = valid
	}{
		{name: "defaults", env: nil},
		{name: "flag overrides env", env: map[string]string{"MEDIAREC_ADDR": "bad"}, args: []string{"--addr", "127.0.0.1:0"}},
		{name: "bad addr", args: []string{"--addr", "nonsense"}, wantErr: "want host:port"},
		{name: "public addr without token", args: []string{"--addr", "0.0.0.0:8080"}},
		{name: "database url scheme", env: map[string]string{"DATABASE_URL": "mysql://x:y@h/db"}, wantErr: "want postgres"},
		{name: "password redacted", env: map[string]string{"CATALOG_DATABASE_URL": "postgres://u:hunter2@/db"}, wantErr: "xxxxx"},
		{name: "postgres url", env: map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/catalog"}},
		{name: "nats url", env: map[string]string{"NATS_URL": "http://x:4222"}, wantErr: "NATS_URL"},
		{name: "dimensions not a number", env: map[string]string{"EMBEDDING_DIMENSIONS": "abc"}, wantErr: "EMBEDDING_DIMENSIONS"},
		{name: "log level", env: map[string]string{"MEDIAREC_LOG_LEVEL": "loud"}, wantErr: "MEDIAREC_LOG_LEVEL"},
		{name: "tiny body limit", args: []string{"--body-limit", "10"}, wantErr: "body-limit"},
		{name: "otlp endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}},
		{name: "otlp endpoint scheme", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "collector:4317"}, wantErr: "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{name: "otlp grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}},
		{name: "qdrant nodes", env: map[string]string{"QDRANT_URL": "http://q1:6334,http://q2:6334", "QDRANT_REPLICATION_FACTOR": "2"}},
		{name: "qdrant REST port", env: map[string]string{"QDRANT_URL": "http://qdrant:6333"}, wantErr: "REST port"},
		{name: "qdrant REST port by flag", args: []string{"--qdrant-url", "http://qdrant:6333"}, wantErr: "REST port"},
		{name: "qdrant replication not a number", env: map[string]string{"QDRANT_REPLICATION_FACTOR": "two"}, wantErr: "QDRANT_REPLICATION_FACTOR"},
		{name: "qdrant consistency over replication by flag", env: map[string]string{"QDRANT_URL": "http://q:6334", "QDRANT_WRITE_CONSISTENCY": "2"}, args: []string{"--qdrant-replication", "1"}, wantErr: "exceeds the replication factor"},
		{name: "qdrant replication by flag", env: map[string]string{"QDRANT_URL": "http://q:6334", "QDRANT_WRITE_CONSISTENCY": "2"}, args: []string{"--qdrant-replication", "2"}},
		{name: "embedding failed share", env: map[string]string{"EMBEDDING_MAX_FAILED_SHARE": "1.5"}, wantErr: "EMBEDDING_MAX_FAILED_SHARE"},
		{name: "embedding headers", env: map[string]string{"EMBEDDING_HEADERS": "OpenAI-Project=proj_1, X-Team=search"}},
		{name: "embedding headers malformed", env: map[string]string{"EMBEDDING_HEADERS": "OpenAI-Project"}, wantErr: "EMBEDDING_HEADERS"},
		{name: "embedding api type", env: map[string]string{"EMBEDDING_API_TYPE": "vertex"}, wantErr: "EMBEDDING_API_TYPE"},
		{name: "recs cache off", env: map[string]string{"MEDIAREC_RECS_CACHE": "0"}},
		{name: "recs cache not a number", env: map[string]string{"MEDIAREC_RECS_CACHE": "lots"}, wantErr: "MEDIAREC_RECS_CACHE"},
		{name: "recs cache negative", args: []string{"--recs-cache", "-1"}, wantErr: "recs-cache"},
		{name: "otlp json", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}, wantErr: "want http/protobuf or grpc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromEnv(env(tt.env))
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			c.Flags(fs)
			if perr := fs.Parse(tt.args); perr != nil {
				t.Fatal(perr)
			}
			if err == nil {
				err = c.Validate()
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			case strings.Contains(errString(err), "hunter2"):
				t.Fatalf("error leaks a password: %v", err)
			}
		})
	}
}

// TestCheckWrites: a process that takes catalog writes needs a token
// unless it listens on this machine only.
func TestCheckWrites(t *testing.T) {
	tests := []struct {
		name, addr, token string
		wantErr           bool
	}{
		{"loopback", "127.0.0.1:8080", "", false},
		{"localhost", "localhost:8080", "", false},
		{"public without token", "0.0.0.0:8080", "", true},
		{"all interfaces without token", ":8080", "", true},
		{"public with token", "0.0.0.0:8080", "s3cret", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Config{Addr: tt.addr, AdminToken: tt.token}.CheckWrites()
			if (err != nil) != tt.wantErr || err != nil && !strings.Contains(err.Error(), "MEDIAREC_ADMIN_TOKEN") {
				t.Fatalf("CheckWrites = %v, want an error: %v", err, tt.wantErr)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
