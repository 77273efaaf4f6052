package api

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestJSONStringPathAt(t *testing.T) {
	// Goal: the path of the string holding a given byte, read from the
	// structure alone (escaped quotes and brackets inside strings are
	// text), with list indices and keys as the error messages name them;
	// "" where no value holds it or the body nests deeper than
	// encoding/json reads.
	deep := `{"a":` + strings.Repeat("[", jsonWalkDepthMax+5) + `"x"`
	for _, tc := range []struct {
		name string
		body string
		at   string // the byte to find: the first occurrence of at in body
		want string
	}{
		{"Top", `{"a":"xy"}`, "y", "a"},
		{"Nested", `{"p":[{"r":"a"},{"r":"b","q":"zz"}]}`, "zz", "p[1].q"},
		{"AfterTextThatLooksLikeStructure", `{"a":"[,{\"}","b":["u","v"]}`, "v", "b[1]"},
		{"Key", `{"a":{"k":1,"bad":2}}`, "bad", "a.bad"},
		{"EscapedKey", `{"a\u0062":"x1"}`, "x1", "ab"},
		{"AfterNumbersAndLiterals", `{"n":[1.5e3,true,null,-2],"s":"t"}`, `"t"`, "s"},
		{"InANumber", `{"a":123}`, "2", "a"},
		{"BetweenValues", `{"a":1 , "b":2}`, ",", ""},
		// A byte outside any string starts no value: nothing holds it (a
		// verification probe saw the member before it named).
		{"OutsideStringsAfterAMember", "{\"d\":\"out\",\xff\"p\":\"x\"}", "\xff", ""},
		{"OutsideStringsAfterAList", "{\"p\":[1,2]\xff,\"x\":1}", "\xff", ""},
		// A key is a string a ':' follows: a missing comma shifts nothing.
		{"MissingComma", `{"a":"x" "b":"yz"}`, "yz", "b"},
		// Keys the messages cannot spell end the path at their parent.
		{"KeyWithADot", `{"m":{"a.b":"zz"}}`, "zz", "m"},
		{"KeyWithAnEscape", `{"m":{"k":{"x\u0000":"zz"}}}`, "zz", "m.k"},
		// A value where a key goes names no key (fuzzing found a panic
		// on the first: a string cut short, no ':' after it).
		{"StringWhereAKeyGoesCutShort", `{"\ud800`, `\ud800`, ""},
		{"StringWhereAKeyGoes", `{"m":{"zz"}}`, "zz", "m"},
		{"NumberWhereAKeyGoes", `{"m":{12}}`, "2", "m"},
		// A string after a member's value, a comma or not between, is
		// no member's value (a verification probe saw provider_id named).
		{"StrayStringAfterAComma", `{"p":"ok","bad"}`, "bad", ""},
		{"StrayStringWithoutAComma", `{"p":"ok" "bad"}`, "bad", ""},
		{"StrayObjectAfterAComma", `{"p":1,{"a":"zz"}}`, "zz", ""},
		{"KeylessObject", `{"x" {"a":"zz"}}`, "zz", ""},
		{"NextMemberAfterAStray", `{"p":"ok","bad","q":"zz"}`, "zz", "q"},
		{"TooDeep", deep, `"x`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, jsonStringPathAt([]byte(tc.body), strings.Index(tc.body, tc.at)))
		})
	}
}

func TestJSONPathAt(t *testing.T) {
	// Goal: the path of the value that ends at an offset (where
	// encoding/json reports a type error), as before the byte walker.
	body := `{"participants":[{"phone":"+1"},{"role":7}],"x":{"y":[true]}}`
	for _, tc := range []struct {
		after string // the value's text: the offset is just past it
		want  string
	}{
		{`7`, "participants[1].role"},
		{`"+1"`, "participants[0].phone"},
		{`{"y":`, ""},
		{`[true`, "x.y[0]"},
	} {
		assert.Equal(t, tc.want, jsonPathAt([]byte(body), int64(strings.Index(body, tc.after)+len(tc.after))), tc.after)
	}
}

func TestFieldPathIn(t *testing.T) {
	// Goal: a path is named only when its first key is a field of the
	// body's type: an extra key (ignored by the decoders), one spelt like
	// a query parameter or a header, is no field to name.
	for _, tc := range []struct{ path, want string }{
		{"participants[1].role", "participants[1].role"},
		{"provider_metadata.a", "provider_metadata.a"},
		{"limit", ""},
		{"Authorization", ""},
		{"extra.a[1]", ""},
		{"", ""},
	} {
		assert.Equal(t, tc.want, fieldPathIn(tc.path, &moonbaseCallParams{}), tc.path)
	}
	assert.Empty(t, fieldPathIn("a", new(int)), "no struct, no field")
}

func FuzzJSONPaths(f *testing.F) {
	// Goal: the byte walk never panics nor runs past its input, whatever
	// the bytes (cut strings, values where keys go, stray brackets).
	for _, seed := range []string{`{"\ud800`, `{"a":[1,{"b":"\xff"}]}`, `{"m":{"zz"}}`, `]]}}{"a"`, `{"a":"x" "b":"y"}`, `{"a\"b":1}`} {
		f.Add([]byte(seed), 3)
	}
	f.Fuzz(func(t *testing.T, b []byte, i int) {
		if len(b) == 0 {
			return
		}
		i = (i%len(b) + len(b)) % len(b)
		_ = jsonStringPathAt(b, i)
		_ = jsonPathAt(b, int64(i))
		_ = fieldPathIn(jsonStringPathAt(b, i), &moonbaseCallParams{})
	})
}
