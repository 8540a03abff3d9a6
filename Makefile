# GOTOOLCHAIN=local: a dependency that wants a newer Go fails loudly instead
# of silently downloading another toolchain.
export GOTOOLCHAIN := local

.PHONY: test vet build demo bench fuzz

test: vet
	go test -race -count=1 -timeout 30m ./...

vet:
	go vet ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

build:
	CGO_ENABLED=0 go build -trimpath -o bin/mediarec ./cmd/mediarec

demo:
	go run ./cmd/mediarec demo

bench:
	go test -run '^$$' -bench . -benchtime 3x ./cmd/mediarec ./internal/postgres

fuzz:
	go test -run '^$$' -fuzz FuzzParseBatch -fuzztime 30s ./internal/httpapi
	go test -run '^$$' -fuzz FuzzDecodeCursor -fuzztime 30s ./internal/catalog
	go test -run '^$$' -fuzz FuzzJSONL -fuzztime 30s ./ingest
	go test -run '^$$' -fuzz FuzzCSV -fuzztime 30s ./ingest
	go test -run '^$$' -fuzz FuzzMovieLensTitle -fuzztime 30s ./ingest
	go test -run '^$$' -fuzz FuzzParseQuery -fuzztime 30s ./internal/recs
