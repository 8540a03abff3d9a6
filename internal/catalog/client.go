package catalog

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"mediarec"
)

// Client reads the catalog service over HTTP, for services that run apart
// from it.
type Client struct {
	base string
	http *http.Client
}

// NewClient returns a client of the catalog at baseURL; a nil hc means a
// client with a 5-second timeout.
func NewClient(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), http: hc}
}

// ItemExists asks the catalog for item id. An answer other than found or
// not found is EUNAVAILABLE: the caller cannot decide now.
func (c *Client) ItemExists(ctx context.Context, id int64) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, fmt.Sprintf("%s/v1/items/%d", c.base, id), nil)
	if err != nil {
		return false, fmt.Errorf("catalog request: %w", err)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return false, mediarec.Errorf(mediarec.EUNAVAILABLE, "The catalog cannot be reached; try again shortly.")
	}
	res.Body.Close()
	switch res.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, mediarec.Errorf(mediarec.EUNAVAILABLE, "The catalog answered %d; try again shortly.", res.StatusCode)
}
