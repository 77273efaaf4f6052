package api

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

func TestAFullCallRefusesWritesAndCanBeDeleted(t *testing.T) {
	// Goal: a write that would take a call past callWriteEventsMax events
	// is a 409 naming the call, appending nothing, where it was taken and
	// the call then failed every write and read with a 500 once past
	// streamEventsMax; the call stays readable and can still be deleted.
	if testing.Short() {
		t.Skip("appends ~99,000 events")
	}
	ts := newTestServer(t)
	res := ts.do(t, "POST", "/calls/upsert", tokenA, recordedCallBody("full", 1))
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	id := uuid.MustParse(res.JSON(t)["id"].(string))
	held := len(ts.eventTypes(t, id.String()))

	// Fill the call up to the bound with small events, straight into the
	// store, 1,000 an append.
	usd := func(s string) domain.Price {
		return domain.Price{Rate: domain.MustParseDecimal("0.01"), Total: domain.MustParseDecimal(s), Currency: "USD"}
	}
	prev := usd("1")
	meta := domain.Metadata{AccountID: acctA, Actor: "test", Surface: domain.SurfaceCLI, Time: t0}
	for held < callWriteEventsMax {
		n := min(1000, callWriteEventsMax-held)
		events := make([]domain.Event, n)
		for i := range events {
			next := usd("2")
			if prev.Total.Equal(next.Total.Decimal) {
				next = usd("1")
			}
			events[i] = domain.CallPriced{Price: next, PreviousPrice: &prev}
			prev = next
		}
		ts.appendDirect(t, id, eventstore.Any(), meta, events...)
		held += n
	}

	res = ts.do(t, "POST", "/calls/upsert", tokenA, recordedCallBody("full", 2))
	assert.Equal(t, http.StatusConflict, res.Status, "body: %s", res.Body)
	assert.Contains(t, string(res.Body), "the most a call may hold")
	assert.Equal(t, callWriteEventsMax, len(ts.eventTypes(t, id.String())), "nothing appended")

	get := ts.do(t, "GET", "/calls/"+id.String(), tokenA, "")
	assert.Equal(t, http.StatusOK, get.Status, "body: %.300s", get.Body)
	del := ts.do(t, "DELETE", "/v1/calls/"+id.String(), tokenA, "")
	assert.Equal(t, http.StatusOK, del.Status, "body: %.300s", del.Body)
	assert.NotEmpty(t, del.JSON(t)["deletedAt"])
}
