package eventstore

import "context"

// PageReader is an optional extension of Store, found with a type assertion,
// for readers of long stretches of $all (a projection rebuild): it reads
// into memory that the caller reuses from page to page, so that reading the
// log does not allocate a Record and a payload for every event. The records
// are the same as ReadAll's, field for field.
type PageReader interface {
	// ReadAllPage reads like ReadAll, with the same errors, into page: it
	// replaces page.Records with up to limit events after position after.
	// The records of the page's previous read are invalid from the call on.
	ReadAllPage(ctx context.Context, after Position, limit int, page *Page) error
}

// pageBlockBytesMin is the smallest block of payload memory a Page allocates.
const pageBlockBytesMin = 64 << 10

// pageInternedMax bounds the strings a Page interns during one read.
const pageInternedMax = 4096

// Page is the reusable memory of a PageReader's reads: the records, the
// bytes their Data and Metadata point into, and the strings interned while
// decoding them. Everything a read puts in a Page belongs to it until the
// Page is handed to the next read, which overwrites it: a caller reuses a
// Page only once nothing it gave out still uses the page's records or
// their payloads. Strings (StreamID, Type) are ordinary immutable strings
// and stay valid. The zero Page is ready to use; a Page is not safe for
// concurrent use.
type Page struct {
	// Records are the records of the last read.
	Records []Record

	// block is the payload memory that Alloc carves from, used bytes first;
	// allocated counts the bytes Alloc handed out since the last Reset.
	block     []byte
	used      int
	allocated int
	strings   map[string]string
}

// Reset empties the page for a new read, keeping its memory. It drops the
// previous records' references, so that a page waiting for reuse does not
// keep their strings or older blocks alive. When the last read outgrew the
// block, the page moves to one block an eighth larger than that read needed,
// so that a page settles on one block of about its size.
func (p *Page) Reset() {
	clear(p.Records)
	p.Records = p.Records[:0]
	if p.allocated > len(p.block) {
		p.block = make([]byte, p.allocated+p.allocated/8)
	}
	p.used, p.allocated = 0, 0
	clear(p.strings)
}

// Alloc returns n bytes of the page's payload memory, valid until the next
// Reset. The slice's capacity is n, so that an append to it cannot spill
// into another record's bytes. When the block is full, Alloc moves to a new
// block as large (the records already read keep the old one alive); Reset
// then sizes the block for the next read.
func (p *Page) Alloc(n int) []byte {
	if n > len(p.block)-p.used {
		p.block = make([]byte, max(len(p.block), n, pageBlockBytesMin))
		p.used = 0
	}
	b := p.block[p.used : p.used+n : p.used+n]
	p.used += n
	p.allocated += n
	return b
}

// Intern returns b as a string, the same string for equal bytes within a
// read: stream ids and type names repeat across a page, and one string for
// each saves an allocation per record.
func (p *Page) Intern(b []byte) string {
	if s, ok := p.strings[string(b)]; ok {
		return s
	}
	s := string(b)
	if p.strings == nil {
		p.strings = make(map[string]string)
	}
	if len(p.strings) < pageInternedMax {
		p.strings[s] = s
	}
	return s
}
