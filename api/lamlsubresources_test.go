package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
)

// recordedCallBody is a Moonbase upsert of provider id pid carrying n
// recordings, the first without a provider id (known by its URL).
func recordedCallBody(pid string, n int) string {
	return recordedCallBodyAt(pid, n, "2025-03-01T10:00:00Z")
}

// recordedCallBodyAt is recordedCallBody of a call that started at start.
func recordedCallBodyAt(pid string, n int, start string) string {
	recs := ""
	for i := range n {
		providerID := fmt.Sprintf("REC%d", i)
		if i == 0 {
			providerID = ""
		}
		if i > 0 {
			recs += ","
		}
		recs += fmt.Sprintf(`{"content_type":"audio/mpeg","provider_id":%q,"url":"https://media.example.com/%s/%d.mp3"}`, providerID, pid, i)
	}
	return fmt.Sprintf(`{"direction":"incoming","participants":[{"phone":"+14155550001","role":"caller"},{"phone":"+14155550002","role":"callee"}],
"provider":"openphone","provider_id":%q,"provider_status":"completed","start_at":%q,"recordings":[%s]}`, pid, start, recs)
}

// lamlPagingFields are the paging fields of every Twilio list page.
var lamlPagingFields = []string{"page", "page_size", "start", "end", "uri", "first_page_uri", "next_page_uri", "previous_page_uri"}

func TestLAMLCallSubresources(t *testing.T) {
	// Goal: every link a LaML call advertises in subresource_uris answers,
	// under both prefixes: Recordings is Twilio's list page of the call's
	// recordings (from Moonbase), each fetchable at its uri, and
	// Notifications an empty list page.
	ts := newTestServer(t)
	res := ts.do(t, "POST", "/calls/upsert", tokenA, recordedCallBody("recorded-1", 3))
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	id := res.JSON(t)["id"].(string)
	for _, prefix := range lamlPrefixes {
		t.Run("prefix="+prefix, func(t *testing.T) {
			call := ts.lamlDo(t, "GET", lamlCallsPath(prefix, acctA)+"/"+id+".json", acctA, tokenA, "")
			require.Equal(t, http.StatusOK, call.Status, "body: %s", call.Body)
			etag := call.Header.Get("ETag")
			links, ok := call.JSON(t)["subresource_uris"].(map[string]any)
			require.True(t, ok)
			require.NotEmpty(t, links)
			for name, link := range links {
				res := ts.lamlDo(t, "GET", link.(string), acctA, tokenA, "")
				require.Equal(t, http.StatusOK, res.Status, "%s %s: %s", name, link, res.Body)
				assert.Equal(t, etag, res.Header.Get("ETag"), name)
				page := res.JSON(t)
				for _, f := range append([]string{name}, lamlPagingFields...) {
					assert.Contains(t, page, f, name)
				}
				assert.Equal(t, link, page["uri"])
				assert.Equal(t, link.(string)+"?Page=0&PageSize=50", page["first_page_uri"])
				assert.Nil(t, page["next_page_uri"])
				assert.Nil(t, page["previous_page_uri"])
			}

			recordings := links["recordings"].(string)
			list := ts.lamlDo(t, "GET", recordings, acctA, tokenA, "").JSON(t)
			items := list["recordings"].([]any)
			require.Len(t, items, 3)
			assert.Equal(t, float64(2), list["end"])
			sids := map[string]bool{}
			for i, item := range items {
				rec := item.(map[string]any)
				assert.Equal(t, fmt.Sprintf("https://media.example.com/recorded-1/%d.mp3", i), rec["media_url"])
				assert.Equal(t, id, rec["call_sid"])
				assert.Equal(t, acctA, rec["account_sid"])
				assert.Equal(t, "2010-04-01", rec["api_version"])
				assert.Equal(t, "completed", rec["status"])
				assert.Equal(t, map[string]any{}, rec["subresource_uris"], "no link to what the ledger does not serve")
				assert.NotNil(t, rec["date_created"], "the ledger knows when it learnt of a recording")
				assert.Equal(t, rec["date_created"], rec["date_updated"])
				for _, f := range []string{"start_time", "duration", "price", "conference_sid"} {
					assert.Contains(t, rec, f)
					assert.Nil(t, rec[f], f)
				}
				sid := rec["sid"].(string)
				sids[sid] = true
				uri := rec["uri"].(string)
				assert.Equal(t, lamlAccountPath(prefix, acctA)+"/Recordings/"+sid+".json", uri, "Twilio's account-level uri")
				callLevel := lamlCallsPath(prefix, acctA) + "/" + id + "/Recordings/" + sid
				for _, path := range []string{uri, strings.TrimSuffix(uri, ".json"), callLevel + ".json", callLevel} {
					one := ts.lamlDo(t, "GET", path, acctA, tokenA, "")
					require.Equal(t, http.StatusOK, one.Status, "%s: %s", path, one.Body)
					assert.Equal(t, rec, one.JSON(t), path)
					assert.Equal(t, etag, one.Header.Get("ETag"), path)
				}
			}
			assert.Len(t, sids, 3, "every recording has its own sid")

			// Paging: one recording a page, followed by next_page_uri.
			next := recordings + "?PageSize=1"
			for i := range 3 {
				res := ts.lamlDo(t, "GET", next, acctA, tokenA, "")
				require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
				page := res.JSON(t)
				assert.Equal(t, items[i], page["recordings"].([]any)[0])
				assert.Equal(t, float64(i), page["start"])
				assert.Equal(t, float64(i), page["page"])
				if i == 0 {
					assert.Nil(t, page["previous_page_uri"])
				} else {
					assert.Equal(t, fmt.Sprintf("%s?Page=%d&PageSize=1", recordings, i-1), page["previous_page_uri"])
				}
				if i == 2 {
					assert.Nil(t, page["next_page_uri"])
					break
				}
				next = page["next_page_uri"].(string)
			}
			// A read as the call was keeps that revision in its page links.
			then := ts.lamlDo(t, "GET", recordings+"?PageSize=1&revision=0", acctA, tokenA, "")
			require.Equal(t, http.StatusOK, then.Status, "body: %s", then.Body)
			assert.Equal(t, recordings+"?Page=0&PageSize=1&revision=0", then.JSON(t)["first_page_uri"])

			past := ts.lamlDo(t, "GET", recordings+"?PageSize=2&Page=7", acctA, tokenA, "")
			require.Equal(t, http.StatusOK, past.Status)
			assert.Empty(t, past.JSON(t)["recordings"])
			// Paging names in another case or with underscores, as the
			// bodies take them.
			spelt := ts.lamlDo(t, "GET", recordings+"?page_size=1&page=1", acctA, tokenA, "")
			require.Equal(t, http.StatusOK, spelt.Status, "body: %s", spelt.Body)
			assert.Equal(t, items[1], spelt.JSON(t)["recordings"].([]any)[0])
			assertLAMLError(t, ts.lamlDo(t, "GET", recordings+"?PageSize=0", acctA, tokenA, ""), 400, 20001)
			assertLAMLError(t, ts.lamlDo(t, "GET", lamlCallsPath(prefix, acctA)+"/"+id+"/Recordings/RE0.json", acctA, tokenA, ""), 404, 20404)
			for _, sid := range []string{"RE0", "5d0f1f43-8a8f-4e4a-9c55-2f2b0d3c7a11", id} {
				assertLAMLError(t, ts.lamlDo(t, "GET", lamlAccountPath(prefix, acctA)+"/Recordings/"+sid+".json", acctA, tokenA, ""), 404, 20404)
			}
		})
	}
}

