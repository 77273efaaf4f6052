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
