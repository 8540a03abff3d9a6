// Package natsbus carries the services' messages over NATS JetStream: the
// streams, publishing with de-duplication, batch consumers with one ack
// policy, and the embedded server of the laptop setup.
package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"mediarec"
)

// Stream names, for consumers.
const (
	StreamEmbedJobs    = "EMBED_JOBS"
	StreamEmbedResults = "EMBED_RESULTS"
	StreamUserEvents   = "USER_EVENTS"
	StreamCatalogItems = "CATALOG_ITEMS"
	StreamVectors      = "VECTORS"
)

// SubjectVectors prefixes the subjects of the vector log (see Log): the
// vector store of a deployment without Qdrant, replicated to every process
// that reads it.
const SubjectVectors = "vectors.v1"

// streams: the job and result streams are work queues, so a message is gone
// once a consumer acks it. User events are a compacted log: one subject per
// user and item (or user, for preferences), of which the stream keeps the
// latest message for ever, so a consumer that reads it from the start (a
// recommendation replica starting) learns everyone's current feedback. The
// duplicate window lets a publisher that crashed between publishing and
// recording it publish again without a second copy.
var streams = map[string]jetstream.StreamConfig{
	StreamEmbedJobs:    {Subjects: []string{mediarec.SubjectEmbedJobs}, Retention: jetstream.WorkQueuePolicy},
	StreamEmbedResults: {Subjects: []string{mediarec.SubjectEmbedResults}, Retention: jetstream.WorkQueuePolicy},
	StreamUserEvents: {
		Subjects:          []string{mediarec.SubjectUserFeedback + ".>", mediarec.SubjectUserPreferences + ".>"},
		Retention:         jetstream.LimitsPolicy,
		MaxMsgsPerSubject: 1,
	},
	// The catalog's item events, compacted the same way: the current
	// catalog, one message per item (a deleted item's tombstone included).
	StreamCatalogItems: {
		Subjects:          []string{mediarec.SubjectCatalogItems + ".>"},
		Retention:         jetstream.LimitsPolicy,
		MaxMsgsPerSubject: 1,
	},
	// The vector log: one subject per point, collection and alias, the
	// latest message of each kept.
	StreamVectors: {
		Subjects:          []string{SubjectVectors + ".>"},
		Retention:         jetstream.LimitsPolicy,
		MaxMsgsPerSubject: 1,
	},
}

// Options select the server. With an empty URL the bus runs a NATS server
// inside the process, with JetStream on disk under Dir.
type Options struct {
	URL string
	Dir string
	// Namespace prefixes every stream and subject, so that several
	// deployments (or test runs) can share one server.
	Namespace string
	// TracerProvider makes the spans of publishing and processing
	// messages, whose trace context travels in the message headers; nil
	// makes none, and then only the caller's context travels.
	TracerProvider trace.TracerProvider
}

// Bus is a JetStream connection with the streams in place.
type Bus struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	ns     *server.Server // the embedded server, if this bus runs one
	log    *slog.Logger
	pre    string
	tracer trace.Tracer
}

// Open connects to the configured server, or starts the embedded one, and
// makes sure the streams exist. The connection reconnects for ever: while
// the server is away publishes fail, and the outbox keeps what they carried.
func Open(ctx context.Context, opts Options, log *slog.Logger) (*Bus, error) {
	tp := opts.TracerProvider
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	b := &Bus{log: log, tracer: tp.Tracer("mediarec/internal/natsbus")}
	if opts.Namespace != "" {
		b.pre = opts.Namespace + "_"
	}
	conn := []nats.Option{
		nats.Name("mediarec"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("NATS disconnected", "error", err) }),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("NATS reconnected", "url", nc.ConnectedUrl()) }),
	}
	url := opts.URL
	if url == "" {
		ns, err := server.NewServer(&server.Options{
			ServerName: "mediarec-embedded", JetStream: true, StoreDir: opts.Dir,
			DontListen: true, NoSigs: true, NoLog: true,
		})
		if err != nil {
			return nil, fmt.Errorf("embedded NATS: %w", err)
		}
		go ns.Start()
		if !ns.ReadyForConnections(10 * time.Second) {
			ns.Shutdown()
			return nil, errors.New("embedded NATS did not start within 10s")
		}
		b.ns, url = ns, ns.ClientURL()
		conn = append(conn, nats.InProcessServer(ns))
	}
	nc, err := nats.Connect(url, conn...)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("connect to NATS at %s: %w", url, err)
	}
	b.nc = nc
	if b.js, err = jetstream.New(nc); err != nil {
		b.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	for name, cfg := range streams {
		cfg.Name, cfg.Storage, cfg.Duplicates = b.pre+name, jetstream.FileStorage, 5*time.Minute
		subjects := make([]string, len(cfg.Subjects))
		for i, s := range cfg.Subjects {
			subjects[i] = b.pre + s
		}
		cfg.Subjects = subjects
		if err := b.ensureStream(ctx, cfg); err != nil {
			b.Close()
			return nil, fmt.Errorf("create stream %s: %w", name, err)
		}
	}
	return b, nil
}