func TestLAMLRecordingSidInUpperCase(t *testing.T) {
	// Goal: a recording sid is a UUID, read in either letter case as a
	// call's sid is: the upper-case form of a recording's sid answers 200
	// with the same body as the lower-case one, at the account-level uri
	// and the call-level one, with and without time travel.
	ts := newTestServer(t)
	res := ts.do(t, "POST", "/calls/upsert", tokenA, recordedCallBody("upper-1", 2))
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	id := res.JSON(t)["id"].(string)
	for _, prefix := range lamlPrefixes {
		list := ts.lamlDo(t, "GET", lamlCallsPath(prefix, acctA)+"/"+id+"/Recordings.json", acctA, tokenA, "")
		require.Equal(t, http.StatusOK, list.Status, "body: %s", list.Body)
		for _, item := range list.JSON(t)["recordings"].([]any) {
			sid := item.(map[string]any)["sid"].(string)
			require.Equal(t, strings.ToLower(sid), sid)
			for _, base := range []string{lamlAccountPath(prefix, acctA) + "/Recordings/", lamlCallsPath(prefix, acctA) + "/" + id + "/Recordings/"} {
				for _, query := range []string{"", "?revision=0"} {
					lower := ts.lamlDo(t, "GET", base+sid+".json"+query, acctA, tokenA, "")
					require.Equal(t, http.StatusOK, lower.Status, "body: %s", lower.Body)
					upper := ts.lamlDo(t, "GET", base+strings.ToUpper(sid)+".json"+query, acctA, tokenA, "")
					require.Equal(t, http.StatusOK, upper.Status, "%s: %s", base+strings.ToUpper(sid)+query, upper.Body)
					assert.Equal(t, lower.JSON(t), upper.JSON(t))
					assert.Equal(t, lower.Header.Get("ETag"), upper.Header.Get("ETag"))
				}
			}
		}
	}
}

func TestLAMLCallSubresourcesRefuse(t *testing.T) {
	// Goal: the subresources of a call answer only its own account, with
	// credentials, and not once it is deleted, each in Twilio's error body:
	// 401 (20003) without credentials or for another AccountSid, 404
	// (20404) for another account's call, an unknown call or a deleted one.
	ts := newTestServer(t)
	res := ts.do(t, "POST", "/calls/upsert", tokenA, recordedCallBody("refused-1", 1))
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	id := res.JSON(t)["id"].(string)
	rec := ts.lamlDo(t, "GET", lamlCallsPath("", acctA)+"/"+id+"/Recordings.json", acctA, tokenA, "").JSON(t)
	recURI := rec["recordings"].([]any)[0].(map[string]any)["uri"].(string)
	const unknown = "5d0f1f43-8a8f-4e4a-9c55-2f2b0d3c7a11"

	for _, prefix := range lamlPrefixes {
		pathA, pathB := lamlCallsPath(prefix, acctA), lamlCallsPath(prefix, acctB)
		for _, sub := range []string{"/Recordings.json", "/Notifications.json", "/Recordings", "/Notifications"} {
			for _, tc := range []struct {
				name           string
				path           string
				user, password string
				status, code   int
			}{
				{"no credentials", pathA + "/" + id + sub, "", "", 401, 20003},
				{"wrong token", pathA + "/" + id + sub, acctA, tokenB, 401, 20003},
				{"another AccountSid", pathA + "/" + id + sub, acctB, tokenB, 401, 20003},
				{"another account's call", pathB + "/" + id + sub, acctB, tokenB, 404, 20404},
				{"unknown call", pathA + "/" + unknown + sub, acctA, tokenA, 404, 20404},
				{"not a call id", pathA + "/nope" + sub, acctA, tokenA, 404, 20404},
			} {
				t.Run(prefix+sub+"/"+tc.name, func(t *testing.T) {
					assertLAMLError(t, ts.lamlDo(t, "GET", tc.path, tc.user, tc.password, ""), tc.status, tc.code)
				})
			}
		}
	}
	assertLAMLError(t, ts.lamlDo(t, "GET", lamlCallsPath("", acctB)+"/"+id+"/Recordings/x.json", acctB, tokenB, ""), 404, 20404)
	for _, prefix := range lamlPrefixes {
		// The account-level uri: another account's recording is not found,
		// and another account's AccountSid is refused, as on the call routes.
		sid := strings.TrimSuffix(recURI[strings.LastIndex(recURI, "/")+1:], ".json")
		for _, suffix := range []string{"", ".json"} {
			assertLAMLError(t, ts.lamlDo(t, "GET", lamlAccountPath(prefix, acctB)+"/Recordings/"+sid+suffix, acctB, tokenB, ""), 404, 20404)
			assertLAMLError(t, ts.lamlDo(t, "GET", lamlAccountPath(prefix, acctB)+"/Recordings/"+sid+suffix, acctA, tokenA, ""), 401, 20003)
			assertLAMLError(t, ts.lamlDo(t, "GET", lamlAccountPath(prefix, acctA)+"/Recordings/"+sid+suffix, "", "", ""), 401, 20003)
			require.Equal(t, http.StatusOK, ts.lamlDo(t, "GET", lamlAccountPath(prefix, acctA)+"/Recordings/"+sid+suffix, acctA, tokenA, "").Status)
		}
	}

	require.Equal(t, http.StatusOK, ts.do(t, "DELETE", "/v1/calls/"+id, tokenA, "").Status)
	for _, path := range []string{
		lamlCallsPath("", acctA) + "/" + id + "/Recordings.json",
		lamlCallsPath(lamlPrefix, acctA) + "/" + id + "/Notifications.json",
		recURI,
	} {
		assertLAMLError(t, ts.lamlDo(t, "GET", path, acctA, tokenA, ""), 404, 20404)
	}
}

