package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

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
// status is completed, and what the ledger does not know (dates, duration,
// channels, price, source) is null. subresource_uris is empty: the ledger
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

// renderLAMLRecording builds the LaML view of recording rec of call c, whose
// sid (lamlRecordingSID) the caller has already, its uri under callPath, the
// call's own (lamlCallPath).
func renderLAMLRecording(c *domain.Call, rec domain.Recording, sid, callPath string) lamlRecording {
	return lamlRecording{
		SID:             sid,
		AccountSID:      c.AccountID,
		CallSID:         c.ID.String(),
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
// PageSize and Page, then the call (serveCall), and answers the page that
// render makes of the call.
func (s *Server) serveLAMLCallList(w http.ResponseWriter, r *http.Request, render func(*domain.Call, lamlPager) any) {
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
	s.serveCall(w, r, lamlSid, false, s.lamlError, func(c *domain.Call) (any, error) { return render(c, pg), nil })
}

// listLAMLRecordings handles GET .../Calls/{Sid}/Recordings.
func (s *Server) listLAMLRecordings(w http.ResponseWriter, r *http.Request) {
	s.serveLAMLCallList(w, r, func(c *domain.Call, pg lamlPager) any {
		lo, hi, paging := pg.cut(len(c.Recordings))
		out := lamlRecordingList{Recordings: make([]lamlRecording, 0, hi-lo), lamlPaging: paging}
		callPath := lamlCallPath(c, lamlRequestPrefix(r))
		for _, rec := range c.Recordings[lo:hi] {
			out.Recordings = append(out.Recordings, renderLAMLRecording(c, rec, lamlRecordingSID(c.ID, rec), callPath))
		}
		return out
	})
}

// listLAMLNotifications handles GET .../Calls/{Sid}/Notifications.
func (s *Server) listLAMLNotifications(w http.ResponseWriter, r *http.Request) {
	s.serveLAMLCallList(w, r, func(_ *domain.Call, pg lamlPager) any {
		_, _, paging := pg.cut(0)
		return lamlNotificationList{Notifications: []struct{}{}, lamlPaging: paging}
	})
}

// getLAMLRecording handles GET .../Calls/{Sid}/Recordings/{RecordingSid}: a
// sid the call has no recording of is a 404.
func (s *Server) getLAMLRecording(w http.ResponseWriter, r *http.Request) {
	sid := strings.TrimSuffix(chi.URLParam(r, "RecordingSid"), ".json")
	s.serveCall(w, r, lamlSid, false, s.lamlError, func(c *domain.Call) (any, error) {
		for _, rec := range c.Recordings {
			if lamlRecordingSID(c.ID, rec) == sid {
				return renderLAMLRecording(c, rec, sid, lamlCallPath(c, lamlRequestPrefix(r))), nil
			}
		}
		return nil, NotFound("call %s has no recording %q", c.ID, truncate(sid, 64))
	})
}
