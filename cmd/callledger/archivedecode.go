package main

import (
	"fmt"

	"github.com/callledger/callledger/domain"
	"github.com/callledger/callledger/eventstore"
	"github.com/callledger/callledger/projections"
)

// archiveDecoder decodes each call event of an archive as the read models
// would once it is imported (domain.UnmarshalEnvelope, the projector's
// decoder), so that verify --in finds the events a store would hold but
// the read models leave out (a forged archive whose hashes were recomputed
// over bytes this build cannot read, an archive of a newer build's events)
// before the archive is imported, rather than after, when verify on the
// store lists them. It counts such events and keeps the first
// failuresShown, in the read models' own terms (projections.Failure).
//
// It does not fold the events: that needs every call's state at once
// (memory proportional to the archive's calls, where verify --in streams a
// file of any size); an event that decodes but breaks an invariant of its
// call is found by verify on the store once the archive is imported. Its
// zero value is ready to use.
type archiveDecoder struct {
	failures readModelFailures
}

// check decodes rec, an event the archive's chains vouch for. Events of
// streams that are not calls' are not the read models' and are skipped, as
// the projector skips them.
func (d *archiveDecoder) check(rec *eventstore.Record) {
	if _, ok := domain.CallIDFromStream(rec.StreamID); !ok {
		return
	}
	if _, err := domain.UnmarshalEnvelope(rec.Type, rec.Data, rec.Metadata); err != nil {
		d.failures.count++
		if len(d.failures.shown) < failuresShown {
			d.failures.shown = append(d.failures.shown, projections.Failure{
				Position: rec.Position, StreamID: rec.StreamID, Revision: rec.Revision,
				EventID: rec.ID.String(), Type: rec.Type, Error: err.Error(),
			})
		}
	}
}

// summary words what check found in one sentence, for verify's error.
func (d *archiveDecoder) summary() string {
	return d.failures.sentence(fmt.Sprintf("%d %s of the archive cannot be decoded", d.failures.count, plural(d.failures.count, "event", "events")))
}