func TestLAMLRecordingDates(t *testing.T) {
	// Goal: a recording's date_created is when the ledger recorded the
	// write that added it (its event's metadata time), in RFC 2822, and
	// date_updated the same while no write changes it, whatever else
	// changes on the call; start_time stays null (the ledger does not know
	// when the recording started). A recording added by a later write has
	// that write's date; ?revision and ?as_of date the recordings of the
	// call as it was, and do not list one added after.
	clock := &testClock{}
	ts := newTestServer(t, withClock(clock))
	created := time.Date(2025, 3, 1, 10, 30, 0, 500_000_000, time.UTC)
	added := created.Add(time.Hour)
	clock.Set(created)
	res := ts.do(t, "POST", "/calls/upsert", tokenA, recordedCallBody("dated-1", 2))
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	id := res.JSON(t)["id"].(string)
	clock.Set(added)
	res = ts.do(t, "POST", "/calls/upsert", tokenA, recordedCallBody("dated-1", 3))
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	clock.Set(added.Add(time.Hour))
	res = ts.do(t, "PATCH", "/v1/calls/"+id, tokenA, `{"notes":"a change that is no recording's"}`)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	events := ts.auditedEvents(t, id)
	require.Len(t, events, 4, "creation, status, recording added, details")
	require.Equal(t, domain.TypeCallRecordingAdded, events[2].Type)

	for _, prefix := range lamlPrefixes {
		list := lamlCallsPath(prefix, acctA) + "/" + id + "/Recordings.json"
		for _, tc := range []struct {
			name  string
			query string
			want  []time.Time // each recording's date_created and date_updated
		}{
			{"now", "", []time.Time{created, created, added}},
			{"revision before the recording", "?revision=1", []time.Time{created, created}},
			{"revision of the recording", "?revision=2", []time.Time{created, created, added}},
			{"as_of before the recording", "?as_of=" + added.Add(-time.Second).Format(time.RFC3339), []time.Time{created, created}},
			{"as_of the recording", "?as_of=" + added.Format(time.RFC3339Nano), []time.Time{created, created, added}},
		} {
			t.Run(prefix+"/"+tc.name, func(t *testing.T) {
				res := ts.lamlDo(t, "GET", list+tc.query, acctA, tokenA, "")
				require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
				items := res.JSON(t)["recordings"].([]any)
				require.Len(t, items, len(tc.want))
				for i, item := range items {
					rec := item.(map[string]any)
					want := tc.want[i].Format("Mon, 02 Jan 2006 15:04:05 +0000")
					assert.Equal(t, want, rec["date_created"], "recording %d", i)
					assert.Equal(t, want, rec["date_updated"], "recording %d", i)
					assert.Nil(t, rec["start_time"], "the ledger does not know when a recording started")
					one := ts.lamlDo(t, "GET", rec["uri"].(string)+tc.query, acctA, tokenA, "")
					require.Equal(t, http.StatusOK, one.Status, "body: %s", one.Body)
					assert.Equal(t, rec, one.JSON(t))
				}
			})
		}
		t.Run(prefix+"/fetch before the recording", func(t *testing.T) {
			now := ts.lamlDo(t, "GET", list, acctA, tokenA, "").JSON(t)["recordings"].([]any)
			later := now[2].(map[string]any)["uri"].(string)
			body := assertLAMLError(t, ts.lamlDo(t, "GET", later+"?revision=1", acctA, tokenA, ""), 404, 20404)
			assert.Contains(t, body["message"], "held no recording "+strings.TrimSuffix(path.Base(later), ".json")+" at ?revision=1", "the 404 names the point")
			mp3 := strings.TrimSuffix(later, ".json") + ".mp3"
			body = assertLAMLError(t, ts.lamlDo(t, "GET", mp3+"?revision=1", acctA, tokenA, ""), 404, 20404)
			assert.Contains(t, body["message"], "at ?revision=1", "the media's 404 too")
			body = assertLAMLError(t, ts.lamlDo(t, "GET", mp3+"?as_of=2000-01-01T00:00:00Z", acctA, tokenA, ""), 404, 20404)
			assert.NotContains(t, body["message"], "call "+id, "before the call existed, no call is named")
		})
	}
}

// recordingURLs returns the media_url of each recording of a Recordings
// list page, in order.
func recordingURLs(t testing.TB, page map[string]any) []string {
	t.Helper()
	urls := []string{}
	for _, item := range page["recordings"].([]any) {
		urls = append(urls, item.(map[string]any)["media_url"].(string))
	}
	return urls
}

