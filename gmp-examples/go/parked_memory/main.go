// parked_memory: 100,000 goroutines parked on a receive from one channel. Reports the RSS
// growth per goroutine in bytes (VmRSS once all are parked minus VmRSS before the spawns).
package main

import (
	"sync"
	"sync/atomic"
	"time"

	"gmpbench/internal/report"
)

const n = 100_000

func main() {
	report.Setup(2)
	ch := make(chan struct{})
	var ready, done sync.WaitGroup
	var woken atomic.Int64
	before := report.RSSKiB()
	start := time.Now()
	ready.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			ready.Done()
			<-ch
			woken.Add(1)
			done.Done()
		}()
	}
	ready.Wait()
	// Every goroutine has signalled; give the last ones time to reach the receive.
	time.Sleep(100 * time.Millisecond)
	after := report.RSSKiB()
	close(ch)
	done.Wait()
	elapsed := time.Since(start)
	report.Check(woken.Load() == n, "woke %d, want %d", woken.Load(), n)
	perG := float64(after-before) * 1024 / n
	report.Print("parked_memory", perG, "bytes", "total_ms", report.Ms(elapsed))
}
