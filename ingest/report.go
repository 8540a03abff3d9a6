package ingest

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/dustin/go-humanize"

	"mediarec"
)

// Report is the outcome of Run.
type Report struct {
	Items     int // records read, including those that failed
	Created   int
	Updated   int
	Unchanged int
	Failed    []Failure // in source order; the first Options.MaxFailures failures only
	// MoreFailed counts the failures past those in Failed, which Run
	// counts but does not keep, so that its memory stays bounded.
	MoreFailed int
	Elapsed    time.Duration
}

// Failure is a source row that was not stored, and why.
type Failure struct {
	Source string // file path
	Line   int    // 1-based line in Source
	Errors []mediarec.FieldError
}

// maxPrinted caps the failures Print lists: past a few dozen the same
// mistake repeats and the summary scrolls away.
const maxPrinted = 50

// Print writes a one-line summary and then each failure as
// "path:line: field: message".
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "%d items: %d created, %d updated, %d unchanged, %d failed in %s",
		r.Items, r.Created, r.Updated, r.Unchanged, len(r.Failed)+r.MoreFailed, roundDuration(r.Elapsed))
	if s := r.Elapsed.Seconds(); s > 0 {
		fmt.Fprintf(w, " (%s items/s)", humanize.Comma(int64(float64(r.Items)/s+0.5)))
	}
	fmt.Fprintln(w)
	for i, f := range r.Failed {
		if i == maxPrinted {
			break
		}
		if len(f.Errors) == 0 {
			fmt.Fprintf(w, "%s:%d: rejected\n", f.Source, f.Line)
		}
		for _, e := range f.Errors {
			if e.Field == "" {
				fmt.Fprintf(w, "%s:%d: %s\n", f.Source, f.Line, e.Message)
			} else {
				fmt.Fprintf(w, "%s:%d: %s: %s\n", f.Source, f.Line, e.Field, e.Message)
			}
		}
	}
	if more := len(r.Failed) + r.MoreFailed - min(len(r.Failed), maxPrinted); more > 0 {
		fmt.Fprintf(w, "… and %d more failed rows\n", more)
	}
}

func roundDuration(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// fieldErrors turns a reader's row error into the server's error shape.
func fieldErrors(err error) []mediarec.FieldError {
	var fe *fieldError
	if errors.As(err, &fe) {
		return []mediarec.FieldError{{Field: fe.Field, Message: fe.Message}}
	}
	return []mediarec.FieldError{{Message: err.Error()}}
}