// recordingURL is the media_url of recording i of recordedCallBody(pid, ...).
func recordingURL(pid string, i int) string {
	return fmt.Sprintf("https://media.example.com/%s/%d.mp3", pid, i)
}

func TestLAMLAccountRecordings(t *testing.T) {
	// Goal: GET .../Accounts/{AccountSid}/Recordings, under both prefixes,
	// with and without .json, is Twilio's list page of the account's
	// recordings, newest call first and each call's newest first; CallSid
	// keeps one call's, the DateCreated filters bound date_created, and
	// PageToken paging resumes exactly where a page stopped, in the middle
	// of a call too, even when that call gets a recording meanwhile.
	// Another account's and deleted calls' recordings are not listed.
	clock := &testClock{}
	ts := newTestServer(t, withClock(clock))
	day := func(d int) time.Time { return time.Date(2025, 3, d, 9, 0, 0, 0, time.UTC) }
	upsert := func(token, pid string, n int, start string) string {
		t.Helper()
		res := ts.do(t, "POST", "/calls/upsert", token, recordedCallBodyAt(pid, n, start))
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		return res.JSON(t)["id"].(string)
	}
	clock.Set(day(5))
	c1 := upsert(tokenA, "acct-rec-1", 3, "2025-03-01T10:00:00Z")
	upsert(tokenA, "acct-rec-2", 0, "2025-03-02T10:00:00Z")
	upsert(tokenB, "acct-rec-b", 2, "2025-03-02T11:00:00Z")
	gone := upsert(tokenA, "acct-rec-gone", 1, "2025-03-02T12:00:00Z")
	require.Equal(t, http.StatusOK, ts.do(t, "DELETE", "/v1/calls/"+gone, tokenA, "").Status)
	clock.Set(day(6))
	c3 := upsert(tokenA, "acct-rec-3", 2, "2025-03-03T10:00:00Z")
	clock.Set(day(7))
	upsert(tokenA, "acct-rec-1", 4, "2025-03-01T10:00:00Z")

	r1 := func(i int) string { return recordingURL("acct-rec-1", i) }
	r3 := func(i int) string { return recordingURL("acct-rec-3", i) }
	all := []string{r3(1), r3(0), r1(3), r1(2), r1(1), r1(0)}
	for _, prefix := range lamlPrefixes {
		for _, suffix := range []string{"", ".json"} {
			list := lamlAccountPath(prefix, acctA) + "/Recordings" + suffix
			get := func(t *testing.T, uri string) map[string]any {
				t.Helper()
				res := ts.lamlDo(t, "GET", uri, acctA, tokenA, "")
				require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
				return res.JSON(t)
			}
			t.Run(prefix+suffix+"/filters", func(t *testing.T) {
				for _, tc := range []struct {
					query string
					want  []string
				}{
					{"", all},
					{"?CallSid=" + c1, []string{r1(3), r1(2), r1(1), r1(0)}},
					{"?CallSid=" + c3, []string{r3(1), r3(0)}},
					{"?DateCreated=2025-03-06", []string{r3(1), r3(0)}},
					{"?" + url.Values{"DateCreated>": {"2025-03-06"}}.Encode(), []string{r3(1), r3(0), r1(3)}},
					{"?" + url.Values{"DateCreated<": {"2025-03-05"}}.Encode(), []string{r1(2), r1(1), r1(0)}},
					{"?" + url.Values{"DateCreated>": {"2025-03-07T09:00:00Z"}}.Encode(), []string{r1(3)}},
					{"?" + url.Values{"DateCreated>": {"2025-03-07T09:00:01Z"}}.Encode(), []string{}},
					{"?" + url.Values{"CallSid": {c1}, "DateCreated>": {"2025-03-06"}}.Encode(), []string{r1(3)}},
				} {
					page := get(t, list+tc.query)
					assert.Equal(t, tc.want, recordingURLs(t, page), tc.query)
					assert.Nil(t, page["next_page_uri"], tc.query)
					for _, f := range lamlPagingFields {
						assert.Contains(t, page, f)
					}
				}
				first := get(t, list)["recordings"].([]any)
				rec := first[2].(map[string]any)
				assert.Equal(t, c1, rec["call_sid"])
				assert.Equal(t, lamlTime(day(7)), rec["date_created"])
				call := get(t, lamlCallsPath(prefix, acctA)+"/"+c1+"/Recordings.json")["recordings"].([]any)
				assert.Equal(t, call[3], rec, "the same recording as the call's own list shows")
			})
			t.Run(prefix+suffix+"/paging", func(t *testing.T) {
				for _, size := range []int{1, 2, 3, 4, 5, 6, 7} {
					var got []string
					next := fmt.Sprintf("%s?PageSize=%d", list, size)
					for n := 0; ; n++ {
						page := get(t, next)
						assert.Equal(t, float64(n), page["page"])
						assert.Equal(t, float64(n*size), page["start"])
						switch n {
						case 0:
							assert.Nil(t, page["previous_page_uri"])
						case 1:
							assert.Equal(t, page["first_page_uri"], page["previous_page_uri"])
						}
						got = append(got, recordingURLs(t, page)...)
						uri, ok := page["next_page_uri"].(string)
						if !ok {
							break
						}
						require.Less(t, n, 10, "paging must end")
						next = uri
					}
					assert.Equal(t, all, got, "PageSize=%d", size)
				}
				// Filters are repeated in every page URI.
				q := url.Values{"DateCreated<": {"2025-03-06"}, "PageSize": {"1"}}
				page := get(t, list+"?"+q.Encode())
				next, err := url.Parse(page["next_page_uri"].(string))
				require.NoError(t, err)
				assert.Equal(t, list, next.Path)
				assert.Equal(t, "2025-03-06", next.Query().Get("DateCreated<"))
				assert.Equal(t, []string{r3(0)}, recordingURLs(t, get(t, next.String())), "the second page")
				q = url.Values{"CallSid": {c1}, "PageSize": {"3"}}
				page = get(t, list+"?"+q.Encode())
				assert.Equal(t, []string{r1(3), r1(2), r1(1)}, recordingURLs(t, page))
				// The names in another letter case, with underscores, as
				// the bodies take them.
				q = url.Values{"call_sid": {c1}, "pagesize": {"3"}}
				assert.Equal(t, []string{r1(3), r1(2), r1(1)}, recordingURLs(t, get(t, list+"?"+q.Encode())))
				next, err = url.Parse(page["next_page_uri"].(string))
				require.NoError(t, err)
				assert.Equal(t, c1, next.Query().Get("CallSid"))
				assert.Equal(t, []string{r1(0)}, recordingURLs(t, get(t, next.String())))
			})
			t.Run(prefix+suffix+"/refused", func(t *testing.T) {
				for _, tc := range []struct {
					path           string
					user, password string
					status, code   int
				}{
					{list, "", "", 401, 20003},
					{lamlAccountPath(prefix, acctB) + "/Recordings" + suffix, acctA, tokenA, 401, 20003},
					{list + "?CallSid=nope", acctA, tokenA, 400, 20001},
					{list + "?CallSid=" + gone, acctA, tokenA, 404, 20404},
					{list + "?CallSid=5d0f1f43-8a8f-4e4a-9c55-2f2b0d3c7a11", acctA, tokenA, 404, 20404},
					{lamlAccountPath(prefix, acctB) + "/Recordings" + suffix + "?CallSid=" + c1, acctB, tokenB, 404, 20404},
					{list + "?DateCreated=yesterday", acctA, tokenA, 400, 20001},
					{list + "?CallSid=" + c1 + "&CallSid=" + c1, acctA, tokenA, 400, 20001},                // given twice
					{list + "?CallSid=" + c1 + "&callsid=" + c1, acctA, tokenA, 400, 20001},                // given twice
					{list + "?DateCreated>=2025-03-01&DateCreated>=2025-03-02", acctA, tokenA, 400, 20001}, // given twice
					{list + "?CallSid=", acctA, tokenA, 400, 20001},                                        // given empty
					{list + "?DateCreated%3C=&PageSize=5", acctA, tokenA, 400, 20001},                      // given empty
					{list + "?Page=1", acctA, tokenA, 400, 20001},
					{list + "?Page=1&PageToken=nope", acctA, tokenA, 400, 20001},
					{list + "?Page=1&PageToken=" + c1 + ".0.nope", acctA, tokenA, 400, 20001},
					{list + "?revision=0", acctA, tokenA, 400, 20001},
				} {
					assertLAMLError(t, ts.lamlDo(t, "GET", tc.path, tc.user, tc.password, ""), tc.status, tc.code)
				}
			})
		}
	}

	t.Run("resume after a recording is added", func(t *testing.T) {
		// A page stopped inside acct-rec-1's recordings; one added to it
		// meanwhile is newer than where the next page resumes, so it is
		// not listed there, and nothing is listed twice or skipped.
		list := lamlAccountPath("", acctA) + "/Recordings.json"
		page := ts.lamlDo(t, "GET", list+"?PageSize=4", acctA, tokenA, "").JSON(t)
		assert.Equal(t, []string{r3(1), r3(0), r1(3), r1(2)}, recordingURLs(t, page))
		clock.Set(day(8))
		upsert(tokenA, "acct-rec-1", 5, "2025-03-01T10:00:00Z")
		next := ts.lamlDo(t, "GET", page["next_page_uri"].(string), acctA, tokenA, "")
		require.Equal(t, http.StatusOK, next.Status, "body: %s", next.Body)
		assert.Equal(t, []string{r1(1), r1(0)}, recordingURLs(t, next.JSON(t)))
		first := ts.lamlDo(t, "GET", list, acctA, tokenA, "").JSON(t)
		assert.Equal(t, []string{r3(1), r3(0), r1(4), r1(3), r1(2), r1(1), r1(0)}, recordingURLs(t, first))
	})
}

