package api

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"golang.org/x/net/idna"

	"github.com/callledger/callledger/domain"
)

// The subresources every LaML call advertises in its subresource_uris
// (renderLAMLCall), served so that no link the ledger hands out is dead:
//
//	GET .../Calls/{Sid}/Recordings[.json]                 the call's recordings, a Twilio list page
//	GET .../Calls/{Sid}/Recordings/{RecordingSid}[.json]  one of them
//	GET .../Calls/{Sid}/Recordings/{RecordingSid}.mp3|.wav its media: a 302 to its URL
//	GET .../Calls/{Sid}/Notifications[.json]              a Twilio list page, always empty
//
// The recordings are the ones the call holds (Moonbase upserts carry them:
// content_type, provider_id, url), rendered as SignalWire's Recording
// resource: sid is a UUID derived from the call and the recording's
// identity (its provider id, or its URL without one: what the domain tells
// recordings apart by), media_url (Twilio's name) is the recording's URL,
// status is completed, date_created is when the ledger recorded the write
// that added the recording (its event's metadata time), read from the
// call's stream (callRecordingDates), and date_updated the same, also
// after a write changed the recording's url or content_type (a
// CallRecordingChanged: the dates say when it was added, as the recording
// index keeps them), and what the ledger does not
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
//
// A recording's media, which Twilio serves at its uri with .mp3 or .wav for
// .json (and Twilio clients fetch so), is not the ledger's: it holds the
// recording's URL, where the provider keeps it, and answers a 302 to that
// URL (answerLAMLRecording), in whatever format the provider recorded
// (content_type), for either suffix. The call's account and deletion, and
// ?revision and ?as_of, are checked as for the resource.
//
// The account's recordings, Twilio's account-level Recordings resource:
//
//	GET .../Accounts/{AccountSid}/Recordings[.json]              a Twilio list page
//	GET .../Accounts/{AccountSid}/Recordings/{RecordingSid}[.json]  one recording: its uri
//
// A recording's uri is this account-level one, as on Twilio (the call-level
// path still answers). The sid alone does not name the call (it is derived
// from the call's id), so the fetch finds the call in the read models'
// recording index (ReadModels.RecordingCall), then reads it as the
// call-level fetch does: another account's recording or a deleted call's is
// a 404, and ?revision and ?as_of show it as the call held it then.
//
// The list
// shows them newest first: with CallSid one call's (paged by PageToken), without
// it the account's calls walked through the list index, newest start first,
// each call's recordings newest first (listLAMLAccountRecordings), with a
// PageToken that resumes at the call and recording where a page stopped.
// A page scans at most lamlRecordingScanCallsMax calls: one that stops
// there holds fewer than PageSize recordings, with a next_page_uri.
// The DateCreated filters apply to date_created. Lists show the present:
// ?revision and ?as_of are refused there, as on the Calls list.

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
	return rec.SID(callID).String()
}

// callRecordingDates reads call id's stream through revision rev, the
// revision its view from the read models was read at, so that the dates
// are those of the recordings shown (a view read at ?revision or ?as_of
// was folded from the stream, and dated them then: CallView.recordingDates),
// and returns when the ledger learnt of each recording the call held then,
// in the order of its Recordings: the time (event metadata Time) of the
// event that added it to the call, its date_created and its date_updated
// both: a later change of its url or content_type keeps its place and
// its date (domain.Evolve appends recordings and changes them in place,
// never removes or moves one, which the account list's PageToken relies
// on too). A view
// of the read models is dated from their recording index when it can be
// (lamlRecordingDatesOf); this reads the stream, for a view folded at a
// revision, a call of many recordings, or an index of an earlier build,
// whose entries hold no times. The stream is
// folded as time travel folds it (foldCall: bounded, a missing stream a
// 404), with domain's fold, so that any event that adds a
// recording (a creating CallUpserted, a CallRecordingAdded, or one a later
// build adds) dates it, with no list of event types here to fall behind.
//
// A long call's fold, with its dates, is kept (Server.recordingDates), so
// that the next request folds only the events after it: a scale probe
// found every page of a call of 98,000 recordings, whatever its size, and
// every one of its recordings fetched alone, taking 0.3-0.8 s to fold the
// whole stream again, and a walk of its recordings at Twilio's page size
// some 20 minutes.
func (s *Server) callRecordingDates(ctx context.Context, id uuid.UUID, rev uint64) ([]time.Time, error) {
	stream := domain.StreamID(id)
	if kept, at, ok := s.recordingDates.get(stream); ok && at <= rev {
		if dated, ok := s.foldRecordingDates(ctx, stream, kept, at, rev); ok {
			return dated.dates, nil
		}
	}
	var dates []time.Time
	state, err := s.foldCall(ctx, id, TimeTravel{Revision: rev, HasRevision: true}, func(state *domain.State, env domain.Envelope) {
		dates = dateNewRecordings(dates, state, env)
	})
	if err != nil {
		return nil, fmt.Errorf("read call %s for its recordings' dates: %w", id, err)
	}
	if last, ok := state.Revision(); ok {
		s.recordingDates.keep(stream, datedRecordings{state: state, dates: slices.Clip(dates)}, last)
	}
	return dates, nil
}

