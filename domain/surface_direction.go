package domain

// Each surface spells the two directions its own way. These functions map a
// surface's word onto Direction (Parse...) and back (...Word); the Parse
// functions are exact, as each surface's enum is, and return false for
// anything else.

// ParseMoonbaseDirection maps Moonbase's incoming/outgoing.
func ParseMoonbaseDirection(word string) (Direction, bool) {
	switch word {
	case "incoming":
		return DirectionInbound, true
	case "outgoing":
		return DirectionOutbound, true
	}
	return "", false
}

// MoonbaseDirectionWord is the Moonbase word for d: incoming or outgoing.
func MoonbaseDirectionWord(d Direction) string {
	if d == DirectionOutbound {
		return "outgoing"
	}
	return "incoming"
}

// ParseCallHistoryDirection maps the call-history type: inbound/outbound.
func ParseCallHistoryDirection(word string) (Direction, bool) {
	if d := Direction(word); d.Valid() {
		return d, true
	}
	return "", false
}

// CallHistoryDirectionWord is the call-history type for d.
func CallHistoryDirectionWord(d Direction) string { return string(d) }

// ParseVoiceCallDirection maps VoiceCall's INBOUND/OUTBOUND (upper case only).
func ParseVoiceCallDirection(word string) (Direction, bool) {
	switch word {
	case "INBOUND":
		return DirectionInbound, true
	case "OUTBOUND":
		return DirectionOutbound, true
	}
	return "", false
}

// VoiceCallDirectionWord is the VoiceCall word for d.
func VoiceCallDirectionWord(d Direction) string {
	if d == DirectionOutbound {
		return "OUTBOUND"
	}
	return "INBOUND"
}

// ParseLaMLDirection maps LaML's inbound, outbound-api and outbound-dial.
// LaML's two outbound words differ only in how the call was placed (by the
// REST API, or by a <Dial> of a parent call), which the ledger records as the
// parent call, so both are outbound.
func ParseLaMLDirection(word string) (Direction, bool) {
	switch word {
	case "inbound":
		return DirectionInbound, true
	case "outbound-api", "outbound-dial", "outbound":
		return DirectionOutbound, true
	}
	return "", false
}

// LaMLDirectionWord is the LaML word for d: an outbound call with a parent
// call was dialled from it (outbound-dial), any other was placed through the
// API (outbound-api).
func LaMLDirectionWord(d Direction, hasParent bool) string {
	switch {
	case d != DirectionOutbound:
		return "inbound"
	case hasParent:
		return "outbound-dial"
	}
	return "outbound-api"
}

// Valid reports whether d is one of the two directions.
func (d Direction) Valid() bool { return d == DirectionInbound || d == DirectionOutbound }
