// chan_mpmc: a buffered channel of capacity 1024, 4 producers and 4 consumers,
// 10,000,000 messages in all. Reports ns per message.
package main

import (
	"sync"
	"time"

	"gmpbench/internal/report"
)

const (
	producers = 4
	consumers = 4
	messages  = 10_000_000
	perProd   = messages / producers
)

func main() {
	report.Setup(2)
	ch := make(chan int64, 1024)
	var prod, cons sync.WaitGroup
	sums := make([]int64, consumers)
	counts := make([]int64, consumers)
	start := time.Now()
	for p := 0; p < producers; p++ {
		prod.Add(1)
		go func(p int) {
			defer prod.Done()
			base := int64(p * perProd)
			for i := int64(0); i < perProd; i++ {
				ch <- base + i
			}
		}(p)
	}
	for c := 0; c < consumers; c++ {
		cons.Add(1)
		go func(c int) {
			defer cons.Done()
			var sum, count int64
			for v := range ch {
				sum += v
				count++
			}
			sums[c], counts[c] = sum, count
		}(c)
	}
	prod.Wait()
	close(ch)
	cons.Wait()
	elapsed := time.Since(start)
	var sum, count int64
	for c := range sums {
		sum += sums[c]
		count += counts[c]
	}
	const want = int64(messages) * (messages - 1) / 2
	report.Check(count == messages, "received %d messages, want %d", count, messages)
	report.Check(sum == want, "sum %d, want %d", sum, want)
	report.Print("chan_mpmc", report.NsPer(elapsed, messages), "ns/op")
}
