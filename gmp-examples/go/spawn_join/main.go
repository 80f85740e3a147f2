// spawn_join: 1,000,000 goroutines each add 1 to an atomic; main waits for all on a
// WaitGroup. Reports ns per goroutine (spawn + run + exit + wait, amortised).
package main

import (
	"sync"
	"sync/atomic"
	"time"

	"gmpbench/internal/report"
)

const n = 1_000_000

func main() {
	report.Setup(2)
	var count atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			count.Add(1)
			wg.Done()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	report.Check(count.Load() == n, "count %d, want %d", count.Load(), n)
	report.Print("spawn_join", report.NsPer(elapsed, n), "ns/op")
}
