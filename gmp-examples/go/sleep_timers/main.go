// sleep_timers: 100,000 goroutines each sleep 10 ms. Reports ms from the first spawn until
// all are done (10 ms is the floor).
package main

import (
	"sync"
	"sync/atomic"
	"time"

	"gmpbench/internal/report"
)

const (
	n   = 100_000
	nap = 10 * time.Millisecond
)

func main() {
	report.Setup(2)
	var wg sync.WaitGroup
	var woke atomic.Int64
	start := time.Now()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			t := time.Now()
			time.Sleep(nap)
			if time.Since(t) >= nap {
				woke.Add(1)
			}
			wg.Done()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	report.Check(woke.Load() == n, "%d of %d sleeps were shorter than %v", n-woke.Load(), n, nap)
	report.Print("sleep_timers", report.Ms(elapsed), "ms")
}