// ensureStream creates the stream, or updates it only when its settings
// differ: every process opens the bus at start, and a needless update races
// (inside the server) with consumers being created on the same stream.
func (b *Bus) ensureStream(ctx context.Context, cfg jetstream.StreamConfig) error {
	_, err := b.js.CreateStream(ctx, cfg)
	if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return err
	}
	s, err := b.js.Stream(ctx, cfg.Name)
	if err != nil {
		return err
	}
	have, perSubject := s.CachedInfo().Config, cfg.MaxMsgsPerSubject
	if perSubject == 0 {
		perSubject = -1 // the server's "no limit"
	}
	if slices.Equal(have.Subjects, cfg.Subjects) && have.Retention == cfg.Retention && have.MaxAge == cfg.MaxAge &&
		have.MaxMsgsPerSubject == perSubject && have.Duplicates == cfg.Duplicates && have.Storage == cfg.Storage {
		return nil
	}
	_, err = b.js.UpdateStream(ctx, cfg)
	return err
}

// DeleteStreams removes this namespace's streams and buckets, for test runs
// on a shared server.
func (b *Bus) DeleteStreams(ctx context.Context) error {
	var errs []error
	for name := range streams {
		errs = append(errs, b.js.DeleteStream(ctx, b.pre+name))
	}
	for _, bucket := range []string{stateBucket, rateBucket} {
		if err := b.js.DeleteKeyValue(ctx, b.pre+bucket); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
			errs = append(errs, err)
		}
	}
	if err := b.js.DeleteObjectStore(ctx, b.pre+modelsBucket); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Ping reports whether the server answers, for readiness checks.
func (b *Bus) Ping(ctx context.Context) error {
	if _, err := b.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("NATS: %w", err)
	}
	return nil
}

// Close drains the connection and stops the embedded server, if any.
func (b *Bus) Close() error {
	switch {
	case b.nc == nil:
	case b.ns != nil:
		// In-process, nothing is in flight that a drain would save, and the
		// server stops right after.
		b.nc.Close()
	default:
		// Drain refuses while reconnecting; nothing is in flight then.
		if b.nc.Drain() != nil {
			b.nc.Close()
		}
	}
	if b.ns != nil {
		b.ns.Shutdown()
		b.ns.WaitForShutdown()
	}
	return nil
}

// Publish stores data on subject. msgID de-duplicates: a second publish of
// the same id within the stream's window is acknowledged but not stored.
// The message's headers carry the trace context of a producer span, the
// child of ctx's span, so that its consumers continue the trace.
func (b *Bus) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	ctx, span := b.tracer.Start(ctx, "publish "+subjectFamily(subject), trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(messagingSystem, semconv.MessagingOperationTypeSend,
			semconv.MessagingDestinationName(subject), semconv.MessagingMessageID(msgID)))
	defer span.End()
	msg := &nats.Msg{Subject: b.pre + subject, Data: data, Header: nats.Header{}}
	propagation.TraceContext{}.Inject(ctx, headers(msg.Header))
	if _, err := b.js.PublishMsg(ctx, msg, jetstream.WithMsgID(msgID)); err != nil {
		span.SetStatus(codes.Error, err.Error())
		return mediarec.Errorf(mediarec.EUNAVAILABLE, "The message bus did not take the message: %v.", err)
	}
	return nil
}
