package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/callledger/callledger/domain"
)

// The subresources every LaML call advertises in its subresource_uris
// (renderLAMLCall), served so that no link the ledger hands out is dead:
//
//	GET .../Calls/{Sid}/Recordings[.json]                 the call's recordings, a Twilio list page
//	GET .../Calls/{Sid}/Recordings/{RecordingSid}[.json]  one of them (its uri)
//	GET .../Calls/{Sid}/Notifications[.json]              a Twilio list page, always empty
//
// The recordings are the ones the call holds (Moonbase upserts carry them:
// content_type, provider_id, url), rendered as SignalWire's Recording
// resource: sid is a UUID derived from the call and the recording's
// identity (its provider id, or its URL without one: what the domain tells
// recordings apart by), media_url (Twilio's name) is the recording's URL,
// status is completed, date_created is when the ledger recorded the write
// that added the recording (its event's metadata time) and date_updated that
// of the last write that changed it (date_created while none has), both read
// from the call's stream (callRecordingDates), and what the ledger does not
// know (start_time: when the recording started, which no surface sends;
// duration, channels, price, source) is null. subresource_uris is empty: the ledger
// keeps no transcriptions of a recording to link to. Twilio's call
// notifications are the errors and warnings its own webhooks met; the
// ledger makes no webhook requests, so a call has none.
//
// As on GET .../Calls/{Sid}, another account's call and a deleted call are a
// 404 (20404), ?revision and ?as_of show the call as it was, and the answer
// carries the call's ETag. Paging is Twilio's PageSize and Page: a call's
// recordings are few and held whole in its view, so a page is a slice of
// them and needs no PageToken.

// lamlRecording is a recording as SignalWire's Compatibility API renders it.
type lamlRecording struct {
	SID             string            `json:"sid"`
	AccountSID      string            `json:"account_sid"`
	CallSID         string            `json:"call_sid"`
	ConferenceSID   *string           `json:"conference_sid"`
	APIVersion      string            `json:"api_version"`
	DateCreated     *string           `json:"date_created"`
	DateUpdated     *string           `json:"date_updated"`
	StartTime       *string           `json:"start_time"`
	EndTime         *string           `json:"end_time"`
	Duration        *string           `json:"duration"`
	Channels        *int              `json:"channels"`
	Price           json.RawMessage   `json:"price"`
	PriceUnit       string            `json:"price_unit"`
	Source          *string           `json:"source"`
	Status          string            `json:"status"`
	ErrorCode       *int              `json:"error_code"`
	MediaURL        string            `json:"media_url"`
	URI             string            `json:"uri"`
	SubresourceURIs map[string]string `json:"subresource_uris"`
}

// lamlRecordingList is Twilio's page of a call's Recordings list.
type lamlRecordingList struct {
	Recordings []lamlRecording `json:"recordings"`
	lamlPaging
}

// lamlNotificationList is Twilio's page of a call's Notifications list.
type lamlNotificationList struct {
	Notifications []struct{} `json:"notifications"`
	lamlPaging
}

// lamlRecordingSID is the sid of recording rec of call callID: stable
// across reads, and different for every recording the call can hold.
func lamlRecordingSID(callID uuid.UUID, rec domain.Recording) string {
	return uuid.NewSHA1(callID, []byte(rec.Identity())).String()
}

// lamlRecordingDates is when the ledger learnt of a recording: created is
// the time (event metadata Time) of the event that added it to its call,
// updated that of the last event that changed it, equal to created while
// none has (no event changes a recording once added: domain.Evolve only
// appends them).
type lamlRecordingDates struct{ created, updated time.Time }

