// Package domain is the heart of callledger: the canonical Call, the commands
// that ask to change it, the events that record each change, and the two pure
// functions of the decider pattern that connect them:
//
//	Decide(state, command) → events, or a *Error saying why not
//	Evolve(state, event)   → state
//
// Both are pure: no I/O, no clock, no randomness. Everything they need (the
// time, the ids) arrives in the command or the event. The package imports only
// the standard library, uuid and decimal (the ISO 4217 codes it accepts are a
// list of its own: currencyAssigned); storage, HTTP and projections stand on
// it and never the other way round.
//
// A call's history is its stream of events, one stream per call (StreamID).
// Every stored event type name (the EventType constants) and the JSON shape of
// its data are a stored format: once written they never change meaning. A new
// shape gets a new schema version, and the decoder upgrades old versions.
package domain
