package api

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

// TestRequestScopeCarriesIDAndPrincipal checks what the middleware hands a
// write through the request's scope: the request id (the client's when it
// is sane, else a fresh UUID), echoed in x-request-id and recorded in the
// events' metadata with the authenticated account and actor.
func TestRequestScopeCarriesIDAndPrincipal(t *testing.T) {
	rows := []struct {
		name    string
		sent    string
		keepsIt bool
	}{
		{"client id kept", "req-42.a:b", true},
		{"insane id replaced", "bad id with spaces", false},
		{"no id", "", false},
	}
	ts := newTestServer(t)
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			var headers []string
			if row.sent != "" {
				headers = []string{"X-Request-Id", row.sent}
			}
			before := len(ts.events(t))
			res := ts.do(t, "POST", "/calls/upsert", tokenA, moonbaseBody("scope-"+string(rune('a'+i)), "ringing"), headers...)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			id := res.Header.Get("x-request-id")
			if row.keepsIt {
				assert.Equal(t, row.sent, id)
			} else {
				_, err := uuid.Parse(id)
				assert.NoError(t, err, "a fresh UUID: %q", id)
			}
			recs := ts.events(t)[before:]
			require.NotEmpty(t, recs)
			for _, r := range recs {
				m, err := domain.UnmarshalMetadata(r.Metadata)
				require.NoError(t, err)
				assert.Equal(t, id, m.RequestID)
				assert.Equal(t, acctA, m.AccountID)
				assert.Equal(t, APIKey{Account: acctA, Token: tokenA}.Name(), m.Actor)
			}
		})
	}
}