// callRecordingDates reads call id's stream through revision rev, the
// revision the call was read at (its view's, or the past one ?revision or
// ?as_of asked for), so that the dates are those of the recordings shown,
// and returns the dates of each recording the call held then, in the order
// of its Recordings. The read models keep no recording times (a call view is
// the call's state, which has none): the recordings routes are rare, so they
// pay a read of one stream rather than the read models a format change.
// The stream is folded with domain.EvolveInPlace, so that any event that
// adds or changes a recording (a creating CallUpserted, a
// CallRecordingAdded, or one a later build adds) dates it, with no list of
// event types here to fall behind.
func (s *Server) callRecordingDates(ctx context.Context, id uuid.UUID, rev uint64) ([]lamlRecordingDates, error) {
	stream := domain.StreamID(id)
	var (
		state domain.State
		dates []lamlRecordingDates
	)
	for from := uint64(0); from <= rev; {
		recs, err := s.store.ReadStream(ctx, stream, from, AuditPageEventsMax)
		if err != nil {
			return nil, fmt.Errorf("read %s for its recordings' dates: %w", stream, err)
		}
		if len(recs) == 0 {
			break
		}
		for i := range recs {
			rec := &recs[i]
			if rec.Revision > rev {
				return dates, nil
			}
			env, err := decodeRecord(rec)
			if err != nil {
				return nil, err
			}
			before := state.Call.Recordings
			domain.EvolveInPlace(&state, env)
			if after := state.Call.Recordings; !slices.Equal(before, after) {
				dates = redateRecordings(before, after, dates, env.Metadata.Time.UTC())
			}
		}
		from = recs[len(recs)-1].Revision + 1
	}
	return dates, nil
}

// redateRecordings returns the dates of recordings after, an event at `at`
// having turned them from before, whose dates were dates: a recording
// before held (the same identity) keeps its date_created, and its
// date_updated unless the event changed it; any other is new, dated at.
func redateRecordings(before, after []domain.Recording, dates []lamlRecordingDates, at time.Time) []lamlRecordingDates {
	out := make([]lamlRecordingDates, len(after))
	for i, rec := range after {
		out[i] = lamlRecordingDates{created: at, updated: at}
		j := slices.IndexFunc(before, func(b domain.Recording) bool { return b.Identity() == rec.Identity() })
		if j < 0 || j >= len(dates) {
			continue
		}
		out[i].created = dates[j].created
		if before[j] == rec {
			out[i].updated = dates[j].updated
		}
	}
	return out
}

// renderLAMLRecording builds the LaML view of recording rec of call c, whose
// sid (lamlRecordingSID) the caller has already, its uri under callPath, the
// call's own (lamlCallPath), dated by dates (callRecordingDates).
func renderLAMLRecording(c *domain.Call, rec domain.Recording, dates lamlRecordingDates, sid, callPath string) lamlRecording {
	return lamlRecording{
		SID:             sid,
		AccountSID:      c.AccountID,
		CallSID:         c.ID.String(),
		DateCreated:     lamlTimePtr(&dates.created),
		DateUpdated:     lamlTimePtr(&dates.updated),
		APIVersion:      lamlAPIVersion,
		PriceUnit:       lamlUnpricedCurrency,
		Status:          "completed",
		MediaURL:        rec.URL,
		URI:             callPath + "/Recordings/" + sid + ".json",
		SubresourceURIs: map[string]string{},
	}
}

// lamlPager is the page of a call's subresource list a request asks for.
type lamlPager struct {
	r          *http.Request
	size, page int
	// asOf holds the request's revision and as_of, if given: a read of the
	// call as it was keeps reading it so, page after page.
	asOf url.Values
}

// A page's start, Page×PageSize, fits an int (decodeLAMLPaging bounds
// both): cut computes it without a guard. This fails to compile if the
// bounds grow past that.
const _ int = lamlPageMax * lamlPageSizeMax

// cut returns the bounds [lo, hi) of the page in a list of n items, and
// the page's paging fields.
func (pg lamlPager) cut(n int) (lo, hi int, paging lamlPaging) {
	lo = min(pg.page*pg.size, n) // a page past the end is empty
	hi = min(lo+pg.size, n)
	paging = newLAMLPaging(pg.r, pg.size, pg.page, hi-lo)
	path, asOf := pg.r.URL.Path, pg.asOf
	paging.FirstPageURI = lamlPageURI(path, asOf, pg.size, 0, "")
	if hi < n {
		next := lamlPageURI(path, asOf, pg.size, pg.page+1, "")
		paging.NextPageURI = &next
	}
	if pg.page > 0 {
		prev := lamlPageURI(path, asOf, pg.size, pg.page-1, "")
		paging.PreviousPageURI = &prev
	}
	return lo, hi, paging
}

