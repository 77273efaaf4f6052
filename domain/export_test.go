package domain

// Unexported names the external tests (package domain_test) use.
var (
	// TiedTimes is tiedTimes: whether a call's duration is what its times
	// give, which the rule on times (timing.go) keeps so through upserts
	// that give no duration, or no end.
	TiedTimes = tiedTimes

	// FillLeaf is fillLeaf, the leaf filler of the schema version test.
	FillLeaf = fillLeaf
)
