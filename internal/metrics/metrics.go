// Package metrics defines the services' Prometheus metrics beyond HTTP
// (which httpapi measures): embed jobs, consumer lag, ANN search latency,
// recommendation answers, caches and outbox depth. The business packages
// declare the small interfaces they count through; the types here satisfy
// them, so those packages never import Prometheus.
//
// Each process has one registry, the app's; New registers every family on
// it, and the wiring asks for the views of the roles the process runs, which
// create their series at zero, so that a dashboard sees them before the
// first event.
package metrics

import "github.com/prometheus/client_golang/prometheus"

// Label values of the counters whose series are known in advance.
var (
	// JobResults are the results of an embed job, as embed.Worker counts them.
	JobResults = []string{"done", "failed", "retried"}
	// Paths are the paths of a recommendation answer, as recs counts them.
	Paths = []string{"hybrid", "content", "cold_start"}
)

// Set holds the metric families.
type Set struct {
	reg             prometheus.Registerer
	embedJobs       *prometheus.CounterVec
	recommendations *prometheus.CounterVec
	cacheHits       *prometheus.CounterVec
	cacheMisses     *prometheus.CounterVec
	annSearch       *prometheus.HistogramVec
	consumerPending *prometheus.GaugeVec
	outboxDepth     *prometheus.GaugeVec
}

// New registers the families on reg.
func New(reg prometheus.Registerer) *Set {
	s := &Set{
		reg: reg,
		embedJobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mediarec_embed_jobs_total",
			Help: "Embed jobs settled by a worker, by result: done (vector written or deleted), failed (reported failed for good), retried (asked for redelivery).",
		}, []string{"result"}),
		recommendations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mediarec_recommendations_total",
			Help: "Recommendation answers by path: hybrid (collaborative and content), content (profile only), cold_start (popularity).",
		}, []string{"path"}),
		cacheHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mediarec_cache_hits_total", Help: "Lookups answered by a cache, by cache.",
		}, []string{"cache"}),
		cacheMisses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mediarec_cache_misses_total", Help: "Lookups a cache could not answer, by cache.",
		}, []string{"cache"}),
		annSearch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mediarec_ann_search_seconds",
			Help:    "Latency of nearest-neighbour searches in a vector store, by store.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"store"}),
		consumerPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mediarec_consumer_pending",
			Help: "Messages a JetStream consumer has not acknowledged yet (waiting plus in flight), by consumer.",
		}, []string{"consumer"}),
		// Labelled outbox, not service: Prometheus's Kubernetes discovery
		// gives every series a service label of its own.
		outboxDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mediarec_outbox_depth", Help: "Entries waiting in an outbox for the relay, by outbox (the service that owns it).",
		}, []string{"outbox"}),
	}
	reg.MustRegister(s.embedJobs, s.recommendations, s.cacheHits, s.cacheMisses, s.annSearch, s.consumerPending, s.outboxDepth)
	return s
}

// WatchPause exports an embed worker's pause (embed.Worker.Paused) as
// mediarec_embed_paused: 1 while it holds its jobs waiting for the
// embedding endpoint to answer again.
func (s *Set) WatchPause(paused func() (bool, string)) {
	s.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mediarec_embed_paused",
		Help: "1 while the embed worker waits for the embedding endpoint (a bad key, a billing stop, an outage) holding its jobs, else 0.",
	}, func() float64 {
		if p, _ := paused(); p {
			return 1
		}
		return 0
	}))
}

// Jobs counts embed jobs by result.
type Jobs struct{ vec *prometheus.CounterVec }

// Jobs returns the counter of an embed worker.
func (s *Set) Jobs() *Jobs {
	for _, r := range JobResults {
		s.embedJobs.WithLabelValues(r)
	}
	return &Jobs{s.embedJobs}
}

// Settled counts one job settled with result.
func (j *Jobs) Settled(result string) { j.vec.WithLabelValues(result).Inc() }

// Recommendations counts recommendation answers by path.
type Recommendations struct{ vec *prometheus.CounterVec }

// Recommendations returns the counter of a recommender.
func (s *Set) Recommendations() *Recommendations {
	for _, p := range Paths {
		s.recommendations.WithLabelValues(p)
	}
	return &Recommendations{s.recommendations}
}

// Answered counts one answer by path.
func (r *Recommendations) Answered(path string) { r.vec.WithLabelValues(path).Inc() }

// Cache counts the hits and misses of one cache.
type Cache struct{ hits, misses prometheus.Counter }

// Cache returns the counters of the cache called name.
func (s *Set) Cache(name string) *Cache {
	return &Cache{hits: s.cacheHits.WithLabelValues(name), misses: s.cacheMisses.WithLabelValues(name)}
}

// Lookup counts the hits and misses of one lookup (which may ask for
// several keys).
func (c *Cache) Lookup(hits, misses int) {
	c.hits.Add(float64(hits))
	c.misses.Add(float64(misses))
}

// ANNSearch returns the latency histogram of the vector store called store.
func (s *Set) ANNSearch(store string) prometheus.Observer {
	return s.annSearch.WithLabelValues(store)
}

// ConsumerPending returns the lag gauge of the consumer called consumer.
func (s *Set) ConsumerPending(consumer string) prometheus.Gauge {
	return s.consumerPending.WithLabelValues(consumer)
}

// OutboxDepth returns the depth gauge of the outbox of service.
func (s *Set) OutboxDepth(service string) prometheus.Gauge {
	return s.outboxDepth.WithLabelValues(service)
}
