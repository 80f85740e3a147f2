// mutex_counter: 1000 goroutines each lock, increment and unlock one sync.Mutex 1000 times.
// Checks the counter is 1,000,000; reports ns per lock.
package main

import (
	"sync"
	"time"

	"gmpbench/internal/report"
)

const (
	goroutines = 1000
	locks      = 1000
)

func main() {
	report.Setup(2)
	var mu sync.Mutex
	counter := 0
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(goroutines)
	for g := 0; g < goroutines; g++ {
		go func() {
			defer wg.Done()
			for i := 0; i < locks; i++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	report.Check(counter == goroutines*locks, "counter %d, want %d", counter, goroutines*locks)
	report.Print("mutex_counter", report.NsPer(elapsed, goroutines*locks), "ns/op")
}
