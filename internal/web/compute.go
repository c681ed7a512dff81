package web

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// A report over a large history can take seconds. Rather than leave the
// browser waiting, a report page waits at most Options.ReportWait for it;
// then it answers with a "computing" page whose script polls
// /reports/status and reloads when the report is in the cache. Each report
// is computed once however many pages ask (single flight), in the server's
// context, so leaving the page does not waste the work.

// job is one report computation.
type job struct {
	done chan struct{}
	err  error
	at   time.Time // when it finished
}

// jobs tracks running and recently failed computations.
type jobs struct {
	mu   sync.Mutex
	byID map[string]*job
	log  *slog.Logger // where a computation's panic is logged
}

// failedFor is how long a failure is shown before the report is tried
// again (a polling page must not loop on an error).
const failedFor = time.Minute

// start runs f for key unless it is running, or failed less than a minute
// ago; it returns the job to wait on. A panic in f fails the job with
// errInternal.
func (j *jobs) start(base context.Context, key string, now func() time.Time, f func(context.Context) error) *job {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.byID == nil {
		j.byID = map[string]*job{}
	}
	if cur, ok := j.byID[key]; ok {
		select {
		case <-cur.done:
			if cur.err != nil && now().Sub(cur.at) < failedFor {
				return cur
			}
		default:
			return cur
		}
	}
	jb := &job{done: make(chan struct{})}
	j.byID[key] = jb
	go func() {
		err := safely(j.log, "compute report", func() error { return f(base) })
		j.mu.Lock()
		jb.err, jb.at = err, now()
		if err == nil {
			delete(j.byID, key) // the result is in the cache
		}
		j.mu.Unlock()
		close(jb.done)
	}()
	return jb
}

// running says whether key is being computed.
func (j *jobs) running(key string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	jb, ok := j.byID[key]
	if !ok {
		return false
	}
	select {
	case <-jb.done:
		return false
	default:
		return true
	}
}
