package catalog

import "time"

// SetClock makes s read the time from now, for tests of the tag cache.
func SetClock(s *Service, now func() time.Time) { s.tags.now = now }
