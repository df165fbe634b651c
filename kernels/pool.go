package kernels

import "sync"

// pool is a Context's persistent helper goroutines. For a call split into
// parts slices, helper h computes slice h+1 with its own workspace while the
// caller computes slice 0; slices never share output, so no locks are taken
// during the GEMM.
type pool struct {
	jobs    []chan job // one per helper, buffered so posting never blocks
	done    sync.WaitGroup
	stopped sync.Once
}

// job is a call the pool can split: a gemm, or SgemmBlocks' blocksGemm.
type job interface {
	runPart(t int, ws *workspace)
}

func newPool(helpers int) *pool {
	p := &pool{jobs: make([]chan job, helpers)}
	for h := range p.jobs {
		p.jobs[h] = make(chan job, 1)
		go helper(p.jobs[h], h+1, &p.done)
	}
	return p
}

// helper runs slice t of each job posted on jobs, until jobs is closed.
func helper(jobs <-chan job, t int, done *sync.WaitGroup) {
	var ws workspace
	for g := range jobs {
		g.runPart(t, &ws)
		done.Done()
	}
}

// run computes g's g.parts slices, slice 0 on the calling goroutine with ws.
func (p *pool) run(g *gemm, ws *workspace) { p.runJob(g, g.parts, ws) }

// runJob computes j's parts slices, slice 0 on the calling goroutine with ws.
func (p *pool) runJob(j job, parts int, ws *workspace) {
	p.done.Add(parts - 1)
	for h := 0; h < parts-1; h++ {
		p.jobs[h] <- j
	}
	j.runPart(0, ws)
	p.done.Wait()
}

// stop ends the helpers; p must be idle.
func (p *pool) stop() {
	p.stopped.Do(func() {
		for _, jobs := range p.jobs {
			close(jobs)
		}
	})
}
