package eventstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
)

// plainStore hides every optional interface of the store it holds: a
// backend that can say nothing but what Store says.
type plainStore struct{ eventstore.Store }

func TestLogEnd(t *testing.T) {
	// Goal: LogEnd says where the log ends (Start when empty, the last
	// event's position after appends), passes on a store's failure, and
	// says ErrUnsupported of a store that cannot tell.
	ctx := context.Background()
	cases := []struct {
		name    string
		store   func(t *testing.T) eventstore.Store
		want    eventstore.Position
		wantErr error
	}{
		{"Empty", func(t *testing.T) eventstore.Store { return openStore(t, t.TempDir()) }, eventstore.Start, nil},
		{"AfterAppends", func(t *testing.T) eventstore.Store {
			s := openStore(t, t.TempDir())
			buildLog(t, s, 3, 20)
			return s
		}, eventstore.Position{Commit: 20, Prepare: 20}, nil},
		{"Closed", func(t *testing.T) eventstore.Store {
			s := openStore(t, t.TempDir())
			require.NoError(t, s.Close())
			return s
		}, eventstore.Start, eventstore.ErrClosed},
		{"CannotTell", func(t *testing.T) eventstore.Store { return plainStore{openStore(t, t.TempDir())} }, eventstore.Start, errors.ErrUnsupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := eventstore.LogEnd(ctx, tc.store(t))
			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr)
			} else {
				assert.NoError(t, err)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
