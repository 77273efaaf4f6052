package domain

import (
	"time"
)

// Surface names the API surface (or tool) through which a change arrived.
type Surface string

// The surfaces.
const (
	SurfaceMoonbase    Surface = "moonbase"
	SurfaceCallHistory Surface = "call-history"
	SurfaceVoiceCall   Surface = "voice-call"
	SurfaceLaML        Surface = "laml"
	SurfaceCLI         Surface = "cli"
)

// Metadata is what the ledger records about each event besides the change
// itself: who asked for it, when, through which surface and request. It is
// stored as the event's JSON metadata; a stored format.
type Metadata struct {
	// SchemaVersion is the version of the event's data shape (see
	// CurrentSchemaVersion and SchemaVersionOf); readers upgrade older
	// versions and refuse newer ones.
	SchemaVersion int `json:"schema_version"`
	// AccountID is the account the call belongs to.
	AccountID string `json:"account_id"`
	// Actor identifies who made the change: the API key's name, or a tool.
	Actor string `json:"actor,omitempty"`
	// RequestID identifies the HTTP request (or tool run) that made the change.
	RequestID string `json:"request_id,omitempty"`
	// IdempotencyKey is the client's Idempotency-Key, if it sent one.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// RequestFingerprint identifies the keyed request's content (the API
	// writes the hex SHA-256 of its method, path and body); empty for a
	// request without an Idempotency-Key. A retry that finds the key's
	// events in the log, with no record of its first answer (another
	// server took it, or this one stopped before recording it), compares
	// it to tell a retry from the key reused for a different request.
	// Events written before it existed have none.
	RequestFingerprint string `json:"request_fingerprint,omitempty"`
	// Surface is the API surface the change came through.
	Surface Surface `json:"surface,omitempty"`
	// Time is when the ledger accepted the change, in UTC, never before the
	// Time of the call's previous event (the API records a write that
	// reaches a server whose clock is behind at that event's Time). Time
	// travel (as_of) folds the events whose Time is not after the instant
	// asked for.
	Time time.Time `json:"time"`
}

// Envelope is an event together with its metadata: the unit Evolve folds.
type Envelope struct {
	Event    Event
	Metadata Metadata
}
