package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGetWithIfNoneMatch(t *testing.T) {
	// Goal: a GET of a call with If-None-Match naming its ETag (weakly:
	// W/"n" names "n" too; "*" names any call) is a 304 with the ETag and
	// no body, on every surface and at a past revision, so a client's
	// cache keeps what it holds; an ETag of another revision, one this API
	// cannot read, or a call changed since gets the call, 200.
	ts := newTestServer(t)
	id := ts.createLAMLCall(t, "+14155550100", "+14155550101")
	first := ts.do(t, "GET", "/v1/calls/"+id, tokenA, "")
	require.Equal(t, http.StatusOK, first.Status, "body: %s", first.Body)
	etag := first.Header.Get("ETag")
	require.NotEmpty(t, etag)
	res := ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes":"changed"}`)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	now := res.Header.Get("ETag")
	require.NotEqual(t, etag, now)

	get := func(path, ifNoneMatch string) response {
		if path == "laml" {
			return ts.lamlDo(t, "GET", lamlCallsPath(lamlPrefix, acctA)+"/"+id+".json", acctA, tokenA, "", "If-None-Match", ifNoneMatch)
		}
		return ts.do(t, "GET", path, tokenA, "", "If-None-Match", ifNoneMatch)
	}
	tests := []struct {
		name, path, ifNoneMatch string
		want                    int
		wantETag                string
	}{
		{"call history, the current ETag", "/v1/calls/" + id, now, http.StatusNotModified, now},
		{"Moonbase", "/calls/" + id, now, http.StatusNotModified, now},
		{"VoiceCall", "/v1/voice-calls/" + id, now, http.StatusNotModified, now},
		{"LaML", "laml", now, http.StatusNotModified, now},
		{"weak", "/v1/calls/" + id, `W/` + now, http.StatusNotModified, now},
		{"one of a list", "/v1/calls/" + id, `"7", ` + now, http.StatusNotModified, now},
		{"any", "/v1/calls/" + id, "*", http.StatusNotModified, now},
		{"a past revision's GET", "/v1/calls/" + id + "?revision=" + strings.Trim(etag, `"`), etag, http.StatusNotModified, etag},
		{"the ETag before the change", "/v1/calls/" + id, etag, http.StatusOK, now},
		{"unquoted", "/v1/calls/" + id, strings.Trim(now, `"`), http.StatusOK, now},
		{"garbage", "/v1/calls/" + id, `"x`, http.StatusOK, now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := get(tt.path, tt.ifNoneMatch)
			require.Equal(t, tt.want, res.Status, "body: %s", res.Body)
			assert.Equal(t, tt.wantETag, res.Header.Get("ETag"))
			if tt.want == http.StatusNotModified {
				assert.Empty(t, res.Body)
			} else {
				assert.NotEmpty(t, res.Body)
			}
		})
	}

	t.Run("HEAD", func(t *testing.T) {
		res := ts.do(t, "HEAD", "/v1/calls/"+id, tokenA, "", "If-None-Match", now)
		assert.Equal(t, http.StatusNotModified, res.Status)
		assert.Equal(t, now, res.Header.Get("ETag"))
	})
	t.Run("a call that does not exist", func(t *testing.T) {
		res := ts.do(t, "GET", "/v1/calls/00000000-0000-4000-8000-000000000001", tokenA, "", "If-None-Match", "*")
		assert.Equal(t, http.StatusNotFound, res.Status)
	})
}