// datedRecordings is a call folded up to a revision, with the dates of its
// recordings (callRecordingDates). Its dates' capacity is their length, so
// that appending to them copies them: a kept one is shared.
type datedRecordings struct {
	state domain.State
	dates []time.Time
}

// foldRecordingDates folds the events of stream after revision at, through
// rev, onto kept, and keeps the result; ok is false when it could not (an
// event unreadable, a read that failed or came short), for the caller to
// fold the whole stream as time travel does.
func (s *Server) foldRecordingDates(ctx context.Context, stream string, kept datedRecordings, at, rev uint64) (datedRecordings, bool) {
	if at == rev {
		return kept, true
	}
	recs, err := s.store.ReadStream(ctx, stream, at+1, int(rev-at))
	if err != nil || len(recs) == 0 || recs[len(recs)-1].Revision != rev {
		return datedRecordings{}, false
	}
	var folding domain.Folding
	for i := range recs {
		env, err := decodeRecord(&recs[i])
		if err != nil {
			return datedRecordings{}, false
		}
		folding.EvolveInPlace(&kept.state, env)
		kept.dates = dateNewRecordings(kept.dates, &kept.state, env)
	}
	kept.dates = slices.Clip(kept.dates)
	s.recordingDates.keep(stream, kept, rev)
	return kept, true
}

// dateNewRecordings returns dates, the times of the recordings state held
// before env was folded into it, with env's time appended for each
// recording the event added: recordings are only ever appended, so those
// past len(dates) are the new ones.
func dateNewRecordings(dates []time.Time, state *domain.State, env domain.Envelope) []time.Time {
	for len(dates) < len(state.Call.Recordings) {
		dates = append(dates, env.Metadata.Time.UTC())
	}
	return dates
}

// renderLAMLRecording builds the LaML view of recording rec of call c, whose
// sid (lamlRecordingSID) the caller has already, dated by created, when
// the ledger learnt of it (callRecordingDates), its uri Twilio's account-level one under
// accountPath (lamlAccountPath of the prefix used).
func renderLAMLRecording(c *domain.Call, rec domain.Recording, created time.Time, sid, accountPath string) lamlRecording {
	return lamlRecording{
		SID:             sid,
		AccountSID:      c.AccountID,
		CallSID:         c.ID.String(),
		DateCreated:     lamlTimePtr(&created),
		DateUpdated:     lamlTimePtr(&created), // the date it was added, also after a change (callRecordingDates)
		APIVersion:      lamlAPIVersion,
		PriceUnit:       lamlUnpricedCurrency,
		Status:          "completed",
		MediaURL:        rec.URL,
		URI:             accountPath + "/Recordings/" + sid + ".json",
		SubresourceURIs: map[string]string{},
	}
}

// lamlPager is the page of a call's subresource list a request asks for.
type lamlPager struct {
	r          *http.Request
	size, page int
	// params are the request's parameters every page URI repeats: its
	// revision and as_of, if given (a read of the call as it was keeps
	// reading it so, page after page), or a list's filters.
	params url.Values
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
	path, asOf := pg.r.URL.Path, pg.params
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
			if pg.params == nil {
				pg.params = url.Values{}
			}
			pg.params[k] = v
		}
	}
	v, err := s.readLAMLCall(r)
	s.answerCallView(w, r, v, err, s.lamlError, func(v *CallView) (any, error) { return render(v, pg) })
}

