package projections

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/callledger/callledger/eventstore"
)

// recordRun is a run of consecutive records on its way from the source to
// the chunker. page is the page whose memory holds them, or nil when the
// records belong to the pipeline alone (a store without PageReader, or a
// live event).
type recordRun struct {
	recs []eventstore.Record
	page *recordPage
}

// recordPage is a page of the log read into reusable memory
// (eventstore.PageReader), shared by the chunks cut from it. refs counts
// its holders: the chunker until it has cut the page up, and each chunk
// until its records are decoded. The last to let go returns the page to the
// Projector's pool, to be read into again: nothing refers to its records
// by then, as items keep only decoded values and strings.
type recordPage struct {
	page eventstore.Page
	refs atomic.Int32
	pool *sync.Pool
}

// hold adds a holder.
func (rp *recordPage) hold() { rp.refs.Add(1) }

// release drops a holder; the last returns the page to its pool.
func (rp *recordPage) release() {
	switch n := rp.refs.Add(-1); {
	case n == 0:
		rp.pool.Put(rp)
	case n < 0:
		panic("projections: record page released more often than held")
	}
}

// readPage reads up to limit records after `after` from the store: into a
// page from the pool, held once for the caller, when the store is a
// PageReader, or else with ReadAll.
func (p *Projector) readPage(ctx context.Context, after eventstore.Position, limit int) (recordRun, error) {
	pr, ok := p.store.(eventstore.PageReader)
	if !ok {
		recs, err := p.store.ReadAll(ctx, after, limit)
		return recordRun{recs: recs}, err
	}
	rp, ok := p.recordPages.Get().(*recordPage)
	if !ok {
		rp = &recordPage{pool: &p.recordPages}
	}
	if err := pr.ReadAllPage(ctx, after, limit, &rp.page); err != nil {
		p.recordPages.Put(rp)
		return recordRun{}, err
	}
	rp.refs.Store(1)
	return recordRun{recs: rp.page.Records, page: rp}, nil
}
