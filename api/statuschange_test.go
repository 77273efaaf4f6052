package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

func TestProviderConfirmsAHangUp(t *testing.T) {
	// Goal (QA issue 3, documented in domain.CallStatusChanged): when the
	// provider confirms the status a LaML hang-up already set, the event
	// records the provider's word alone: status equal to previous_status,
	// which says no canonical move happened, and nothing else.
	ts := newTestServer(t)
	id := domain.CallIDFor(acctA, "openphone", "confirm").String()
	res := ts.do(t, "POST", "/calls/upsert", tokenA, timingUpsert(t, "openphone", "confirm", "in-progress", "2025-02-17T15:00:00Z", "", ""))
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	res = ts.lamlDo(t, "POST", lamlCallsPath(lamlPrefix, acctA)+"/"+id+".json", acctA, tokenA, formBody("Status", "completed"))
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	res = ts.do(t, "POST", "/calls/upsert", tokenA, timingUpsert(t, "openphone", "confirm", "completed", "2025-02-17T15:00:00Z", "", ""))
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)

	typ, data := ts.lastEvent(t, id)
	assert.Equal(t, domain.TypeCallStatusChanged, typ)
	assert.JSONEq(t, `{"status":"completed","previous_status":"completed","provider_status":"completed"}`, data)
	assert.Equal(t, domain.StatusCompleted, ts.canonicalStatus(t, id))
}
