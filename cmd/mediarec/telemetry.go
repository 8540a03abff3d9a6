package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"mediarec"
	"mediarec/internal/natsbus"
	"mediarec/internal/vectordb"
)

// openTracing sets up the process's tracer provider. Every request and
// message gets a span, so that log lines carry trace ids; spans leave the
// process only when an OTLP endpoint is configured. The provider is shut
// down (its last spans flushed) after everything else has closed.
func (m *Main) openTracing(ctx context.Context) error {
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("mediarec-"+m.name), semconv.ServiceVersion(version)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil {
		return fmt.Errorf("tracing resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if c := m.Config; c.OTLPEndpoint != "" {
		exp, err := newSpanExporter(ctx, c.OTLPEndpoint, c.OTLPTracesPath, c.OTLPProtocol)
		if err != nil {
			return fmt.Errorf("OTLP exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
		m.Log.Info("exporting traces", "endpoint", c.OTLPEndpoint, "protocol", c.OTLPProtocol)
	}
	tp := sdktrace.NewTracerProvider(opts...)
	m.tracer = tp
	m.closers = append(m.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return tp.Shutdown(ctx)
	})
	return nil
}

// newSpanExporter exports to endpoint over protocol. A base endpoint
// (OTEL_EXPORTER_OTLP_ENDPOINT) gets HTTP's /v1/traces appended, as the
// specification says; a traces endpoint is the whole URL. Neither connects
// before the first export.
func newSpanExporter(ctx context.Context, endpoint string, tracesPath bool, protocol string) (sdktrace.SpanExporter, error) {
	if protocol == "grpc" {
		return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(endpoint))
	}
	if !tracesPath {
		endpoint = strings.TrimRight(endpoint, "/") + "/v1/traces"
	}
	return otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
}

// observedVectors measures a vector store: the latency of its searches
// (mediarec_ann_search_seconds) and a span for each search and write, so
// that a trace reaches the vector store.
type observedVectors struct {
	vectorStore
	store  string
	search prometheus.Observer
	tracer trace.Tracer
}

// observeVectors wraps v, named store in metrics and spans.
func (m *Main) observeVectors(v vectorStore, store string) *observedVectors {
	return &observedVectors{vectorStore: v, store: store, search: m.metrics.ANNSearch(store), tracer: m.tracer.Tracer("mediarec/vectors")}
}

// observedLocal is observedVectors over an in-process store, which also
// makes inner-product collections: the hybrid index's.
type observedLocal struct {
	*observedVectors
	local *vectordb.Local
}

func (o observedLocal) CreateDotCollection(ctx context.Context, name string, dim int) error {
	ctx, span := o.start(ctx, "create_collection", name)
	err := o.local.CreateDotCollection(ctx, name, dim)
	end(span, err)
	return err
}

func (o *observedVectors) start(ctx context.Context, op, collection string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	attrs = append(attrs, attribute.String("mediarec.vectors.store", o.store), semconv.DBOperationName(op), semconv.DBCollectionName(collection))
	return o.tracer.Start(ctx, op+" "+o.store, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

func end(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

func (o *observedVectors) Search(ctx context.Context, collection string, vector []float32, k int, f mediarec.VectorFilter) ([]mediarec.VectorHit, error) {
	ctx, span := o.start(ctx, "search", collection, attribute.Int("mediarec.vectors.k", k))
	start := time.Now()
	hits, err := o.vectorStore.Search(ctx, collection, vector, k, f)
	o.search.Observe(time.Since(start).Seconds())
	end(span, err)
	return hits, err
}

func (o *observedVectors) Upsert(ctx context.Context, collection string, points []mediarec.VectorPoint) error {
	ctx, span := o.start(ctx, "upsert", collection, attribute.Int("mediarec.vectors.points", len(points)))
	err := o.vectorStore.Upsert(ctx, collection, points)
	end(span, err)
	return err
}

func (o *observedVectors) Delete(ctx context.Context, collection string, ids []int64) error {
	ctx, span := o.start(ctx, "delete", collection, attribute.Int("mediarec.vectors.points", len(ids)))
	err := o.vectorStore.Delete(ctx, collection, ids)
	end(span, err)
	return err
}

// pendingPoll is how often the lag of the durable consumers is read.
const pendingPoll = 5 * time.Second

// watchConsumer has the process report the lag of a durable consumer of
// stream (mediarec_consumer_pending) while it runs.
func (m *Main) watchConsumer(stream, durable string) {
	if m.watched == nil {
		m.watched = map[string]string{}
	}
	m.watched[durable] = stream
	m.metrics.ConsumerPending(durable) // at zero until the first read
}

// pollConsumers reads the watched consumers' lag every pendingPoll until
// ctx ends. A failed read leaves the gauge as it was, and is logged at
// debug: the bus's outage is reported elsewhere.
func (m *Main) pollConsumers(bus *natsbus.Bus) func(context.Context) error {
	return func(ctx context.Context) error {
		t := time.NewTicker(pendingPoll)
		defer t.Stop()
		for {
			for durable, stream := range m.watched {
				rctx, cancel := context.WithTimeout(ctx, pendingPoll)
				n, err := bus.ConsumerPending(rctx, stream, durable)
				cancel()
				if err != nil {
					m.Log.DebugContext(ctx, "read consumer lag", "consumer", durable, "error", err)
					continue
				}
				m.metrics.ConsumerPending(durable).Set(float64(n))
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	}
}