// serveLAMLCallList serves a list subresource of the path's call: it reads
// PageSize and Page, then the call (serveCallView), and answers the page
// that render makes of the call.
func (s *Server) serveLAMLCallList(w http.ResponseWriter, r *http.Request, render func(*CallView, lamlPager) (any, error)) {
	query := r.URL.Query()
	size, page, err := decodeLAMLPaging(query)
	if err != nil {
		s.writeError(w, r, s.lamlError, err)
		return
	}
	pg := lamlPager{r: r, size: size, page: page}
	for _, k := range timeTravelParams {
		if v, ok := query[k]; ok {
			if pg.asOf == nil {
				pg.asOf = url.Values{}
			}
			pg.asOf[k] = v
		}
	}
	s.serveCallView(w, r, lamlSid, false, s.lamlError, func(v *CallView) (any, error) { return render(v, pg) })
}

// lamlRecordingsOf renders every recording of the call v, as it stands at
// v's revision, dated from its stream (callRecordingDates).
func (s *Server) lamlRecordingsOf(r *http.Request, v *CallView) ([]lamlRecording, error) {
	c := &v.Call
	if len(c.Recordings) == 0 {
		return []lamlRecording{}, nil // no stream to read
	}
	dates, err := s.callRecordingDates(r.Context(), c.ID, v.Revision)
	if err != nil {
		return nil, err
	}
	if len(dates) != len(c.Recordings) {
		return nil, fmt.Errorf("call %s at revision %d: the view holds %d recordings, its stream %d",
			c.ID, v.Revision, len(c.Recordings), len(dates))
	}
	callPath := lamlCallPath(c, lamlRequestPrefix(r))
	out := make([]lamlRecording, len(c.Recordings))
	for i, rec := range c.Recordings {
		out[i] = renderLAMLRecording(c, rec, dates[i], lamlRecordingSID(c.ID, rec), callPath)
	}
	return out, nil
}

// listLAMLRecordings handles GET .../Calls/{Sid}/Recordings.
func (s *Server) listLAMLRecordings(w http.ResponseWriter, r *http.Request) {
	s.serveLAMLCallList(w, r, func(v *CallView, pg lamlPager) (any, error) {
		recs, err := s.lamlRecordingsOf(r, v)
		if err != nil {
			return nil, err
		}
		lo, hi, paging := pg.cut(len(recs))
		return lamlRecordingList{Recordings: recs[lo:hi], lamlPaging: paging}, nil
	})
}

// listLAMLNotifications handles GET .../Calls/{Sid}/Notifications.
func (s *Server) listLAMLNotifications(w http.ResponseWriter, r *http.Request) {
	s.serveLAMLCallList(w, r, func(_ *CallView, pg lamlPager) (any, error) {
		_, _, paging := pg.cut(0)
		return lamlNotificationList{Notifications: []struct{}{}, lamlPaging: paging}, nil
	})
}

// getLAMLRecording handles GET .../Calls/{Sid}/Recordings/{RecordingSid}: a
// sid the call has no recording of is a 404.
func (s *Server) getLAMLRecording(w http.ResponseWriter, r *http.Request) {
	sid := strings.TrimSuffix(chi.URLParam(r, "RecordingSid"), ".json")
	s.serveCallView(w, r, lamlSid, false, s.lamlError, func(v *CallView) (any, error) {
		i := slices.IndexFunc(v.Call.Recordings, func(rec domain.Recording) bool { return lamlRecordingSID(v.Call.ID, rec) == sid })
		if i < 0 {
			return nil, NotFound("call %s has no recording %q", v.Call.ID, truncate(sid, 64))
		}
		recs, err := s.lamlRecordingsOf(r, v)
		if err != nil {
			return nil, err
		}
		return recs[i], nil
	})
}
