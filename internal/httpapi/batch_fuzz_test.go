package httpapi

import (
	"testing"

	"mediarec"
)

func FuzzParseBatch(f *testing.F) {
	f.Add([]byte(`{"type":"movie","title":"Alien"}` + "\n" + `{"type":"book"`))
	f.Add([]byte("\n\n"))
	f.Add([]byte(`{"genres":[1,2]}`))
	f.Add([]byte(`[{"type":"movie"}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		lines, err := parseBatch(body)
		if err != nil {
			if mediarec.ErrorCode(err) != mediarec.EINVALID {
				t.Fatalf("parse error with code %q: %v", mediarec.ErrorCode(err), err)
			}
			return
		}
		prev := 0
		for _, l := range lines {
			if l.Line <= prev {
				t.Fatalf("line numbers not increasing: %d after %d", l.Line, prev)
			}
			prev = l.Line
			if (l.Item == nil) == (l.Err == nil) {
				t.Fatalf("line %d: want exactly one of item and error", l.Line)
			}
			if l.Err != nil && mediarec.ErrorCode(l.Err) != mediarec.EINVALID {
				t.Fatalf("line %d: error code %q", l.Line, mediarec.ErrorCode(l.Err))
			}
		}
	})
}