// TestLAMLAccountRecordingsResumeByPlace checks that a page of the
// account's Recordings list resumes at the call it stopped in, by that
// call's place in the list, whatever happened to the calls before it: an
// API client probe found that a token holding the call's index in a batch
// of 100 hid an untouched call's recordings when calls before it were
// deleted, and listed a recording twice when a call was added at the top.
func TestLAMLAccountRecordingsResumeByPlace(t *testing.T) {
	type recordedCall struct {
		pid   string
		n     int // recordings
		start string
	}
	// 99 calls of one recording each, the newest first in the list, and
	// below them x, of two: a page of 100 stops inside x.
	var fullBatch []recordedCall
	for i := 1; i <= 99; i++ {
		fullBatch = append(fullBatch, recordedCall{fmt.Sprintf("a%02d", i), 1, time.Date(2025, 9, 10, 0, i, 0, 0, time.UTC).Format(time.RFC3339)})
	}
	fullBatch = append(fullBatch, recordedCall{"x", 2, "2025-09-09T00:00:00Z"})
	list := lamlAccountPath("", acctA) + "/Recordings.json"
	for _, tc := range []struct {
		name  string
		calls []recordedCall
		size  int
		// between runs between the first page and the next.
		between func(t *testing.T, ts *testServer, ids map[string]string)
		// want is what the next page lists.
		want []string
	}{
		{
			name: "calls before the one stopped in deleted",
			calls: []recordedCall{{"pa", 1, "2025-09-10T00:00:00Z"}, {"pb", 1, "2025-09-09T00:00:00Z"},
				{"pc", 2, "2025-09-08T00:00:00Z"}, {"pd", 1, "2025-09-07T00:00:00Z"}},
			size: 3, // stops inside pc
			between: func(t *testing.T, ts *testServer, ids map[string]string) {
				for _, pid := range []string{"pb", "pc"} {
					require.Equal(t, http.StatusOK, ts.do(t, "DELETE", "/v1/calls/"+ids[pid], tokenA, "").Status)
				}
			},
			want: []string{recordingURL("pd", 0)},
		},
		{
			name:  "a call added at the top",
			calls: fullBatch,
			size:  100,
			between: func(t *testing.T, ts *testServer, _ map[string]string) {
				res := ts.do(t, "POST", "/calls/upsert", tokenA, recordedCallBodyAt("new", 0, "2025-09-11T00:00:00Z"))
				require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
			},
			want: []string{recordingURL("x", 0)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			ids := map[string]string{}
			for _, c := range tc.calls {
				res := ts.do(t, "POST", "/calls/upsert", tokenA, recordedCallBodyAt(c.pid, c.n, c.start))
				require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
				ids[c.pid] = res.JSON(t)["id"].(string)
			}
			res := ts.lamlDo(t, "GET", fmt.Sprintf("%s?PageSize=%d", list, tc.size), acctA, tokenA, "")
			require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
			first := res.JSON(t)
			require.Len(t, recordingURLs(t, first), tc.size)
			tc.between(t, ts, ids)
			res = ts.lamlDo(t, "GET", first["next_page_uri"].(string), acctA, tokenA, "")
			require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
			assert.Equal(t, tc.want, recordingURLs(t, res.JSON(t)))
		})
	}
}

