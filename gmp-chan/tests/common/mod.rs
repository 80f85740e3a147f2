//! Test helpers shared by gmp-chan's test files: a runtime to run a test in, spawning where
//! the caller runs, and the select accounting test that runs on threads and in goroutines.
#![allow(dead_code, unreachable_pub)]

use gmp_chan::{chan, select, Chan};
use gmp_core::{JoinError, Runtime};
use std::panic::resume_unwind;

/// Runs `f` as the main goroutine of a new runtime with `procs` Ps (deadlock detection on)
/// and returns its value.
pub fn on_procs<T: Send + 'static>(procs: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
    Runtime::builder()
        .procs(procs)
        .build()
        .expect("runtime")
        .run(f)
}

/// A task started by [`spawn`]: a goroutine or a thread.
pub enum Task<T> {
    Goroutine(gmp_core::JoinHandle<T>),
    Thread(std::thread::JoinHandle<T>),
}

/// Starts `f` in a goroutine when called from one, else on a new thread.
pub fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Task<T> {
    if gmp_core::current_id().is_some() {
        Task::Goroutine(gmp_core::go(f))
    } else {
        Task::Thread(std::thread::spawn(f))
    }
}

impl<T> Task<T> {
    /// Waits for the task (parks a goroutine, blocks a thread) and returns its value; a
    /// panic in the task is resumed here.
    pub fn join(self) -> T {
        match self {
            Task::Goroutine(h) => match h.join() {
                Ok(v) => v,
                Err(JoinError::Panicked(p)) => resume_unwind(p),
                Err(e) => panic!("the goroutine did not finish: {e}"),
            },
            Task::Thread(h) => h.join().unwrap_or_else(|p| resume_unwind(p)),
        }
    }
}

/// The accounting test: 4 senders, 1 receiver selecting over their 4 channels of
/// capacity `cap`; every message is received exactly once (may's select! loses about half).
/// The senders are goroutines when called from a goroutine, else threads.
pub fn four_senders_one_select_receiver(per_sender: usize, cap: usize) {
    let chans: Vec<Chan<usize>> = (0..4).map(|_| chan(cap)).collect();
    let senders: Vec<_> = chans
        .iter()
        .enumerate()
        .map(|(s, c)| {
            let c = c.clone();
            spawn(move || {
                for i in 0..per_sender {
                    c.send(s * per_sender + i).unwrap();
                }
                c.close();
            })
        })
        .collect();
    let mut seen = vec![false; 4 * per_sender];
    let mut open: Vec<Option<&Chan<usize>>> = chans.iter().map(Some).collect();
    let mut count = 0;
    while open.iter().any(Option::is_some) {
        let (i, v) = select! {
            recv(open[0]) -> v => (0, v),
            recv(open[1]) -> v => (1, v),
            recv(open[2]) -> v => (2, v),
            recv(open[3]) -> v => (3, v),
        };
        match v {
            Some(v) => {
                assert!(!seen[v], "message {v} received twice");
                seen[v] = true;
                count += 1;
            }
            None => open[i] = None,
        }
    }
    for s in senders {
        s.join();
    }
    assert_eq!(count, 4 * per_sender, "messages lost");
    assert!(seen.iter().all(|&s| s));
}

/// `each_way! { fn name() { body } }`: a module `name` whose tests run `body` as the main
/// goroutine of runtimes with 1 and 2 Ps (`goroutines_1p`, `goroutines_2p`) and on the test's
/// own thread (`thread`). Import it with `use common::each_way;`.
#[allow(unused_macros)]
macro_rules! each_way {
    (fn $name:ident() $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            pub(super) fn body() $body

            #[test]
            fn goroutines_1p() {
                crate::common::on_procs(1, body)
            }

            #[test]
            fn goroutines_2p() {
                crate::common::on_procs(2, body)
            }

            #[test]
            fn thread() {
                body()
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use each_way;

// ---- async: a minimal executor and wakers to watch ----

use gmp_core::park::{self, Unparker, WaitReason};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// A waker that unparks the goroutine or thread that made it, and counts its wake-ups.
pub struct CountingWaker {
    unparker: Unparker,
    wakes: AtomicUsize,
}

impl CountingWaker {
    /// A waker for the caller (a goroutine or a thread), and its counter.
    pub fn new() -> (Waker, Arc<CountingWaker>) {
        let w = Arc::new(CountingWaker {
            unparker: park::current(),
            wakes: AtomicUsize::new(0),
        });
        (Waker::from(w.clone()), w)
    }

    /// How many times it was woken.
    pub fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.unparker.unpark();
    }
}

/// The smallest executor: polls `f`, and parks the caller (a goroutine parks, a thread
/// blocks) until the waker unparks it. gmp-core's `park` has permit semantics, so a wake
/// between the poll and the park is not lost. Fails the test if the future stays pending
/// 20 s without a wake-up (a lost wake-up would otherwise hang it).
pub fn block_on<F: Future>(f: F) -> F::Output {
    let (waker, _) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        match f.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => {
                let deadline = Instant::now() + Duration::from_secs(20);
                assert!(
                    park::park_deadline(WaitReason::Park, deadline),
                    "block_on: a pending future was not woken within 20 s"
                );
            }
        }
    }
}

/// Spins (yielding) until `cond` holds; fails the test, naming `what`, after 20 s (the
/// conditions are expected within ms).
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::yield_now();
    }
}

/// Polls once with `waker`.
pub fn poll_with<F: Future + Unpin>(f: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(waker))
}

/// The goroutine ids of a dump or leak report, in order (the `goroutine N [...]` headers).
pub fn report_ids(report: &str) -> Vec<u64> {
    report
        .lines()
        .filter_map(|l| l.strip_prefix("goroutine "))
        .map(|l| l.split(' ').next().unwrap().parse().unwrap())
        .collect()
}
