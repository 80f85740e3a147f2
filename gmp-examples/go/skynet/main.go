// skynet: the classic benchmark (github.com/atemerev/skynet): a tree of goroutines, 10
// children per node, 1,000,000 leaves; each leaf sends its number, each node sums its
// children's over an unbuffered channel. Checks 499999500000; reports ms.
package main

import (
	"time"

	"gmpbench/internal/report"
)

func skynet(c chan<- int64, num, size, div int64) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int64)
	var sum int64
	for i := int64(0); i < div; i++ {
		sub := num + i*(size/div)
		go skynet(rc, sub, size/div, div)
	}
	for i := int64(0); i < div; i++ {
		sum += <-rc
	}
	c <- sum
}

func main() {
	report.Setup(2)
	start := time.Now()
	c := make(chan int64)
	go skynet(c, 0, 1_000_000, 10)
	sum := <-c
	elapsed := time.Since(start)
	report.Check(sum == 499999500000, "sum %d, want 499999500000", sum)
	report.Print("skynet", report.Ms(elapsed), "ms")
}
