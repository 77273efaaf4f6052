package api

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bigRecordingsBody is a Moonbase upsert of call pid adding recordings
// first to first+n-1, each with a URL of about a kilobyte: a few upserts
// make a call whose answer is megabytes.
func bigRecordingsBody(pid string, first, n int) string {
	var recs []string
	pad := strings.Repeat("a", 1000)
	for i := first; i < first+n; i++ {
		recs = append(recs, fmt.Sprintf(`{"content_type":"audio/mpeg","provider_id":"R%d","url":"https://media.example.com/%s/%d/%s.mp3"}`, i, pid, i, pad))
	}
	return fmt.Sprintf(`{"direction":"incoming","participants":[{"phone":"+14155550001","role":"caller"},{"phone":"+14155550002","role":"callee"}],
"provider":"openphone","provider_id":%q,"provider_status":"completed","start_at":"2025-03-01T10:00:00Z","recordings":[%s]}`, pid, strings.Join(recs, ","))
}

func TestKeyedAnswerNotReadHoldsNoLock(t *testing.T) {
	// Goal: a keyed request whose client never reads its answer holds no
	// Idempotency-Key lock while the answer waits to be sent: a retry with
	// the same key (and so any request whose key shares its lock, of any
	// account) is answered at once, from the record. The lock was held
	// while the answer was written, so a client that did not read a large
	// answer held it, and other accounts' keyed writes, for ever.
	ts := newTestServer(t)
	const pid = "big-answer"
	for i := range 15 {
		res := ts.do(t, "POST", "/calls/upsert", tokenA, bigRecordingsBody(pid, i*400, 400))
		require.Equal(t, http.StatusOK, res.Status, "body: %.300s", res.Body)
	}
	body := bigRecordingsBody(pid, 0, 1) // changes nothing: answers the whole call, ~6 MB

	// A client that sends the keyed request and reads nothing, with a
	// receive buffer as small as the kernel allows.
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /calls/upsert HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nIdempotency-Key: never-read\r\nContent-Length: %d\r\n\r\n%s", tokenA, len(body), body)
	require.NoError(t, err)

	// The retry, read by a client that reads: answered from the record
	// once the first request has run, not after its answer is read.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", ts.URL+"/calls/upsert", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tokenA)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(IdempotencyKeyHeader, "never-read")
	time.Sleep(200 * time.Millisecond) // let the first request take the lock
	res, err := ts.Client().Do(req)
	require.NoError(t, err, "the retry is answered while the first answer is unread")
	defer res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "true", res.Header.Get("Idempotent-Replayed"))
}
