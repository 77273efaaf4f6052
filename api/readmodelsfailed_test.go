package api

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/projections"
)

// failedViews are read models whose runner has stopped for good: WaitFor
// says so (projections.ErrFailed) as the projector does once the read
// models' database could not write (projections'
// TestReadModelsOnAFullDiskStopTheRunner makes it fail for real).
type failedViews struct {
	ReadModels
	failed atomic.Bool
}

// WaitFor returns ErrFailed while failed is set.
func (v *failedViews) WaitFor(ctx context.Context, pos eventstore.Position) error {
	if v.failed.Load() {
		return fmt.Errorf("wait for %s: %w: pebble: fatal error", pos, projections.ErrFailed)
	}
	return v.ReadModels.WaitFor(ctx, pos)
}

// TestReadsAfterTheReadModelsFailedAnswerAtOnce checks that a read that
// must wait for the read models, once they have failed for good, answers
// 503 at once saying that only a restart helps, where it waited the whole
// wait timeout and then said "retry shortly".
func TestReadsAfterTheReadModelsFailedAnswerAtOnce(t *testing.T) {
	views := &failedViews{}
	ts := newTestServer(t, waitTimeout(time.Minute), viewsWrapped(func(v ReadModels) ReadModels { views.ReadModels = v; return views }))
	id := ts.upsertID(t, moonbaseBody("before", "completed"))
	require.Equal(t, http.StatusOK, ts.do(t, "GET", "/calls/"+id, tokenA, "").Status)

	views.failed.Store(true)
	id = ts.upsertID(t, moonbaseBody("after", "completed"))
	began := time.Now()
	res := ts.do(t, "GET", "/calls/"+id, tokenA, "")
	assert.Less(t, time.Since(began), 10*time.Second, "answered without waiting out the wait timeout")
	assertErrorStyle(t, res, styleMoonbase, http.StatusServiceUnavailable, 0)
	assert.Contains(t, string(res.Body), "until callledger is restarted")
	assert.NotContains(t, string(res.Body), "retry shortly")
}
