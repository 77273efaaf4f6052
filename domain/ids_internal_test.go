package domain

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"

	"github.com/callledger/callledger/domain/jsonwrite"
)

// TestDerivedIDsAreStable checks the derived ids against uuid.NewSHA1 over
// the names they were first derived from: call, person and participant ids
// are stored and handed to clients, so their derivation must never change.
func TestDerivedIDsAreStable(t *testing.T) {
	call := uuid.MustParse("0a3bd5e2-9b4c-4f0e-8d7a-1c2b3a4d5e6f")
	long := strings.Repeat("x", 400) // past nameUUID's scratch buffer
	rows := []struct {
		name string
		got  uuid.UUID
		want uuid.UUID
	}{
		{"call", CallIDFor("acct", " OpenPhone ", "op_6"), uuid.NewSHA1(namespaceCall, []byte("acct\x00openphone\x00op_6"))},
		{"call, long provider id", CallIDFor("acct", "vonage", long), uuid.NewSHA1(namespaceCall, []byte("acct\x00vonage\x00"+long))},
		{"person", PersonID("acct", "+14155551212"), uuid.NewSHA1(namespacePerson, []byte("acct\x00+14155551212"))},
		{"participant", ParticipantID(call, RoleCallee, "+16505551212"),
			uuid.NewSHA1(namespaceParticipant, []byte(call.String()+"\x00callee\x00+16505551212"))},
		{"participant, long phone", ParticipantID(call, RoleOther, long),
			uuid.NewSHA1(namespaceParticipant, []byte(call.String()+"\x00other\x00"+long))},
	}
	for _, row := range rows {
		assert.Equal(t, row.want, row.got, row.name)
	}
}

// TestUUIDTextIsUUIDString holds jsonwrite.AppendUUID, and StreamID built on it, to
// uuid.UUID.String: stream ids are a stored format.
func TestUUIDTextIsUUIDString(t *testing.T) {
	ids := []uuid.UUID{uuid.Nil, uuid.Max, uuid.MustParse("0a3bd5e2-9b4c-4f0e-8d7a-1c2b3a4d5e6f")}
	for range 1000 {
		ids = append(ids, uuid.New())
	}
	for _, id := range ids {
		assert.Equal(t, id.String(), string(jsonwrite.AppendUUID([]byte("x"), id)[1:]))
		assert.Equal(t, "call-"+id.String(), StreamID(id))
	}
}
