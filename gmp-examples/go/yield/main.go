// yield: 2 goroutines each call runtime.Gosched 1,000,000 times. Reports ns per yield
// (total wall time / 2,000,000).
package main

import (
	"runtime"
	"sync"
	"time"

	"gmpbench/internal/report"
)

const (
	workers = 2
	yields  = 1_000_000
)

func main() {
	report.Setup(2)
	var wg sync.WaitGroup
	counts := make([]int, workers)
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < yields; i++ {
				runtime.Gosched()
				counts[w]++
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	for w, c := range counts {
		report.Check(c == yields, "worker %d yielded %d times, want %d", w, c, yields)
	}
	report.Print("yield", report.NsPer(elapsed, workers*yields), "ns/op")
}