// lamlRecordingsOf returns the dates of every recording of the call v, as
// it stands at v's revision, from its stream (callRecordingDates), and
// render, which renders the i-th so dated: a page renders its own only (a
// scale probe found every page of a call of 20,000 recordings rendering
// them all).
func (s *Server) lamlRecordingsOf(r *http.Request, v *CallView) (render func(i int) lamlRecording, dates []time.Time, err error) {
	c := &v.Call
	if len(c.Recordings) > 0 { // else no stream to read
		if dates, err = s.lamlRecordingDatesOf(r, v); err != nil {
			return nil, nil, err
		}
	}
	accountPath := lamlAccountPath(lamlRequestPrefix(r), c.AccountID)
	return func(i int) lamlRecording {
		rec := c.Recordings[i]
		return renderLAMLRecording(c, rec, dates[i], lamlRecordingSID(c.ID, rec), accountPath)
	}, dates, nil
}

// indexDatedRecordingsMax is the most recordings of one call that
// lamlRecordingDatesOf dates from the read models' index, one read each;
// a call with more is dated from its events, whose fold a long call keeps
// (Server.recordingDates), so that each page of its recordings reads only
// the events after it.
const indexDatedRecordingsMax = 256

// lamlRecordingDatesOf returns the dates of each recording of the call v,
// as it stands at v's revision, checked to be one for each of its
// recordings: those v was folded with, else the read models' (a view of
// theirs, of at most indexDatedRecordingsMax recordings), else its
// events' (callRecordingDates). A scale probe found a page of the
// account's recordings reading and folding the whole stream of every call
// it listed: 0.4 s for 1,000 calls of 100 events each.
func (s *Server) lamlRecordingDatesOf(r *http.Request, v *CallView) ([]time.Time, error) {
	c := &v.Call
	dates := v.recordingDates
	if !v.folded {
		dated := false
		if len(c.Recordings) <= indexDatedRecordingsMax {
			var err error
			if dates, dated, err = s.views.RecordingDates(r.Context(), c.ID, c.Recordings); err != nil {
				return nil, err
			}
		}
		if !dated {
			var err error
			if dates, err = s.callRecordingDates(r.Context(), c.ID, v.Revision); err != nil {
				return nil, err
			}
		}
	}
	if len(dates) != len(c.Recordings) {
		return nil, fmt.Errorf("call %s at revision %d: the view holds %d recordings, its stream %d",
			c.ID, v.Revision, len(c.Recordings), len(dates))
	}
	return dates, nil
}