func TestLAMLCallSidRecordingsResumeByIndex(t *testing.T) {
	// Goal: the account's Recordings list with CallSid pages by PageToken,
	// which names the recording the next page starts at: a recording added
	// to the call between two pages neither repeats one nor hides one (a
	// page number shifted by one and repeated one). A next_page_uri of an
	// older build (Page without PageToken) still pages by number, and a
	// token of one list is refused by another.
	ts := newTestServer(t)
	list := lamlAccountPath("", acctA) + "/Recordings.json"
	ids := map[string]string{}
	for pid, n := range map[string]int{"x": 5, "y": 1} {
		res := ts.do(t, "POST", "/calls/upsert", tokenA, recordedCallBody(pid, n))
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		ids[pid] = res.JSON(t)["id"].(string)
	}
	get := func(t *testing.T, uri string) map[string]any {
		t.Helper()
		res := ts.lamlDo(t, "GET", uri, acctA, tokenA, "")
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		return res.JSON(t)
	}
	x := func(i int) string { return recordingURL("x", i) }

	first := get(t, list+"?PageSize=2&CallSid="+ids["x"])
	assert.Equal(t, []string{x(4), x(3)}, recordingURLs(t, first))
	next := first["next_page_uri"].(string)
	assert.Contains(t, next, "PageToken=")
	assert.Contains(t, next, "CallSid="+ids["x"])

	// A sixth recording, added after the first page.
	res := ts.do(t, "POST", "/calls/upsert", tokenA, recordedCallBody("x", 6))
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)

	second := get(t, next)
	assert.Equal(t, []string{x(2), x(1)}, recordingURLs(t, second), "no recording repeated")
	assert.EqualValues(t, 1, second["page"])
	third := get(t, second["next_page_uri"].(string))
	assert.Equal(t, []string{x(0)}, recordingURLs(t, third))
	assert.Nil(t, third["next_page_uri"], "the last page")
	back := get(t, third["previous_page_uri"].(string))
	assert.Equal(t, []string{x(2), x(1)}, recordingURLs(t, back), "previous_page_uri leads back to the page before")
	assert.Equal(t, first["first_page_uri"], second["previous_page_uri"], "page 1 leads back to the first page")

	// An older build's next_page_uri: Page without PageToken, by number.
	old := get(t, list+"?PageSize=2&Page=1&CallSid="+ids["x"])
	assert.Equal(t, []string{x(3), x(2)}, recordingURLs(t, old))

	token, err := url.Parse(next)
	require.NoError(t, err)
	pageToken := token.Query().Get("PageToken")
	for name, uri := range map[string]string{
		"another call's list": list + "?PageSize=2&Page=1&CallSid=" + ids["y"] + "&PageToken=" + url.QueryEscape(pageToken),
		"the account's walk":  list + "?PageSize=2&Page=1&PageToken=" + url.QueryEscape(pageToken),
		"a token of the walk": list + "?PageSize=2&Page=1&CallSid=" + ids["x"] + "&PageToken=" + url.QueryEscape(walkToken(t, ts, list)),
	} {
		t.Run(name, func(t *testing.T) {
			res := ts.lamlDo(t, "GET", uri, acctA, tokenA, "")
			assert.Equal(t, http.StatusBadRequest, res.Status, "body: %s", res.Body)
			assert.Contains(t, string(res.Body), "PageToken")
		})
	}
}

// walkToken is the PageToken of the second page of the account's
// Recordings list without CallSid, of one recording a page.
func walkToken(t *testing.T, ts *testServer, list string) string {
	t.Helper()
	res := ts.lamlDo(t, "GET", list+"?PageSize=1", acctA, tokenA, "")
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	next, err := url.Parse(res.JSON(t)["next_page_uri"].(string))
	require.NoError(t, err)
	return next.Query().Get("PageToken")
}

func TestLAMLAccountRecordingsScanIsBounded(t *testing.T) {
	// Goal: one page of the account's Recordings list scans a bounded
	// number of calls: an account with more calls than the bound, whose
	// recordings are all on its oldest calls, answers pages with fewer
	// recordings than PageSize (none at first) and a next_page_uri, and
	// following next_page_uri walks it to the end, every recording
	// listed once, newest call first.
	const scanMax = 3
	ts := newTestServer(t, recordingScanMax(scanMax))
	var want []string
	for i := range 10 {
		n := 0
		switch i {
		case 0:
			n = 2
		case 1, 4:
			n = 1
		}
		pid := fmt.Sprintf("scan-%d", i)
		res := ts.do(t, "POST", "/calls/upsert", tokenA, recordedCallBodyAt(pid, n, fmt.Sprintf("2025-03-%02dT10:00:00Z", i+1)))
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		for j := range n {
			want = append([]string{recordingURL(pid, j)}, want...)
		}
	}
	next := lamlAccountPath("", acctA) + "/Recordings.json"
	var got []string
	pages := 0
	for {
		res := ts.lamlDo(t, "GET", next, acctA, tokenA, "")
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		page := res.JSON(t)
		urls := recordingURLs(t, page)
		if pages == 0 {
			assert.Empty(t, urls, "the newest calls have no recordings, and the first page scans no further")
			assert.NotNil(t, page["next_page_uri"], "more calls to scan")
		}
		got = append(got, urls...)
		pages++
		uri, ok := page["next_page_uri"].(string)
		if !ok {
			break
		}
		require.Less(t, pages, 10, "paging must end")
		next = uri
	}
	assert.Equal(t, want, got)
	assert.GreaterOrEqual(t, pages, 10/scanMax, "each page scans at most %d calls", scanMax)
}

