package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// apiError is an error answer of the server, read from its problem+json.
type apiError struct {
	Status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// send sends body (none when empty) to url with the bearer token (none
// when empty) and returns the answer's body. An error answer becomes an
// *apiError whose message is the problem's detail and invalid fields on one
// line; a failure to reach the server names it.
func send(ctx context.Context, method, url, token, body string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, unreachable(req, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("read the answer of %s: %w", req.URL.Host, err)
	}
	if res.StatusCode >= 300 {
		return nil, problemError(res, data)
	}
	return data, nil
}

// unreachable says which server could not be reached, without the URL
// and method that url.Error repeats.
func unreachable(req *http.Request, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return fmt.Errorf("cannot reach %s://%s: %w", req.URL.Scheme, req.URL.Host, err)
}

func problemError(res *http.Response, data []byte) *apiError {
	var p struct {
		Title, Detail string
		Errors        []struct{ Field, Message string }
	}
	if json.Unmarshal(data, &p) != nil || (p.Title == "" && p.Detail == "") {
		return &apiError{Status: res.StatusCode, msg: "the server answered " + res.Status}
	}
	msg := sentence(p.Detail)
	if msg == "" {
		msg = sentence(p.Title)
	}
	fields := make([]string, len(p.Errors))
	for i, e := range p.Errors {
		fields[i] = e.Field + ": " + sentence(e.Message)
	}
	if len(fields) > 0 {
		msg += ": " + strings.Join(fields, "; ")
	}
	return &apiError{Status: res.StatusCode, msg: strings.Join(strings.Fields(msg), " ")}
}

// sentence fits a message into a "mediarec cmd: …" line: no capital
// first letter (unless an initialism starts it) and no final period.
func sentence(s string) string {
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	r, n := utf8.DecodeRuneInString(s)
	if next, _ := utf8.DecodeRuneInString(s[n:]); unicode.IsUpper(r) && !unicode.IsUpper(next) {
		s = string(unicode.ToLower(r)) + s[n:]
	}
	return s
}

// getJSON GETs url and decodes the answer into out.
func getJSON(ctx context.Context, url, token string, out any) error {
	return doJSON(ctx, http.MethodGet, url, token, "", out)
}

// doJSON is send, decoding the answer into out when not nil.
func doJSON(ctx context.Context, method, url, token, body string, out any) error {
	data, err := send(ctx, method, url, token, body)
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal(data, out)
}
