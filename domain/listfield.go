package domain

import "strconv"

// ListField names element I of the list field List ("participants[1]") in
// errors. Validation loops make one per element but format it only for an
// error, so that checking a valid request formats no field names (every
// write checks each participant, recording and cue twice: as the surface
// decodes it and as Decide checks it).
type ListField struct {
	List string
	I    int
}

// String is the element's name: "participants[1]".
func (f ListField) String() string { return f.List + "[" + strconv.Itoa(f.I) + "]" }

// Sub names a field of the element: "participants[1].phone".
func (f ListField) Sub(name string) string { return f.String() + "." + name }
