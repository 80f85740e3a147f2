//! Worker pools (Go by Example, "Worker Pools", with the WaitGroup of its "WaitGroups"
//! page): 3 worker goroutines take 5 jobs from a `jobs` channel and send their results on a
//! `results` channel; a WaitGroup closes `results` once every worker has returned. Job times
//! are scaled from seconds to tenths of a second.
//!
//! Go's version prints `worker 1 started  job 1`, `worker 1 finished job 1`, ... in an order
//! that changes from run to run; this one prints the results sorted by job, which is the same
//! every time.
//!
//! Go:
//! ```go
//! func worker(id int, jobs <-chan int, results chan<- int) {
//!     for j := range jobs {
//!         fmt.Println("worker", id, "started  job", j)
//!         time.Sleep(time.Second)
//!         fmt.Println("worker", id, "finished job", j)
//!         results <- j * 2
//!     }
//! }
//!
//! func main() {
//!     const numJobs = 5
//!     jobs := make(chan int, numJobs)
//!     results := make(chan int, numJobs)
//!     var wg sync.WaitGroup
//!     for w := 1; w <= 3; w++ {
//!         wg.Go(func() { worker(w, jobs, results) })
//!     }
//!     for j := 1; j <= numJobs; j++ {
//!         jobs <- j
//!     }
//!     close(jobs)
//!     go func() { wg.Wait(); close(results) }()
//!     for r := range results {
//!         fmt.Println("result", r)
//!     }
//! }
//! ```

use gmp_chan::{Chan, Receiver, Sender};
use gmp_sync::WaitGroup;
use std::time::Duration;

/// One job's time (Go: `time.Second`).
const UNIT: Duration = Duration::from_millis(100);
const NUM_WORKERS: usize = 3;
const NUM_JOBS: u32 = 5;

/// What a worker reports for one job.
#[derive(Debug)]
struct Outcome {
    job: u32,
    worker: usize,
    result: u32,
}

/// Takes jobs until `jobs` is closed and drained; each takes one unit of time.
fn worker(id: usize, jobs: &Receiver<u32>, results: &Sender<Outcome>) {
    for job in jobs {
        gmp_core::sleep(UNIT);
        let outcome = Outcome {
            job,
            worker: id,
            result: job * 2,
        };
        if results.send(outcome).is_err() {
            return; // nobody collects results any more
        }
    }
}

/// Runs the example: prints the 5 results in job order and which workers did the work.
pub fn main() {
    gmp_core::run(|| {
        let jobs = Chan::<u32>::new(NUM_JOBS as usize);
        let results = Chan::<Outcome>::new(NUM_JOBS as usize);
        let wg = WaitGroup::new();
        for id in 1..=NUM_WORKERS {
            let (jobs, results) = (jobs.receiver(), results.sender());
            wg.go(move || worker(id, &jobs, &results));
        }
        for job in 1..=NUM_JOBS {
            jobs.send(job).expect("jobs is open until we close it");
        }
        jobs.close();
        // Close `results` once every worker has returned, so that the loop below ends.
        {
            let (wg, results) = (wg.clone(), results.sender());
            gmp_core::go(move || {
                wg.wait();
                results.close();
            });
        }
        let mut outcomes: Vec<Outcome> = results.iter().collect();
        outcomes.sort_by_key(|o| o.job);
        println!("{NUM_WORKERS} workers, {NUM_JOBS} jobs");
        for o in &outcomes {
            println!("job {} -> result {}", o.job, o.result);
        }
        let mut workers: Vec<usize> = outcomes.iter().map(|o| o.worker).collect();
        workers.sort_unstable();
        workers.dedup();
        println!(
            "{} results; every job done by one of workers 1-{NUM_WORKERS}: {}",
            outcomes.len(),
            workers.iter().all(|w| (1..=NUM_WORKERS).contains(w))
        );
    });
}