// listLAMLRecordings handles GET .../Calls/{Sid}/Recordings.
func (s *Server) listLAMLRecordings(w http.ResponseWriter, r *http.Request) {
	s.serveLAMLCallList(w, r, func(v *CallView, pg lamlPager) (any, error) {
		render, _, err := s.lamlRecordingsOf(r, v)
		if err != nil {
			return nil, err
		}
		lo, hi, paging := pg.cut(len(v.Call.Recordings))
		recs := make([]lamlRecording, 0, hi-lo)
		for i := lo; i < hi; i++ {
			recs = append(recs, render(i))
		}
		return lamlRecordingList{Recordings: recs, lamlPaging: paging}, nil
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
	rsid, media, err := lamlRecordingSIDParam(r)
	if err != nil {
		s.writeError(w, r, s.lamlError, err)
		return
	}
	v, err := s.readLAMLCall(r)
	s.answerLAMLRecording(w, r, v, err, rsid, media)
}

// answerLAMLRecording answers a GET of the recording rsid of call v, read
// by the caller (err: the failure of reading it): its resource, or, when
// media, a 302 to the recording's URL, where its media is.
func (s *Server) answerLAMLRecording(w http.ResponseWriter, r *http.Request, v CallView, err error, rsid uuid.UUID, media bool) {
	if !media || err != nil {
		s.answerCallView(w, r, v, err, s.lamlError, func(v *CallView) (any, error) { return s.lamlRecordingOf(r, v, rsid) })
		return
	}
	i, err := recordingIndex(r, &v.Call, rsid)
	if err != nil {
		s.writeError(w, r, s.lamlError, err)
		return
	}
	w.Header().Set("ETag", ETag(v.Revision))
	http.Redirect(w, r, asciiHost(v.Call.Recordings[i].URL), http.StatusFound)
}

// asciiHost returns the URL raw with its host, when it is not ASCII (an
// internationalized domain name, which the ledger takes as browsers take
// IRIs), in its ASCII form (IDNA: "médias.example.com" is
// "xn--mdias-bsa.example.com"): http.Redirect percent-encodes every byte
// beyond ASCII, as a path's must be, and a host so encoded names no host
// (a security probe found the 302 of such a recording leading nowhere). A
// host IDNA refuses is left as it is.
func asciiHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || isASCII(u.Host) {
		return raw
	}
	host, err := idna.Lookup.ToASCII(u.Hostname())
	if err != nil {
		return raw
	}
	if port := u.Port(); port != "" {
		host = net.JoinHostPort(host, port)
	}
	u.Host = host
	return u.String()
}

// isASCII reports whether s holds only ASCII bytes.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// lamlRecordingSIDParam reads the route's {RecordingSid}, a UUID as a
// call's sid is (in either letter case, ParseCallID), and its suffix:
// ".json" or none is the recording's resource, ".mp3" or ".wav" its media
// (media is true). Anything else is no recording's, a 404.
func lamlRecordingSIDParam(r *http.Request) (rsid uuid.UUID, media bool, err error) {
	sid := chi.URLParam(r, "RecordingSid")
	if i := strings.LastIndexByte(sid, '.'); i >= 0 {
		switch sid[i:] {
		case ".json":
			sid = sid[:i]
		case ".mp3", ".wav":
			sid, media = sid[:i], true
		}
	}
	rsid, err = ParseCallID(sid)
	if err != nil {
		return uuid.Nil, false, NotFound("no recording %q", truncate(sid, 64))
	}
	return rsid, media, nil
}

// noRecording is the 404 of a recording sid that names no recording the
// caller can read.
func noRecording(rsid uuid.UUID) error { return NotFound("no recording %s", rsid) }

// recordingIndex is the index in c.Recordings of the recording whose sid
// is rsid, or a 404 if c (as read by r, which may ask for a past state)
// holds none: one read at ?revision or ?as_of names the point (the sid
// may be one added later, or one the call never had).
func recordingIndex(r *http.Request, c *domain.Call, rsid uuid.UUID) (int, error) {
	i := slices.IndexFunc(c.Recordings, func(rec domain.Recording) bool { return rec.SID(c.ID) == rsid })
	if i >= 0 {
		return i, nil
	}
	q := r.URL.Query()
	if name := timeTravelParam(q); name != "" {
		return 0, NotFound("call %s held no recording %s at ?%s=%s", c.ID, rsid, name, truncate(q.Get(name), 64))
	}
	return 0, NotFound("call %s has no recording %s", c.ID, rsid)
}

// getLAMLAccountRecording handles GET .../Accounts/{AccountSid}/Recordings/{RecordingSid},
// a recording's uri: the recording index of the read models names the call
// that holds it (ReadModels.RecordingCall; the sid, derived from the call's
// id, cannot name it), which is then read as GET .../Calls/{Sid} reads it.
// So another account's recording, a deleted call's, one the call did not
// hold yet at ?revision or ?as_of, and a sid that is no recording's are all
// a 404, and the answer carries the call's ETag.
func (s *Server) getLAMLAccountRecording(w http.ResponseWriter, r *http.Request) {
	rsid, media, err := lamlRecordingSIDParam(r)
	if err != nil {
		s.writeError(w, r, s.lamlError, err)
		return
	}
	v, err := s.readRecordingCall(r, rsid)
	s.answerLAMLRecording(w, r, v, err, rsid, media)
}

// readRecordingCall reads the call that holds the recording rsid as
// ReadCallAt reads a call, with one wait for the read models serving both
// of their reads: the recording index, then the call. A call it cannot
// read (another account's, deleted, not yet created at ?as_of) is a 404
// that names the recording alone, as an unknown recording's does: the
// call's 404 would tell another account the id of the call that holds the
// recording, and that the recording exists.
func (s *Server) readRecordingCall(r *http.Request, rsid uuid.UUID) (CallView, error) {
	ctx := r.Context()
	if err := s.awaitWrites(ctx); err != nil {
		return CallView{}, err
	}
	id, err := s.views.RecordingCall(ctx, rsid)
	if err != nil {
		return CallView{}, err
	}
	t, err := ParseTimeTravel(r)
	if err != nil {
		return CallView{}, err
	}
	v, err := s.readCallAt(ctx, id, t, false)
	if domain.ErrorCodeOf(err) == domain.ErrNotFound {
		return CallView{}, noRecording(rsid)
	}
	return v, err
}

// lamlRecordingOf renders the recording of call v whose sid is rsid, dated
// from the call's stream, or a 404 if the call (as read) holds none.
func (s *Server) lamlRecordingOf(r *http.Request, v *CallView, rsid uuid.UUID) (any, error) {
	c := &v.Call
	i, err := recordingIndex(r, c, rsid)
	if err != nil {
		return nil, err
	}
	dates, err := s.lamlRecordingDatesOf(r, v)
	if err != nil {
		return nil, err
	}
	return renderLAMLRecording(c, c.Recordings[i], dates[i], rsid.String(), lamlAccountPath(lamlRequestPrefix(r), c.AccountID)), nil
}

// lamlRecordingWalkCalls is how many calls the account's Recordings list
// reads from the list index at a time while it looks for recordings.
const lamlRecordingWalkCalls = 100

// lamlRecordingScanCallsMax bounds the work of one page of the account's
// Recordings list: it scans at most this many calls (reading the stream of
// each that has recordings) and, if the account has more, answers the
// recordings found so far, fewer than PageSize or none, with a
// next_page_uri that resumes the scan where it stopped. An account with
// few recordings among many calls is so listed over several requests
// rather than in one that scans it whole. Server.recordingScanMax is it,
// but for tests.
const lamlRecordingScanCallsMax = 1000

// lamlRecordingQuery is a parsed GET .../Accounts/{AccountSid}/Recordings.
type lamlRecordingQuery struct {
	size, page int
	// callID is the CallSid filter; uuid.Nil lists every call's recordings.
	callID uuid.UUID
	// from (inclusive) and until (exclusive) bound date_created; nil is
	// unbounded.
	from, until *time.Time
	// token is the PageToken that resumes the walk of the account's calls.
	token lamlRecordingToken
	// filters are the filter parameters as given, which page URIs repeat.
	filters url.Values
}

// lamlRecordingFilterNames are the filters of the account's Recordings
// list, in the order page URIs repeat them.
var lamlRecordingFilterNames = [...]string{"CallSid", "DateCreated", "DateCreated<", "DateCreated>"}

// decodeLAMLRecordingList reads the query of GET .../Recordings: Twilio's
// paging, CallSid (a call's sid, a UUID: a malformed one is a 400, as
// ParentCallSid is on the call list) and the DateCreated filters, read as
// the call list reads StartTime (lamlTimeBounds) and applied to each
// recording's date_created. Time travel is refused, as on every list.
func decodeLAMLRecordingList(q url.Values) (lamlRecordingQuery, error) {
	q = lamlQueryNames(q, append(lamlRecordingFilterNames[:], lamlPagingNames[:]...))
	out := lamlRecordingQuery{filters: url.Values{}}
	if err := refuseTimeTravel(q); err != nil {
		return out, err
	}
	var err error
	if out.size, out.page, err = decodeLAMLPaging(q); err != nil {
		return out, err
	}
	if err := givenOnce(q, lamlRecordingFilterNames[:]...); err != nil {
		return out, err // as the Calls list: read as its first value, it narrowed silently
	}
	if err := filtersNotEmpty(q, lamlRecordingFilterNames[:]...); err != nil {
		return out, err // as the Calls list: read as left out, it widened silently
	}
	for _, name := range lamlRecordingFilterNames {
		if v := q.Get(name); v != "" {
			out.filters.Set(name, v)
		}
	}
	if out.callID, err = parseLAMLSidFilter(q, "CallSid"); err != nil {
		return out, err
	}
	for _, name := range lamlRecordingFilterNames[1:] {
		if err := narrowLAMLTimeBounds(q, name, &out.from, &out.until); err != nil {
			return out, err
		}
	}
	if out.token, err = parseLAMLRecordingToken(q.Get("PageToken")); err != nil {
		return out, err
	}
	// With CallSid, a Page without a PageToken is the next_page_uri of an
	// older build, which paged one call's recordings by number: it still
	// pages so (lamlCallRecordingPage).
	if out.callID == uuid.Nil && out.page > 0 && !out.token.given {
		return out, Invalid("Page", "Page %d needs the PageToken of the previous page's next_page_uri", out.page)
	}
	return out, nil
}

// matches reports whether a recording created at `created` passes the
// DateCreated filters.
func (q *lamlRecordingQuery) matches(created time.Time) bool {
	return (q.from == nil || !created.Before(*q.from)) && (q.until == nil || created.Before(*q.until))
}

// mayMatch reports whether a recording of c can pass the DateCreated
// filters: its date_created is the time of one of c's events, so between
// c's first (CreatedAt) and last (UpdatedAt). A call that cannot is
// skipped without reading its stream.
func (q *lamlRecordingQuery) mayMatch(c *domain.Call) bool {
	return (q.from == nil || !c.UpdatedAt.Before(*q.from)) && (q.until == nil || c.CreatedAt.Before(*q.until))
}

// lamlRecordingToken is where a page of the account's Recordings list
// resumes the walk of its calls: the list cursor (ListQuery.Cursor) of the
// place of the call before call, the call the page stopped at (so that
// the list from it begins with call), and within call the recording with
// index next in the call's Recordings and those before it, older. A place
// is a start time and an id, not a call: whatever happens to the call
// before meanwhile, and whatever calls are added before it, the walk
// resumes with call, or, were call gone (deleted, its start moved), with
// the call after it, so that no call the walk has not reached is skipped
// and none it has listed is listed again. (Its index in a batch of 100,
// which tokens held before, hid calls when calls before it were deleted,
// and repeated recordings when a call was added at the top.) Recordings
// are only ever appended to a call, so that index keeps naming the same
// recording whatever is added meanwhile. skip is read only from tokens of
// older builds (see lamlAccountRecordingPage); new ones hold 0. A token of
// the scan's bound (lamlRecordingScanCallsMax) names no call: its cursor
// is past the calls scanned. The Recordings list with CallSid uses the
// same token, with call its call, next where its next page starts, and
// lamlCallRecordingsCursor as its cursor.
type lamlRecordingToken struct {
	given  bool
	cursor string
	skip   int
	call   uuid.UUID
	next   int
}

// String writes the token as PageToken carries it:
// "call.next.skip.cursor.check" (a cursor has no dot), where check is the
// CRC-32C of the rest in 8 hex digits. The list cursor checks itself
// (projections' cursors carry a CRC-32C), but call, next and skip would
// not: one changed by hand would resume the walk elsewhere in the
// caller's list rather than be refused.
func (t lamlRecordingToken) String() string {
	body := t.call.String() + "." + strconv.Itoa(t.next) + "." + strconv.Itoa(t.skip) + "." + t.cursor
	return body + "." + lamlTokenCheck(body)
}

// lamlTokenCheck is the check a PageToken ends with: the CRC-32C of body,
// in 8 lower-case hex digits.
func lamlTokenCheck(body string) string {
	return fmt.Sprintf("%08x", crc32.Checksum([]byte(body), crc32.MakeTable(crc32.Castagnoli)))
}

// parseLAMLRecordingToken reads a PageToken written by String; "" is no
// token, and anything else is a 400 naming PageToken. A cursor the read models did not
// give out is refused when the walk reads it (ListQuery.CursorParam).
func parseLAMLRecordingToken(v string) (lamlRecordingToken, error) {
	if v == "" {
		return lamlRecordingToken{}, nil
	}
	bad := Malformed("PageToken", "is not a PageToken this API gave out")
	i := strings.LastIndexByte(v, '.')
	if i < 0 || lamlTokenCheck(v[:i]) != v[i+1:] {
		return lamlRecordingToken{}, bad
	}
	body := v[:i]
	parts := strings.Split(body, ".")
	if len(parts) != 4 {
		return lamlRecordingToken{}, bad
	}
	call, err := uuid.Parse(parts[0])
	if err != nil {
		return lamlRecordingToken{}, bad
	}
	next, err := strconv.Atoi(parts[1])
	if err != nil || next < 0 {
		return lamlRecordingToken{}, bad
	}
	skip, err := strconv.Atoi(parts[2])
	if err != nil || skip < 0 {
		return lamlRecordingToken{}, bad
	}
	return lamlRecordingToken{given: true, cursor: parts[3], skip: skip, call: call, next: next}, nil
}

// listLAMLAccountRecordings handles GET .../Accounts/{AccountSid}/Recordings:
// Twilio's list page of the account's recordings, newest first. With
// CallSid it is that call's (a 404 if the call is not the account's, or
// deleted), paged by PageToken (lamlCallRecordingPage). Without,
// it walks the account's calls through the list index (newest start first,
// deleted calls left out, as the call list lists them) and each call's
// recordings newest first (lamlRecordingsOf: a read of the call's stream for
// each call that has recordings), until it has a page and one more
// recording, which the next page's PageToken resumes at, or it has scanned
// lamlRecordingScanCallsMax calls, where the next page's PageToken resumes
// the scan: a page may so hold fewer than PageSize recordings, none even,
// with more to come at its next_page_uri.
func (s *Server) listLAMLAccountRecordings(w http.ResponseWriter, r *http.Request) {
	lq, err := decodeLAMLRecordingList(r.URL.Query())
	if err != nil {
		s.writeError(w, r, s.lamlError, err)
		return
	}
	var page lamlRecordingList
	if lq.callID != uuid.Nil {
		page, err = s.lamlCallRecordingPage(r, lq)
	} else {
		page, err = s.lamlAccountRecordingPage(r, lq)
	}
	if err != nil {
		s.writeError(w, r, s.lamlError, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, page)
}

// lamlNewestMatching returns the indexes in v's Recordings of those that
// pass lq's filters, newest first, up to and including index top, and
// render, which renders the recording at an index (lamlRecordingsOf): the
// caller renders those of its page only.
func (s *Server) lamlNewestMatching(r *http.Request, lq *lamlRecordingQuery, v *CallView, top int) (render func(i int) lamlRecording, idx []int, err error) {
	if top < 0 || !lq.mayMatch(&v.Call) {
		return nil, nil, nil
	}
	render, dates, err := s.lamlRecordingsOf(r, v)
	if err != nil {
		return nil, nil, err
	}
	for i := min(top, len(dates)-1); i >= 0; i-- {
		if lq.matches(dates[i]) {
			idx = append(idx, i)
		}
	}
	return render, idx, nil
}

// renderedAt renders the recordings at idx with render.
func renderedAt(render func(i int) lamlRecording, idx []int) []lamlRecording {
	out := make([]lamlRecording, len(idx))
	for k, i := range idx {
		out[k] = render(i)
	}
	return out
}

// lamlCallRecordingsCursor is the cursor of the PageTokens of the
// Recordings list with CallSid: that list walks no calls, and the walk
// refuses the token (no read model gave the cursor out), so that a token
// of one list given to the other is a 400.
const lamlCallRecordingsCursor = "call"

// lamlCallRecordingPage is the account's Recordings list with CallSid: a
// page of that call's recordings, newest first. A CallSid that is no call
// of the account's is read as a signalwire provider id too, as a {Sid} is
// (onCallSid). The next page's PageToken names the first recording it
// holds by its index in the call's Recordings, which only ever grow at the
// end: a recording added between two pages is not listed (it is newer than
// the first page's), and none is listed twice, where a page number would
// have shifted by one and repeated one; previous_page_uri leads to the
// PageSize recordings newer than the page's (the first page's URI when
// those are the newest). A Page without a PageToken (the next_page_uri of
// an older build) is cut by number as before.
func (s *Server) lamlCallRecordingPage(r *http.Request, lq lamlRecordingQuery) (lamlRecordingList, error) {
	ctx := r.Context()
	v, err := onCallSid(ctx, lq.filters.Get("CallSid"), lq.callID, nil, func(id uuid.UUID) (CallView, error) {
		return s.ReadCall(ctx, id, false)
	})
	if isNotFound(err) {
		err = domain.Errorf(domain.ErrNotFound, "CallSid", "no call with sid %s", lq.callID)
	}
	if err != nil {
		return lamlRecordingList{}, err
	}
	if lq.token.given && (lq.token.cursor != lamlCallRecordingsCursor || lq.token.call != v.Call.ID) {
		return lamlRecordingList{}, Malformed("PageToken", "is not a PageToken of the Recordings of CallSid %s", lq.filters.Get("CallSid"))
	}
	render, idx, err := s.lamlNewestMatching(r, &lq, &v, len(v.Call.Recordings)-1)
	if err != nil {
		return lamlRecordingList{}, err
	}
	if lq.page > 0 && !lq.token.given {
		lo, hi, paging := lamlPager{r: r, size: lq.size, page: lq.page, params: lq.filters}.cut(len(idx))
		return lamlRecordingList{Recordings: renderedAt(render, idx[lo:hi]), lamlPaging: paging}, nil
	}
	// The page starts at the token's recording, or the newest older one
	// that matches (idx is descending); the previous page is the PageSize
	// matching recordings newer than it.
	lo := 0
	if lq.token.given {
		lo, _ = slices.BinarySearchFunc(idx, lq.token.next, func(i, next int) int { return cmp.Compare(next, i) })
	}
	hi := min(lo+lq.size, len(idx))
	tokenAt := func(i int) string {
		return lamlRecordingToken{given: true, cursor: lamlCallRecordingsCursor, call: v.Call.ID, next: idx[i]}.String()
	}
	var next, prev string
	if hi < len(idx) {
		next = tokenAt(hi)
	}
	if lo-lq.size > 0 {
		prev = tokenAt(lo - lq.size)
	}
	out := lamlRecordingList{Recordings: renderedAt(render, idx[lo:hi])}
	out.lamlPaging = cursorLAMLPaging(r, lq.filters, lq.size, lq.page, hi-lo, next, prev)
	return out, nil
}

// lamlAccountRecordingPage is the account's Recordings list without
// CallSid: the walk of its calls that listLAMLAccountRecordings describes,
// from lq's PageToken.
func (s *Server) lamlAccountRecordingPage(r *http.Request, lq lamlRecordingQuery) (lamlRecordingList, error) {
	ctx := r.Context()
	account := AccountFrom(ctx)
	if err := s.awaitWrites(ctx); err != nil {
		return lamlRecordingList{}, err
	}
	list := func(cursor string, limit int) (ListPage, error) {
		return s.views.List(ctx, ListQuery{Account: account, Limit: limit, Cursor: cursor, CursorParam: "PageToken"})
	}
	out := lamlRecordingList{Recordings: []lamlRecording{}}
	var next *lamlRecordingToken
	cursor, resume := lq.token.cursor, lq.token.given
	scanned := 0
walk:
	for {
		calls, err := list(cursor, min(lamlRecordingWalkCalls, s.recordingScanMax-scanned))
		if err != nil {
			return lamlRecordingList{}, err
		}
		scanned += len(calls.Calls)
		first := 0
		if resume && lq.token.skip > 0 {
			// A token of an older build: its cursor is the batch the
			// previous page stopped in, and skip where its call was
			// there. Skip to the call, or past as many calls if it
			// has gone.
			first = slices.IndexFunc(calls.Calls, func(v CallView) bool { return v.Call.ID == lq.token.call })
			if first < 0 {
				first = min(lq.token.skip, len(calls.Calls))
			}
		}
		resume = false
		for ci := first; ci < len(calls.Calls); ci++ {
			v := &calls.Calls[ci]
			top := len(v.Call.Recordings) - 1
			if lq.token.given && v.Call.ID == lq.token.call {
				top = min(top, lq.token.next)
			}
			render, idx, err := s.lamlNewestMatching(r, &lq, v, top)
			if err != nil {
				return lamlRecordingList{}, err
			}
			for i, at := range idx {
				if len(out.Recordings) < lq.size {
					out.Recordings = append(out.Recordings, render(at))
					continue
				}
				// The first recording of the next page: its token
				// holds the place of the call before its call, from
				// which the list goes on with its call, or, were it
				// gone, with the call after it. (Read models that do
				// not give places get the older token: the batch's
				// cursor and the call's index there.)
				next = &lamlRecordingToken{given: true, cursor: cursor, skip: ci, call: v.Call.ID, next: idx[i]}
				if ci > 0 {
					if at := calls.CursorAt(ci - 1); at != "" {
						next.cursor, next.skip = at, 0
					}
				}
				break walk
			}
		}
		if calls.Next == "" {
			break
		}
		cursor = calls.Next
		if scanned >= s.recordingScanMax {
			// The scan's bound: the next page resumes after the
			// calls scanned, at no call in particular.
			next = &lamlRecordingToken{given: true, cursor: cursor}
			break
		}
	}
	var token string
	if next != nil {
		token = next.String()
	}
	// No cursor leads back: previous_page_uri is the first page's on page
	// 1, and null beyond it.
	out.lamlPaging = cursorLAMLPaging(r, lq.filters, lq.size, lq.page, len(out.Recordings), token, "")
	return out, nil
}
