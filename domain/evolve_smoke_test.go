package domain_test

import (
	"testing"
	"time"

	"github.com/callledger/callledger/domain"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEvolveFoldsALifecycle checks that a created, answered, terminated and
// priced call folds into the expected Call and that CheckEvolve is quiet.
func TestEvolveFoldsALifecycle(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	id := uuid.New()
	dur := int64(60)
	h := []domain.Envelope{
		{Event: domain.CallUpserted{Created: true, CallID: id, AccountID: "acc", Provider: "VONAGE", ProviderID: "p1", StartedAt: &t0}, Metadata: domain.Metadata{Time: t0}},
		{Event: domain.CallAnswered{AnsweredAt: t0.Add(time.Second)}, Metadata: domain.Metadata{Time: t0.Add(time.Second)}},
		{Event: domain.CallTerminated{EndedAt: t0.Add(time.Minute), DurationSeconds: &dur, Status: domain.StatusCompleted, PreviousStatus: domain.StatusInProgress}, Metadata: domain.Metadata{Time: t0.Add(time.Minute)}},
	}
	s, err := domain.Fold(h)
	require.NoError(t, err)
	assert.Equal(t, uint64(3), s.Version)
	assert.Equal(t, domain.StatusCompleted, s.Call.Status)
	assert.Equal(t, "vonage", s.Call.Provider)
	assert.Equal(t, t0, s.Call.CreatedAt)
	assert.Equal(t, t0.Add(time.Minute), s.Call.UpdatedAt)

	_, err = domain.Fold(h[1:])
	require.ErrorIs(t, err, domain.ErrBrokenInvariant)
}
