package api

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadsWaitForTheLogAtStart(t *testing.T) {
	// Goal: a server that starts over a log its read models have not
	// caught up with (restarted with a backlog, read models deleted or
	// behind, a store just imported) never answers a read from them
	// before they reach where the log ended at its start: a call
	// acknowledged before the restart is never a 404, and billing never
	// gives partial totals. Every read of the read models, on every
	// surface and of any account, waits, and answers 503 with Retry-After
	// in its surface's style when they do not get there in time; once they
	// do, the reads answer the whole log.
	dir := t.TempDir()
	store, proj := openLedger(t, dir, testStoreOptions(), testProjectionOptions())

	// Before the restart: writes acknowledged, the projector not running.
	before, stop := startServer(t, dir, store, proj)
	res := before.do(t, "POST", "/calls/upsert", tokenA, seedUpsert)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	upserted := res.JSON(t)["id"].(string)
	priced := before.createVoiceCall(t, tokenA, "vonage-start-1", nil)
	stop()

	// The restart: new servers know none of those writes. impatient waits
	// 100 ms for the read models, so that its reads behind them answer 503
	// soon; patient waits as long as a projector just started may take on
	// a busy machine (under -race on CI), so that its reads test that a
	// read waits, not how fast the projector is.
	impatient, _ := startServer(t, dir, store, proj, waitTimeout(100*time.Millisecond))
	patient, _ := startServer(t, t.TempDir(), store, proj, waitTimeout(time.Minute))
	reads := []struct {
		name  string
		path  string
		style errorStyle
	}{
		{"Moonbase call", "/calls/" + upserted, styleMoonbase},
		{"Moonbase list", "/calls", styleMoonbase},
		{"call history", "/v1/calls/" + upserted, styleCallHistory},
		{"VoiceCall", "/v1/voice-calls/" + priced, styleVoiceCall},
		{"LaML call", lamlCallsPath(lamlPrefix, acctA) + "/" + priced + ".json", styleLaML},
		{"LaML list", lamlCallsPath(lamlPrefix, acctA) + ".json", styleLaML},
		{"billing", "/v1/billing/summary", stylePlain},
	}
	for _, r := range reads {
		t.Run("behind/"+r.name, func(t *testing.T) {
			res := impatient.doInStyle(t, r.style, "GET", r.path, "")
			assertErrorStyle(t, res, r.style, http.StatusServiceUnavailable, lamlCodeUnavailable)
			assert.Equal(t, "1", res.Header.Get("Retry-After"))
		})
	}
	res = impatient.do(t, "GET", "/calls", tokenB, "")
	assert.Equal(t, http.StatusServiceUnavailable, res.Status, "an account that never wrote waits too: %s", res.Body)
	res = impatient.do(t, "GET", "/readyz", "", "")
	assert.Equal(t, http.StatusServiceUnavailable, res.Status, "%s", res.Body)

	runProjector(t, proj)

	// The first read waits for the projector rather than failing.
	for _, r := range reads {
		t.Run("caught up/"+r.name, func(t *testing.T) {
			res := patient.doInStyle(t, r.style, "GET", r.path, "")
			require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
		})
	}
	// The read models have now passed where the log ended when both
	// servers started (nothing was written since): the impatient one, which
	// answered 503 while they were behind, answers too, without waiting.
	for _, r := range reads {
		t.Run("caught up, impatient/"+r.name, func(t *testing.T) {
			res := impatient.doInStyle(t, r.style, "GET", r.path, "")
			require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
		})
	}
	var summary summaryBody
	require.NoError(t, json.Unmarshal(impatient.do(t, "GET", "/v1/billing/summary", tokenA, "").Body, &summary))
	require.Len(t, summary.Groups, 1, "the VoiceCall call's price: %+v", summary)
	assert.True(t, decimal.RequireFromString("1.50").Equal(decimal.RequireFromString(summary.Groups[0].Total)), "total %s", summary.Groups[0].Total)
	assert.Equal(t, int64(1), summary.Groups[0].Calls)
	require.Eventually(t, func() bool {
		return impatient.do(t, "GET", "/readyz", "", "").Status == http.StatusOK
	}, 5*time.Second, 10*time.Millisecond)
}

// viewsSayReady are read models whose Ready says they are running and
// nearly caught up whatever the projector does: as a projector with a
// short backlog says, which has yet to reach the start mark.
type viewsSayReady struct{ ReadModels }

func (viewsSayReady) Ready(context.Context) error { return nil }

func TestReadyzDoesNotWaitForTheStartMark(t *testing.T) {
	// Goal: /readyz answers at once, without waiting for the read models
	// to reach where the log ended when the server started: while they are
	// ready (running, nearly caught up) but short of it, a 503 naming that,
	// sooner than readyTimeout (below the second a Kubernetes probe waits
	// by default); once they reach it, a 200.
	dir := t.TempDir()
	store, proj := openLedger(t, dir, testStoreOptions(), testProjectionOptions())
	before, stop := startServer(t, dir, store, proj)
	before.upsertID(t, moonbaseBody("start-mark", "completed"))
	stop()

	ts, _ := startServer(t, dir, store, proj, viewsWrapped(func(v ReadModels) ReadModels { return viewsSayReady{v} }))
	began := time.Now()
	res := ts.do(t, "GET", "/readyz", "", "")
	elapsed := time.Since(began)
	assert.Equal(t, http.StatusServiceUnavailable, res.Status, "%s", res.Body)
	assert.Equal(t, map[string]any{"status": "unavailable", "reason": reasonViewsAtStart}, res.JSON(t))
	assert.Less(t, elapsed, readyTimeout, "/readyz waited for the read models")

	runProjector(t, proj)
	require.Eventually(t, func() bool {
		return ts.do(t, "GET", "/readyz", "", "").Status == http.StatusOK
	}, time.Minute, 10*time.Millisecond)
}
