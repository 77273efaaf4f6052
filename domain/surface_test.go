package domain_test

import (
	"testing"

	"github.com/callledger/callledger/domain"
	"github.com/stretchr/testify/assert"
)

// TestStatusWords pins each surface's status vocabulary.
func TestStatusWords(t *testing.T) {
	type row struct {
		word string
		want domain.Status
		ok   bool
	}
	check := func(t *testing.T, parse func(string) (domain.Status, bool), rows []row) {
		t.Helper()
		for _, r := range rows {
			got, ok := parse(r.word)
			assert.Equal(t, r.ok, ok, r.word)
			assert.Equal(t, r.want, got, r.word)
		}
	}
	t.Run("Moonbase", func(t *testing.T) {
		check(t, domain.ParseMoonbaseStatus, []row{
			{"queued", domain.StatusQueued, true}, {"initiated", domain.StatusQueued, true},
			{"ringing", domain.StatusRinging, true}, {"in-progress", domain.StatusInProgress, true},
			{"in_progress", domain.StatusInProgress, true}, {"Answered", domain.StatusInProgress, true},
			{"active", domain.StatusInProgress, true}, {"completed", domain.StatusCompleted, true},
			{"ended", domain.StatusCompleted, true}, {"voicemail", domain.StatusCompleted, true},
			{"busy", domain.StatusBusy, true}, {"failed", domain.StatusFailed, true},
			{"no-answer", domain.StatusNoAnswer, true}, {"no_answer", domain.StatusNoAnswer, true},
			{"missed", domain.StatusNoAnswer, true}, {"canceled", domain.StatusCanceled, true},
			{"cancelled", domain.StatusCanceled, true}, {"transferring", "", false}, {"", "", false},
			{" No Answer ", domain.StatusNoAnswer, true}, {"IN PROGRESS", domain.StatusInProgress, true},
		})
	})
	t.Run("call history", func(t *testing.T) {
		check(t, domain.ParseCallHistoryStatus, []row{
			{"completed", domain.StatusCompleted, true}, {"no-answer", domain.StatusNoAnswer, true},
			{"Completed", "", false}, {"bogus", "", false},
		})
	})
	t.Run("VoiceCall", func(t *testing.T) {
		check(t, domain.ParseVoiceCallStatus, []row{
			{"INCOMING_CALL", domain.StatusRinging, true}, {"ANSWERED_BY_STAFF", domain.StatusInProgress, true},
			{"ANSWERED_BY_CALLS_PROVIDER", domain.StatusInProgress, true}, {"MISSED", domain.StatusNoAnswer, true},
			{"MISSED_CALL_HANDLED", domain.StatusNoAnswer, true}, {"VOICEMAIL_RECEIVED", domain.StatusCompleted, true},
			{"missed", "", false}, {"RINGING", "", false},
		})
	})
	t.Run("LaML", func(t *testing.T) {
		for _, s := range domain.Statuses() {
			got, ok := domain.ParseLaMLStatus(string(s))
			assert.True(t, ok)
			assert.Equal(t, s, got)
			assert.Equal(t, string(s), domain.LaMLStatusWord(s))
		}
		check(t, domain.ParseLaMLStatus, []row{{"initiated", "", false}, {"Completed", "", false}})
		check(t, domain.ParseLaMLStatusFilter, []row{{"initiated", domain.StatusQueued, true}, {"busy", domain.StatusBusy, true}})
	})
	t.Run("VoiceCall words back", func(t *testing.T) {
		for _, s := range domain.Statuses() {
			for _, answered := range []bool{false, true} {
				_, ok := domain.ParseVoiceCallStatus(domain.VoiceCallStatusWord(s, answered))
				assert.True(t, ok, "%s, answered %v", s, answered)
			}
		}
	})
	t.Run("VoiceCall fallback words", func(t *testing.T) {
		// Goal (QA issue 3): a call completed without an answer reads
		// VOICEMAIL_RECEIVED, not ANSWERED_BY_STAFF: nobody picked up.
		for _, r := range []struct {
			status   domain.Status
			answered bool
			want     string
		}{
			{domain.StatusQueued, false, domain.VoiceCallIncomingCall},
			{domain.StatusRinging, false, domain.VoiceCallIncomingCall},
			{domain.StatusInProgress, true, domain.VoiceCallAnsweredByStaff},
			{domain.StatusInProgress, false, domain.VoiceCallAnsweredByStaff},
			{domain.StatusCompleted, true, domain.VoiceCallAnsweredByStaff},
			{domain.StatusCompleted, false, domain.VoiceCallVoicemailReceived},
			{domain.StatusNoAnswer, false, domain.VoiceCallMissed},
			{domain.StatusBusy, false, domain.VoiceCallMissed},
			{domain.StatusFailed, false, domain.VoiceCallMissed},
			{domain.StatusCanceled, false, domain.VoiceCallMissed},
		} {
			assert.Equal(t, r.want, domain.VoiceCallStatusWord(r.status, r.answered), "%s, answered %v", r.status, r.answered)
		}
	})
}

// TestDirectionWords pins each surface's direction words, both ways.
func TestDirectionWords(t *testing.T) {
	in, out := domain.DirectionInbound, domain.DirectionOutbound
	for _, r := range []struct {
		parse func(string) (domain.Direction, bool)
		word  string
		want  domain.Direction
		ok    bool
	}{
		{domain.ParseMoonbaseDirection, "incoming", in, true},
		{domain.ParseMoonbaseDirection, "outgoing", out, true},
		{domain.ParseMoonbaseDirection, "inbound", "", false},
		{domain.ParseCallHistoryDirection, "outbound", out, true},
		{domain.ParseCallHistoryDirection, "OUTBOUND", "", false},
		{domain.ParseVoiceCallDirection, "INBOUND", in, true},
		{domain.ParseVoiceCallDirection, "OUTBOUND", out, true},
		{domain.ParseVoiceCallDirection, "inbound", "", false},
		{domain.ParseLaMLDirection, "inbound", in, true},
		{domain.ParseLaMLDirection, "outbound-api", out, true},
		{domain.ParseLaMLDirection, "outbound-dial", out, true},
		{domain.ParseLaMLDirection, "incoming", "", false},
	} {
		got, ok := r.parse(r.word)
		assert.Equal(t, r.ok, ok, r.word)
		assert.Equal(t, r.want, got, r.word)
	}
	assert.Equal(t, "incoming", domain.MoonbaseDirectionWord(in))
	assert.Equal(t, "outgoing", domain.MoonbaseDirectionWord(out))
	assert.Equal(t, "outbound", domain.CallHistoryDirectionWord(out))
	assert.Equal(t, "INBOUND", domain.VoiceCallDirectionWord(in))
	assert.Equal(t, "OUTBOUND", domain.VoiceCallDirectionWord(out))
	assert.Equal(t, "inbound", domain.LaMLDirectionWord(in, false))
	assert.Equal(t, "outbound-api", domain.LaMLDirectionWord(out, false))
	assert.Equal(t, "outbound-dial", domain.LaMLDirectionWord(out, true))
}
