package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
)

func TestDecodeMoonbaseCallKeepsNothingOfTheBody(t *testing.T) {
	// Goal: the command DecodeMoonbaseCall returns shares no byte with the
	// body, whose buffer the next request reuses (poolBodies): overwritten
	// once decoded, the body changes nothing in the command, on the fast
	// decoder's path and on encoding/json's.
	now := time.Date(2025, 2, 17, 16, 0, 0, 0, time.UTC)
	for name, body := range map[string]string{
		"fast":          seedUpsert,
		"encoding/json": strings.Replace(seedUpsert, `"provider":`, `"provid\u0065r":`, 1), // a key the fast decoder declines
	} {
		t.Run(name, func(t *testing.T) {
			want, err := DecodeMoonbaseCall([]byte(body), acctA, now)
			require.NoError(t, err)
			require.NotEmpty(t, want.ProviderMetadata)
			buf := []byte(body)
			got, err := DecodeMoonbaseCall(buf, acctA, now)
			require.NoError(t, err)
			for i := range buf {
				buf[i] = 'X'
			}
			assert.Equal(t, want, got)
		})
	}
}

func TestMoonbasePooledBuffersDoNotBleed(t *testing.T) {
	// Goal: the buffers a Moonbase write reuses from one request to the
	// next (its body's and its answer's) hold nothing another request's answer, idempotency
	// record, events or read models still use: upserts served one after
	// the other in one goroutine, large and small in turn so that each
	// reuses and overwrites the last one's buffers, each keep their own
	// content, in the answer, in a keyed request's replay, in the log and
	// in the read models.
	ts := newTestServer(t)
	h := ts.api.Handler()
	serve := func(body, key string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/calls/upsert", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tokenA)
		if key != "" {
			req.Header.Set(IdempotencyKeyHeader, key)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	type sent struct {
		pid, note, key string
		cues           int
		answer         []byte
	}
	var all []sent
	for i := range 12 {
		s := sent{pid: fmt.Sprintf("pool-%d", i), cues: 1}
		// Notes of one length, at one offset of bodies of one size, so
		// that a buffer reused holds another's note exactly where this
		// one's was.
		s.note = strings.Repeat(string(rune('a'+i)), 40)
		if i%2 == 0 {
			s.cues = 30
		}
		if i%3 == 0 {
			s.key = fmt.Sprintf("pool-key-%d", i)
		}
		var cues []string
		for c := range s.cues {
			cues = append(cues, fmt.Sprintf(`{"from": %d, "to": %d.5, "speaker": "+14155551212", "text": "%s %d"}`, c, c, s.note, c))
		}
		body := fmt.Sprintf(`{"direction": "incoming", "participants": [{"phone": "+14155551212", "role": "caller"}],
"provider": "openphone", "provider_id": %q, "provider_status": "completed", "start_at": "2025-02-17T15:00:00Z",
"provider_metadata": {"note": %q}, "transcript": {"cues": [%s]}}`, s.pid, s.note, strings.Join(cues, ","))
		rec := serve(body, s.key)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		s.answer = rec.Body.Bytes()
		all = append(all, s)
		if s.key != "" {
			// Replayed later, after other requests reused the buffers.
			defer func() {
				replay := serve(body, s.key)
				require.Equal(t, http.StatusOK, replay.Code, replay.Body.String())
				assert.Equal(t, "true", replay.Header().Get("Idempotent-Replayed"))
				assert.Equal(t, string(s.answer), replay.Body.String(), "the record keeps the answer byte for byte")
			}()
		}
	}
	events := ts.events(t)
	for _, s := range all {
		var answer struct {
			ID               string            `json:"id"`
			ProviderID       string            `json:"provider_id"`
			ProviderMetadata map[string]string `json:"provider_metadata"`
			Transcript       struct {
				Cues []struct {
					Text string `json:"text"`
				} `json:"cues"`
			} `json:"transcript"`
		}
		require.NoError(t, json.Unmarshal(s.answer, &answer), string(s.answer))
		assert.Equal(t, s.pid, answer.ProviderID)
		assert.Equal(t, map[string]string{"note": s.note}, answer.ProviderMetadata)
		require.Len(t, answer.Transcript.Cues, s.cues)
		for c, cue := range answer.Transcript.Cues {
			assert.Equal(t, fmt.Sprintf("%s %d", s.note, c), cue.Text)
		}

		got := ts.do(t, "GET", "/calls/"+answer.ID, tokenA, "")
		require.Equal(t, http.StatusOK, got.Status)
		assert.Equal(t, compactJSON(t, s.answer), compactJSON(t, got.Body), "the read models hold the call as answered")

		stream := domain.StreamID(uuid.MustParse(answer.ID))
		var upserted int
		for _, r := range events {
			if r.StreamID != stream || r.Type != domain.TypeCallUpserted {
				continue
			}
			upserted++
			assert.Contains(t, string(r.Data), fmt.Sprintf(`"provider_metadata":{"note":%q}`, s.note))
			assert.Contains(t, string(r.Data), fmt.Sprintf(`"provider_id":%q`, s.pid))
		}
		assert.Equal(t, 1, upserted)
	}
}
