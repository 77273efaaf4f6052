package projections

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/eventstore/embedded"
)

// quietStore opens an embedded store in a temporary directory, logging
// nothing, for the package's internal tests (the external tests' helpers
// are out of their reach), and returns it with the quiet logger for the
// read models' options. The store is closed when the test ends.
func quietStore(t *testing.T) (*embedded.Store, *slog.Logger) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sopts := embedded.DefaultOptions()
	sopts.Logger = quiet
	store, err := embedded.Open(t.TempDir(), sopts)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	return store, quiet
}

// appendEvents appends events to call id's new stream in store, of account
// "acct", the i-th recorded at at(i), and returns what it appended.
func appendEvents(t *testing.T, store eventstore.Store, id uuid.UUID, events []domain.Event, at func(i int) time.Time) []eventstore.EventData {
	t.Helper()
	data := make([]eventstore.EventData, len(events))
	for i, e := range events {
		d, err := domain.MarshalEvent(e)
		require.NoError(t, err)
		md, err := domain.MarshalMetadata(domain.Metadata{SchemaVersion: domain.CurrentSchemaVersion, AccountID: "acct", Time: at(i)})
		require.NoError(t, err)
		data[i] = eventstore.EventData{ID: uuid.New(), Type: e.EventType(), Data: d, Metadata: md}
	}
	_, err := store.Append(context.Background(), domain.StreamID(id), eventstore.NoStream(), data)
	require.NoError(t, err)
	return data
}