// listHook is read models whose List runs hook once, when armed, after
// the list it answers was read: a write there lands between that read and
// any other the same request makes.
type listHook struct {
	ReadModels
	mu    sync.Mutex
	armed bool
	hook  func()
}

func (h *listHook) List(ctx context.Context, q ListQuery) (ListPage, error) {
	page, err := h.ReadModels.List(ctx, q)
	h.mu.Lock()
	armed := h.armed
	h.armed = false
	h.mu.Unlock()
	if armed {
		h.hook()
	}
	return page, err
}

func TestLAMLAccountRecordingsTokenNeedsNoSecondRead(t *testing.T) {
	// Goal: the PageToken of the account's Recordings list is made from
	// the one read of the calls the page stopped in: a call before the
	// page's last one deleted while the page is being made does not move
	// where the next page resumes, and no recording of the call the page
	// stopped in is dropped.
	hooked := &listHook{}
	ts := newTestServer(t, viewsWrapped(func(v ReadModels) ReadModels { hooked.ReadModels = v; return hooked }))
	upsert := func(pid string, n int, start string) string {
		t.Helper()
		res := ts.do(t, "POST", "/calls/upsert", tokenA, recordedCallBodyAt(pid, n, start))
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		return res.JSON(t)["id"].(string)
	}
	upsert("race-oldest", 1, "2025-02-28T10:00:00Z")
	upsert("race-old", 3, "2025-03-01T10:00:00Z")
	newer := upsert("race-new", 1, "2025-03-02T10:00:00Z")
	hooked.hook = func() {
		assert.Equal(t, http.StatusOK, ts.do(t, "DELETE", "/v1/calls/"+newer, tokenA, "").Status)
		assert.Equal(t, http.StatusNotFound, ts.lamlDo(t, "GET", lamlCallsPath("", acctA)+"/"+newer+".json", acctA, tokenA, "").Status,
			"the read models hold the deletion")
	}
	hooked.mu.Lock()
	hooked.armed = true
	hooked.mu.Unlock()
	res := ts.lamlDo(t, "GET", lamlAccountPath("", acctA)+"/Recordings.json?PageSize=2", acctA, tokenA, "")
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	page := res.JSON(t)
	old := func(i int) string { return recordingURL("race-old", i) }
	assert.Equal(t, []string{recordingURL("race-new", 0), old(2)}, recordingURLs(t, page), "read before the deletion")
	var rest []string
	for n := 0; ; n++ {
		uri, ok := page["next_page_uri"].(string)
		if !ok {
			break
		}
		require.Less(t, n, 10, "paging must end")
		res = ts.lamlDo(t, "GET", uri, acctA, tokenA, "")
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		page = res.JSON(t)
		rest = append(rest, recordingURLs(t, page)...)
	}
	assert.Equal(t, []string{old(1), old(0), recordingURL("race-oldest", 0)}, rest,
		"the rest of the call the first page stopped in, then the older call's")
}

// waitCounter is read models that count their WaitFor calls.
type waitCounter struct {
	ReadModels
	waits atomic.Int64
}

func (c *waitCounter) WaitFor(ctx context.Context, pos eventstore.Position) error {
	c.waits.Add(1)
	return c.ReadModels.WaitFor(ctx, pos)
}

func TestLAMLAccountRecordingWaitsOnce(t *testing.T) {
	// Goal: the account-level fetch of a recording waits for the read
	// models once, though it reads them twice (the recording index, then
	// the call).
	counted := &waitCounter{}
	ts := newTestServer(t, viewsWrapped(func(v ReadModels) ReadModels { counted.ReadModels = v; return counted }))
	res := ts.do(t, "POST", "/calls/upsert", tokenA, recordedCallBody("wait-once", 1))
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	id := res.JSON(t)["id"].(string)
	list := ts.lamlDo(t, "GET", lamlCallsPath("", acctA)+"/"+id+"/Recordings.json", acctA, tokenA, "")
	require.Equal(t, http.StatusOK, list.Status, "body: %s", list.Body)
	uri := list.JSON(t)["recordings"].([]any)[0].(map[string]any)["uri"].(string)
	before := counted.waits.Load()
	one := ts.lamlDo(t, "GET", uri, acctA, tokenA, "")
	require.Equal(t, http.StatusOK, one.Status, "body: %s", one.Body)
	assert.Equal(t, int64(1), counted.waits.Load()-before)
}

func TestLAMLRecordingMediaRedirectsToItsURL(t *testing.T) {
	// Goal: a recording's media, fetched as Twilio clients fetch it (its
	// uri with .mp3 or .wav for .json), is a 302 to the recording's URL,
	// where the provider keeps it, at the account-level uri and the
	// call-level one, under both prefixes, with the call's ETag; a probe
	// found it a 404. It is refused as the recording's resource is: without
	// credentials, for another account, once the call is deleted, and
	// for a revision before the recording; another suffix is no
	// recording's. Nothing follows the redirect: tests reach loopback only.
	ts := newTestServer(t)
	id := ts.upsertID(t, recordedCallBody("media-1", 1))
	ts.upsertID(t, recordedCallBody("media-1", 2)) // a later revision adds the second
	client := *ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	get := func(path, user, password string) response {
		req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		require.NoError(t, err)
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		res, err := client.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return response{Status: res.StatusCode, Header: res.Header, Body: body}
	}
	list := ts.lamlDo(t, "GET", lamlCallsPath("", acctA)+"/"+id+"/Recordings.json", acctA, tokenA, "").JSON(t)
	var sids []string
	for _, item := range list["recordings"].([]any) {
		sids = append(sids, item.(map[string]any)["sid"].(string))
	}
	require.Len(t, sids, 2)
	for _, prefix := range lamlPrefixes {
		for i, sid := range sids {
			for _, base := range []string{
				lamlAccountPath(prefix, acctA) + "/Recordings/" + sid,
				lamlCallsPath(prefix, acctA) + "/" + id + "/Recordings/" + sid,
			} {
				resource := get(base+".json", acctA, tokenA)
				require.Equal(t, http.StatusOK, resource.Status, "body: %s", resource.Body)
				for _, suffix := range []string{".mp3", ".wav"} {
					res := get(base+suffix, acctA, tokenA)
					require.Equal(t, http.StatusFound, res.Status, "%s: %s", base+suffix, res.Body)
					assert.Equal(t, recordingURL("media-1", i), res.Header.Get("Location"))
					assert.Equal(t, resource.Header.Get("ETag"), res.Header.Get("ETag"))
					assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
				}
			}
		}
		media := lamlAccountPath(prefix, acctA) + "/Recordings/" + sids[1] + ".mp3"
		assertLAMLError(t, get(media, "", ""), 401, 20003)
		assertLAMLError(t, get(lamlAccountPath(prefix, acctB)+"/Recordings/"+sids[1]+".mp3", acctB, tokenB), 404, 20404)
		assertLAMLError(t, get(media+"?revision=0", acctA, tokenA), 404, 20404)
		now := strings.Trim(get(media, acctA, tokenA).Header.Get("ETag"), `"`)
		assert.Equal(t, http.StatusFound, get(media+"?revision="+now, acctA, tokenA).Status)
		assertLAMLError(t, get(lamlAccountPath(prefix, acctA)+"/Recordings/"+sids[1]+".ogg", acctA, tokenA), 404, 20404)
	}
	require.Equal(t, http.StatusOK, ts.do(t, "DELETE", "/v1/calls/"+id, tokenA, "").Status)
	assertLAMLError(t, get(lamlAccountPath("", acctA)+"/Recordings/"+sids[0]+".wav", acctA, tokenA), 404, 20404)
}

// TestLAMLAccountRecordingsOlderToken checks that a PageToken of an older
// build, which held the list cursor of the batch of calls the page stopped
// in and the call's index there (skip), still resumes at that call.
func TestLAMLAccountRecordingsOlderToken(t *testing.T) {
	ts := newTestServer(t)
	var ids []uuid.UUID
	for i, pid := range []string{"oa", "ob", "oc"} {
		res := ts.do(t, "POST", "/calls/upsert", tokenA, recordedCallBodyAt(pid, 2, fmt.Sprintf("2025-09-1%dT00:00:00Z", 3-i)))
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		ids = append(ids, uuid.MustParse(res.JSON(t)["id"].(string)))
	}
	// Written as the older build wrote it after a page of three: the first
	// batch (no cursor), ob at index 1 there, its older recording next.
	token := lamlRecordingToken{given: true, skip: 1, call: ids[1], next: 0}.String()
	res := ts.lamlDo(t, "GET", lamlAccountPath("", acctA)+"/Recordings.json?Page=1&PageSize=3&PageToken="+token, acctA, tokenA, "")
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.Equal(t, []string{recordingURL("ob", 0), recordingURL("oc", 1), recordingURL("oc", 0)}, recordingURLs(t, res.JSON(t)))
}

func TestLAMLRecordingMediaRedirectsToAnASCIIHost(t *testing.T) {
	// Goal: a recording whose URL names an internationalized host
	// (médias.example.com) redirects to that host's ASCII form
	// (xn--mdias-bsa.example.com), port kept, the path's non-ASCII
	// percent-encoded as before, where http.Redirect percent-encoded the
	// host too, which names no host (a security probe).
	ts := newTestServer(t)
	for _, tc := range []struct{ url, location string }{
		{"https://médias.example.com/é.mp3", "https://xn--mdias-bsa.example.com/%C3%A9.mp3"},
		{"https://médias.example.com:8443/r.mp3?x=é", "https://xn--mdias-bsa.example.com:8443/r.mp3?x=%c3%a9"},
		{"https://plain.example.com/é.mp3", "https://plain.example.com/%c3%a9.mp3"}, // as http.Redirect escapes,
	} {
		t.Run(tc.url, func(t *testing.T) {
			pid := "idn-" + strconv.Itoa(len(tc.url))
			body := strings.Replace(recordedCallBody(pid, 2), "https://media.example.com/"+pid+"/1.mp3", tc.url, 1)
			id := ts.upsertID(t, body)
			list := ts.lamlDo(t, "GET", lamlCallsPath("", acctA)+"/"+id+"/Recordings.json", acctA, tokenA, "").JSON(t)
			var sid string
			for _, item := range list["recordings"].([]any) {
				if rec := item.(map[string]any); rec["media_url"] == tc.url {
					sid = rec["sid"].(string)
				}
			}
			require.NotEmpty(t, sid, "list: %v", list)
			client := *ts.Client()
			client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			req, err := http.NewRequest(http.MethodGet, ts.URL+lamlAccountPath("", acctA)+"/Recordings/"+sid+".mp3", nil)
			require.NoError(t, err)
			req.SetBasicAuth(acctA, tokenA)
			res, err := client.Do(req)
			require.NoError(t, err)
			res.Body.Close()
			require.Equal(t, http.StatusFound, res.StatusCode)
			assert.Equal(t, tc.location, res.Header.Get("Location"))
		})
	}
}
